#pragma once
// Launcher of FusedBatchNorm: x (float32, float16 or bfloat16) viewed as [outer, channels, inner],
// per-channel parameters in float32 or bfloat16.

#include <cuda_runtime.h>

#include <cstdint>

#include "kiln/dtype.h"

namespace kiln::cuda {

struct BatchNormShape {
  int64_t outer = 0, channels = 0, inner = 0;
};

struct BatchNormParams {
  bool training = false;
  float epsilon = 0, factor = 1;
  const void *scale = nullptr, *offset = nullptr, *mean = nullptr, *variance = nullptr;  // inputs
  void *out_mean = nullptr, *out_variance = nullptr, *reserve_1 = nullptr, *reserve_2 = nullptr;  // outputs
};

// `scratch` holds 4 * channels floats on the device.
cudaError_t LaunchBatchNorm(DType x_type, DType u_type, const BatchNormShape& shape, const BatchNormParams& params,
                            const void* x, void* y, float* scratch, cudaStream_t stream);

}  // namespace kiln::cuda
