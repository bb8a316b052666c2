// FuseAttention: scaled dot-product attention written out as ops becomes one KilnAttention node
// (ir/ops/attention_op.h) named after the pattern's last node:
//   s = BatchMatMul(q, k^T)                      [batch, heads, seq_q, seq_kv]
//   [s = s / c | s * c]                          c a scalar constant: the scale
//   [s = s + bias]                               bias broadcasting onto s
//   p = Softmax(s)
//   o = BatchMatMul(p, v)
//   [o = Transpose(o)]
// All four dims of rank-4 operands. The products' adjoint flags and the Transposes that make q, k^T
// and v from the projections (and the one after o) become the operands' layouts, so the fused node
// reads the projections where they are; a Transpose is taken in only when it leaves the depth dim
// innermost, where fused attention kernels read it. Every intermediate value must be read only
// inside the pattern.
#include <array>
#include <cmath>
#include <optional>

#include "ir/ops/attention_op.h"
#include "passes/fusion.h"
#include "passes/fusion_util.h"
#include "passes/view_ops.h"

namespace kiln::passes {
namespace {

using ir::AttentionLayout;
using ir::ValueRef;

constexpr char kBhsd[] = "BHSD";

bool IsBatchMatMul(const ir::Node& n) {
  return (n.op == "BatchMatMul" || n.op == "BatchMatMulV2" || n.op == "BatchMatMulV3") && n.inputs.size() == 2;
}

std::optional<bool> BoolAttr(const ir::Node& n, const char* name) {
  StatusOr<bool> v = n.attrs.GetOr<bool>(name, false);
  return v.ok() ? std::optional<bool>(*v) : std::nullopt;
}

bool IsRank4Float(const ir::Graph& graph, ValueRef v) {
  const ir::OutputInfo& info = graph.output_info(v);
  return info.dtype == DType::kFloat32 && info.shape.rank() == 4;
}

// The constant permutation of a rank-4 Transpose, or nullopt.
std::optional<std::array<int, 4>> TransposePerm(const ir::Graph& graph, const ir::Node& n) {
  const std::optional<std::vector<int>> axes = TransposePermutation(graph, n, 4);
  if (!axes) return std::nullopt;
  return std::array<int, 4>{(*axes)[0], (*axes)[1], (*axes)[2], (*axes)[3]};
}

// An operand in a layout: what the fused node reads.
struct Operand {
  ValueRef value;
  AttentionLayout layout;
};

// `v`, laid out as `layout`, or the input of the Transpose that makes it when reading that input
// directly keeps the depth dim innermost.
Operand ThroughTranspose(const ir::Graph& graph, ValueRef v, const AttentionLayout& layout) {
  const ir::Node& producer = graph.node(v.node);
  if (const auto perm = TransposePerm(graph, producer); perm && IsRank4Float(graph, producer.inputs[0])) {
    const AttentionLayout before = ir::LayoutBeforeTranspose(layout, *perm);
    if (before.axis[ir::kAttentionDepth] == 3) return {producer.inputs[0], before};
  }
  return {v, layout};
}

AttentionLayout Layout(const char* letters) { return *ir::ParseAttentionLayout(letters); }

struct AttentionMatch {
  Operand q, k, v;
  std::optional<ValueRef> bias;
  float scale = 1.0f;
  AttentionLayout out = Layout(kBhsd);
  int last = -1;
};

// [s = s / c | s * c] over s = BatchMatMul(q, k^T), from `s` back: fills the match's q, k and scale.
bool MatchScaledProduct(const ir::Graph& graph, const fusion::ValueUses& uses, ValueRef s, AttentionMatch& m) {
  float scale = 1.0f;
  if (const ir::Node& n = graph.node(s.node); (n.op == "Mul" || n.op == "RealDiv" || n.op == "Div") &&
                                                n.inputs.size() == 2) {
    const bool divides = n.op != "Mul";
    const int side = divides || IsBatchMatMul(graph.node(n.inputs[0].node)) ? 0 : 1;
    const std::optional<float> c = fusion::ScalarFloatConst(graph, n.inputs[1 - side]);
    if (!c || *c == 0.0f || !std::isfinite(*c) || uses.SoleUser(n.inputs[side]) != s.node) return false;
    scale = divides ? 1.0f / *c : *c;
    s = n.inputs[side];
  }
  const ir::Node& qk = graph.node(s.node);
  if (!IsBatchMatMul(qk) || s.index != 0) return false;
  const std::optional<bool> adj_x = BoolAttr(qk, "adj_x"), adj_y = BoolAttr(qk, "adj_y");
  if (!adj_x || !adj_y || !IsRank4Float(graph, qk.inputs[0]) || !IsRank4Float(graph, qk.inputs[1])) return false;
  m.q = ThroughTranspose(graph, qk.inputs[0], Layout(*adj_x ? "BHDS" : kBhsd));
  m.k = ThroughTranspose(graph, qk.inputs[1], Layout(*adj_y ? kBhsd : "BHDS"));
  m.scale = scale;
  return true;
}

// Matches the pattern whose Softmax is node `softmax`.
std::optional<AttentionMatch> Match(const ir::Graph& graph, const fusion::ValueUses& uses, int softmax) {
  const ir::Node& sm = graph.node(softmax);
  if (sm.op != "Softmax" || sm.inputs.size() != 1 || !IsRank4Float(graph, {softmax, 0})) return std::nullopt;
  AttentionMatch m;

  // p . v, and the Transpose after it.
  const int pv = uses.SoleUser({softmax, 0});
  if (pv < 0 || !IsBatchMatMul(graph.node(pv)) || graph.node(pv).inputs[0] != ValueRef{softmax, 0}) {
    return std::nullopt;
  }
  const std::optional<bool> pv_adj_x = BoolAttr(graph.node(pv), "adj_x"), pv_adj_y = BoolAttr(graph.node(pv), "adj_y");
  if (!pv_adj_x || *pv_adj_x || !pv_adj_y || !IsRank4Float(graph, graph.node(pv).inputs[1])) return std::nullopt;
  m.v = ThroughTranspose(graph, graph.node(pv).inputs[1], Layout(*pv_adj_y ? "BHDS" : kBhsd));
  m.last = pv;
  if (const int after = uses.SoleUser({pv, 0}); after >= 0) {
    const auto perm = TransposePerm(graph, graph.node(after));
    if (perm && ir::LayoutAfterTranspose(m.out, *perm).axis[ir::kAttentionDepth] == 3) {
      m.out = ir::LayoutAfterTranspose(m.out, *perm);
      m.last = after;
    }
  }

  // The scores, back from the Softmax: an optional bias (either operand of the Add), then
  // [scale] q . k^T.
  const ValueRef s = sm.inputs[0];
  if (uses.SoleUser(s) != softmax) return std::nullopt;
  if (MatchScaledProduct(graph, uses, s, m)) return m;
  const ir::Node& add = graph.node(s.node);
  if ((add.op != "Add" && add.op != "AddV2") || add.inputs.size() != 2) return std::nullopt;
  for (int side : {0, 1}) {
    const ValueRef scores = add.inputs[side], bias = add.inputs[1 - side];
    const ir::OutputInfo& b = graph.output_info(bias);
    // The Add must not change the scores' shape; the fused node's shape function checks that the
    // bias broadcasts onto them.
    if (b.dtype != DType::kFloat32 || b.shape.rank() < 0 || b.shape.rank() > 4 ||
        graph.output_info(s).shape != graph.output_info(scores).shape || uses.SoleUser(scores) != s.node) {
      continue;
    }
    if (MatchScaledProduct(graph, uses, scores, m)) {
      m.bias = bias;
      return m;
    }
  }
  return std::nullopt;
}

}  // namespace

Status FuseAttention(ir::Graph& graph) {
  for (int id = 0; id < graph.num_nodes(); ++id) {
    if (graph.node(id).op != "Softmax") continue;
    const fusion::ValueUses uses(graph);
    const std::optional<AttentionMatch> m = Match(graph, uses, id);
    if (!m) continue;
    std::vector<ValueRef> inputs = {m->q.value, m->k.value, m->v.value};
    if (m->bias) inputs.push_back(*m->bias);
    ir::AttrMap attrs;
    attrs.Set("T", DType::kFloat32);
    attrs.Set("scale", m->scale);
    attrs.Set("q_layout", m->q.layout.ToString());
    attrs.Set("k_layout", m->k.layout.ToString());
    attrs.Set("v_layout", m->v.layout.ToString());
    attrs.Set("out_layout", m->out.ToString());
    fusion::RewriteNode(graph, m->last, ir::kAttentionOp, std::move(inputs), std::move(attrs));
  }
  return OkStatus();
}

}  // namespace kiln::passes
