#pragma once
// How OneHot and OnnxTopK read and check their arguments, shared by the CPU and CUDA kernels so that
// both accept and refuse the same inputs.

#include <vector>

#include "runtime/kernel.h"

namespace kiln::kernels::cpu {

// OneHot of indices (input 0, read on the host) with depth (input 1) and on/off values (inputs 2
// and 3): the output is [prefix, depth, suffix] around the new axis.
struct OneHotPlan {
  int64_t depth = 0, prefix = 1, suffix = 1;
  Shape out_shape;
  std::vector<int64_t> indices;
};
StatusOr<OneHotPlan> PlanOneHot(const runtime::KernelContext& ctx);

// OnnxTopK of input 0 with K (input 1) along the axis attr: [outer, n, inner] -> [outer, k, inner].
struct TopKPlan {
  int64_t outer = 1, n = 0, inner = 1, k = 0;
  bool largest = true;
  Shape out_shape;
};
StatusOr<TopKPlan> PlanTopK(const runtime::KernelContext& ctx);

}  // namespace kiln::kernels::cpu
