#pragma once
// Launcher of the pooling kernel: max, average and Lp pools over 1 to 3 spatial dims, channels
// first or last, with TensorFlow's and ONNX's rules for padding, NaNs and counts.

#include <cuda_runtime.h>

#include <cstdint>

#include "kiln/dtype.h"

namespace kiln::cuda {

enum class PoolMode : uint8_t {
  kTfMax,    // padding ignored, NaNs never win, windows with no input give the lowest value
  kTfAvg,    // divides by the input elements in the window
  kOnnxMax,  // NaN wins, windows with no input give -inf (integers: the lowest value)
  kOnnxAvg,  // divides by the input taps, or with count_include_pad by the taps in the padded input
  kOnnxLp,   // (sum |x|^p)^(1/p) over the input taps
};

struct PoolShape {
  PoolMode mode = PoolMode::kTfMax;
  bool channels_first = false;
  bool count_include_pad = false;
  int64_t p = 2;
  int64_t batch = 1, channels = 1;
  // Three spatial dims; unused leading ones have size 1, kernel 1.
  int64_t in[3] = {1, 1, 1}, out[3] = {1, 1, 1}, kernel[3] = {1, 1, 1}, stride[3] = {1, 1, 1},
          dilation[3] = {1, 1, 1}, pad_begin[3] = {0, 0, 0}, pad_end[3] = {0, 0, 0};
  // Max pools' epilogue: out = act(max + bias[channel]); bias (of the pooled dtype) may be null,
  // activation is an ir::Activation and alpha LeakyRelu's.
  const void* bias = nullptr;
  int activation = 0;
  float alpha = 0.2f;
};

cudaError_t LaunchPool(DType dtype, const PoolShape& shape, const void* in, void* out, cudaStream_t stream);

}  // namespace kiln::cuda
