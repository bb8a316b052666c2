// FuseElementwiseChains: maximal chains of float32 elementwise ops, each reading the previous
// one's only use, become one KilnFusedElementwise node named after the chain's last node.
#include <map>
#include <optional>
#include <utility>

#include "ir/op_registry.h"
#include "ir/ops/fused_ops.h"
#include "passes/fusion.h"
#include "passes/fusion_util.h"
#include "passes/passes.h"

namespace kiln::passes {
namespace {

// One member of a chain: the node and the input slot that carries the chain value.
struct Member {
  int node;
  int slot;
};

// Whether a value shaped `p` can be a KilnFusedElementwise operand for a chain shaped `s`: the same
// shape, or dims of 1 around one contiguous run of s's (known) dims.
bool OperandFits(const PartialShape& p, const PartialShape& s) {
  if (!p.rank_known || !s.rank_known) return false;
  if (p == s) return true;
  const int offset = s.rank() - p.rank();
  if (offset < 0) return false;
  int first = -1, last = -1;
  for (int d = 0; d < p.rank(); ++d) {
    if (p.dims[d] == 1) continue;
    if (first < 0) first = d + offset;
    last = d + offset;
  }
  for (int d = first; first >= 0 && d <= last; ++d) {
    if (p.dims[d - offset] < 0 || p.dims[d - offset] != s.dims[d]) return false;
  }
  return true;
}

// Whether node `n` can be a chain member with the chain value at input `slot`.
bool FitsSlot(const ir::Graph& graph, const ir::Node& n, int slot) {
  std::optional<ir::ElementwiseOp> op = ir::ElementwiseOpFromName(n.op);
  if (!op || n.outputs.size() != 1 || n.outputs[0].dtype != DType::kFloat32) return false;
  const PartialShape& s = n.outputs[0].shape;
  const bool binary = ir::IsBinaryElementwise(*op);
  if (!s.rank_known || n.inputs.size() != (binary ? 2u : 1u) || slot >= static_cast<int>(n.inputs.size())) {
    return false;
  }
  const ir::OutputInfo& chain = graph.output_info(n.inputs[slot]);
  if (chain.dtype != DType::kFloat32 || !(chain.shape == s)) return false;
  if (!binary) return true;
  const ir::OutputInfo& other = graph.output_info(n.inputs[1 - slot]);
  return other.dtype == DType::kFloat32 && OperandFits(other.shape, s);
}

// Rewrites the chain's last node into one KilnFusedElementwise node.
void FuseChain(ir::Graph& graph, const std::vector<Member>& chain) {
  const ir::Node& head = graph.node(chain.front().node);
  std::vector<ir::ValueRef> inputs = {head.inputs[chain.front().slot]};
  std::map<ir::ValueRef, int> operand_index;
  std::vector<std::string> ops;
  std::vector<float> params;
  for (const Member& m : chain) {
    const ir::Node& n = graph.node(m.node);
    const bool binary = n.inputs.size() == 2;
    int operand = -1;
    if (binary) {
      const ir::ValueRef other = n.inputs[1 - m.slot];
      auto [it, fresh] = operand_index.emplace(other, static_cast<int>(inputs.size()));
      if (fresh) inputs.push_back(other);
      operand = it->second;
    }
    ops.push_back(ir::EncodeElementwiseStep(n.op, binary, m.slot == 0, operand));
    float param = 0.0f;
    if (n.op == "LeakyRelu") {
      StatusOr<float> alpha = n.attrs.GetOr<float>("alpha", 0.2f);
      param = alpha.ok() ? *alpha : 0.2f;
    }
    params.push_back(param);
  }
  ir::AttrMap attrs;
  attrs.Set("T", DType::kFloat32);
  attrs.Set("ops", ops);
  attrs.Set("params", params);
  fusion::RewriteNode(graph, chain.back().node, ir::kFusedElementwiseOp, std::move(inputs), std::move(attrs));
}

// `v` = y * c or c * y (or y / c', c = 1 / c') for a scalar constant c, y read only there: (y, c).
std::optional<std::pair<ir::ValueRef, float>> ScaledBy(const ir::Graph& graph, const fusion::ValueUses& uses,
                                                      ir::ValueRef v) {
  const ir::Node& n = graph.node(v.node);
  if (n.inputs.size() != 2 || uses.SoleUser(v) < 0) return std::nullopt;
  if (n.op == "Mul") {
    for (int side : {0, 1}) {
      if (const auto c = fusion::ScalarFloatConst(graph, n.inputs[1 - side])) return std::pair{n.inputs[side], *c};
    }
  }
  if (n.op == "RealDiv" || n.op == "Div") {
    if (const auto c = fusion::ScalarFloatConst(graph, n.inputs[1]); c && *c != 0.0f) {
      return std::pair{n.inputs[0], 1.0f / *c};
    }
  }
  return std::nullopt;
}

// `v` = 1 + erf(x * c) (either operand order), every value but x read only there: (x, c).
std::optional<std::pair<ir::ValueRef, float>> OnePlusErf(const ir::Graph& graph, const fusion::ValueUses& uses,
                                                        ir::ValueRef v) {
  const ir::Node& add = graph.node(v.node);
  if ((add.op != "Add" && add.op != "AddV2") || add.inputs.size() != 2 || uses.SoleUser(v) < 0) return std::nullopt;
  for (int side : {0, 1}) {
    const ir::ValueRef e = add.inputs[side];
    const std::optional<float> one = fusion::ScalarFloatConst(graph, add.inputs[1 - side]);
    if (!one || *one != 1.0f || graph.node(e.node).op != "Erf" || uses.SoleUser(e) != v.node) continue;
    if (auto scaled = ScaledBy(graph, uses, graph.node(e.node).inputs[0])) return scaled;
  }
  return std::nullopt;
}

// `v` = x * (1 + erf(x * c)) (either operand order), every value but x read only there: (x, c).
std::optional<std::pair<ir::ValueRef, float>> TimesOnePlusErf(const ir::Graph& graph, const fusion::ValueUses& uses,
                                                             ir::ValueRef v) {
  const ir::Node& n = graph.node(v.node);
  if (n.op != "Mul" || n.inputs.size() != 2 || uses.SoleUser(v) < 0) return std::nullopt;
  for (int side : {0, 1}) {
    if (const auto erf = OnePlusErf(graph, uses, n.inputs[1 - side]); erf && erf->first == n.inputs[side]) return erf;
  }
  return std::nullopt;
}

// Node `id` computing x / 2 * (1 + erf(x * c)) from ops, as ONNX's Gelu and Keras's gelu write it:
// (x * 0.5) * (1 + erf(...)), x * ((1 + erf(...)) * 0.5) or (x * (1 + erf(...))) * 0.5, in either
// operand order. (x, c).
std::optional<std::pair<ir::ValueRef, float>> MatchGelu(const ir::Graph& graph, const fusion::ValueUses& uses,
                                                       int id) {
  const ir::Node& n = graph.node(id);
  if (n.op != "Mul" || n.inputs.size() != 2 || n.outputs[0].dtype != DType::kFloat32) return std::nullopt;
  for (int side : {0, 1}) {
    const ir::ValueRef a = n.inputs[side], b = n.inputs[1 - side];
    if (const auto half = ScaledBy(graph, uses, a); half && half->second == 0.5f) {
      if (const auto erf = OnePlusErf(graph, uses, b); erf && erf->first == half->first) return erf;
    }
    if (const auto half = ScaledBy(graph, uses, b); half && half->second == 0.5f) {
      if (const auto erf = OnePlusErf(graph, uses, half->first); erf && erf->first == a) return erf;
    }
    if (const auto c = fusion::ScalarFloatConst(graph, b); c && *c == 0.5f) {
      if (const auto erf = TimesOnePlusErf(graph, uses, a)) return erf;
    }
  }
  return std::nullopt;
}

}  // namespace

void FuseGelus(ir::Graph& graph) {
  std::optional<fusion::ValueUses> uses;  // rebuilt after each rewrite
  for (int id = 0; id < graph.num_nodes(); ++id) {
    if (graph.node(id).op != "Mul") continue;
    if (!uses) uses.emplace(graph);
    const auto gelu = MatchGelu(graph, *uses, id);
    if (!gelu) continue;
    uses.reset();
    ir::AttrMap attrs;
    attrs.Set("T", DType::kFloat32);
    attrs.Set("ops", std::vector<std::string>{"KilnGelu"});
    attrs.Set("params", std::vector<float>{gelu->second});
    fusion::RewriteNode(graph, id, ir::kFusedElementwiseOp, {gelu->first}, std::move(attrs));
  }
}

Status FuseElementwiseChains(ir::Graph& graph) {
  FuseGelus(graph);
  graph.RemoveDeadNodes();
  const fusion::ValueUses uses(graph);
  KILN_ASSIGN_OR_RETURN(std::vector<int> order, graph.TopologicalOrder());
  std::vector<std::vector<Member>> chains;
  std::vector<int> chain_of(graph.num_nodes(), -1);
  for (int id : order) {
    const ir::Node& n = graph.node(id);
    if (!ir::ElementwiseOpFromName(n.op)) continue;
    // Extend the chain whose last node feeds this one through its only use, else start one.
    int start_slot = -1;
    for (int slot = 0; slot < static_cast<int>(n.inputs.size()); ++slot) {
      if (!FitsSlot(graph, n, slot)) continue;
      const ir::ValueRef v = n.inputs[slot];
      const int c = chain_of[v.node];
      if (c >= 0 && v.index == 0 && chains[c].back().node == v.node && uses.SoleUser(v) == id) {
        chains[c].push_back({id, slot});
        chain_of[id] = c;
        break;
      }
      if (start_slot < 0) start_slot = slot;
    }
    if (chain_of[id] < 0 && start_slot >= 0) {
      chain_of[id] = static_cast<int>(chains.size());
      chains.push_back({{id, start_slot}});
    }
  }
  for (const auto& chain : chains) {
    if (chain.size() >= 2) FuseChain(graph, chain);
  }
  graph.RemoveDeadNodes();
  return OkStatus();
}

Status FuseForEngine(ir::Graph& graph) {
  KILN_RETURN_IF_ERROR(ir::InferShapes(graph));
  KILN_RETURN_IF_ERROR(FoldConstants(graph));
  KILN_RETURN_IF_ERROR(FoldBatchNorms(graph));
  // Folded shape computations make more shapes known, which the fusions below compare, and which
  // make more shape computations foldable: fold and infer until nothing changes.
  for (std::map<std::string, int> ops = graph.OpCounts(), before; ops != before;) {
    KILN_RETURN_IF_ERROR(ir::InferShapes(graph));
    KILN_RETURN_IF_ERROR(FoldConstants(graph));
    before = std::exchange(ops, graph.OpCounts());
  }
  KILN_RETURN_IF_ERROR(ir::InferShapes(graph));
  KILN_RETURN_IF_ERROR(FuseLayerNorms(graph));
  KILN_RETURN_IF_ERROR(FuseAttention(graph));
  KILN_RETURN_IF_ERROR(ReadAttentionOperandsInPlace(graph));
  KILN_RETURN_IF_ERROR(WriteAttentionOutputsInReadersOrder(graph));
  FuseGelus(graph);  // first, so that a GELU after a product joins its epilogue
  KILN_RETURN_IF_ERROR(FuseConvMatMulEpilogues(graph));
  KILN_RETURN_IF_ERROR(MoveEpiloguesPastMaxPools(graph));
  KILN_RETURN_IF_ERROR(FuseElementwiseChains(graph));
  graph.RemoveDeadNodes();
  return ir::InferShapes(graph);
}

}  // namespace kiln::passes
