// A fused convolution (conv, bias, residual add, activation) as one cuDNN graph: cuDNN's runtime
// fusion compiles the epilogue into the convolution's kernel, so the output is written once instead
// of being read back by a second pass. Taken for 2-D channels-last convolutions in float16 or
// bfloat16 whose channel counts are multiples of 8, with the activations cuDNN fuses; anything else,
// or a problem no cuDNN engine takes, returns to the caller's conv-then-epilogue path.
#include <memory>
#include <string>

#include "kernels/cpu/conv_plan.h"
#include "kernels/cpu/fused_math.h"
#include "kernels/cuda/conv.h"
#include "kernels/cuda/kernel_util.h"

#ifdef KILN_HAVE_CUDNN_FRONTEND
#include "kernels/cuda/cudnn_graph.h"
#endif

namespace kiln::cuda {

#ifdef KILN_HAVE_CUDNN_FRONTEND
namespace {

using cudnn_graph::Check;
using cudnn_graph::TensorAttrs;
using cudnn_graph::VariantPack;
namespace fe = cudnn_graph::fe;

// A built graph, the tensors a run binds and its plan; null graph: cuDNN does not take the problem.
struct FusedGraph {
  std::shared_ptr<fe::graph::Graph> graph;
  TensorAttrs x, w, bias, residual, y;
  cudnn_graph::Plan plan;
};

struct Problem {
  DType dtype;
  int64_t n, c, h, w, k, r, s, oh, ow;
  int64_t pad[4], stride[2], dilation[2];  // padding: top, left, bottom, right
  ir::Epilogue epilogue;

  std::string Key() const {
    std::string key = "cudnn-graph-conv ";
    key.append(DTypeName(dtype));
    for (int64_t v : {n, c, h, w, k, r, s, pad[0], pad[1], pad[2], pad[3], stride[0], stride[1], dilation[0],
                      dilation[1], int64_t{epilogue.bias}, int64_t{epilogue.residual},
                      static_cast<int64_t>(epilogue.activation)}) {
      key.append(" ").append(std::to_string(v));
    }
    return key.append(" ").append(std::to_string(epilogue.leakyrelu_alpha));
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
    case ir::Activation::kGelu: return pointwise.set_mode(fe::PointwiseMode_t::GELU_FWD);
    default: return std::nullopt;
  }
}

// NHWC strides of a [n, c, h, w] tensor, as cuDNN's graph API describes dims.
std::vector<int64_t> ChannelsLast(int64_t c, int64_t h, int64_t w) { return {h * w * c, 1, w * c, c}; }

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

cudnn_graph::GraphCache<FusedGraph>& Graphs() {
  static auto* graphs = new cudnn_graph::GraphCache<FusedGraph>();
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

  if (std::optional<std::shared_ptr<const FusedGraph>> known = Graphs().Find(key); known && *known == nullptr) {
    return false;  // cuDNN does not take it
  }

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

  std::shared_ptr<const FusedGraph> graph =
      Graphs().Get(device, handle, key, [&] { return Describe(p, handle); }, bind);
  if (graph == nullptr) return false;  // the caller's path replaces the output
  VariantPack pack = bind(*graph);
  // A plan that fails here leaves the layer to the caller's path, which writes the output itself.
  return cudnn_graph::Execute(device, handle, *graph->graph, graph->plan, pack);
}

#else

StatusOr<bool> TryFusedConvGraph(runtime::KernelContext&, kernels::cpu::nn::ConvKind, const ir::Epilogue&) {
  return false;
}

#endif

}  // namespace kiln::cuda
