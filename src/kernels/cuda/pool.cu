// Pooling with the CPU kernels' semantics (src/kernels/cpu/pooling.cc, onnx_pool.cc): one thread
// per output element, with 32-bit index arithmetic wherever the tensors allow it.
#include <cfloat>
#include <climits>
#include <algorithm>
#include <limits>

#include "kernels/cuda/activation.cuh"
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/pool.h"
#include "kernels/cuda/strided.h"

namespace kiln::cuda {
namespace {

// The lowest value of T, in the type max pools compare in (Compute<T>, or T for integers).
template <typename T>
__device__ __forceinline__ Compute<T> LowestOf() {
  if constexpr (std::is_same_v<Compute<T>, float>) {
    return -FLT_MAX;
  } else if constexpr (std::is_same_v<T, double>) {
    return -DBL_MAX;
  } else {
    return std::numeric_limits<T>::lowest();
  }
}

// A max pool's epilogue on the maximum `v` of channel c.
template <typename T>
__device__ __forceinline__ Compute<T> PoolEpilogue(const PoolShape& s, Compute<T> v, int64_t c) {
  if (s.bias == nullptr && s.activation == 0) return v;
  if constexpr (kIsFloat<T> && !std::is_same_v<T, double>) {
    float x = static_cast<float>(v);
    if (s.bias != nullptr) x += Widen(static_cast<const T*>(s.bias)[c]);
    return static_cast<Compute<T>>(Activate(s.activation, x, s.alpha));
  } else {
    return v;  // float16, bfloat16 and float32 only (shape inference rejects others)
  }
}

// Where output element i's window lies: its batch-and-channel plane (element (i0, i1, i2) of the
// plane at base + ((i0 * in1 + i1) * in2 + i2) * step) and its output position. Index is int32_t
// when every element index of both tensors fits, else int64_t.
template <typename Index>
struct Window {
  Index base, step, c, o[3];

  __device__ __forceinline__ Window(const PoolShape& s, Index i) {
    Index rest = i;
    if (s.channels_first) {
      for (int d = 2; d >= 0; --d) {
        o[d] = rest % static_cast<Index>(s.out[d]);
        rest /= static_cast<Index>(s.out[d]);
      }
      c = rest % static_cast<Index>(s.channels);
      rest /= static_cast<Index>(s.channels);
    } else {
      c = rest % static_cast<Index>(s.channels);
      rest /= static_cast<Index>(s.channels);
      for (int d = 2; d >= 0; --d) {
        o[d] = rest % static_cast<Index>(s.out[d]);
        rest /= static_cast<Index>(s.out[d]);
      }
    }
    const Index plane = static_cast<Index>(s.in[0] * s.in[1] * s.in[2]);
    const Index channels = static_cast<Index>(s.channels);
    base = s.channels_first ? (rest * channels + c) * plane : rest * plane * channels + c;
    step = s.channels_first ? 1 : channels;
  }

  // Calls fn(value) for each input element under the window, in row-major order; returns how many.
  template <typename T, typename Fn>
  __device__ __forceinline__ Index ForEach(const PoolShape& s, const T* __restrict__ in, Fn&& fn) const {
    return ForEachOffset(s, [&](Index at) { fn(Widen(in[at])); });
  }

  // Calls fn(element offset) for each input element under the window, in row-major order; returns
  // how many.
  template <typename Fn>
  __device__ __forceinline__ Index ForEachOffset(const PoolShape& s, Fn&& fn) const {
    Index taps = 0;
    for (Index j0 = 0; j0 < static_cast<Index>(s.kernel[0]); ++j0) {
      const Index p0 = o[0] * static_cast<Index>(s.stride[0]) - static_cast<Index>(s.pad_begin[0]) +
                       j0 * static_cast<Index>(s.dilation[0]);
      if (p0 < 0 || p0 >= static_cast<Index>(s.in[0])) continue;
      for (Index j1 = 0; j1 < static_cast<Index>(s.kernel[1]); ++j1) {
        const Index p1 = o[1] * static_cast<Index>(s.stride[1]) - static_cast<Index>(s.pad_begin[1]) +
                         j1 * static_cast<Index>(s.dilation[1]);
        if (p1 < 0 || p1 >= static_cast<Index>(s.in[1])) continue;
        const Index row = base + (p0 * static_cast<Index>(s.in[1]) + p1) * static_cast<Index>(s.in[2]) * step;
        for (Index j2 = 0; j2 < static_cast<Index>(s.kernel[2]); ++j2) {
          const Index p2 = o[2] * static_cast<Index>(s.stride[2]) - static_cast<Index>(s.pad_begin[2]) +
                           j2 * static_cast<Index>(s.dilation[2]);
          if (p2 < 0 || p2 >= static_cast<Index>(s.in[2])) continue;
          fn(row + p2 * step);
          ++taps;
        }
      }
    }
    return taps;
  }

  // The taps of the window within the padded input (ONNX's count_include_pad divisor).
  __device__ __forceinline__ Index PaddedTaps(const PoolShape& s) const {
    Index padded = 1;
    for (int d = 0; d < 3; ++d) {
      Index count = 0;
      for (Index j = 0; j < static_cast<Index>(s.kernel[d]); ++j) {
        const Index pos = o[d] * static_cast<Index>(s.stride[d]) - static_cast<Index>(s.pad_begin[d]) +
                          j * static_cast<Index>(s.dilation[d]);
        count += pos >= -static_cast<Index>(s.pad_begin[d]) && pos < static_cast<Index>(s.in[d] + s.pad_end[d]);
      }
      padded *= count;
    }
    return padded;
  }
};

// Max pools compare in the element's own compute type, which is exact.
template <typename T, typename Index>
__global__ void MaxPoolKernel(const T* __restrict__ in, T* __restrict__ out, PoolShape s, Index n) {
  using A = Compute<T>;
  const bool onnx = s.mode == PoolMode::kOnnxMax;
  for (Index i = blockIdx.x * static_cast<Index>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<Index>(gridDim.x) * blockDim.x) {
    const Window<Index> w(s, i);
    A acc = LowestOf<T>();
    if constexpr (kIsFloat<T>) {
      if (onnx) acc = -static_cast<A>(INFINITY);
    }
    bool nan = false;
    w.ForEach(s, in, [&](A v) {
      if constexpr (kIsFloat<T>) {
        if (onnx) {
          nan |= v != v;
          acc = fmax(acc, v);
          return;
        }
      }
      acc = v > acc ? v : acc;
    });
    if constexpr (kIsFloat<T>) {
      if (nan) acc = static_cast<A>(NAN);
    }
    out[i] = Narrow<T>(PoolEpilogue<T>(s, acc, w.c));
  }
}

// The maxima of a pack of channels over a window, with MaxPoolKernel's rules.
template <typename T>
struct PackMax {
  using A = Compute<T>;
  static constexpr int K = Pack<T>::kSize;
  bool onnx;
  A acc[K];
  bool nan[K];

  __device__ __forceinline__ explicit PackMax(bool onnx_rules) : onnx(onnx_rules) {
#pragma unroll
    for (int k = 0; k < K; ++k) {
      acc[k] = onnx ? -static_cast<A>(INFINITY) : LowestOf<T>();
      nan[k] = false;
    }
  }
  __device__ __forceinline__ void Add(const Pack<T>& p) {
#pragma unroll
    for (int k = 0; k < K; ++k) {
      const A v = Widen(p.v[k]);
      if (onnx) {
        nan[k] |= v != v;
        acc[k] = fmax(acc[k], v);
      } else {
        acc[k] = v > acc[k] ? v : acc[k];
      }
    }
  }
  // The maxima, through the pool's epilogue; the pack's first channel is c.
  __device__ __forceinline__ Pack<T> Result(const PoolShape& s, int64_t c) const {
    Pack<T> result;
#pragma unroll
    for (int k = 0; k < K; ++k) {
      result.v[k] = Narrow<T>(PoolEpilogue<T>(s, nan[k] ? static_cast<A>(NAN) : acc[k], c + k));
    }
    return result;
  }
};

// MaxPoolKernel for channels-last inputs a pack of channels per thread: channels a multiple of
// kSize, the pointers aligned; n counts output elements.
template <typename T, typename Index>
__global__ void MaxPoolPackedKernel(const T* __restrict__ in, T* __restrict__ out, PoolShape s, Index n) {
  constexpr int K = Pack<T>::kSize;
  for (Index g = blockIdx.x * static_cast<Index>(blockDim.x) + threadIdx.x; g < n / K;
       g += static_cast<Index>(gridDim.x) * blockDim.x) {
    const Window<Index> w(s, g * K);
    PackMax<T> m(s.mode == PoolMode::kOnnxMax);
    w.ForEachOffset(s, [&](Index at) { m.Add(LoadPack(in + at)); });
    StorePack(out + g * K, m.Result(s, w.c));
  }
}

// MaxPoolPackedKernel for 2-d windows of KH x KW taps without dilation, in 32-bit indices: the
// window's loads unrolled, so a thread has them all in flight at once, and the output position
// found by multiplications rather than divisions. `groups` is the channels over kSize; `out_w`
// and `out_h` the output's width and height.
template <typename T, int KH, int KW>
__global__ void MaxPool2dPackedKernel(const T* __restrict__ in, T* __restrict__ out, PoolShape s, FastDivmod groups,
                                      FastDivmod out_w, FastDivmod out_h, int32_t n) {
  constexpr int K = Pack<T>::kSize;
  const int32_t in_h = static_cast<int32_t>(s.in[1]), in_w = static_cast<int32_t>(s.in[2]);
  const int32_t channels = static_cast<int32_t>(s.channels);
  for (int32_t g = blockIdx.x * blockDim.x + threadIdx.x; g < n; g += gridDim.x * blockDim.x) {
    const uint32_t pixel = groups.Div(g), row = out_w.Div(pixel), image = out_h.Div(row);
    const int32_t c = (g - pixel * groups.divisor) * K;
    const int32_t x0 = (pixel - row * out_w.divisor) * static_cast<int32_t>(s.stride[2]) -
                       static_cast<int32_t>(s.pad_begin[2]);
    const int32_t y0 = (row - image * out_h.divisor) * static_cast<int32_t>(s.stride[1]) -
                       static_cast<int32_t>(s.pad_begin[1]);
    const T* plane = in + static_cast<int32_t>(image) * in_h * in_w * channels + c;
    PackMax<T> m(s.mode == PoolMode::kOnnxMax);
#pragma unroll
    for (int i = 0; i < KH; ++i) {
      const int32_t y = y0 + i;
#pragma unroll
      for (int j = 0; j < KW; ++j) {
        const int32_t x = x0 + j;
        if (y >= 0 && y < in_h && x >= 0 && x < in_w) m.Add(LoadPack(plane + (y * in_w + x) * channels));
      }
    }
    StorePack(out + g * K, m.Result(s, c));
  }
}

// Launches MaxPool2dPackedKernel where the pool is a channels-last 2-d max pool of KH x KW taps
// without dilation whose indices fit 32 bits; returns false, having launched nothing, otherwise.
template <typename T, int KH, int KW>
bool TryMaxPool2dPacked(const PoolShape& s, const T* in, T* out, int64_t n, cudaStream_t stream) {
  constexpr int K = Pack<T>::kSize;
  const bool fits = s.kernel[0] == 1 && s.in[0] == 1 && s.out[0] == 1 && s.kernel[1] == KH && s.kernel[2] == KW &&
                    s.dilation[1] == 1 && s.dilation[2] == 1 && !s.channels_first && s.channels % K == 0 &&
                    n < (int64_t{1} << 31) && s.batch * s.channels * s.in[1] * s.in[2] < (int64_t{1} << 31);
  if (!fits) return false;
  const int32_t groups = static_cast<int32_t>(n / K);
  MaxPool2dPackedKernel<T, KH, KW><<<BlocksFor(groups), kThreads, 0, stream>>>(
      in, out, s, FastDivmod(static_cast<uint32_t>(s.channels / K)), FastDivmod(static_cast<uint32_t>(s.out[2])),
      FastDivmod(static_cast<uint32_t>(s.out[1])), groups);
  return true;
}

// Average and Lp pools sum in double, as the CPU kernels do.
template <typename T, typename Index>
__global__ void SumPoolKernel(const T* __restrict__ in, T* __restrict__ out, PoolShape s, Index n) {
  for (Index i = blockIdx.x * static_cast<Index>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<Index>(gridDim.x) * blockDim.x) {
    const Window<Index> w(s, i);
    double acc = 0.0;
    const double p = static_cast<double>(s.p);
    const bool lp = s.mode == PoolMode::kOnnxLp;
    const Index valid = w.ForEach(s, in, [&](auto x) {
      const double v = static_cast<double>(x);
      acc += !lp ? v : s.p == 2 ? v * v : pow(fabs(v), p);
    });
    if (s.mode == PoolMode::kTfAvg) {
      acc /= static_cast<double>(valid > 0 ? valid : 1);
    } else if (s.mode == PoolMode::kOnnxAvg) {
      acc /= static_cast<double>(s.count_include_pad ? w.PaddedTaps(s) : valid);
    } else {
      acc = p == 1 ? acc : p == 2 ? sqrt(acc) : pow(acc, 1.0 / p);
    }
    out[i] = Narrow<T>(static_cast<Compute<T>>(acc));
  }
}

}  // namespace

cudaError_t LaunchPool(DType dtype, const PoolShape& s, const void* in, void* out, cudaStream_t stream) {
  const int64_t n = s.batch * s.channels * s.out[0] * s.out[1] * s.out[2];
  if (n == 0) return cudaSuccess;
  const int64_t in_elements = s.batch * s.channels * s.in[0] * s.in[1] * s.in[2];
  const bool index32 = std::max(n, in_elements) < (int64_t{1} << 31);
  const bool max = s.mode == PoolMode::kTfMax || s.mode == PoolMode::kOnnxMax;
  auto launch = [&](auto tag, auto index) {
    using T = decltype(tag);
    using Index = decltype(index);
    const T* x = static_cast<const T*>(in);
    T* y = static_cast<T*>(out);
    if constexpr (kIsFloat<T> && !std::is_same_v<T, double>) {
      if (max && !s.channels_first && s.channels % Pack<T>::kSize == 0 && PackAligned({in, out})) {
        if (TryMaxPool2dPacked<T, 3, 3>(s, x, y, n, stream) || TryMaxPool2dPacked<T, 2, 2>(s, x, y, n, stream)) {
          return cudaGetLastError();
        }
        MaxPoolPackedKernel<T, Index><<<BlocksFor(n / Pack<T>::kSize), kThreads, 0, stream>>>(
            x, y, s, static_cast<Index>(n));
        return cudaGetLastError();
      }
    }
    if (max) {
      MaxPoolKernel<T, Index><<<BlocksFor(n), kThreads, 0, stream>>>(x, y, s, static_cast<Index>(n));
    } else {
      SumPoolKernel<T, Index><<<BlocksFor(n), kThreads, 0, stream>>>(x, y, s, static_cast<Index>(n));
    }
    return cudaGetLastError();
  };
  return Dispatch(Types<float, __half, __nv_bfloat16, double, int8_t, uint8_t, int16_t, int32_t, int64_t>{}, dtype,
                  [&](auto tag) { return index32 ? launch(tag, int32_t{}) : launch(tag, int64_t{}); });
}

}  // namespace kiln::cuda
