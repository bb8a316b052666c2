// MoveEpiloguesPastMaxPools: a convolution's bias and activation computed on the max pool's output
// rather than its input. The bias is constant across a channel and the activation never decreases,
// so act(max(x) + b) = max(act(x + b)) over each window, and the epilogue touches a pooled-size
// tensor: a quarter of the elements for a 2x2 stride, and none of the convolution's own output.
#include "ir/ops/conv_geometry.h"
#include "ir/ops/fused_ops.h"
#include "ir/ops/onnx_window_rules.h"
#include "passes/fusion.h"
#include "passes/fusion_util.h"

namespace kiln::passes {
namespace {

// Whether act(x) never decreases as x grows, so that it commutes with a maximum.
bool NonDecreasing(const ir::Epilogue& e) {
  using A = ir::Activation;
  switch (e.activation) {
    case A::kNone:
    case A::kRelu:
    case A::kRelu6:
    case A::kElu:
    case A::kSelu:
    case A::kSigmoid:
    case A::kTanh:
      return true;
    case A::kLeakyRelu:
      return e.leakyrelu_alpha >= 0.0f;
    case A::kGelu:
      return false;
  }
  return false;
}

// The channel axis of max pool `n` of rank `rank`, or -1 when `n` is not a max pool that can take an
// epilogue (a MaxPool or OnnxPool in mode max of one input, without one already).
int MaxPoolChannelAxis(const ir::Node& n, int rank) {
  if (n.inputs.size() != 1 || n.outputs.size() != 1 || n.attrs.Has("fused_ops")) return -1;
  if (n.op == "MaxPool") {
    auto channels_first = ir::ParseChannelsFirst(n.attrs);
    return !channels_first.ok() || rank != 4 ? -1 : *channels_first ? 1 : 3;
  }
  if (n.op == "OnnxPool") {
    auto spec = ir::ParseOnnxPoolSpec(n.attrs);
    if (!spec.ok() || spec->mode != ir::OnnxPoolMode::kMax || static_cast<int>(spec->kernel.size()) + 2 != rank) {
      return -1;
    }
    return spec->channel_axis();
  }
  return -1;
}

}  // namespace

Status MoveEpiloguesPastMaxPools(ir::Graph& graph) {
  const fusion::ValueUses uses(graph);
  for (int id = 0; id < graph.num_nodes(); ++id) {
    ir::Node& conv = graph.node(id);
    const std::string base = ir::EpilogueBaseOp(conv.op);
    if (base != "Conv2D" && base != "Conv" && base != "DepthwiseConv2dNative") continue;
    auto e = ir::ParseEpilogue(conv.attrs);
    if (!e.ok() || e->residual || e->empty() || !NonDecreasing(*e)) continue;
    const PartialShape& shape = conv.outputs[0].shape;
    const int pool_id = uses.SoleUser({id, 0});
    if (!shape.rank_known || pool_id < 0) continue;
    ir::Node& pool = graph.node(pool_id);
    auto axis = ir::EpilogueChannelAxis(conv.op, conv.attrs, shape.rank());
    if (!axis.ok() || MaxPoolChannelAxis(pool, shape.rank()) != *axis) continue;

    // Without a residual, the convolution's fused_ops are the pool's as they stand.
    auto ops = conv.attrs.Get<std::vector<std::string>>("fused_ops");
    if (!ops.ok()) continue;
    if (e->bias) pool.inputs.push_back(conv.inputs[2]);
    pool.attrs.Set("fused_ops", *ops);
    pool.attrs.Set("leakyrelu_alpha", e->leakyrelu_alpha);
    conv.inputs.resize(2);
    conv.attrs.Set("fused_ops", std::vector<std::string>{});
  }
  return OkStatus();
}

}  // namespace kiln::passes
