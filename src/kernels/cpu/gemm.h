#pragma once
// Row-major matrix products for the nn kernels: float32/float64 through BLAS, integer types by a
// cache-friendly loop (BLAS has none). C = op(A) * op(B) (+ C when accumulating).

#include <cblas.h>

#include <cstdint>
#include <type_traits>

namespace kiln::kernels::cpu::nn {

template <typename T>
void Gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const T* a, int64_t lda, const T* b, int64_t ldb,
          T* c, int64_t ldc, bool accumulate = false) {
  if (m <= 0 || n <= 0) return;
  if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
    if (k <= 0) {
      if (!accumulate) {
        for (int64_t i = 0; i < m; ++i)
          for (int64_t j = 0; j < n; ++j) c[i * ldc + j] = 0;
      }
      return;
    }
    const auto ta = trans_a ? CblasTrans : CblasNoTrans;
    const auto tb = trans_b ? CblasTrans : CblasNoTrans;
    const T beta = accumulate ? 1 : 0;
    if constexpr (std::is_same_v<T, float>) {
      cblas_sgemm(CblasRowMajor, ta, tb, static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), 1.0f, a,
                  static_cast<int>(lda), b, static_cast<int>(ldb), beta, c, static_cast<int>(ldc));
    } else {
      cblas_dgemm(CblasRowMajor, ta, tb, static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), 1.0, a,
                  static_cast<int>(lda), b, static_cast<int>(ldb), beta, c, static_cast<int>(ldc));
    }
  } else {
    // Integer products wrap around as in TensorFlow; wide unsigned arithmetic keeps that defined.
    using W = std::conditional_t<(sizeof(T) <= 4), uint32_t, uint64_t>;
    for (int64_t i = 0; i < m; ++i) {
      T* crow = c + i * ldc;
      if (!accumulate)
        for (int64_t j = 0; j < n; ++j) crow[j] = 0;
      for (int64_t p = 0; p < k; ++p) {
        const W av = static_cast<W>(trans_a ? a[p * lda + i] : a[i * lda + p]);
        if (av == 0) continue;
        if (!trans_b) {
          const T* brow = b + p * ldb;
          for (int64_t j = 0; j < n; ++j)
            crow[j] = static_cast<T>(static_cast<W>(crow[j]) + av * static_cast<W>(brow[j]));
        } else {
          for (int64_t j = 0; j < n; ++j)
            crow[j] = static_cast<T>(static_cast<W>(crow[j]) + av * static_cast<W>(b[j * ldb + p]));
        }
      }
    }
  }
}

// BLAS takes 32-bit sizes; callers check their operands fit before calling Gemm.
inline bool FitsBlas(int64_t v) { return v >= 0 && v <= INT32_MAX; }

}  // namespace kiln::kernels::cpu::nn
