#pragma once
// KilnAttention's problem (ir/ops/attention_op.h) as its CPU and CUDA kernels read it: the sizes,
// and each operand's element strides along the logical dims, checked.

#include <array>

#include "ir/ops/attention_op.h"
#include "runtime/kernel.h"

namespace kiln::kernels::cpu {

struct AttentionPlan {
  float scale = 1.0f;
  int64_t batch = 1, heads = 1, seq_q = 0, seq_kv = 0, depth = 0, depth_v = 0;
  Shape out_shape;
  // Element strides along [batch, head, seq, depth] of q, k, v and the output as stored; 0 along a
  // batch or head dim of 1 that broadcasts.
  std::array<int64_t, 4> q{}, k{}, v{}, out{};
  // Where q, k and v start in their inputs (elements): their layouts' fixed indices.
  int64_t q_at = 0, k_at = 0, v_at = 0;
  // The bias (null when there is none) and its strides along the scores [batch, head, seq_q, seq_kv],
  // 0 where it broadcasts.
  const Tensor* bias = nullptr;
  std::array<int64_t, 4> bias_strides{};
};
StatusOr<AttentionPlan> PlanAttention(const runtime::KernelContext& ctx);

}  // namespace kiln::kernels::cpu
