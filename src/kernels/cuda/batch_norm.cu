// FusedBatchNorm{,V2,V3} with the CPU kernel's semantics (src/kernels/cpu/normalization.cc): x is
// viewed as [outer, channels, inner]; training mode normalizes with the batch's own statistics.
#include "kernels/cuda/batch_norm.h"
#include "kernels/cuda/common.cuh"

namespace kiln::cuda {
namespace {

// One block per channel: the biased mean and variance (two passes, in double) over outer * inner.
__global__ void ChannelStatsKernel(const void* x_raw, DType dtype, BatchNormShape s, float* mean, float* var) {
  const int64_t c = blockIdx.x;
  const int64_t count = s.outer * s.inner;
  __shared__ double partial[kThreads];
  auto load = [&](int64_t k) -> double {
    const int64_t o = k / s.inner, i = k % s.inner;
    const int64_t at = (o * s.channels + c) * s.inner + i;
    if (dtype == DType::kFloat16) return __half2float(static_cast<const __half*>(x_raw)[at]);
    if (dtype == DType::kBFloat16) return __bfloat162float(static_cast<const __nv_bfloat16*>(x_raw)[at]);
    return static_cast<const float*>(x_raw)[at];
  };
  auto block_sum = [&](double v) -> double {
    partial[threadIdx.x] = v;
    __syncthreads();
    for (int half = blockDim.x / 2; half > 0; half /= 2) {
      if (threadIdx.x < half) partial[threadIdx.x] += partial[threadIdx.x + half];
      __syncthreads();
    }
    const double total = partial[0];
    __syncthreads();
    return total;
  };
  double sum = 0;
  for (int64_t k = threadIdx.x; k < count; k += blockDim.x) sum += load(k);
  const double m = count > 0 ? block_sum(sum) / static_cast<double>(count) : 0.0;
  const float mf = static_cast<float>(m);
  double sq = 0;
  for (int64_t k = threadIdx.x; k < count; k += blockDim.x) {
    const double d = load(k) - mf;
    sq += d * d;
  }
  const double v = count > 0 ? block_sum(sq) / static_cast<double>(count) : 0.0;
  if (threadIdx.x == 0) {
    mean[c] = mf;
    var[c] = static_cast<float>(v);
  }
}

template <typename U>
__device__ __forceinline__ float Get(const void* p, int64_t i) {
  return Widen(static_cast<const U*>(p)[i]);
}
template <typename U>
__device__ __forceinline__ void Put(void* p, int64_t i, float v) {
  static_cast<U*>(p)[i] = Narrow<U>(v);
}

// Per channel: y = x * a + b, and the statistics outputs.
template <typename U>
__global__ void ParamsKernel(BatchNormParams p, BatchNormShape s, const float* batch_mean, const float* batch_var,
                             float* a, float* b) {
  KILN_GRID_STRIDE_LOOP(c, s.channels) {
    const float mean = p.training ? batch_mean[c] : Get<U>(p.mean, c);
    const float var = p.training ? batch_var[c] : Get<U>(p.variance, c);
    const float scale = Get<U>(p.scale, c);
    a[c] = scale / sqrtf(var + p.epsilon);
    b[c] = Get<U>(p.offset, c) - mean * a[c];
    float out_mean = mean, out_var = var, reserve_1 = 0, reserve_2 = 0;
    if (p.training) {
      const int64_t n = s.outer * s.inner;
      const float correction = n > 1 ? static_cast<float>(n) / static_cast<float>(n - 1) : 1.0f;
      reserve_1 = mean;
      reserve_2 = var;
      out_var = var * correction;
      if (p.factor != 1.0f) {
        out_mean = (1.0f - p.factor) * Get<U>(p.mean, c) + p.factor * mean;
        out_var = (1.0f - p.factor) * Get<U>(p.variance, c) + p.factor * out_var;
      }
    }
    Put<U>(p.out_mean, c, out_mean);
    Put<U>(p.out_variance, c, out_var);
    Put<U>(p.reserve_1, c, reserve_1);
    Put<U>(p.reserve_2, c, reserve_2);
  }
}

template <typename T>
__global__ void ApplyKernel(const T* __restrict__ x, T* __restrict__ y, BatchNormShape s, const float* a,
                            const float* b, int64_t n) {
  KILN_GRID_STRIDE_LOOP(i, n) {
    const int64_t c = (i / s.inner) % s.channels;
    y[i] = Narrow<T>(static_cast<float>(Widen(x[i])) * a[c] + b[c]);
  }
}

}  // namespace

cudaError_t LaunchBatchNorm(DType x_type, DType u_type, const BatchNormShape& s, const BatchNormParams& p,
                            const void* x, void* y, float* scratch, cudaStream_t stream) {
  if (s.channels == 0) return cudaSuccess;
  float *mean = scratch, *var = scratch + s.channels, *a = scratch + 2 * s.channels, *b = scratch + 3 * s.channels;
  if (p.training) {
    ChannelStatsKernel<<<static_cast<unsigned>(s.channels), kThreads, 0, stream>>>(x, x_type, s, mean, var);
    if (const cudaError_t err = cudaGetLastError(); err != cudaSuccess) return err;
  }
  const cudaError_t params = Dispatch(Types<float, __nv_bfloat16>{}, u_type, [&](auto tag) {
    ParamsKernel<decltype(tag)><<<BlocksFor(s.channels), kThreads, 0, stream>>>(p, s, mean, var, a, b);
    return cudaGetLastError();
  });
  if (params != cudaSuccess) return params;
  const int64_t n = s.outer * s.channels * s.inner;
  if (n == 0) return cudaSuccess;
  return Dispatch(Types<float, __half, __nv_bfloat16>{}, x_type, [&](auto tag) {
    using T = decltype(tag);
    ApplyKernel<T><<<BlocksFor(n), kThreads, 0, stream>>>(static_cast<const T*>(x), static_cast<T*>(y), s, a, b, n);
    return cudaGetLastError();
  });
}

}  // namespace kiln::cuda
