// Quantization to int8 and FP8 E4M3, and the scaling of a quantized product's accumulator: every
// division and multiply separately rounded, as on the CPU (kernels/cpu/quantized.cc).
#include <cuda_fp8.h>

#include "kernels/cuda/activation.cuh"
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/quantized.h"

namespace kiln::cuda {
namespace {

template <typename T, typename Q>
__global__ void QuantizeKernel(const T* __restrict__ x, Q* __restrict__ y, int64_t n, const float* __restrict__ scales,
                               int64_t channels, int64_t inner) {
  KILN_GRID_STRIDE_LOOP(i, n) {
    const float v = __fdiv_rn(static_cast<float>(Widen(x[i])), scales[(i / inner) % channels]);
    if constexpr (std::is_same_v<Q, int8_t>) {
      y[i] = isnan(v) ? int8_t{0} : static_cast<int8_t>(fminf(fmaxf(rintf(v), -128.0f), 127.0f));
    } else {
      y[i] = static_cast<Q>(__nv_cvt_float_to_fp8(v, __NV_SATFINITE, __NV_E4M3));
    }
  }
}

template <typename A, typename T>
__global__ void ScaleKernel(const A* __restrict__ acc, T* __restrict__ out, int64_t n, int64_t cols, float a_scale,
                            const float* __restrict__ b_scales, bool per_column, AccumulatorEpilogue e) {
  const T* bias = static_cast<const T*>(e.bias);
  const T* residual = static_cast<const T*>(e.residual);
  const bool epilogue = bias != nullptr || residual != nullptr || e.activation != 0;
  KILN_GRID_STRIDE_LOOP(i, n) {
    const int64_t c = per_column || bias != nullptr ? i % cols : 0;
    float v = __fmul_rn(static_cast<float>(acc[i]), __fmul_rn(a_scale, b_scales[per_column ? c : 0]));
    if (epilogue) {
      v = Widen(Narrow<T>(v));  // the product as the output type stores it, then its epilogue
      if (bias != nullptr) v += Widen(bias[c]);
      if (residual != nullptr) v += Widen(residual[i]);
      v = Activate(e.activation, v, e.alpha);
    }
    out[i] = Narrow<T>(v);
  }
}

__device__ __forceinline__ float Fp8ToFloat(__nv_fp8_storage_t v) {
  return __half2float(__half(__nv_cvt_fp8_to_halfraw(v, __NV_E4M3)));
}

// acc[r, c] = sum_p x[r, p] w[c, p], one thread per element: the product for shapes the tensor-core
// kernels do not take.
template <typename Q, typename A>
__global__ void DirectGemmKernel(const Q* __restrict__ x, const Q* __restrict__ w, A* __restrict__ acc, int64_t m,
                                 int64_t n, int64_t k) {
  KILN_GRID_STRIDE_LOOP(i, m * n) {
    const Q* xr = x + (i / n) * k;
    const Q* wr = w + (i % n) * k;
    A sum = 0;
    for (int64_t p = 0; p < k; ++p) {
      if constexpr (std::is_same_v<Q, int8_t>) {
        sum += static_cast<int32_t>(xr[p]) * static_cast<int32_t>(wr[p]);
      } else {
        sum = __fadd_rn(sum, __fmul_rn(Fp8ToFloat(xr[p]), Fp8ToFloat(wr[p])));
      }
    }
    acc[i] = sum;
  }
}

}  // namespace

cudaError_t LaunchDirectQuantizedGemm(DType dtype, int64_t m, int64_t n, int64_t k, const void* x, const void* w,
                                      void* acc, cudaStream_t stream) {
  if (m * n == 0) return cudaSuccess;
  if (dtype == DType::kInt8) {
    DirectGemmKernel<int8_t, int32_t><<<BlocksFor(m * n), kThreads, 0, stream>>>(
        static_cast<const int8_t*>(x), static_cast<const int8_t*>(w), static_cast<int32_t*>(acc), m, n, k);
  } else if (dtype == DType::kFloat8E4M3FN) {
    DirectGemmKernel<__nv_fp8_storage_t, float><<<BlocksFor(m * n), kThreads, 0, stream>>>(
        static_cast<const __nv_fp8_storage_t*>(x), static_cast<const __nv_fp8_storage_t*>(w),
        static_cast<float*>(acc), m, n, k);
  } else {
    return cudaErrorNotSupported;
  }
  return cudaGetLastError();
}

cudaError_t LaunchQuantize(DType x_dtype, DType y_dtype, const void* x, void* y, int64_t n, const float* scales,
                           int64_t channels, int64_t inner, cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  return Dispatch(Types<float, __half, __nv_bfloat16>(), x_dtype, [&](auto t) {
    using T = decltype(t);
    if (y_dtype == DType::kInt8) {
      QuantizeKernel<T, int8_t><<<BlocksFor(n), kThreads, 0, stream>>>(static_cast<const T*>(x),
                                                                        static_cast<int8_t*>(y), n, scales, channels,
                                                                        inner);
    } else if (y_dtype == DType::kFloat8E4M3FN) {
      QuantizeKernel<T, __nv_fp8_storage_t><<<BlocksFor(n), kThreads, 0, stream>>>(
          static_cast<const T*>(x), static_cast<__nv_fp8_storage_t*>(y), n, scales, channels, inner);
    } else {
      return cudaErrorNotSupported;
    }
    return cudaGetLastError();
  });
}

cudaError_t LaunchScaleAccumulator(DType acc_dtype, DType out_dtype, const void* acc, void* out, int64_t rows,
                                   int64_t cols, float a_scale, const float* b_scales, bool per_column,
                                   const AccumulatorEpilogue& epilogue, cudaStream_t stream) {
  const int64_t n = rows * cols;
  if (n == 0) return cudaSuccess;
  return Dispatch(Types<float, __half, __nv_bfloat16>(), out_dtype, [&](auto t) {
    using T = decltype(t);
    if (acc_dtype == DType::kInt32) {
      ScaleKernel<int32_t, T><<<BlocksFor(n), kThreads, 0, stream>>>(static_cast<const int32_t*>(acc),
                                                                     static_cast<T*>(out), n, cols, a_scale,
                                                                     b_scales, per_column, epilogue);
    } else if (acc_dtype == DType::kFloat32) {
      ScaleKernel<float, T><<<BlocksFor(n), kThreads, 0, stream>>>(static_cast<const float*>(acc),
                                                                   static_cast<T*>(out), n, cols, a_scale, b_scales,
                                                                   per_column, epilogue);
    } else {
      return cudaErrorNotSupported;
    }
    return cudaGetLastError();
  });
}

}  // namespace kiln::cuda
