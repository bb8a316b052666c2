// KilnAttention on the GPU: cuDNN's fused attention where it takes the problem (attention_graph.cc);
// otherwise q, k and v made dense [batch, heads, seq, depth] where they are not, the scores by one
// batched product, the scaled, biased softmax in place, and the output by a second product, written
// into the output's layout.
#include "kernels/cuda/attention.h"

#include <vector>

#include "kernels/cuda/copy.h"
#include "kernels/cuda/fused.h"
#include "kernels/cuda/kernel_util.h"
#include "kernels/cuda/matmul.h"
#include "kernels/cuda/strided.h"

namespace kiln::cuda {
namespace {

using kernels::cpu::AttentionPlan;
using runtime::KernelContext;

// Whether a tensor read with `strides` along `dims` is dense in that order (dims of 1 aside).
bool IsDense(const std::array<int64_t, 4>& strides, const Shape& dims) {
  const std::vector<int64_t> dense = ContiguousStrides(dims);
  for (int d = 0; d < 4; ++d) {
    if (dims[d] != 1 && strides[d] != dense[d]) return false;
  }
  return true;
}

// The operand of `t` from element `at` on as a dense [batch, heads, seq, depth] tensor of `dims`:
// `t` itself when it is one, else a copy.
StatusOr<Tensor> Dense(StreamContext& device, const Tensor& t, int64_t at, const std::array<int64_t, 4>& strides,
                       const Shape& dims) {
  if (at == 0 && IsDense(strides, dims)) return t;
  KILN_ASSIGN_OR_RETURN(Tensor dense, device.Allocate(t.dtype(), dims));
  const std::vector<int64_t> from(strides.begin(), strides.end());
  KILN_RETURN_IF_ERROR(StridedCopy(device, t, from, dense, ContiguousStrides(dims), dims, at));
  return dense;
}

Status UnfusedAttention(KernelContext& ctx, const AttentionPlan& p, Tensor& out) {
  StreamContext& device = Ctx(ctx);
  const DType dtype = out.dtype();
  if (p.seq_kv == 0) {  // no keys: every output is an empty sum
    KILN_CUDA_RETURN_IF_ERROR(cudaMemsetAsync(out.raw_data(), 0, out.byte_size(), device.stream()));
    return OkStatus();
  }
  const Shape q_dims = {p.batch, p.heads, p.seq_q, p.depth}, k_dims = {p.batch, p.heads, p.seq_kv, p.depth};
  const Shape v_dims = {p.batch, p.heads, p.seq_kv, p.depth_v}, out_dims = {p.batch, p.heads, p.seq_q, p.depth_v};
  KILN_ASSIGN_OR_RETURN(Tensor q, Dense(device, ctx.input(0), p.q_at, p.q, q_dims));
  KILN_ASSIGN_OR_RETURN(Tensor k, Dense(device, ctx.input(1), p.k_at, p.k, k_dims));
  KILN_ASSIGN_OR_RETURN(Tensor v, Dense(device, ctx.input(2), p.v_at, p.v, v_dims));
  KILN_ASSIGN_OR_RETURN(Tensor scores, device.Allocate(dtype, {p.batch, p.heads, p.seq_q, p.seq_kv}));
  const int64_t heads = p.batch * p.heads;
  const GemmShape qk{.adj_y = true, .m = p.seq_q, .n = p.seq_kv, .k = p.depth, .batch = heads,
                     .stride_x = p.seq_q * p.depth, .stride_y = p.seq_kv * p.depth};
  if (p.depth == 0) {  // empty dot products
    KILN_CUDA_RETURN_IF_ERROR(cudaMemsetAsync(scores.raw_data(), 0, scores.byte_size(), device.stream()));
  } else {
    KILN_RETURN_IF_ERROR(Gemm(device, dtype, qk, q.raw_data(), k.raw_data(), scores.raw_data()));
  }
  KILN_CUDA_RETURN_IF_ERROR(LaunchScaledSoftmax(dtype, scores.raw_data(),
                                                p.bias != nullptr ? p.bias->raw_data() : nullptr, p.bias_strides,
                                                {p.batch, p.heads, p.seq_q, p.seq_kv}, p.scale, device.stream()));
  const GemmShape pv{.m = p.seq_q, .n = p.depth_v, .k = p.seq_kv, .batch = heads,
                     .stride_x = p.seq_q * p.seq_kv, .stride_y = p.seq_kv * p.depth_v};
  if (IsDense(p.out, out_dims)) return Gemm(device, dtype, pv, scores.raw_data(), v.raw_data(), out.raw_data());
  KILN_ASSIGN_OR_RETURN(Tensor dense, device.Allocate(dtype, out_dims));
  KILN_RETURN_IF_ERROR(Gemm(device, dtype, pv, scores.raw_data(), v.raw_data(), dense.raw_data()));
  return StridedCopy(device, dense, ContiguousStrides(out_dims), out, std::vector<int64_t>(p.out.begin(), p.out.end()),
                     out_dims);
}

Status Attention(KernelContext& ctx) {
  KILN_ASSIGN_OR_RETURN(AttentionPlan p, kernels::cpu::PlanAttention(ctx));
  KILN_ASSIGN_OR_RETURN(Tensor * out, ctx.AllocateOutput(0, ctx.input(0).dtype(), p.out_shape));
  if (out->num_elements() == 0) return OkStatus();
  KILN_ASSIGN_OR_RETURN(bool fused, TryCudnnAttention(ctx, p, *out));
  if (fused) return OkStatus();
  return UnfusedAttention(ctx, p, *out);
}

}  // namespace

Status StridedCopy(StreamContext& device, const Tensor& from, const std::vector<int64_t>& from_strides, Tensor& to,
                   const std::vector<int64_t>& to_strides, const Shape& dims, int64_t from_at) {
  const std::vector<int64_t> strides[2] = {to_strides, from_strides};
  KILN_ASSIGN_OR_RETURN(auto map, MakeStridedMap<2>(dims, strides, {0, from_at}));
  KILN_CUDA_RETURN_IF_ERROR(
      LaunchStridedCopy(DTypeSize(from.dtype()), from.raw_data(), to.raw_data(), map, device.stream()));
  return OkStatus();
}

KILN_REGISTER_CUDA_KERNEL(ir::kAttentionOp, Attention, runtime::KernelOptions{.dtypes = FusedDTypes()});

}  // namespace kiln::cuda
