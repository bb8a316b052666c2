#pragma once
// KilnAttention on the GPU (ir/ops/attention_op.h): cuDNN's fused attention for float16 and bfloat16
// where cuDNN takes the problem, else two batched products around a softmax kernel.

#include "kernels/cpu/attention.h"

namespace kiln::cuda {

// The problem through cuDNN's fused attention into `out`: false when cuDNN is not built in, does
// not take the problem or fails to run it (the caller's path then writes `out`).
StatusOr<bool> TryCudnnAttention(runtime::KernelContext& ctx, const kernels::cpu::AttentionPlan& plan, Tensor& out);

}  // namespace kiln::cuda
