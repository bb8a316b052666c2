// A fused convolution (conv, bias, residual add, activation) as one cuDNN graph: cuDNN's runtime
// fusion compiles the epilogue into the convolution's kernel, so the output is written once instead
// of being read back by a second pass. Taken for 2-D channels-last convolutions in float16 or
// bfloat16 whose channel counts are multiples of 8, with the activations cuDNN fuses; anything else,
// or a problem no cuDNN engine takes, returns to the caller's conv-then-epilogue path.
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "cuda/timing.h"
#include "kernels/cpu/conv_plan.h"
#include "kernels/cpu/fused_math.h"
#include "kernels/cuda/conv.h"
#include "kernels/cuda/kernel_util.h"
#include "runtime/tactics.h"

#ifdef KILN_HAVE_CUDNN_FRONTEND
#include <cudnn_frontend.h>
#endif

namespace kiln::cuda {

#ifdef KILN_HAVE_CUDNN_FRONTEND
namespace {

namespace fe = cudnn_frontend;
using TensorAttrs = std::shared_ptr<fe::graph::Tensor_attributes>;

constexpr int kCandidatePlans = 4;

// A built graph and the tensors a run binds; null graph: cuDNN does not take the problem.
struct FusedGraph {
  std::shared_ptr<fe::graph::Graph> graph;
  TensorAttrs x, w, bias, residual, y;
  int64_t plan = 0;
  int64_t workspace = 0;
};

struct Problem {
  DType dtype;
  int64_t n, c, h, w, k, r, s, oh, ow;
  int64_t pad[4], stride[2], dilation[2];  // padding: top, left, bottom, right
  ir::Epilogue epilogue;

  std::string Key() const {
    std::string key = "cudnn-graph-conv " + std::string(DTypeName(dtype));
    for (int64_t v : {n, c, h, w, k, r, s, pad[0], pad[1], pad[2], pad[3], stride[0], stride[1], dilation[0],
                      dilation[1], int64_t{epilogue.bias}, int64_t{epilogue.residual},
                      static_cast<int64_t>(epilogue.activation)}) {
      key += " " + std::to_string(v);
    }
    return key + " " + std::to_string(epilogue.leakyrelu_alpha);
  }
};

// The activation as a cuDNN pointwise op, or nullopt when cuDNN's fusion has none like it.
std::optional<fe::graph::Pointwise_attributes> Activation(const ir::Epilogue& e) {
  auto pointwise = fe::graph::Pointwise_attributes();
  switch (e.activation) {
    case ir::Activation::kRelu: return pointwise.set_mode(fe::PointwiseMode_t::RELU_FWD);
    case ir::Activation::kRelu6: return pointwise.set_mode(fe::PointwiseMode_t::RELU_FWD).set_relu_upper_clip(6.0f);
    case ir::Activation::kLeakyRelu:
      return pointwise.set_mode(fe::PointwiseMode_t::RELU_FWD).set_relu_lower_clip_slope(e.leakyrelu_alpha);
    case ir::Activation::kSigmoid: return pointwise.set_mode(fe::PointwiseMode_t::SIGMOID_FWD);
    case ir::Activation::kTanh: return pointwise.set_mode(fe::PointwiseMode_t::TANH_FWD);
    default: return std::nullopt;
  }
}

// NHWC strides of a [n, c, h, w] tensor, as cuDNN's graph API describes dims.
std::vector<int64_t> ChannelsLast(int64_t c, int64_t h, int64_t w) { return {h * w * c, 1, w * c, c}; }

Status Check(fe::error_t status, const char* step) {
  if (status.is_good()) return OkStatus();
  return Unimplemented(std::string("cuDNN graph ") + step + ": " + status.get_message());
}

StatusOr<FusedGraph> Describe(const Problem& p, cudnnHandle_t handle) {
  FusedGraph f;
  f.graph = std::make_shared<fe::graph::Graph>();
  fe::graph::Graph& g = *f.graph;
  const fe::DataType_t io = p.dtype == DType::kFloat16 ? fe::DataType_t::HALF : fe::DataType_t::BFLOAT16;
  g.set_io_data_type(io).set_intermediate_data_type(fe::DataType_t::FLOAT).set_compute_data_type(
      fe::DataType_t::FLOAT);
  f.x = g.tensor(fe::graph::Tensor_attributes().set_name("x").set_dim({p.n, p.c, p.h, p.w}).set_stride(
      ChannelsLast(p.c, p.h, p.w)));
  f.w = g.tensor(fe::graph::Tensor_attributes().set_name("w").set_dim({p.k, p.c, p.r, p.s}).set_stride(
      ChannelsLast(p.c, p.r, p.s)));
  TensorAttrs y = g.conv_fprop(f.x, f.w,
                               fe::graph::Conv_fprop_attributes()
                                   .set_pre_padding({p.pad[0], p.pad[1]})
                                   .set_post_padding({p.pad[2], p.pad[3]})
                                   .set_stride({p.stride[0], p.stride[1]})
                                   .set_dilation({p.dilation[0], p.dilation[1]}));
  const auto add = fe::graph::Pointwise_attributes().set_mode(fe::PointwiseMode_t::ADD);
  if (p.epilogue.bias) {
    f.bias = g.tensor(
        fe::graph::Tensor_attributes().set_name("bias").set_dim({1, p.k, 1, 1}).set_stride({p.k, 1, p.k, p.k}));
    y = g.pointwise(y, f.bias, add);
  }
  if (p.epilogue.residual) {
    f.residual = g.tensor(fe::graph::Tensor_attributes().set_name("residual").set_dim({p.n, p.k, p.oh, p.ow}).set_stride(
        ChannelsLast(p.k, p.oh, p.ow)));
    y = g.pointwise(y, f.residual, add);
  }
  if (p.epilogue.activation != ir::Activation::kNone) y = g.pointwise(y, *Activation(p.epilogue));
  y->set_output(true).set_data_type(io);
  f.y = y;
  KILN_RETURN_IF_ERROR(Check(g.validate(), "validate"));
  KILN_RETURN_IF_ERROR(Check(g.build_operation_graph(handle), "build_operation_graph"));
  KILN_RETURN_IF_ERROR(Check(g.create_execution_plans({fe::HeurMode_t::A}), "create_execution_plans"));
  KILN_RETURN_IF_ERROR(Check(g.check_support(handle), "check_support"));
  return f;
}

using VariantPack = std::unordered_map<TensorAttrs, void*>;

// Builds the plan a tactic names, or the first kCandidatePlans cuDNN offers and keeps the fastest
// (timed on the stream, once per problem and GPU model).
Status ChoosePlan(StreamContext& ctx, cudnnHandle_t handle, const std::string& key, FusedGraph& f,
                  VariantPack& pack) {
  const int device = ctx.device().index;
  if (auto known = runtime::FindTactic(device, key)) {
    const int64_t index = std::atoll(known->c_str());
    if (index >= 0 && index < f.graph->get_execution_plan_count() && f.graph->build_plan_at_index(index).is_good()) {
      f.plan = index;
      return Check(f.graph->get_workspace_size_plan_at_index(index, f.workspace), "workspace size");
    }
  }
  KILN_RETURN_IF_ERROR(Check(f.graph->build_plans(fe::BuildPlanPolicy_t::ALL), "build_plans"));
  const int64_t count = std::min<int64_t>(f.graph->get_execution_plan_count(), kCandidatePlans);
  int64_t most = 0;
  std::vector<int64_t> sizes(static_cast<size_t>(count), -1);
  for (int64_t i = 0; i < count; ++i) {
    if (f.graph->get_workspace_size_plan_at_index(i, sizes[i]).is_good()) most = std::max(most, sizes[i]);
  }
  KILN_ASSIGN_OR_RETURN(std::shared_ptr<Buffer> workspace, ctx.Scratch(static_cast<size_t>(most)));
  KILN_ASSIGN_OR_RETURN(int best, FastestCandidate(ctx.stream(), static_cast<int>(count), [&](int i) {
                          return sizes[i] >= 0 &&
                                 f.graph->execute_plan_at_index(handle, pack, workspace->data(), i).is_good();
                        }));
  if (best < 0) return Unimplemented("no cuDNN plan for the fused convolution ran");
  f.plan = best;
  f.workspace = sizes[best];
  runtime::RecordTactic(device, key, std::to_string(best));
  return OkStatus();
}

// Built graphs by problem, for the process (a graph's execution is thread-safe; a problem cuDNN
// does not take is remembered as such).
std::mutex graphs_mu;
std::map<std::string, std::shared_ptr<const FusedGraph>>& Graphs() {
  static auto* graphs = new std::map<std::string, std::shared_ptr<const FusedGraph>>();
  return *graphs;
}

}  // namespace

StatusOr<bool> TryFusedConvGraph(runtime::KernelContext& ctx, kernels::cpu::nn::ConvKind kind, const ir::Epilogue& e) {
  const DType dtype = ctx.input(0).dtype();
  if (dtype != DType::kFloat16 && dtype != DType::kBFloat16) return false;
  if (e.activation != ir::Activation::kNone && !Activation(e)) return false;
  // The convolution's own plan, from its image and filter alone (the epilogue's operands follow).
  const runtime::KernelContext conv_ctx(ctx.node(), {&ctx.input(0), &ctx.input(1)}, ctx.device_context());
  KILN_ASSIGN_OR_RETURN(kernels::cpu::nn::ConvPlan plan, kernels::cpu::nn::PlanConv(conv_ctx, kind));
  if (plan.channels_first || plan.spatial != 2 || plan.groups != 1 || plan.flat.size() != 4 ||
      plan.out_shape.size() != 4 || plan.in_c % 8 != 0 || plan.out_c % 8 != 0 || ctx.input(0).num_elements() == 0) {
    return false;
  }
  const Shape& x = plan.flat;
  Problem p{dtype, x[0], plan.in_c, x[1], x[2], plan.out_c, plan.dims[0].kernel, plan.dims[1].kernel,
            plan.out_shape[1], plan.out_shape[2]};
  p.pad[0] = plan.dims[0].pad_before, p.pad[1] = plan.dims[1].pad_before;
  p.pad[2] = plan.dims[0].pad_after, p.pad[3] = plan.dims[1].pad_after;
  p.stride[0] = plan.dims[0].stride, p.stride[1] = plan.dims[1].stride;
  p.dilation[0] = plan.dims[0].dilation, p.dilation[1] = plan.dims[1].dilation;
  p.epilogue = e;
  const std::string key = p.Key();

  std::shared_ptr<const FusedGraph> graph;
  {
    std::lock_guard<std::mutex> lock(graphs_mu);
    if (auto it = Graphs().find(key); it != Graphs().end()) graph = it->second;
  }
  if (graph != nullptr && graph->graph == nullptr) return false;

  StreamContext& device = Ctx(ctx);
  KILN_ASSIGN_OR_RETURN(cudnnHandle_t handle, device.cudnn());
  KILN_ASSIGN_OR_RETURN(Tensor * out, ctx.AllocateOutput(0, dtype, plan.out_shape));
  KILN_ASSIGN_OR_RETURN(kernels::cpu::fused::EpilogueOperands operands,
                        kernels::cpu::fused::PlanEpilogue(ctx, e, *out));
  Tensor filter;
  if (ctx.prepared(1) != nullptr) {
    filter = *ctx.prepared(1);
  } else {
    KILN_ASSIGN_OR_RETURN(filter, ArrangeFilter(device, ctx.input(1), false));
  }
  auto bind = [&](const FusedGraph& f) {
    VariantPack pack = {{f.x, const_cast<void*>(ctx.input(0).raw_data())},
                        {f.w, filter.raw_data()},
                        {f.y, out->raw_data()}};
    if (f.bias) pack[f.bias] = const_cast<void*>(operands.bias->raw_data());
    if (f.residual) pack[f.residual] = const_cast<void*>(operands.residual->raw_data());
    return pack;
  };

  if (graph == nullptr) {
    auto made = std::make_shared<FusedGraph>();
    if (auto described = Describe(p, handle); described.ok()) {
      *made = std::move(described).value();
      VariantPack pack = bind(*made);
      if (!ChoosePlan(device, handle, key, *made, pack).ok()) made->graph = nullptr;
    }
    std::lock_guard<std::mutex> lock(graphs_mu);
    graph = Graphs().emplace(key, std::move(made)).first->second;
    if (graph->graph == nullptr) return false;  // the caller's path replaces the output
  } else if (runtime::RecordingTactics()) {
    runtime::NoteTacticUse(key, std::to_string(graph->plan));
  }
  VariantPack pack = bind(*graph);
  std::shared_ptr<Buffer> workspace;
  if (graph->workspace > 0) {
    KILN_ASSIGN_OR_RETURN(workspace, device.Scratch(static_cast<size_t>(graph->workspace)));
  }
  // A plan that fails here leaves the layer to the caller's path, which writes the output itself.
  return graph->graph->execute_plan_at_index(handle, pack, workspace ? workspace->data() : nullptr, graph->plan)
      .is_good();
}

#else

StatusOr<bool> TryFusedConvGraph(runtime::KernelContext&, kernels::cpu::nn::ConvKind, const ir::Epilogue&) {
  return false;
}

#endif

}  // namespace kiln::cuda
