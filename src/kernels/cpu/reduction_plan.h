#pragma once
// How the reduction kernels read their arguments, shared by the CPU and CUDA kernels so that both
// accept and refuse the same inputs.

#include <vector>

#include "runtime/kernel.h"

namespace kiln::kernels::cpu {

// A reduction of input 0 over the axes of input 1 (keep_dims attr) as a [outer, reduce, inner]
// problem, after transposing the input by `perm` when the reduced axes do not sit together.
struct ReducePlan {
  Shape out_shape;
  int64_t outer = 1, reduce = 1, inner = 1;
  std::vector<int> perm;  // non-empty: transpose the input by it first
};
StatusOr<ReducePlan> PlanReduction(const runtime::KernelContext& ctx);

// [outer, axis, inner] view of `shape` around one (validated) axis.
void SplitAroundAxis(const Shape& shape, int axis, int64_t& outer, int64_t& inner);
// Input `input` as a scalar axis of a rank-`rank` tensor, negative values counting from the end.
StatusOr<int> ScalarAxis(const runtime::KernelContext& ctx, int input, int rank, const char* what);

}  // namespace kiln::kernels::cpu
