#include "kernels/cuda/common.cuh"
#include "kernels/cuda/index_ops.h"

namespace kiln::cuda {
namespace {

template <typename T>
__global__ void OneHotKernel(const int64_t* __restrict__ indices, int64_t depth, int64_t suffix, T on, T off,
                             T* __restrict__ out, int64_t n) {
  KILN_GRID_STRIDE_LOOP(i, n) {
    const int64_t s = i % suffix, d = (i / suffix) % depth, p = i / (suffix * depth);
    out[i] = indices[p * suffix + s] == d ? on : off;
  }
}

template <typename C>
__device__ __forceinline__ bool Before(C va, int64_t a, C vb, int64_t b, bool largest) {
  const bool na = va != va, nb = vb != vb;
  if (na != nb) return largest ? na : nb;
  if (!na && va != vb) return largest ? va > vb : va < vb;
  return a < b;
}

// One thread per element: its rank is the number of elements of its row that come before it.
template <typename T>
__global__ void TopKKernel(const T* __restrict__ in, T* __restrict__ values, int64_t* __restrict__ indices,
                           int64_t outer, int64_t n, int64_t inner, int64_t k, bool largest, int64_t total) {
  KILN_GRID_STRIDE_LOOP(t, total) {
    const int64_t a = t % n, row = t / n, i = row % inner, o = row / inner;
    const T* base = in + o * n * inner + i;
    const auto va = Widen(base[a * inner]);
    int64_t rank = 0;
    for (int64_t b = 0; b < n && rank < k; ++b) rank += Before(Widen(base[b * inner]), b, va, a, largest);
    if (rank < k) {
      values[(o * k + rank) * inner + i] = base[a * inner];
      indices[(o * k + rank) * inner + i] = a;
    }
  }
}

using TopKTypes = Types<float, __half, __nv_bfloat16, double, int8_t, int16_t, int32_t, int64_t, uint8_t>;

}  // namespace

cudaError_t LaunchOneHot(size_t element_size, const int64_t* indices, int64_t prefix, int64_t depth, int64_t suffix,
                         uint64_t on, uint64_t off, void* out, cudaStream_t stream) {
  const int64_t n = prefix * depth * suffix;
  if (n == 0) return cudaSuccess;
  return DispatchBySize(element_size, [&](auto tag) {
    using T = decltype(tag);
    OneHotKernel<T><<<BlocksFor(n), kThreads, 0, stream>>>(indices, depth, suffix, static_cast<T>(on),
                                                            static_cast<T>(off), static_cast<T*>(out), n);
    return cudaGetLastError();
  });
}

std::vector<DType> TopKDTypes() { return DTypeList(TopKTypes{}); }

cudaError_t LaunchTopK(DType dtype, const void* in, void* values, int64_t* indices, int64_t outer, int64_t n,
                       int64_t inner, int64_t k, bool largest, cudaStream_t stream) {
  const int64_t total = outer * n * inner;
  if (total == 0 || k == 0) return cudaSuccess;
  return Dispatch(TopKTypes{}, dtype, [&](auto tag) {
    using T = decltype(tag);
    TopKKernel<T><<<BlocksFor(total), kThreads, 0, stream>>>(static_cast<const T*>(in), static_cast<T*>(values),
                                                              indices, outer, n, inner, k, largest, total);
    return cudaGetLastError();
  });
}

}  // namespace kiln::cuda
