#pragma once
// How FusedBatchNorm{,V2,V3} read and check their arguments, shared by the CPU and CUDA kernels.

#include "runtime/kernel.h"

namespace kiln::kernels::cpu::nn {

// x (input 0) viewed as [outer, channels, inner] (NHWC has inner 1, NCHW outer N), with scale,
// offset, mean and variance (inputs 1-4) checked against it. Training mode without a running
// average (exponential_avg_factor 1) needs no mean and variance: those may be empty.
struct BatchNormPlan {
  int64_t outer = 0, channels = 0, inner = 0;
  bool training = false, stats_needed = true;
  float epsilon = 0, factor = 1;
};
StatusOr<BatchNormPlan> PlanBatchNorm(const runtime::KernelContext& ctx);

}  // namespace kiln::kernels::cpu::nn
