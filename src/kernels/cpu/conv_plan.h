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

}  // namespace kiln::kernels::cpu::nn
