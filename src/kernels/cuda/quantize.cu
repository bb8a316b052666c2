// Quantization kernels, bit-exact with the CPU kernels (fake_quant.cc, tf_fake_quant.cc,
// onnx_quantize.cc): every multiply and add is a separately rounded intrinsic, so the compiler
// cannot fuse them into FMAs whose single rounding would move values across quantization levels.
#include <cfloat>

#include "kernels/cuda/common.cuh"
#include "kernels/cuda/quantize.h"

namespace kiln::cuda {
namespace {

__device__ __forceinline__ float RoundToE4M3(float x) {
  if (isnan(x)) return x;
  const float a = fabsf(x);
  float r;
  if (a >= 448.0f) {
    r = 448.0f;
  } else if (a < 0x1p-6f) {
    r = __fdiv_rn(rintf(__fmul_rn(a, 512.0f)), 512.0f);
  } else {
    int e;
    frexpf(a, &e);
    const int shift = e - 4;
    r = fminf(ldexpf(rintf(ldexpf(a, -shift)), shift), 448.0f);
  }
  return copysignf(r, x);
}

__global__ void KilnFakeQuantKernel(FakeQuantMode mode, const float* __restrict__ x, float* __restrict__ y, int64_t n,
                                    const float* __restrict__ scales, int64_t channels, int64_t inner) {
  KILN_GRID_STRIDE_LOOP(i, n) {
    const float v = x[i];
    if (mode == FakeQuantMode::kFp16) {
      y[i] = __half2float(__float2half_rn(v));
      continue;
    }
    if (mode == FakeQuantMode::kBf16) {
      y[i] = __bfloat162float(__float2bfloat16_rn(v));
      continue;
    }
    const float s = scales[channels == 1 ? 0 : (i / inner) % channels];
    const float q = __fdiv_rn(v, s);
    if (mode == FakeQuantMode::kInt8) {
      y[i] = isnan(q) ? 0.0f : __fmul_rn(__fadd_rn(fminf(fmaxf(rintf(q), -128.0f), 127.0f), 0.0f), s);
    } else {
      y[i] = __fmul_rn(RoundToE4M3(q), s);
    }
  }
}

__global__ void TfFakeQuantKernel(const float* __restrict__ x, float* __restrict__ y, int64_t n,
                                  const NudgedRange* __restrict__ ranges, int64_t channels) {
  KILN_GRID_STRIDE_LOOP(i, n) {
    const NudgedRange r = ranges[i % channels];
    if (r.all_zero) {
      y[i] = 0.0f;
      continue;
    }
    // std::max(std::min(x, max), min), as on the CPU: NaN passes through.
    const float v = x[i];
    const float upper = r.max < v ? r.max : v;
    const float c = upper < r.min ? r.min : upper;
    const float d = __fsub_rn(c, r.min);
    const float scaled = r.divide ? __fdiv_rn(d, r.scale) : __fmul_rn(d, r.inv_scale);
    y[i] = __fmul_rn(floorf(__fadd_rn(__fsub_rn(scaled, r.quant_zero), 0.5f)), r.scale);
  }
}

__device__ __forceinline__ int64_t ParamAt(const QuantIndex& p, int64_t i) {
  if (p.layout == 0) return 0;
  const int64_t a = (i / p.inner) % p.axis_dim;
  if (p.layout == 1) return a;
  const int64_t o = i / (p.inner * p.axis_dim);
  return (o * p.blocks + a / p.block_size) * p.inner + i % p.inner;
}

template <typename X, typename Y>
__global__ void QuantizeKernel(const X* __restrict__ x, Y* __restrict__ y, int64_t n, DType scale_dtype,
                               const float* __restrict__ scales, const int64_t* __restrict__ zeros,
                               QuantIndex index) {
  KILN_GRID_STRIDE_LOOP(i, n) {
    const int64_t p = ParamAt(index, i);
    double q;
    if constexpr (std::is_same_v<X, double>) {
      q = x[i] / static_cast<double>(scales[p]);
    } else {
      float f = __fdiv_rn(static_cast<float>(Widen(x[i])), scales[p]);
      if (scale_dtype == DType::kFloat16) f = __half2float(__float2half_rn(f));
      if (scale_dtype == DType::kBFloat16) f = __bfloat162float(__float2bfloat16_rn(f));
      q = f;
    }
    const double z = static_cast<double>(zeros[p]);
    const double v = q != q ? z : rint(q) + z;
    const double lo = static_cast<double>(std::numeric_limits<Y>::lowest());
    const double hi = static_cast<double>(std::numeric_limits<Y>::max());
    y[i] = static_cast<Y>(fmin(fmax(v, lo), hi));
  }
}

template <typename X, typename Y>
__global__ void DequantizeKernel(const X* __restrict__ x, Y* __restrict__ y, int64_t n,
                                 const float* __restrict__ scales, const int64_t* __restrict__ zeros,
                                 QuantIndex index) {
  KILN_GRID_STRIDE_LOOP(i, n) {
    const int64_t p = ParamAt(index, i);
    const double xd = std::is_same_v<X, int32_t> ? static_cast<double>(static_cast<float>(x[i]))
                                                 : static_cast<double>(x[i]);
    const double v = __dmul_rn(xd - static_cast<double>(zeros[p]), static_cast<double>(scales[p]));
    if constexpr (std::is_same_v<Y, double>) {
      y[i] = v;
    } else {
      y[i] = Narrow<Y>(static_cast<float>(v));
    }
  }
}

using QuantTypes = Types<int8_t, uint8_t, int16_t, uint16_t>;

}  // namespace

cudaError_t LaunchKilnFakeQuant(FakeQuantMode mode, const float* x, float* y, int64_t n, const float* scales,
                                int64_t channels, int64_t inner, cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  KilnFakeQuantKernel<<<BlocksFor(n), kThreads, 0, stream>>>(mode, x, y, n, scales, channels, inner);
  return cudaGetLastError();
}

cudaError_t LaunchTfFakeQuant(const float* x, float* y, int64_t n, const NudgedRange* ranges, int64_t channels,
                              cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  TfFakeQuantKernel<<<BlocksFor(n), kThreads, 0, stream>>>(x, y, n, ranges, channels);
  return cudaGetLastError();
}

cudaError_t LaunchQuantizeLinear(DType x_dtype, DType y_dtype, DType scale_dtype, const void* x, void* y, int64_t n,
                                 const float* scales, const int64_t* zero_points, const QuantIndex& index,
                                 cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  return Dispatch(Types<float, __half, __nv_bfloat16, double, int32_t>{}, x_dtype, [&](auto xt) {
    using X = decltype(xt);
    return Dispatch(QuantTypes{}, y_dtype, [&](auto yt) {
      using Y = decltype(yt);
      QuantizeKernel<X, Y><<<BlocksFor(n), kThreads, 0, stream>>>(static_cast<const X*>(x), static_cast<Y*>(y), n,
                                                                   scale_dtype, scales, zero_points, index);
      return cudaGetLastError();
    });
  });
}

cudaError_t LaunchDequantizeLinear(DType x_dtype, DType y_dtype, const void* x, void* y, int64_t n,
                                   const float* scales, const int64_t* zero_points, const QuantIndex& index,
                                   cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  return Dispatch(Types<int8_t, uint8_t, int16_t, uint16_t, int32_t>{}, x_dtype, [&](auto xt) {
    using X = decltype(xt);
    return Dispatch(FloatTypes{}, y_dtype, [&](auto yt) {
      using Y = decltype(yt);
      DequantizeKernel<X, Y><<<BlocksFor(n), kThreads, 0, stream>>>(static_cast<const X*>(x), static_cast<Y*>(y), n,
                                                                     scales, zero_points, index);
      return cudaGetLastError();
    });
  });
}

}  // namespace kiln::cuda
