#pragma once
// Direct convolutions for the fused convolutions whose reduction is short (a few input channels
// times the window: an image's first layer), where cuDNN's kernels, built for long reductions on
// tensor cores, take several times as long as writing the output does. One thread computes a pack
// of output channels of one pixel from the filter in shared memory, and applies the epilogue.

#include <cuda_runtime.h>

#include <cstdint>

#include "kiln/dtype.h"

namespace kiln::cuda {

// A 2-D channels-last convolution, groups of 1: x [batch, in_h, in_w, in_c], filter [out_c, kh, kw,
// in_c] (as ArrangeFilter makes it for cuDNN), out [batch, out_h, out_w, out_c].
struct DirectConvShape {
  int64_t batch = 0, in_h = 0, in_w = 0, in_c = 0, out_h = 0, out_w = 0, out_c = 0;
  int64_t kh = 0, kw = 0, stride_h = 1, stride_w = 1, dilation_h = 1, dilation_w = 1, pad_h = 0, pad_w = 0;
};

// The longest reduction (kh * kw * in_c) the direct kernel takes.
constexpr int64_t kDirectConvMaxReduction = 32;

// Whether LaunchDirectConv takes the problem: float32, float16 or bfloat16, a reduction of at most
// kDirectConvMaxReduction, output channels a multiple of a 16-byte pack, a filter that fits in
// shared memory, and fewer than 2^31 outputs.
bool DirectConvTakes(DType dtype, const DirectConvShape& s);

// out = act(conv(x, filter) + bias + residual), all of `dtype` and computed in float32; bias [out_c]
// and residual (out's shape) may be null. `activation` is an ir::Activation, alpha LeakyRelu's.
cudaError_t LaunchDirectConv(DType dtype, const DirectConvShape& s, const void* x, const void* filter,
                             const void* bias, const void* residual, int activation, float alpha, void* out,
                             cudaStream_t stream);

}  // namespace kiln::cuda
