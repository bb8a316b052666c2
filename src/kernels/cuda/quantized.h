#pragma once
// Launchers of the kernels of INT8 and FP8 engines (ir/ops/quantized_ops.h): quantization to int8 or
// FP8 E4M3 and the scaling of a quantized product's accumulator into the output type.

#include <cuda_runtime.h>

#include <cstdint>

#include "kiln/dtype.h"

namespace kiln::cuda {

// y[i] = quantize(x[i] / scales[(i / inner) % channels]): int8 (round half to even, saturated, NaN
// to 0) or float8_e4m3fn (round to nearest even, saturated to +-448). x float32, float16 or
// bfloat16; scales on the device.
cudaError_t LaunchQuantize(DType x_dtype, DType y_dtype, const void* x, void* y, int64_t n, const float* scales,
                           int64_t channels, int64_t inner, cudaStream_t stream);

// acc [m, n] = x [m, k] . w [n, k]^T for int8 (int32 acc) or float8_e4m3fn (float32 acc), one thread
// per element: for the shapes cuBLASLt's tensor-core kernels do not take.
cudaError_t LaunchDirectQuantizedGemm(DType dtype, int64_t m, int64_t n, int64_t k, const void* x, const void* w,
                                      void* acc, cudaStream_t stream);

// What follows a quantized product's scaling in the same pass: a bias [cols] and a residual [rows,
// cols] of the output type (either may be null), then an ir::Activation (alpha: LeakyRelu's).
struct AccumulatorEpilogue {
  const void* bias = nullptr;
  const void* residual = nullptr;
  int activation = 0;
  float alpha = 0.2f;
};

// out[r, c] = act(acc[r, c] * a_scale * b_scales[c] + bias[c] + residual[r, c]) (b_scales[0] with one
// scale; the scaled product rounded to the output type before its epilogue), out of `out_dtype`
// (float32, float16 or bfloat16), acc int32 or float32 [rows, cols]; b_scales on the device.
cudaError_t LaunchScaleAccumulator(DType acc_dtype, DType out_dtype, const void* acc, void* out, int64_t rows,
                                   int64_t cols, float a_scale, const float* b_scales, bool per_column,
                                   const AccumulatorEpilogue& epilogue, cudaStream_t stream);

}  // namespace kiln::cuda
