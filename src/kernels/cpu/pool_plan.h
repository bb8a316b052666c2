#pragma once
// How the pooling ops read and check their arguments, shared by the CPU and CUDA kernels.

#include <vector>

#include "ir/ops/conv_geometry.h"
#include "ir/ops/onnx_window_rules.h"
#include "runtime/kernel.h"

namespace kiln::kernels::cpu::nn {

// MaxPool, MaxPoolV2 (ksize and strides as inputs 1 and 2) and AvgPool over a 4-D input.
struct TfPoolPlan {
  bool channels_first = false;
  Shape last;                       // the input's shape, channels last
  std::vector<ir::WindowDim> dims;  // height, width
  Shape out_shape;                  // in the input's layout
};
StatusOr<TfPoolPlan> PlanTfPool(const runtime::KernelContext& ctx);

// OnnxPool over [N, C, spatial...] with 1 to 3 spatial dims.
struct OnnxPoolPlan {
  ir::OnnxPoolSpec spec;
  std::vector<ir::OnnxPoolDim> dims;  // per spatial dim
  Shape out_shape;
};
StatusOr<OnnxPoolPlan> PlanOnnxPool(const runtime::KernelContext& ctx);

}  // namespace kiln::kernels::cpu::nn
