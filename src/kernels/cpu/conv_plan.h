#pragma once
// How Conv2D, Conv3D and Conv read their arguments, shared by the CPU and CUDA kernels so that
// both accept and refuse the same inputs.

#include <vector>

#include "ir/ops/conv_geometry.h"
#include "runtime/kernel.h"

namespace kiln::kernels::cpu::nn {

enum class ConvKind { kConv2D, kConv3D, kConv };

// A convolution of input 0 by filter input 1 ([spatial..., in/groups, out]), the batch dims of
// the input flattened to one.
struct ConvPlan {
  Shape flat;  // the input with one batch dim, in its own layout
  int spatial = 2;
  bool channels_first = false;
  int64_t in_c = 0, out_c = 0, groups = 1;
  std::vector<ir::WindowDim> dims;  // one per spatial dim
  Shape out_shape;                  // the output, with the input's batch dims and layout
};
StatusOr<ConvPlan> PlanConv(const runtime::KernelContext& ctx, ConvKind kind);

// DepthwiseConv2dNative of input 0 [N, H, W, C] (or NCHW) by filter input 1 [kh, kw, C, multiplier].
struct DepthwisePlan {
  bool channels_first = false;
  Shape last;  // the input's shape, channels last
  int64_t channels = 0, multiplier = 1;
  std::vector<ir::WindowDim> dims;  // height, width
  Shape out_shape;                  // in the input's layout
};
StatusOr<DepthwisePlan> PlanDepthwise(const runtime::KernelContext& ctx);

// Conv2DBackpropInput: input_sizes (input 0, read on the host), filter (input 1) [kh, kw, in, out]
// and out_backprop (input 2): the gradient of a Conv2D with respect to its input.
struct ConvTransposePlan {
  bool channels_first = false;
  Shape in_shape;  // the result's shape, channels last
  int64_t in_c = 0, out_c = 0;
  std::vector<ir::WindowDim> dims;  // height, width of the forward convolution
  Shape dx_shape;                   // the result's shape in its layout
};
StatusOr<ConvTransposePlan> PlanConvTranspose(const runtime::KernelContext& ctx);

}  // namespace kiln::kernels::cpu::nn
