// The direct convolution of conv_direct.h.
#include <algorithm>

#include "kernels/cuda/activation.cuh"
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/conv_direct.h"
#include "kernels/cuda/strided.h"

namespace kiln::cuda {
namespace {

constexpr int64_t kMaxFilterFloats = 8192;  // 32 KiB of shared memory

// Output pixels per thread: each weight read from shared memory serves this many pixels.
constexpr int kPixels = 4;

// The shape with its divisors, as the kernel reads it.
struct DirectConvArgs {
  int in_h, in_w, in_c, out_h, out_w, out_c;
  int kh, kw, stride_h, stride_w, dilation_h, dilation_w, pad_h, pad_w;
  uint32_t pixels, packs_per_pixel;
  FastDivmod by_packs, by_out_w, by_out_h;
};

// Thread i computes output channels [c, c + V) of kPixels consecutive pixels from p, where
// i = (p / kPixels) * packs_per_pixel + c / V: the threads of one group of pixels read the same
// inputs, and consecutive threads write consecutive packs.
template <typename T, bool kPacked>
__global__ void DirectConvKernel(DirectConvArgs a, const T* __restrict__ x, const T* __restrict__ filter,
                                 const T* __restrict__ bias, const T* __restrict__ residual, int activation,
                                 float alpha, T* __restrict__ out, uint32_t n) {
  constexpr int V = Pack<T>::kSize;
  extern __shared__ float4 shared[];
  float* w = reinterpret_cast<float*>(shared);  // [kh, kw, in_c, out_c], from the filter [out_c, kh, kw, in_c]
  const int reduction = a.kh * a.kw * a.in_c;
  for (int j = threadIdx.x; j < reduction * a.out_c; j += blockDim.x) {
    const int k = j % a.out_c;
    w[j] = Widen(filter[k * reduction + j / a.out_c]);
  }
  __syncthreads();
  for (uint32_t i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
    const uint32_t group = a.by_packs.Div(i);
    const int c0 = static_cast<int>(i - group * a.packs_per_pixel) * V;
    int64_t first[kPixels];  // each pixel's input corner: (image, ih0, iw0) as an offset into x, or -1
    int ih0[kPixels], iw0[kPixels];
#pragma unroll
    for (int p = 0; p < kPixels; ++p) {
      const uint32_t pixel = group * kPixels + p;
      const uint32_t row = a.by_out_w.Div(pixel);
      const uint32_t image = a.by_out_h.Div(row);
      ih0[p] = static_cast<int>(row - image * a.out_h) * a.stride_h - a.pad_h;
      iw0[p] = static_cast<int>(pixel - row * a.out_w) * a.stride_w - a.pad_w;
      first[p] = pixel < a.pixels ? static_cast<int64_t>(image) * a.in_h * a.in_w : -1;
    }
    float acc[kPixels][V] = {};
    for (int r = 0; r < a.kh; ++r) {
      for (int s = 0; s < a.kw; ++s) {
        const float* wp = w + (r * a.kw + s) * a.in_c * a.out_c + c0;
        for (int c = 0; c < a.in_c; ++c) {
          float wv[V];
#pragma unroll
          for (int q = 0; q < V; q += 4) {
            const float4 f = *reinterpret_cast<const float4*>(wp + c * a.out_c + q);
            wv[q] = f.x, wv[q + 1] = f.y, wv[q + 2] = f.z, wv[q + 3] = f.w;
          }
#pragma unroll
          for (int p = 0; p < kPixels; ++p) {
            const int ih = ih0[p] + r * a.dilation_h, iw = iw0[p] + s * a.dilation_w;
            const bool inside = first[p] >= 0 && static_cast<unsigned>(ih) < static_cast<unsigned>(a.in_h) &&
                                static_cast<unsigned>(iw) < static_cast<unsigned>(a.in_w);
            const float xv = inside ? Widen(x[(first[p] + static_cast<int64_t>(ih) * a.in_w + iw) * a.in_c + c]) : 0.0f;
#pragma unroll
            for (int v = 0; v < V; ++v) acc[p][v] += xv * wv[v];
          }
        }
      }
    }
#pragma unroll
    for (int p = 0; p < kPixels; ++p) {
      if (first[p] < 0) continue;
      const int64_t at = (static_cast<int64_t>(group) * kPixels + p) * a.out_c + c0;
      T result[V];
#pragma unroll
      for (int v = 0; v < V; ++v) {
        float y = acc[p][v];
        if (bias != nullptr) y += Widen(bias[c0 + v]);
        if (residual != nullptr) y += Widen(residual[at + v]);
        result[v] = Narrow<T>(Activate(activation, y, alpha));
      }
      if constexpr (kPacked) {
        Pack<T> pack;
#pragma unroll
        for (int v = 0; v < V; ++v) pack.v[v] = result[v];
        StorePack(out + at, pack);
      } else {
#pragma unroll
        for (int v = 0; v < V; ++v) out[at + v] = result[v];
      }
    }
  }
}

using DirectTypes = Types<float, __half, __nv_bfloat16>;

}  // namespace

bool DirectConvTakes(DType dtype, const DirectConvShape& s) {
  if (dtype != DType::kFloat32 && dtype != DType::kFloat16 && dtype != DType::kBFloat16) return false;
  const int64_t pack = kPackBytes / static_cast<int64_t>(DTypeSize(dtype));
  const int64_t outputs = s.batch * s.out_h * s.out_w * s.out_c;
  const int64_t inputs = s.batch * s.in_h * s.in_w * s.in_c;
  return s.kh * s.kw * s.in_c <= kDirectConvMaxReduction && s.out_c % pack == 0 &&
         s.kh * s.kw * s.in_c * s.out_c <= kMaxFilterFloats && outputs < (int64_t{1} << 31) &&
         inputs < (int64_t{1} << 31) && s.in_h < (1 << 30) && s.in_w < (1 << 30);
}

cudaError_t LaunchDirectConv(DType dtype, const DirectConvShape& s, const void* x, const void* filter,
                             const void* bias, const void* residual, int activation, float alpha, void* out,
                             cudaStream_t stream) {
  if (!DirectConvTakes(dtype, s)) return cudaErrorNotSupported;
  const int64_t outputs = s.batch * s.out_h * s.out_w * s.out_c;
  if (outputs == 0) return cudaSuccess;
  return Dispatch(DirectTypes{}, dtype, [&](auto tag) {
    using T = decltype(tag);
    constexpr int V = Pack<T>::kSize;
    const auto i32 = [](int64_t v) { return static_cast<int>(v); };
    const uint32_t pixels = static_cast<uint32_t>(s.batch * s.out_h * s.out_w);
    DirectConvArgs a{i32(s.in_h),       i32(s.in_w),       i32(s.in_c),  i32(s.out_h),    i32(s.out_w),
                     i32(s.out_c),      i32(s.kh),         i32(s.kw),    i32(s.stride_h), i32(s.stride_w),
                     i32(s.dilation_h), i32(s.dilation_w), i32(s.pad_h), i32(s.pad_w),    pixels,
                     static_cast<uint32_t>(s.out_c / V), FastDivmod(static_cast<uint32_t>(s.out_c / V)),
                     FastDivmod(static_cast<uint32_t>(s.out_w)), FastDivmod(static_cast<uint32_t>(s.out_h))};
    const uint32_t groups = (pixels + kPixels - 1) / kPixels;
    const auto n = groups * a.packs_per_pixel;
    const size_t shared = sizeof(float) * static_cast<size_t>(s.kh * s.kw * s.in_c * s.out_c);
    // Every block loads the filter: a grid of a few waves, each thread looping over the rest.
    const unsigned blocks = std::min(BlocksFor(n), 4096u);
    const auto* xt = static_cast<const T*>(x);
    const auto* ft = static_cast<const T*>(filter);
    const auto* bt = static_cast<const T*>(bias);
    const auto* rt = static_cast<const T*>(residual);
    if (PackAligned({out})) {
      DirectConvKernel<T, true><<<blocks, kThreads, shared, stream>>>(a, xt, ft, bt, rt, activation, alpha,
                                                                      static_cast<T*>(out), n);
    } else {
      DirectConvKernel<T, false><<<blocks, kThreads, shared, stream>>>(a, xt, ft, bt, rt, activation, alpha,
                                                                       static_cast<T*>(out), n);
    }
    return cudaGetLastError();
  });
}

}  // namespace kiln::cuda
