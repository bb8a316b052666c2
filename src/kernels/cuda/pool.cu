// Pooling with the CPU kernels' semantics (src/kernels/cpu/pooling.cc, onnx_pool.cc): one thread
// per output element.
#include <cfloat>
#include <climits>

#include "kernels/cuda/common.cuh"
#include "kernels/cuda/pool.h"

namespace kiln::cuda {
namespace {

template <typename T>
__device__ __forceinline__ double LowestOf() {
  if constexpr (std::is_same_v<T, float> || std::is_same_v<T, __half> || std::is_same_v<T, __nv_bfloat16>) {
    return -FLT_MAX;
  } else if constexpr (std::is_same_v<T, double>) {
    return -DBL_MAX;
  } else if constexpr (std::is_same_v<T, int8_t>) {
    return -128.0;
  } else if constexpr (std::is_same_v<T, uint8_t>) {
    return 0.0;
  } else if constexpr (std::is_same_v<T, int16_t>) {
    return -32768.0;
  } else if constexpr (std::is_same_v<T, int32_t>) {
    return static_cast<double>(INT_MIN);
  } else {
    return static_cast<double>(LLONG_MIN);
  }
}

template <typename T>
__global__ void PoolKernel(const T* __restrict__ in, T* __restrict__ out, PoolShape s, int64_t n) {
  KILN_GRID_STRIDE_LOOP(i, n) {
    int64_t rest = i, c, o[3];
    if (s.channels_first) {
      for (int d = 2; d >= 0; --d) {
        o[d] = rest % s.out[d];
        rest /= s.out[d];
      }
      c = rest % s.channels;
      rest /= s.channels;
    } else {
      c = rest % s.channels;
      rest /= s.channels;
      for (int d = 2; d >= 0; --d) {
        o[d] = rest % s.out[d];
        rest /= s.out[d];
      }
    }
    const int64_t b = rest;
    const int64_t plane = s.in[0] * s.in[1] * s.in[2];
    // Element (i0, i1, i2) of this (batch, channel) plane is at base + pos * step.
    const int64_t base = s.channels_first ? (b * s.channels + c) * plane : b * plane * s.channels + c;
    const int64_t step = s.channels_first ? 1 : s.channels;
    const bool max = s.mode == PoolMode::kTfMax || s.mode == PoolMode::kOnnxMax;
    double acc = s.mode == PoolMode::kTfMax ? LowestOf<T>() : max ? -static_cast<double>(INFINITY) : 0.0;
    bool nan = false;
    int64_t valid = 0, padded = 1;
    for (int d = 0; d < 3; ++d) {
      int64_t count = 0;
      for (int64_t j = 0; j < s.kernel[d]; ++j) {
        const int64_t pos = o[d] * s.stride[d] - s.pad_begin[d] + j * s.dilation[d];
        count += pos >= -s.pad_begin[d] && pos < s.in[d] + s.pad_end[d];
      }
      padded *= count;
    }
    for (int64_t j0 = 0; j0 < s.kernel[0]; ++j0) {
      const int64_t p0 = o[0] * s.stride[0] - s.pad_begin[0] + j0 * s.dilation[0];
      if (p0 < 0 || p0 >= s.in[0]) continue;
      for (int64_t j1 = 0; j1 < s.kernel[1]; ++j1) {
        const int64_t p1 = o[1] * s.stride[1] - s.pad_begin[1] + j1 * s.dilation[1];
        if (p1 < 0 || p1 >= s.in[1]) continue;
        for (int64_t j2 = 0; j2 < s.kernel[2]; ++j2) {
          const int64_t p2 = o[2] * s.stride[2] - s.pad_begin[2] + j2 * s.dilation[2];
          if (p2 < 0 || p2 >= s.in[2]) continue;
          const double v = static_cast<double>(Widen(in[base + ((p0 * s.in[1] + p1) * s.in[2] + p2) * step]));
          ++valid;
          if (s.mode == PoolMode::kTfMax) {
            acc = v > acc ? v : acc;
          } else if (s.mode == PoolMode::kOnnxMax) {
            nan |= v != v;
            acc = fmax(acc, v);
          } else if (s.mode == PoolMode::kOnnxLp) {
            acc += s.p == 2 ? v * v : pow(fabs(v), static_cast<double>(s.p));
          } else {
            acc += v;
          }
        }
      }
    }
    if (s.mode == PoolMode::kTfAvg) {
      acc /= static_cast<double>(valid > 0 ? valid : 1);
    } else if (s.mode == PoolMode::kOnnxAvg) {
      acc /= static_cast<double>(s.count_include_pad ? padded : valid);
    } else if (s.mode == PoolMode::kOnnxLp) {
      const double p = static_cast<double>(s.p);
      acc = p == 1 ? acc : p == 2 ? sqrt(acc) : pow(acc, 1.0 / p);
    } else if (s.mode == PoolMode::kOnnxMax) {
      if (nan) acc = NAN;
      if constexpr (std::is_integral_v<T>) {
        if (valid == 0) acc = LowestOf<T>();
      }
    }
    out[i] = Narrow<T>(static_cast<Compute<T>>(acc));
  }
}

}  // namespace

cudaError_t LaunchPool(DType dtype, const PoolShape& s, const void* in, void* out, cudaStream_t stream) {
  const int64_t n = s.batch * s.channels * s.out[0] * s.out[1] * s.out[2];
  if (n == 0) return cudaSuccess;
  return Dispatch(Types<float, __half, __nv_bfloat16, double, int8_t, uint8_t, int16_t, int32_t, int64_t>{}, dtype,
                  [&](auto tag) {
                    using T = decltype(tag);
                    PoolKernel<T><<<BlocksFor(n), kThreads, 0, stream>>>(static_cast<const T*>(in),
                                                                          static_cast<T*>(out), s, n);
                    return cudaGetLastError();
                  });
}

}  // namespace kiln::cuda
