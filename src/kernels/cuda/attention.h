#pragma once
// KilnAttention on the GPU (ir/ops/attention_op.h): cuDNN's fused attention for float16 and bfloat16
// where cuDNN takes the problem, else two batched products around a softmax kernel.

#include <vector>

#include "cuda/stream_context.h"
#include "kernels/cpu/attention.h"

namespace kiln::cuda {

// Copies `from`, read from element `from_at` on with `from_strides` along `dims`, into `to`, written
// with `to_strides`.
Status StridedCopy(StreamContext& device, const Tensor& from, const std::vector<int64_t>& from_strides, Tensor& to,
                   const std::vector<int64_t>& to_strides, const Shape& dims, int64_t from_at = 0);

// The problem through cuDNN's fused attention into `out`: false when cuDNN is not built in, does
// not take the problem or fails to run it (the caller's path then writes `out`).
StatusOr<bool> TryCudnnAttention(runtime::KernelContext& ctx, const kernels::cpu::AttentionPlan& plan, Tensor& out);

}  // namespace kiln::cuda
