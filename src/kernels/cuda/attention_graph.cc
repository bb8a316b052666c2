// KilnAttention through cuDNN's fused attention (the graph API's SDPA node, a flash-attention
// kernel): the scores and probabilities stay on chip, so attention reads q, k, v and the bias once
// and writes the output once. float16 and bfloat16 operands read in their stored layouts (the depth
// dim innermost), no batch or head broadcast; the bias as it is stored, or else a copy expanded
// over the query and key dims. Anything else, or a problem no cuDNN engine takes, returns to the
// caller's path.
#include <memory>
#include <string>
#include <vector>

#include "kernels/cuda/attention.h"
#include "kernels/cuda/kernel_util.h"
#include "kernels/cuda/strided.h"

#ifdef KILN_HAVE_CUDNN_FRONTEND
#include "kernels/cuda/cudnn_graph.h"
#endif

namespace kiln::cuda {

#ifdef KILN_HAVE_CUDNN_FRONTEND
namespace {

using cudnn_graph::Check;
using cudnn_graph::TensorAttrs;
using cudnn_graph::VariantPack;
using kernels::cpu::AttentionPlan;
namespace fe = cudnn_graph::fe;

struct AttentionGraph {
  std::shared_ptr<fe::graph::Graph> graph;
  TensorAttrs q, k, v, bias, o;
  cudnn_graph::Plan plan;
};

// How cuDNN reads the bias: over the scores' dims with a stride of 0 where it broadcasts, or as a
// dense copy expanded over the query and key dims (batch and head may stay 1), for cuDNN versions
// that take only that.
struct BiasView {
  std::array<int64_t, 4> dims{}, strides{};
  bool copied = false;
};

BiasView BroadcastBias(const AttentionPlan& p) {
  return {{p.batch, p.heads, p.seq_q, p.seq_kv}, p.bias_strides, false};
}

BiasView CopiedBias(const AttentionPlan& p) {
  BiasView v{{p.bias_strides[0] == 0 ? 1 : p.batch, p.bias_strides[1] == 0 ? 1 : p.heads, p.seq_q, p.seq_kv}};
  v.strides = {v.dims[1] * v.dims[2] * v.dims[3], v.dims[2] * v.dims[3], v.dims[3], 1};
  v.copied = true;
  return v;
}

std::string Key(const AttentionPlan& p, DType dtype, const BiasView& bias) {
  std::string key = "cudnn-sdpa ";
  key.append(DTypeName(dtype));
  auto add = [&key](int64_t v) { key.append(" ").append(std::to_string(v)); };
  for (int64_t v : {p.batch, p.heads, p.seq_q, p.seq_kv, p.depth, p.depth_v}) add(v);
  for (const auto* strides : {&p.q, &p.k, &p.v, &p.out, &bias.dims, &bias.strides}) {
    key.append(" |");
    for (int64_t s : *strides) add(s);
  }
  return key.append(p.bias != nullptr ? " bias " : " ").append(std::to_string(p.scale));
}

// A tensor of `dims` read with `strides`; a dim of 1 gets a nonzero stride, as cuDNN expects.
TensorAttrs Describe(fe::graph::Graph& g, const char* name, const std::array<int64_t, 4>& dims,
                     const std::array<int64_t, 4>& strides) {
  std::vector<int64_t> s(strides.begin(), strides.end());
  for (int d = 0; d < 4; ++d) {
    if (dims[d] == 1 && s[d] == 0) s[d] = 1;
  }
  return g.tensor(fe::graph::Tensor_attributes()
                      .set_name(name)
                      .set_dim(std::vector<int64_t>(dims.begin(), dims.end()))
                      .set_stride(s));
}

StatusOr<AttentionGraph> Describe(const AttentionPlan& p, const BiasView& bias, DType dtype, cudnnHandle_t handle) {
  AttentionGraph a;
  a.graph = std::make_shared<fe::graph::Graph>();
  fe::graph::Graph& g = *a.graph;
  g.set_io_data_type(dtype == DType::kFloat16 ? fe::DataType_t::HALF : fe::DataType_t::BFLOAT16)
      .set_intermediate_data_type(fe::DataType_t::FLOAT)
      .set_compute_data_type(fe::DataType_t::FLOAT);
  a.q = Describe(g, "q", {p.batch, p.heads, p.seq_q, p.depth}, p.q);
  a.k = Describe(g, "k", {p.batch, p.heads, p.seq_kv, p.depth}, p.k);
  a.v = Describe(g, "v", {p.batch, p.heads, p.seq_kv, p.depth_v}, p.v);
  auto options = fe::graph::SDPA_attributes().set_name("attention").set_generate_stats(false).set_attn_scale(p.scale);
  if (p.bias != nullptr) {
    a.bias = Describe(g, "bias", bias.dims, bias.strides);
    options.set_bias(a.bias);
  }
  auto [o, stats] = g.sdpa(a.q, a.k, a.v, options);
  const std::array<int64_t, 4> out_dims = {p.batch, p.heads, p.seq_q, p.depth_v};
  std::vector<int64_t> out_strides(p.out.begin(), p.out.end());
  for (int d = 0; d < 4; ++d) {
    if (out_dims[d] == 1 && out_strides[d] == 0) out_strides[d] = 1;
  }
  o->set_output(true).set_dim(std::vector<int64_t>(out_dims.begin(), out_dims.end())).set_stride(out_strides);
  a.o = o;
  KILN_RETURN_IF_ERROR(Check(g.validate(), "validate"));
  KILN_RETURN_IF_ERROR(Check(g.build_operation_graph(handle), "build_operation_graph"));
  KILN_RETURN_IF_ERROR(Check(g.create_execution_plans({fe::HeurMode_t::A}), "create_execution_plans"));
  KILN_RETURN_IF_ERROR(Check(g.check_support(handle), "check_support"));
  return a;
}

// Whether every dim of q, k and v is the problem's (a stride of 0 along a dim of more than 1 is a
// broadcast) and each operand's depth is innermost.
bool ReadsInPlace(const AttentionPlan& p) {
  const std::array<int64_t, 2> outer = {p.batch, p.heads};
  for (const auto* strides : {&p.q, &p.k, &p.v, &p.out}) {
    for (int d = 0; d < 2; ++d) {
      if (outer[d] > 1 && (*strides)[d] == 0) return false;
    }
  }
  auto innermost = [](const std::array<int64_t, 4>& s, int64_t last) { return s[3] == 1 || last == 1; };
  return innermost(p.q, p.depth) && innermost(p.k, p.depth) && innermost(p.v, p.depth_v) &&
         innermost(p.out, p.depth_v) && (p.bias == nullptr || innermost(p.bias_strides, p.seq_kv));
}

cudnn_graph::GraphCache<AttentionGraph>& Graphs() {
  static auto* graphs = new cudnn_graph::GraphCache<AttentionGraph>();
  return *graphs;
}

// Where an operand starts: its input's data from element `at` on, when that is 16-byte aligned as
// cuDNN's kernels read it; else null.
void* OperandData(const Tensor& t, int64_t at) {
  char* data = static_cast<char*>(const_cast<void*>(t.raw_data())) + at * static_cast<int64_t>(DTypeSize(t.dtype()));
  return reinterpret_cast<uintptr_t>(data) % 16 == 0 ? data : nullptr;
}

}  // namespace

StatusOr<bool> TryCudnnAttention(runtime::KernelContext& ctx, const AttentionPlan& p, Tensor& out) {
  const DType dtype = out.dtype();
  if ((dtype != DType::kFloat16 && dtype != DType::kBFloat16) || out.num_elements() == 0 || p.seq_kv == 0 ||
      p.depth == 0 || !ReadsInPlace(p)) {
    return false;
  }
  void* const q = OperandData(ctx.input(0), p.q_at);
  void* const k = OperandData(ctx.input(1), p.k_at);
  void* const v = OperandData(ctx.input(2), p.v_at);
  if (q == nullptr || k == nullptr || v == nullptr) return false;
  StreamContext& device = Ctx(ctx);
  KILN_ASSIGN_OR_RETURN(cudnnHandle_t handle, device.cudnn());
  for (const BiasView& view : {BroadcastBias(p), CopiedBias(p)}) {
    const std::string key = Key(p, dtype, view);
    if (auto known = Graphs().Find(key); known && *known == nullptr) {
      if (p.bias == nullptr) break;  // one way to describe the problem
      continue;                      // cuDNN does not take it this way
    }
    Tensor bias;
    if (p.bias != nullptr && view.copied) {
      const Shape dims(view.dims.begin(), view.dims.end());
      KILN_ASSIGN_OR_RETURN(bias, device.Allocate(dtype, dims));
      KILN_RETURN_IF_ERROR(StridedCopy(device, *p.bias, {p.bias_strides.begin(), p.bias_strides.end()}, bias,
                                       ContiguousStrides(dims), dims));
    } else if (p.bias != nullptr) {
      bias = *p.bias;
    }
    auto bind = [&](const AttentionGraph& a) {
      VariantPack pack = {{a.q, q}, {a.k, k}, {a.v, v}, {a.o, out.raw_data()}};
      if (a.bias) pack[a.bias] = bias.raw_data();
      return pack;
    };
    std::shared_ptr<const AttentionGraph> graph =
        Graphs().Get(device, handle, key, [&] { return Describe(p, view, dtype, handle); }, bind);
    if (graph != nullptr) {
      VariantPack pack = bind(*graph);
      return cudnn_graph::Execute(device, handle, *graph->graph, graph->plan, pack);
    }
    if (p.bias == nullptr) break;  // one way to describe the problem
  }
  return false;
}

#else

StatusOr<bool> TryCudnnAttention(runtime::KernelContext&, const kernels::cpu::AttentionPlan&, Tensor&) { return false; }

#endif

}  // namespace kiln::cuda
