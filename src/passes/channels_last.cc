#include <algorithm>
#include <optional>
#include <set>

#include "ir/op_registry.h"
#include "ir/ops/conv_geometry.h"
#include "ir/ops/fused_ops.h"
#include "passes/fusion_util.h"
#include "passes/layout.h"
#include "passes/passes.h"

namespace kiln::passes {
namespace {

using ir::Graph;
using ir::Node;
using ir::ValueRef;
using Perm = std::vector<int>;

const Perm kToLast = {0, 2, 3, 1};   // NCHW -> NHWC
const Perm kToFirst = {0, 3, 1, 2};  // NHWC -> NCHW

Perm Inverse(const Perm& p) {
  Perm inv(p.size());
  for (size_t i = 0; i < p.size(); ++i) inv[p[i]] = static_cast<int>(i);
  return inv;
}

bool IsIdentity(const Perm& p) {
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] != static_cast<int>(i)) return false;
  }
  return true;
}

// A list attr laid out like an NCHW input, in NHWC order; explicit paddings (a pair per dim) too.
std::vector<int64_t> ListToLast(const std::vector<int64_t>& v) {
  if (v.size() == 4) return {v[0], v[2], v[3], v[1]};
  if (v.size() == 8) return {v[0], v[1], v[4], v[5], v[6], v[7], v[2], v[3]};
  return v;  // empty (defaults), or a form the op's own checks reject
}

// How a channels-first op takes the channels-last form: the inputs laid out like its data (filters,
// biases and statistics are not) and its attrs in that form.
struct LastForm {
  std::vector<int> data_inputs;
  ir::AttrMap attrs;
};

bool Rank4(const Graph& g, ValueRef v) {
  const PartialShape& s = g.output_info(v).shape;
  return s.rank_known && s.rank() == 4;
}

std::optional<LastForm> ChannelsLastForm(const Graph& g, const Node& n) {
  static const std::set<std::string> kConvs = {"Conv",           "KilnFusedConv", "Conv2D", "KilnFusedConv2D",
                                               "DepthwiseConv2dNative", "KilnFusedDepthwiseConv2D"};
  static const std::set<std::string> kOthers = {"MaxPool",        "AvgPool",          "BiasAdd",
                                                "FusedBatchNorm", "FusedBatchNormV2", "FusedBatchNormV3"};
  if (n.inputs.empty() || !Rank4(g, n.inputs[0])) return std::nullopt;
  LastForm form{{0}, n.attrs};
  if (n.op == "OnnxPool") {
    auto format = n.attrs.GetOr<std::string>("data_format", "NCHW");
    if (!format.ok() || *format != "NCHW") return std::nullopt;
    form.attrs.Set("data_format", std::string("NHWC"));
    return form;
  }
  if (!kConvs.count(n.op) && !kOthers.count(n.op)) return std::nullopt;
  auto channels_first = ir::ParseChannelsFirst(n.attrs);
  if (!channels_first.ok() || !*channels_first) return std::nullopt;
  if (n.op == "Conv" || n.op == "KilnFusedConv") {
    auto batch_dims = n.attrs.GetOr<int64_t>("batch_dims", 1);
    if (!batch_dims.ok() || *batch_dims != 1) return std::nullopt;
    form.attrs.Set("data_format", std::string("CHANNELS_LAST"));
  } else {
    form.attrs.Set("data_format", std::string("NHWC"));
  }
  for (const char* list : {"strides", "dilations", "ksize", "explicit_paddings"}) {
    auto v = n.attrs.Get<std::vector<int64_t>>(list);
    if (v.ok()) form.attrs.Set(list, ListToLast(*v));
  }
  if (!ir::EpilogueBaseOp(n.op).empty()) {
    auto epilogue = ir::ParseEpilogue(n.attrs);
    if (!epilogue.ok()) return std::nullopt;
    if (epilogue->residual) form.data_inputs.push_back(static_cast<int>(n.inputs.size()) - 1);
  }
  return form;
}

// The permutation of a Transpose node with a constant one, or nullopt.
std::optional<Perm> TransposePerm(const Graph& g, const Node& n) {
  if (n.op != "Transpose" || n.inputs.size() != 2) return std::nullopt;
  const Tensor* t = fusion::ConstTensor(g, n.inputs[1]);
  if (t == nullptr) return std::nullopt;
  auto values = t->ToInt64Vector();
  if (!values.ok()) return std::nullopt;
  Perm p(values->begin(), values->end());
  return p;
}

ValueRef AddTranspose(Graph& g, ValueRef v, const Perm& perm, const std::string& base) {
  Node* p = g.AddConst(g.UniqueName(base + "/perm"), Tensor::FromVector<int32_t>(
                                                          {static_cast<int64_t>(perm.size())},
                                                          std::vector<int32_t>(perm.begin(), perm.end())));
  ir::AttrMap attrs;
  attrs.Set("T", g.output_info(v).dtype);
  attrs.Set("Tperm", DType::kInt32);
  Node* t = g.AddNode(g.UniqueName(base), "Transpose", {v, {p->id, 0}}, std::move(attrs), 1);
  return {t->id, 0};
}

// Puts a transpose behind output 0 of node `id` and moves every use of the output onto it.
void TransposeOutput(Graph& g, int id, const Perm& perm, const std::string& base) {
  const ValueRef out{id, 0};
  const ValueRef t = AddTranspose(g, out, perm, base);
  g.ReplaceAllUses(out, t);
  g.node(t.node).inputs[0] = out;
}

// Step 1: every op with a channels-last form takes it, between transposes.
int ConvertOps(Graph& g) {
  std::vector<std::pair<int, LastForm>> forms;  // chosen first: inserted transposes have no shapes yet
  for (int id = 0; id < g.num_nodes(); ++id) {
    if (std::optional<LastForm> form = ChannelsLastForm(g, g.node(id))) forms.emplace_back(id, std::move(*form));
  }
  for (auto& [id, form] : forms) {
    const std::string name = g.node(id).name;
    for (int k : form.data_inputs) {
      const ValueRef in = g.node(id).inputs[k];
      g.node(id).inputs[k] = AddTranspose(g, in, kToLast, name + "/to_nhwc");
    }
    g.node(id).attrs = std::move(form.attrs);
    TransposeOutput(g, id, kToFirst, name + "/to_nchw");
  }
  return static_cast<int>(forms.size());
}

// Whether the dims other than 1 of `shape` are one contiguous run (a fused elementwise operand).
bool OneRun(const Shape& shape) {
  int first = -1, last = -1;
  for (int i = 0; i < static_cast<int>(shape.size()); ++i) {
    if (shape[i] == 1) continue;
    if (first < 0) first = i;
    last = i;
  }
  for (int i = first; i >= 0 && i <= last; ++i) {
    if (shape[i] == 1) return false;
  }
  return true;
}

// Constant operand `v` of an elementwise node reshaped to rank 4 (broadcasting keeps its meaning)
// and laid out as behind transposes by `perm`; nullopt when it is not a constant, or `one_run` asks
// for a form the result lacks.
std::optional<Shape> ConstShapeBehind(const Graph& g, ValueRef v, const Perm& perm, bool one_run) {
  const Tensor* t = fusion::ConstTensor(g, v);
  if (t == nullptr || t->rank() > 4) return std::nullopt;
  Shape four = t->shape();
  while (four.size() < 4) four.insert(four.begin(), 1);
  Shape behind;
  for (int axis : Inverse(perm)) behind.push_back(four[axis]);
  if (one_run && !OneRun(behind)) return std::nullopt;
  return behind;
}

// The constant operand, behind the transposes: a single element stays as it is.
ValueRef ConstBehind(Graph& g, ValueRef v, const Perm& perm) {
  const Tensor& t = *fusion::ConstTensor(g, v);
  if (t.num_elements() == 1 && t.rank() < 4) return v;  // a scalar broadcasts the same either way
  Shape four = t.shape();
  while (four.size() < 4) four.insert(four.begin(), 1);
  Node* c = g.AddConst(g.UniqueName(g.node(v.node).name + "/rank4"), t.Reshaped(four).value());
  return AddTranspose(g, {c->id, 0}, Inverse(perm), g.node(v.node).name + "/nhwc");
}

bool IsElementwise(const Node& n) {
  return n.op == ir::kFusedElementwiseOp || n.op == "Cast" || ir::ElementwiseOpFromName(n.op).has_value();
}

// Whether elementwise node `n` can compute behind transposes by `perm`: each input is such a
// transpose or a constant.
bool ElementwiseCanSink(const Graph& g, const Node& n, const Perm& perm) {
  if (!IsElementwise(n) || n.outputs.size() != 1 || !Rank4(g, {n.id, 0})) return false;
  for (const ValueRef& in : n.inputs) {
    if (TransposePerm(g, g.node(in.node)) == perm) continue;
    if (!ConstShapeBehind(g, in, perm, n.op == ir::kFusedElementwiseOp)) return false;
  }
  return true;
}

void SinkThroughElementwise(Graph& g, int id, const Perm& perm) {
  std::vector<ValueRef> inputs;
  for (const ValueRef& in : g.node(id).inputs) {
    inputs.push_back(TransposePerm(g, g.node(in.node)) == perm ? g.node(in.node).inputs[0] : ConstBehind(g, in, perm));
  }
  g.node(id).inputs = std::move(inputs);
  TransposeOutput(g, id, perm, g.node(id).name + "/back");
}

bool IsReduction(const Node& n) {
  static const std::set<std::string> kReductions = {"Mean", "Sum", "Max", "Min", "Prod"};
  return kReductions.count(n.op) != 0;
}

// Whether reduction `n` reduces transpose `t` over constant axes.
bool ReductionCanSink(const Graph& g, const Node& n, int t) {
  if (!IsReduction(n) || n.inputs.size() != 2 || n.inputs[0] != ValueRef{t, 0}) return false;
  const Tensor* axes = fusion::ConstTensor(g, n.inputs[1]);
  if (axes == nullptr || !n.attrs.GetOr<bool>("keep_dims", false).ok()) return false;
  auto values = axes->ToInt64Vector();
  return values.ok() && std::all_of(values->begin(), values->end(), [](int64_t a) { return a >= -4 && a < 4; });
}

// The reduction reduces the value behind the transpose over the matching axes; a transpose follows
// where the kept dims' order differs.
void SinkThroughReduction(Graph& g, int id, const Perm& perm) {
  const Node& n = g.node(id);
  const bool keep = n.attrs.GetOr<bool>("keep_dims", false).value();
  std::vector<bool> reduced(4, false);  // by axis of the value behind the transpose
  std::vector<int32_t> behind_axes;
  const std::vector<int64_t> axes = fusion::ConstTensor(g, n.inputs[1])->ToInt64Vector().value();
  for (int64_t a : axes) {
    const int axis = perm[a < 0 ? a + 4 : a];
    if (!reduced[axis]) behind_axes.push_back(axis);
    reduced[axis] = true;
  }
  // Where each kept axis of the transposed value lands in the reduction behind it.
  Perm kept;
  for (int i = 0; i < 4; ++i) {
    const int axis = perm[i];
    if (keep || !reduced[axis]) {
      int position = 0;
      for (int j = 0; j < axis; ++j) position += keep || !reduced[j];
      kept.push_back(position);
    }
  }
  const std::string name = n.name;
  const ValueRef source = g.node(n.inputs[0].node).inputs[0];
  Node* new_axes = g.AddConst(g.UniqueName(name + "/nhwc_axes"),
                              Tensor::FromVector<int32_t>({static_cast<int64_t>(behind_axes.size())}, behind_axes));
  g.node(id).inputs = {source, {new_axes->id, 0}};
  g.node(id).attrs.Set("Tidx", DType::kInt32);
  if (!IsIdentity(kept)) TransposeOutput(g, id, kept, name + "/back");
}

// Step 2a: a 4-D transpose whose readers can all compute behind it (elementwise ops whose other
// inputs are transposes alike or constants, reductions over constant axes) moves past them: each
// computes on the value behind it, with a transpose after it instead.
bool SinkTranspose(Graph& g, int t, const fusion::ValueUses& uses) {
  std::optional<Perm> perm = TransposePerm(g, g.node(t));
  if (!perm || perm->size() != 4 || uses.is_graph_output({t, 0})) return false;
  const std::set<int> readers = uses.Readers({t, 0});
  if (readers.empty()) return false;
  for (int r : readers) {
    if (!ElementwiseCanSink(g, g.node(r), *perm) && !ReductionCanSink(g, g.node(r), t)) return false;
  }
  for (int r : readers) {
    if (IsReduction(g.node(r))) {
      SinkThroughReduction(g, r, *perm);
    } else {
      SinkThroughElementwise(g, r, *perm);
    }
  }
  return true;
}

// Step 2b: transposes of transposes become one transpose, or none.
bool MergeTransposes(Graph& g, int id) {
  const Node& outer = g.node(id);
  std::optional<Perm> q = TransposePerm(g, outer);
  if (!q) return false;
  const Node& inner = g.node(outer.inputs[0].node);
  std::optional<Perm> p = TransposePerm(g, inner);
  if (!p || p->size() != q->size()) return false;
  Perm combined(q->size());
  for (size_t i = 0; i < q->size(); ++i) combined[i] = (*p)[(*q)[i]];
  const ValueRef source = inner.inputs[0];
  if (IsIdentity(combined)) {
    g.ReplaceAllUses({id, 0}, source);
  } else {
    const std::string name = outer.name;
    const ValueRef merged = AddTranspose(g, source, combined, name + "/merged");
    g.ReplaceAllUses({id, 0}, merged);
  }
  return true;
}

}  // namespace

StatusOr<int> ConvertToChannelsLast(Graph& graph) {
  const int converted = ConvertOps(graph);
  if (converted == 0) return 0;
  KILN_RETURN_IF_ERROR(ir::InferShapes(graph));
  // Each change removes a transpose or moves one past a node, so this ends; the bound is a guard.
  for (int round = 0; round < 4 * graph.num_nodes(); ++round) {
    KILN_ASSIGN_OR_RETURN(std::vector<int> order, graph.TopologicalOrder());
    const fusion::ValueUses uses(graph);
    bool changed = false;
    for (int id : order) {
      if (MergeTransposes(graph, id) || SinkTranspose(graph, id, uses)) {
        changed = true;
        break;  // the uses changed: start over from fresh ones
      }
    }
    if (!changed) break;
    graph.RemoveDeadNodes();
    KILN_RETURN_IF_ERROR(ir::InferShapes(graph));
  }
  KILN_RETURN_IF_ERROR(FoldConstants(graph));  // transposed constants
  graph.RemoveDeadNodes();
  KILN_RETURN_IF_ERROR(ir::InferShapes(graph));
  return converted;
}

}  // namespace kiln::passes
