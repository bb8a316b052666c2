// FoldBatchNorms: a conv or matmul with a constant filter, followed by per-output-channel affine
// ops with constant parameters (inference-mode FusedBatchNorm, Mul, Add, Sub, BiasAdd), becomes
// the conv with its filter scaled per output channel and one BiasAdd with a constant bias.
#include <cmath>
#include <optional>
#include <set>

#include "ir/ops/fused_ops.h"
#include "passes/fusion.h"
#include "passes/fusion_util.h"

namespace kiln::passes {
namespace {

using fusion::ConstTensor;
using fusion::PerChannelValues;

// y = x * scale + shift, per channel.
struct Affine {
  std::vector<float> scale, shift;
  bool scaled = false;
};

const std::set<std::string>& FoldableBases() {
  static const std::set<std::string> ops = {"Conv2D", "DepthwiseConv2dNative", "Conv", "MatMul"};
  return ops;
}

// The axis BiasAdd adds along for a value of rank `rank`.
StatusOr<int> BiasAddAxis(const ir::Node& n, int rank) {
  KILN_ASSIGN_OR_RETURN(std::string format, n.attrs.GetOr<std::string>("data_format", "NHWC"));
  if (format == "NCHW" && rank >= 3) return 1;
  if (format == "NHWC" || format == "NCHW") return rank - 1;
  return InvalidArgument("unsupported data_format");
}

// A float32 constant vector of `channels` values at input `i` of `n`.
std::optional<std::vector<float>> ConstVector(const ir::Graph& graph, const ir::Node& n, int i, int64_t channels) {
  if (i >= static_cast<int>(n.inputs.size())) return std::nullopt;
  const Tensor* t = ConstTensor(graph, n.inputs[i]);
  if (t == nullptr || t->dtype() != DType::kFloat32 || t->rank() != 1 || t->dim(0) != channels) return std::nullopt;
  return std::vector<float>(t->data<float>(), t->data<float>() + channels);
}

// The constant operand of binary node `u` that is not `cur`, as per-channel values.
std::optional<std::vector<float>> OtherOperand(const ir::Graph& graph, const ir::Node& u, ir::ValueRef cur,
                                               const PartialShape& shape, int axis, bool cur_must_be_lhs) {
  if (u.inputs.size() != 2 || (u.inputs[0] == cur) == (u.inputs[1] == cur)) return std::nullopt;
  const int other = u.inputs[0] == cur ? 1 : 0;
  if (cur_must_be_lhs && other != 1) return std::nullopt;
  const Tensor* t = ConstTensor(graph, u.inputs[other]);
  if (t == nullptr) return std::nullopt;
  return PerChannelValues(*t, shape, axis);
}

// Folds node `u`, which reads `cur` (shaped `shape`, channels along `axis`), into `a` when it is a
// per-channel affine op with constant parameters.
bool AbsorbAffineStep(const ir::Graph& graph, const fusion::ValueUses& uses, const ir::Node& u, ir::ValueRef cur,
                      const PartialShape& shape, int axis, Affine& a) {
  const int64_t channels = shape.dims[axis];
  if (u.outputs.empty() || u.outputs[0].dtype != DType::kFloat32 || !(u.outputs[0].shape == shape)) return false;
  if (u.op == "BiasAdd" || u.op == "BiasAddV1") {
    StatusOr<int> bias_axis = BiasAddAxis(u, shape.rank());
    auto bias = ConstVector(graph, u, 1, channels);
    if (u.inputs[0] != cur || !bias_axis.ok() || *bias_axis != axis || !bias) return false;
    for (int64_t c = 0; c < channels; ++c) a.shift[c] += (*bias)[c];
    return true;
  }
  if (u.op == "Add" || u.op == "AddV2" || u.op == "Sub") {
    const bool sub = u.op == "Sub";
    auto v = OtherOperand(graph, u, cur, shape, axis, sub);
    if (!v) return false;
    for (int64_t c = 0; c < channels; ++c) a.shift[c] += sub ? -(*v)[c] : (*v)[c];
    return true;
  }
  if (u.op == "Mul") {
    auto v = OtherOperand(graph, u, cur, shape, axis, false);
    if (!v) return false;
    for (int64_t c = 0; c < channels; ++c) {
      a.scale[c] *= (*v)[c];
      a.shift[c] *= (*v)[c];
    }
    a.scaled = true;
    return true;
  }
  if (u.op == "FusedBatchNorm" || u.op == "FusedBatchNormV2" || u.op == "FusedBatchNormV3") {
    if (u.inputs.size() != 5 || u.inputs[0] != cur) return false;
    auto is_training = u.attrs.GetOr<bool>("is_training", true);
    auto epsilon = u.attrs.GetOr<float>("epsilon", 0.0001f);
    auto format = u.attrs.GetOr<std::string>("data_format", "NHWC");
    if (!is_training.ok() || *is_training || !epsilon.ok() || !format.ok()) return false;
    const bool channels_first = *format == "NCHW" || *format == "NCDHW";
    if (!channels_first && *format != "NHWC" && *format != "NDHWC") return false;
    if ((channels_first ? 1 : shape.rank() - 1) != axis) return false;
    for (int i = 1; i < static_cast<int>(u.outputs.size()); ++i) {
      if (uses.count({u.id, i}) != 0) return false;
    }
    std::vector<std::vector<float>> p(5);
    for (int i = 1; i < 5; ++i) {
      auto v = ConstVector(graph, u, i, channels);
      if (!v) return false;
      p[i] = std::move(*v);
    }
    // As the FusedBatchNorm kernel computes it: y = x * A + B.
    for (int64_t c = 0; c < channels; ++c) {
      const float scale = p[1][c] / std::sqrt(p[4][c] + *epsilon);
      const float shift = p[2][c] - p[3][c] * scale;
      a.scale[c] *= scale;
      a.shift[c] = a.shift[c] * scale + shift;
    }
    a.scaled = true;
    return true;
  }
  return false;
}

// The filter of `base` with output channel c scaled by scale[c]; nullopt when its layout does not
// give `channels` output channels.
std::optional<Tensor> ScaledFilter(const ir::Node& base, const Tensor& filter, const std::vector<float>& scale) {
  const int64_t channels = static_cast<int64_t>(scale.size());
  if (filter.dtype() != DType::kFloat32 || filter.rank() < 2) return std::nullopt;
  const int r = filter.rank();
  // Element i of the filter belongs to output channel (i / inner) % channels.
  int64_t inner = 1;
  if (base.op == "DepthwiseConv2dNative") {
    if (r != 4 || filter.dim(2) * filter.dim(3) != channels) return std::nullopt;
  } else if (base.op == "MatMul") {
    auto transpose_b = base.attrs.GetOr<bool>("transpose_b", false);
    if (!transpose_b.ok() || r != 2) return std::nullopt;
    if (*transpose_b) inner = filter.dim(1);
    if (filter.dim(*transpose_b ? 0 : 1) != channels) return std::nullopt;
  } else if (filter.dim(r - 1) != channels) {
    return std::nullopt;
  }
  Tensor scaled = filter.Clone();
  float* w = scaled.data<float>();
  const int64_t total = scaled.num_elements();
  for (int64_t i = 0; i < total; ++i) w[i] *= scale[(i / inner) % channels];
  return scaled;
}

// Folds the affine chain after base node `id`, if there is one; true when the graph changed.
bool FoldAfter(ir::Graph& graph, const fusion::ValueUses& uses, int id) {
  const ir::Node& base = graph.node(id);
  if (!FoldableBases().count(base.op) || base.inputs.size() != 2 || base.outputs.size() != 1) return false;
  const PartialShape shape = base.outputs[0].shape;
  const Tensor* filter = ConstTensor(graph, base.inputs[1]);
  if (filter == nullptr || base.outputs[0].dtype != DType::kFloat32 || !shape.rank_known) return false;
  if (graph.output_info(base.inputs[0]).dtype != DType::kFloat32) return false;
  StatusOr<int> axis = ir::EpilogueChannelAxis(base.op, base.attrs, shape.rank());
  if (!axis.ok() || shape.dims[*axis] <= 0) return false;
  // The bias is added by a BiasAdd, which adds along axis 1 (NCHW) or the last axis (NHWC).
  const bool last = *axis == shape.rank() - 1;
  if (!last && !(*axis == 1 && shape.rank() >= 3)) return false;
  const int64_t channels = shape.dims[*axis];

  Affine a;
  a.scale.assign(channels, 1.0f);
  a.shift.assign(channels, 0.0f);
  ir::ValueRef cur{id, 0};
  int last_node = -1;
  for (int u = uses.SoleUser(cur); u >= 0; u = uses.SoleUser(cur)) {
    if (!AbsorbAffineStep(graph, uses, graph.node(u), cur, shape, *axis, a)) break;
    last_node = u;
    cur = {u, 0};
  }
  if (last_node < 0 || !a.scaled) return false;
  std::optional<Tensor> scaled = ScaledFilter(base, *filter, a.scale);
  if (!scaled) return false;

  const ir::ValueRef old_filter = base.inputs[1];
  const std::string base_name = base.name, last_name = graph.node(last_node).name;
  const int new_filter = graph.AddConst(base_name + "/folded_filter", std::move(*scaled))->id;
  const int bias = graph.AddConst(last_name + "/folded_bias", Tensor::FromVector<float>({channels}, a.shift))->id;
  graph.node(id).inputs[1] = {new_filter, 0};
  ir::AttrMap attrs;
  attrs.Set("T", DType::kFloat32);
  attrs.Set("data_format", std::string(last ? "NHWC" : "NCHW"));
  if (!fusion::RewriteNode(graph, last_node, "BiasAdd", {{id, 0}, {bias, 0}}, std::move(attrs))) {
    graph.node(id).inputs[1] = old_filter;
    return false;
  }
  return true;
}

}  // namespace

Status FoldBatchNorms(ir::Graph& graph) {
  graph.RemoveDeadNodes();
  const fusion::ValueUses uses(graph);
  const int num_nodes = graph.num_nodes();
  for (int id = 0; id < num_nodes; ++id) FoldAfter(graph, uses, id);
  graph.RemoveDeadNodes();
  return OkStatus();
}

}  // namespace kiln::passes
