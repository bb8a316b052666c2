#pragma once
// Small helpers shared by the CPU kernels.

#include <functional>
#include <string>
#include <vector>

#include "runtime/kernel.h"

namespace kiln::kernels::cpu {

// float16/bfloat16/float64 kernels compute in float32: widen, run the float32 code, round back.
// Returns the input unchanged when it is already float32.
Tensor ToFloat32(const Tensor& t);
// Rounds a float32 tensor to `dtype` (a floating type); returns it unchanged for float32.
Tensor FromFloat32(const Tensor& t, DType dtype);
// Runs `fn` on float32 versions of every floating input and rounds its float outputs back to
// the dtype of input 0. For kernels that are written for float32 only.
Status RunInFloat32(runtime::KernelContext& ctx, const std::function<Status(runtime::KernelContext&)>& fn);

// `x` converted to `dst` with TensorFlow's Cast semantics (the Cast kernel's own conversion);
// `truncate` rounds toward zero when narrowing to float16/bfloat16.
StatusOr<Tensor> CastTensor(const Tensor& x, DType dst, bool truncate = false);

// Input i (an integer tensor) as int64 values; the error names the input.
StatusOr<std::vector<int64_t>> InputInt64s(const runtime::KernelContext& ctx, int i);

}  // namespace kiln::kernels::cpu
