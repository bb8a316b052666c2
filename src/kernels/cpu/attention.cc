// KilnAttention on the CPU, per batch entry and head: q, k and v gathered into dense matrices, the
// scores q . k^T by BLAS, scaled, biased and soft-maxed a row at a time as the Softmax kernel does,
// then the probabilities times v, scattered into the output's layout. float16 and bfloat16 run in
// float32.
#include "kernels/cpu/attention.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/cpu/gemm.h"
#include "kernels/cpu/nn_util.h"

namespace kiln::kernels::cpu {
namespace {

using ir::AttentionLayout;

// The dims of `t` along the logical dims [batch, head, seq, depth] of `layout`.
std::array<int64_t, 4> LogicalDims(const Tensor& t, const AttentionLayout& layout) {
  std::array<int64_t, 4> dims{};
  for (int d = 0; d < 4; ++d) dims[d] = t.dim(layout.axis[d]);
  return dims;
}

// Element strides of a tensor of `shape` stored in `layout`, along its logical dims; dims of 1 get 0
// (broadcast). `at` (when given) is where the layout's fixed indices put the logical dims' origin.
std::array<int64_t, 4> LogicalStrides(const Shape& shape, const AttentionLayout& layout, int64_t* at = nullptr) {
  std::vector<int64_t> stored(shape.size());
  int64_t step = 1;
  for (int a = static_cast<int>(shape.size()) - 1; a >= 0; --a) {
    stored[a] = shape[a] == 1 ? 0 : step;
    step *= shape[a];
  }
  std::array<int64_t, 4> strides{};
  for (int d = 0; d < 4; ++d) strides[d] = stored[layout.axis[d]];
  if (at != nullptr) {
    *at = 0;
    for (const auto& [axis, index] : layout.fixed) *at += index * stored[axis];
  }
  return strides;
}

// Batch and head: every operand's dim is the problem's or 1.
Status Broadcast(int64_t& dim, const char* what, const std::array<std::array<int64_t, 4>, 3>& dims, int d) {
  static constexpr const char* kNames[] = {"q", "k", "v"};
  dim = 1;
  for (const auto& op : dims) dim = std::max(dim, op[d]);
  for (int i = 0; i < 3; ++i) {
    if (dims[i][d] != dim && dims[i][d] != 1) {
      return InvalidArgument(std::string("the ") + what + " of " + kNames[i] + " (" + std::to_string(dims[i][d]) +
                             ") is neither 1 nor the others' " + std::to_string(dim));
    }
  }
  return OkStatus();
}

Status Attention(runtime::KernelContext& ctx) {
  KILN_ASSIGN_OR_RETURN(AttentionPlan p, PlanAttention(ctx));
  if (ctx.input(0).dtype() != DType::kFloat32) {
    return InvalidArgument(ctx.node().op + " on the CPU takes float32, got " + ctx.input(0).DebugString());
  }
  if (!nn::FitsBlas(p.seq_q) || !nn::FitsBlas(p.seq_kv) || !nn::FitsBlas(p.depth) || !nn::FitsBlas(p.depth_v)) {
    return InvalidArgument(ctx.node().op + " dims exceed BLAS's 32-bit sizes");
  }
  const float *q = ctx.input(0).data<float>(), *k = ctx.input(1).data<float>(), *v = ctx.input(2).data<float>();
  const float* bias = p.bias != nullptr ? p.bias->data<float>() : nullptr;
  KILN_ASSIGN_OR_RETURN(Tensor * out, ctx.AllocateOutput(0, DType::kFloat32, p.out_shape));
  float* o = out->data<float>();
  std::vector<float> qm(p.seq_q * p.depth), km(p.seq_kv * p.depth), vm(p.seq_kv * p.depth_v);
  std::vector<float> scores(p.seq_q * p.seq_kv), om(p.seq_q * p.depth_v);
  // Copies rows x cols of `src` at `at` with strides (row, col) into a dense matrix, or back.
  auto gather = [](const float* src, int64_t at, int64_t rows, int64_t cols, int64_t rs, int64_t cs, float* dst) {
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c) dst[r * cols + c] = src[at + r * rs + c * cs];
  };
  for (int64_t b = 0; b < p.batch; ++b) {
    for (int64_t h = 0; h < p.heads; ++h) {
      gather(q, p.q_at + b * p.q[0] + h * p.q[1], p.seq_q, p.depth, p.q[2], p.q[3], qm.data());
      gather(k, p.k_at + b * p.k[0] + h * p.k[1], p.seq_kv, p.depth, p.k[2], p.k[3], km.data());
      gather(v, p.v_at + b * p.v[0] + h * p.v[1], p.seq_kv, p.depth_v, p.v[2], p.v[3], vm.data());
      nn::Gemm(false, true, p.seq_q, p.seq_kv, p.depth, qm.data(), p.depth, km.data(), p.depth, scores.data(),
               p.seq_kv);
      for (int64_t i = 0; i < p.seq_q; ++i) {
        float* row = scores.data() + i * p.seq_kv;
        const int64_t at = b * p.bias_strides[0] + h * p.bias_strides[1] + i * p.bias_strides[2];
        float max = -INFINITY;
        for (int64_t j = 0; j < p.seq_kv; ++j) {
          row[j] = row[j] * p.scale + (bias != nullptr ? bias[at + j * p.bias_strides[3]] : 0.0f);
          max = std::max(max, row[j]);
        }
        float sum = 0.0f;
        for (int64_t j = 0; j < p.seq_kv; ++j) sum += row[j] = std::exp(row[j] - max);
        const float inv = 1.0f / sum;
        for (int64_t j = 0; j < p.seq_kv; ++j) row[j] *= inv;
      }
      nn::Gemm(false, false, p.seq_q, p.depth_v, p.seq_kv, scores.data(), p.seq_kv, vm.data(), p.depth_v, om.data(),
               p.depth_v);
      const int64_t at = b * p.out[0] + h * p.out[1];
      for (int64_t i = 0; i < p.seq_q; ++i)
        for (int64_t d = 0; d < p.depth_v; ++d) o[at + i * p.out[2] + d * p.out[3]] = om[i * p.depth_v + d];
    }
  }
  return OkStatus();
}

}  // namespace

StatusOr<AttentionPlan> PlanAttention(const runtime::KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(3, 4));
  KILN_ASSIGN_OR_RETURN(ir::AttentionAttrs attrs, ir::ParseAttentionAttrs(ctx.node().attrs));
  static constexpr const char* kNames[] = {"q", "k", "v", "bias"};
  for (int i = 0; i < ctx.num_inputs(); ++i) {
    const Tensor& t = ctx.input(i);
    if (t.dtype() != ctx.input(0).dtype()) {
      return InvalidArgument(std::string(kNames[i]) + " " + t.DebugString() + " is not of q's dtype");
    }
  }
  const AttentionLayout* layouts[] = {&attrs.q, &attrs.k, &attrs.v};
  for (int i = 0; i < 3; ++i) {
    const Tensor& t = ctx.input(i);
    if (t.rank() != layouts[i]->rank()) {
      return InvalidArgument(std::string(kNames[i]) + " must have rank " + std::to_string(layouts[i]->rank()) +
                             " (layout " + layouts[i]->ToString() + "), got " + t.DebugString());
    }
    for (const auto& [axis, index] : layouts[i]->fixed) {
      if (index >= t.dim(axis)) {
        return InvalidArgument(std::string(kNames[i]) + " " + t.DebugString() + " has no index " +
                               std::to_string(index) + " along axis " + std::to_string(axis));
      }
    }
  }
  const std::array<std::array<int64_t, 4>, 3> dims = {LogicalDims(ctx.input(0), attrs.q),
                                                      LogicalDims(ctx.input(1), attrs.k),
                                                      LogicalDims(ctx.input(2), attrs.v)};
  AttentionPlan p;
  p.scale = attrs.scale;
  KILN_RETURN_IF_ERROR(Broadcast(p.batch, "batch", dims, ir::kAttentionBatch));
  KILN_RETURN_IF_ERROR(Broadcast(p.heads, "heads", dims, ir::kAttentionHead));
  p.seq_q = dims[0][ir::kAttentionSeq];
  p.depth = dims[0][ir::kAttentionDepth];
  p.seq_kv = dims[1][ir::kAttentionSeq];
  p.depth_v = dims[2][ir::kAttentionDepth];
  if (dims[1][ir::kAttentionDepth] != p.depth) {
    return InvalidArgument("k's depth " + std::to_string(dims[1][ir::kAttentionDepth]) + " is not q's " +
                           std::to_string(p.depth) + " (q " + ctx.input(0).DebugString() + ", k " +
                           ctx.input(1).DebugString() + ")");
  }
  if (dims[2][ir::kAttentionSeq] != p.seq_kv) {
    return InvalidArgument("v's sequence " + std::to_string(dims[2][ir::kAttentionSeq]) + " is not k's " +
                           std::to_string(p.seq_kv) + " (k " + ctx.input(1).DebugString() + ", v " +
                           ctx.input(2).DebugString() + ")");
  }
  p.q = LogicalStrides(ctx.input(0).shape(), *layouts[0], &p.q_at);
  p.k = LogicalStrides(ctx.input(1).shape(), *layouts[1], &p.k_at);
  p.v = LogicalStrides(ctx.input(2).shape(), *layouts[2], &p.v_at);
  const std::array<int64_t, 4> out_logical = {p.batch, p.heads, p.seq_q, p.depth_v};
  p.out_shape = Shape(4, 0);
  for (int d = 0; d < 4; ++d) p.out_shape[attrs.out.axis[d]] = out_logical[d];
  p.out = LogicalStrides(p.out_shape, attrs.out);
  if (ctx.num_inputs() == 4) {
    const Tensor& bias = ctx.input(3);
    const std::array<int64_t, 4> scores = {p.batch, p.heads, p.seq_q, p.seq_kv};
    if (bias.rank() > 4) return InvalidArgument("bias must have rank 4 or less, got " + bias.DebugString());
    Shape padded(4 - bias.rank(), 1);
    padded.insert(padded.end(), bias.shape().begin(), bias.shape().end());
    for (int d = 0; d < 4; ++d) {
      if (padded[d] != 1 && padded[d] != scores[d]) {
        return InvalidArgument("bias " + bias.DebugString() + " does not broadcast onto the scores " +
                               ShapeToString(Shape(scores.begin(), scores.end())));
      }
    }
    p.bias = &bias;
    p.bias_strides = LogicalStrides(padded, ir::AttentionLayout{});
  }
  return p;
}

KILN_REGISTER_CPU_KERNEL(ir::kAttentionOp,
                         [](runtime::KernelContext& ctx) { return nn::RunHalfInFloat32(ctx, Attention); });

}  // namespace kiln::kernels::cpu
