// FuseConvMatMulEpilogues: conv/matmul -> [bias] -> [residual add] -> [activation] becomes one
// KilnFused* node named after the last node it replaces (src/ir/ops/fused_ops.h).
#include <cmath>
#include <set>

#include "ir/ops/fused_ops.h"
#include "passes/fusion.h"
#include "passes/fusion_util.h"

namespace kiln::passes {
namespace {

using fusion::ConstTensor;
using fusion::ScalarFloatConst;
using fusion::OtherInput;

bool IsFloat32(const ir::Graph& graph, ir::ValueRef v) { return graph.output_info(v).dtype == DType::kFloat32; }


// Whether `v` is a float32 constant holding the single value `value` that broadcasts onto `shape`
// without changing it.
bool IsScalarConst(const ir::Graph& graph, std::optional<ir::ValueRef> v, const PartialShape& shape, float value) {
  return v && ScalarFloatConst(graph, *v) == value && ConstTensor(graph, *v)->rank() <= shape.rank();
}

// Whether node `n` is a one-step KilnFusedElementwise computing the exact GELU, as FuseGelus writes
// it (x / 2 * (1 + erf(x * c)) with c = 1 / sqrt(2) to within float rounding).
bool IsExactGelu(const ir::Node& n) {
  if (n.op != ir::kFusedElementwiseOp || n.inputs.size() != 1) return false;
  auto ops = n.attrs.Get<std::vector<std::string>>("ops");
  auto params = n.attrs.Get<std::vector<float>>("params");
  return ops.ok() && params.ok() && *ops == std::vector<std::string>{"KilnGelu"} && params->size() == 1 &&
         std::abs((*params)[0] - ir::kGeluErfScale) <= 1e-6f;
}

struct EpilogueMatch {
  std::vector<std::string> fused_ops;
  std::vector<ir::ValueRef> extra_inputs;         // the bias and the residual, when present
  std::optional<std::vector<float>> bias_values;  // a bias from a constant Add, still to be made a Const
  float leakyrelu_alpha = 0.2f;
  int last = -1;
};

// Fuses the epilogue after base node `id`, if there is one. `consumed` marks the nodes earlier
// fusions replaced (whose uses `uses` still counts); they are not matched again.
void FuseAfter(ir::Graph& graph, const fusion::ValueUses& uses, std::vector<bool>& consumed, int id) {
  const ir::Node& base = graph.node(id);
  const std::string fused_op = ir::FusedEpilogueOpFor(base.op);
  if (fused_op.empty() || base.inputs.size() != 2 || base.outputs.size() != 1) return;
  const PartialShape shape = base.outputs[0].shape;
  if (!shape.rank_known || base.outputs[0].dtype != DType::kFloat32) return;
  if (!IsFloat32(graph, base.inputs[0]) || !IsFloat32(graph, base.inputs[1])) return;
  StatusOr<int> axis = ir::EpilogueChannelAxis(base.op, base.attrs, shape.rank());
  if (!axis.ok()) return;
  const int64_t channels = shape.dims[*axis];

  EpilogueMatch m;
  ir::ValueRef cur{id, 0};
  auto next_user = [&]() -> const ir::Node* {
    const int u = uses.SoleUser(cur);
    if (u < 0 || consumed[u]) return nullptr;
    const ir::Node& n = graph.node(u);
    if (n.outputs.size() != 1 || n.outputs[0].dtype != DType::kFloat32 || !(n.outputs[0].shape == shape)) {
      return nullptr;
    }
    return &n;
  };
  auto advance = [&](const ir::Node& n) {
    m.last = n.id;
    cur = {n.id, 0};
  };

  // Bias: BiasAdd along the channel axis, or Add of a constant per-channel vector.
  if (const ir::Node* u = next_user()) {
    if (u->op == "BiasAdd" && u->inputs.size() == 2 && u->inputs[0] == cur && IsFloat32(graph, u->inputs[1])) {
      auto format = u->attrs.GetOr<std::string>("data_format", "NHWC");
      const int bias_axis = format.ok() && *format == "NCHW" && shape.rank() >= 3 ? 1 : shape.rank() - 1;
      if (format.ok() && (*format == "NHWC" || *format == "NCHW") && bias_axis == *axis) {
        m.fused_ops.push_back("BiasAdd");
        m.extra_inputs.push_back(u->inputs[1]);
        advance(*u);
      }
    } else if ((u->op == "Add" || u->op == "AddV2") && channels > 0) {
      if (auto other = OtherInput(*u, cur)) {
        const Tensor* t = ConstTensor(graph, *other);
        if (t != nullptr && (m.bias_values = fusion::PerChannelValues(*t, shape, *axis))) {
          m.fused_ops.push_back("BiasAdd");
          m.extra_inputs.push_back({});  // filled with the new Const below
          advance(*u);
        }
      }
    }
  }
  // Residual: Add of another tensor of exactly the output's shape.
  if (const ir::Node* u = next_user()) {
    if (u->op == "Add" || u->op == "AddV2") {
      auto other = OtherInput(*u, cur);
      if (other && IsFloat32(graph, *other) && graph.output_info(*other).shape == shape) {
        m.fused_ops.push_back("Add");
        m.extra_inputs.push_back(*other);
        advance(*u);
      }
    }
  }
  // Activation; Maximum(x, 0) is Relu and Minimum(Maximum(x, 0), 6) Relu6 (ONNX's Clip).
  if (const ir::Node* u = next_user()) {
    if (u->op == "Maximum" && IsScalarConst(graph, OtherInput(*u, cur), shape, 0.0f)) {
      advance(*u);
      const ir::Node* v = next_user();
      const bool relu6 = v && v->op == "Minimum" && IsScalarConst(graph, OtherInput(*v, cur), shape, 6.0f);
      if (relu6) advance(*v);
      m.fused_ops.push_back(relu6 ? "Relu6" : "Relu");
    } else if (IsExactGelu(*u)) {
      m.fused_ops.push_back("KilnGelu");
      advance(*u);
    } else if (ir::ActivationFromOp(u->op) && u->inputs.size() == 1) {
      auto alpha = u->attrs.GetOr<float>("alpha", 0.2f);
      if (alpha.ok()) {
        m.fused_ops.push_back(u->op);
        m.leakyrelu_alpha = u->op == "LeakyRelu" ? *alpha : 0.2f;
        advance(*u);
      }
    }
  }
  if (m.last < 0) return;

  std::vector<ir::ValueRef> inputs = base.inputs;
  ir::AttrMap attrs = base.attrs;
  attrs.Set("fused_ops", m.fused_ops);
  attrs.Set("leakyrelu_alpha", m.leakyrelu_alpha);
  if (m.bias_values) {
    const std::string name = graph.node(m.last).name + "/bias";
    m.extra_inputs[0] = {graph.AddConst(name, Tensor::FromVector<float>({channels}, *m.bias_values))->id, 0};
  }
  inputs.insert(inputs.end(), m.extra_inputs.begin(), m.extra_inputs.end());
  if (!fusion::RewriteNode(graph, m.last, fused_op, std::move(inputs), std::move(attrs))) return;
  for (ir::ValueRef v{id, 0}; v.node != m.last; v = {uses.SoleUser(v), 0}) consumed[v.node] = true;
}

}  // namespace

Status FuseConvMatMulEpilogues(ir::Graph& graph) {
  graph.RemoveDeadNodes();
  const fusion::ValueUses uses(graph);
  const int num_nodes = graph.num_nodes();
  std::vector<bool> consumed(num_nodes, false);
  for (int id = 0; id < num_nodes; ++id) FuseAfter(graph, uses, consumed, id);
  graph.RemoveDeadNodes();
  return OkStatus();
}

}  // namespace kiln::passes
