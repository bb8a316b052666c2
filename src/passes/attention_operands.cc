// ReadAttentionOperandsInPlace: a KilnAttention operand that is a view of another tensor (made from
// it by reshapes, transposes and taking one index of an axis, as exporters split a packed q/k/v
// projection into heads) is read from that tensor where it lies: the operand becomes the tensor,
// reshaped (which moves nothing) so that each of the operand's dims is one axis, and its layout
// names those axes, with a digit for each axis read at one index ("SB1HD": the keys of a projection
// packed as [seq, batch, 3, heads, depth]). Multiplications of q or k by a scalar constant on the
// way move into the attention's scale. First, a transpose that keeps rows whole before row-wise
// products (the packed projection) whose result only attention operands read moves after them, so
// the operands' views take it in too. The ops that made the operands are left for dead-node
// removal. Every shape involved must be known.
#include <optional>
#include <set>

#include "ir/ops/attention_op.h"
#include "ir/op_registry.h"
#include "passes/fusion.h"
#include "passes/fusion_util.h"
#include "passes/view_ops.h"
#include "passes/views.h"

namespace kiln::passes {
namespace {

using ir::ValueRef;

// An op between a tensor and the operand that is a view of it.
struct ViewStep {
  enum Kind { kReshape, kTranspose, kPick, kScale } kind;
  ValueRef out;
  std::vector<int> perm;  // kTranspose
  int axis = 0;           // kPick
  int64_t index = 0;
  bool keep_axis = false;
  float factor = 1.0f;  // kScale
};

// The step that makes `v` from its producer's first (or, for a scale, other) input, or nullopt.
std::optional<std::pair<ViewStep, ValueRef>> StepTo(const ir::Graph& graph, ValueRef v, bool scales) {
  const ir::Node& n = graph.node(v.node);
  if (v.index != 0 || n.inputs.empty() || graph.output_info(v).dtype != DType::kFloat32) return std::nullopt;
  const std::optional<Shape> in = KnownShape(graph, n.inputs[0]);
  if (!in || !KnownShape(graph, v)) return std::nullopt;
  ViewStep step{ViewStep::kReshape, v};
  if (KeepsOrder(n.op)) return std::pair{step, n.inputs[0]};
  if (auto perm = TransposePermutation(graph, n, static_cast<int>(in->size()))) {
    step.kind = ViewStep::kTranspose;
    step.perm = std::move(*perm);
    return std::pair{step, n.inputs[0]};
  }
  const StatusOr<int64_t> batch_dims = n.attrs.GetOr<int64_t>("batch_dims", 0);
  if (n.op == "GatherV2" && n.inputs.size() == 3 && batch_dims.ok() && *batch_dims == 0) {
    const Tensor* index = fusion::ConstTensor(graph, n.inputs[1]);
    const Tensor* axis = fusion::ConstTensor(graph, n.inputs[2]);
    if (index == nullptr || axis == nullptr || index->num_elements() != 1 || index->rank() > 1 ||
        axis->num_elements() != 1) {
      return std::nullopt;
    }
    const StatusOr<std::vector<int64_t>> axis_value = axis->ToInt64Vector(), index_value = index->ToInt64Vector();
    if (!axis_value.ok() || !index_value.ok()) return std::nullopt;
    const int64_t rank = static_cast<int64_t>(in->size());
    int64_t a = (*axis_value)[0], i = (*index_value)[0];
    if (a < 0) a += rank;
    if (a < 0 || a >= rank) return std::nullopt;
    if (i < 0) i += (*in)[a];
    if (i < 0 || i >= (*in)[a]) return std::nullopt;
    step.kind = ViewStep::kPick;
    step.axis = static_cast<int>(a);
    step.index = i;
    step.keep_axis = index->rank() == 1;
    return std::pair{step, n.inputs[0]};
  }
  if (scales && n.op == "Mul" && n.inputs.size() == 2) {
    for (int side : {0, 1}) {
      const std::optional<float> c = fusion::ScalarFloatConst(graph, n.inputs[1 - side]);
      if (!c || KnownShape(graph, n.inputs[side]) != KnownShape(graph, v)) continue;
      step.kind = ViewStep::kScale;
      step.factor = *c;
      return std::pair{step, n.inputs[side]};
    }
  }
  return std::nullopt;
}

// An operand as a view of the tensor it is read from.
struct OperandView {
  ValueRef tensor;
  StridedView view;  // of the operand's stored axes
  float factor = 1.0f;
};

// The longest run of steps before `operand` that makes it a view of an earlier tensor, or nullopt.
std::optional<OperandView> ViewOfOperand(const ir::Graph& graph, ValueRef operand, bool scales) {
  std::vector<ViewStep> steps;  // last first
  ValueRef v = operand;
  while (auto step = StepTo(graph, v, scales)) {
    steps.push_back(step->first);
    v = step->second;
  }
  const std::optional<Shape> shape = KnownShape(graph, v);
  if (steps.empty() || !shape) return std::nullopt;
  OperandView found{v, StridedView::Contiguous(*shape)};
  for (auto it = steps.rbegin(); it != steps.rend(); ++it) {
    std::optional<StridedView> next = found.view;
    if (it->kind == ViewStep::kReshape) {
      next = found.view.Reshaped(*KnownShape(graph, it->out));
    } else if (it->kind == ViewStep::kTranspose) {
      next = found.view.Transposed(it->perm);
    } else if (it->kind == ViewStep::kPick) {
      next = found.view.Picked(it->axis, it->index, it->keep_axis);
    }
    if (!next) {  // the operand is no view of what came before: start again from this step's output
      found = {it->out, StridedView::Contiguous(*KnownShape(graph, it->out))};
      continue;
    }
    found.view = *next;
    found.factor *= it->factor;
  }
  if (found.tensor == operand) return std::nullopt;
  return found;
}

// Reads operand `slot` of attention node `id` in place where it is a view; true when it changed.
bool ReadInPlace(ir::Graph& graph, int id, int slot, ir::AttentionAttrs& attrs) {
  ir::AttentionLayout* layouts[] = {&attrs.q, &attrs.k, &attrs.v};
  ir::AttentionLayout& layout = *layouts[slot];
  const ValueRef operand = graph.node(id).inputs[slot];
  if (!layout.fixed.empty()) return false;
  const std::optional<OperandView> found = ViewOfOperand(graph, operand, slot < 2);
  if (!found) return false;
  // The view along the logical dims [batch, head, seq, depth], then the axes that lay it out.
  StridedView logical = found->view.Transposed({layout.axis[0], layout.axis[1], layout.axis[2], layout.axis[3]});
  const Shape base = *KnownShape(graph, found->tensor);
  int64_t elements = 1;
  for (int64_t d : base) elements *= d;
  const std::optional<ViewAxes> axes = AxesOf(logical, elements);
  if (!axes || axes->fixed.size() > 4) return false;
  ir::AttentionLayout read;
  for (int d = 0; d < 4; ++d) read.axis[d] = axes->axis_of_dim[d];
  for (const auto& [axis, index] : axes->fixed) {
    if (index > 9) return false;
    read.fixed.push_back({axis, static_cast<int>(index)});
  }
  if (read == layout && KnownShape(graph, operand) == axes->shape) return false;  // it reads its own axes already
  ValueRef tensor = found->tensor;
  if (axes->shape != base) {
    const std::string name = graph.UniqueName(graph.node(id).name + "/" + "qkv"[slot] + "_axes");
    ir::Node* shape = graph.AddConst(name + "/shape", Tensor::FromVector<int64_t>(
                                                          {static_cast<int64_t>(axes->shape.size())}, axes->shape));
    ir::AttrMap a;
    a.Set("T", DType::kFloat32);
    a.Set("Tshape", DType::kInt64);
    ir::Node* reshape = graph.AddNode(name, "Reshape", {found->tensor, {shape->id, 0}}, std::move(a), 1);
    reshape->outputs[0] = {DType::kFloat32, PartialShape::Known(axes->shape)};
    tensor = {reshape->id, 0};
  }
  graph.node(id).inputs[slot] = tensor;
  layout = read;
  attrs.scale *= found->factor;
  return true;
}

// Whether every reader of `v`, through ops that only move elements or (on the way to q or k) scale
// by a constant, is a KilnAttention reading it as q, k or v.
bool OnlyAttentionOperandsRead(const ir::Graph& graph, const fusion::ValueUses& uses, ValueRef v, bool scaled = false,
                               int depth = 0) {
  if (depth > 32 || uses.is_graph_output(v)) return false;
  const std::set<int> readers = uses.Readers(v);
  if (readers.empty()) return false;
  for (int r : readers) {
    const ir::Node& n = graph.node(r);
    if (n.op == ir::kAttentionOp) {
      for (size_t i = scaled ? 2 : 3; i < n.inputs.size(); ++i) {
        if (n.inputs[i] == v) return false;
      }
      continue;
    }
    const auto step = StepTo(graph, {r, 0}, true);
    if (!step || step->second != v) return false;
    const bool scales = scaled || step->first.kind == ViewStep::kScale;
    if (!OnlyAttentionOperandsRead(graph, uses, {r, 0}, scales, depth + 1)) return false;
  }
  return true;
}

// A transpose that keeps the last axis in place, read by a run of row-wise ops (a packed q/k/v
// projection) whose result only attention operands read, moves after the run: the products run
// on the rows where they lie, and the operands' views take the transpose in.
Status MoveTransposesPastProjections(ir::Graph& graph) {
  graph.RemoveDeadNodes();  // what fusion left behind reads values too
  for (int id = 0; id < graph.num_nodes(); ++id) {
    if (graph.node(id).op != "Transpose" || graph.node(id).inputs.size() != 2) continue;
    const auto step = StepTo(graph, {id, 0}, false);
    if (!step || step->first.perm.empty() || step->first.perm.back() != static_cast<int>(step->first.perm.size()) - 1) {
      continue;
    }
    const fusion::ValueUses uses(graph);
    RowwiseRun run{{}, {id, 0}};
    for (ValueRef v = run.input; uses.SoleUser(v) >= 0;) {
      const int u = uses.SoleUser(v);
      const std::optional<int> slot = RowwiseInput(graph, graph.node(u));
      if (!slot || graph.node(u).inputs[*slot] != v) break;
      run.nodes.push_back(u);
      v = {u, 0};
    }
    if (run.nodes.empty() || !OnlyAttentionOperandsRead(graph, uses, {run.nodes.back(), 0})) continue;
    const ValueRef perm = graph.node(id).inputs[1], last{run.nodes.back(), 0};
    const std::string name = graph.UniqueName(graph.node(id).name + "/after_rows");
    ir::AttrMap attrs = graph.node(id).attrs;
    KILN_ASSIGN_OR_RETURN(ValueRef rows, ReapplyRowwise(graph, run, graph.node(id).inputs[0]));
    ir::Node* moved = graph.AddNode(name, "Transpose", {rows, perm}, std::move(attrs), 1);
    KILN_RETURN_IF_ERROR(ir::InferNodeShapes(graph, *moved));
    graph.ReplaceAllUses(last, {moved->id, 0});
  }
  return OkStatus();
}

}  // namespace

Status ReadAttentionOperandsInPlace(ir::Graph& graph) {
  KILN_RETURN_IF_ERROR(MoveTransposesPastProjections(graph));
  for (int id = 0; id < graph.num_nodes(); ++id) {
    if (graph.node(id).op != ir::kAttentionOp) continue;
    KILN_ASSIGN_OR_RETURN(ir::AttentionAttrs attrs, ir::ParseAttentionAttrs(graph.node(id).attrs));
    bool changed = false;
    for (int slot = 0; slot < 3; ++slot) changed |= ReadInPlace(graph, id, slot, attrs);
    if (!changed) continue;
    ir::AttrMap& a = graph.node(id).attrs;
    a.Set("scale", attrs.scale);
    a.Set("q_layout", attrs.q.ToString());
    a.Set("k_layout", attrs.k.ToString());
    a.Set("v_layout", attrs.v.ToString());
  }
  graph.RemoveDeadNodes();
  return ir::InferShapes(graph);
}

}  // namespace kiln::passes
