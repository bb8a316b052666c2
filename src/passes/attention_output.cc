// WriteAttentionOutputsInReadersOrder: an attention output that reaches row-wise products (the
// output projection) through reshapes, whose result is then transposed with the rows' elements
// kept together (PyTorch's exported MultiheadAttention: sequence-major tokens turned back into
// batch-major), is written by the attention in the transposed order instead: the layout of its
// output takes the transpose in, the products run on the reordered rows, and the transpose goes.
// Every shape involved must be known.
#include <algorithm>

#include "ir/op_registry.h"
#include "ir/ops/attention_op.h"
#include "passes/fusion.h"
#include "passes/fusion_util.h"
#include "passes/view_ops.h"
#include "passes/views.h"

namespace kiln::passes {
namespace {

using ir::ValueRef;

// What the attention output's readers do, from the output on.
struct OutputReaders {
  RowwiseRun run;     // its input: the output, reshaped
  ValueRef result;    // the run's result after the views that follow it
  StridedView view;   // of `result` over the run's last output
};

// The attention output's sole readers: reshapes, a run of row-wise ops, then reshapes and at least
// one transpose; nullopt otherwise.
std::optional<OutputReaders> FollowOutput(const ir::Graph& graph, const fusion::ValueUses& uses, int id) {
  ValueRef v{id, 0};
  auto sole_reader = [&](ValueRef x) {
    const int u = uses.SoleUser(x);
    return u >= 0 && graph.node(u).inputs[0] == x ? u : -1;
  };
  for (int u; (u = sole_reader(v)) >= 0 && KeepsOrder(graph.node(u).op);) v = {u, 0};
  OutputReaders r;
  r.run.input = v;
  for (int u; (u = uses.SoleUser(v)) >= 0;) {
    const std::optional<int> slot = RowwiseInput(graph, graph.node(u));
    if (!slot || graph.node(u).inputs[*slot] != v) break;
    r.run.nodes.push_back(u);
    v = {u, 0};
  }
  const std::optional<Shape> rows = KnownShape(graph, v);
  if (r.run.nodes.empty() || !rows) return std::nullopt;
  r.view = StridedView::Contiguous(*rows);
  bool transposed = false;
  for (int u; (u = sole_reader(v)) >= 0;) {
    const ir::Node& n = graph.node(u);
    std::optional<StridedView> next;
    if (const std::optional<Shape> shape = KnownShape(graph, {u, 0}); shape && KeepsOrder(n.op)) {
      next = r.view.Reshaped(*shape);
    } else if (const auto axes = TransposePermutation(graph, n, static_cast<int>(r.view.dims.size()))) {
      next = r.view.Transposed(*axes);
      transposed = true;
    }
    if (!next) break;
    r.view = *next;
    v = {u, 0};
  }
  if (!transposed || uses.is_graph_output(v)) return std::nullopt;
  r.result = v;
  return r;
}

// The attention's new output layout and stored shape: its dims that make whole rows of `row`
// elements stay in place, and the others ordered as `readers` read the rows.
std::optional<std::pair<ir::AttentionLayout, Shape>> ReorderedLayout(const ir::AttentionLayout& layout,
                                                                     const Shape& stored, int64_t row,
                                                                     const OutputReaders& readers, int64_t out_row) {
  const auto strides = readers.view.Strides();
  if (!strides || strides->back() != std::pair<int64_t, int64_t>{out_row, 1}) return std::nullopt;
  // The result's leading dims as steps over whole rows, and their order in a dense result.
  std::vector<std::pair<int64_t, int64_t>> row_dims(strides->begin(), strides->end() - 1);
  std::vector<int64_t> dense(row_dims.size());
  for (int64_t j = static_cast<int64_t>(row_dims.size()) - 1, step = 1; j >= 0; --j) {
    if (row_dims[j].first > 1 && row_dims[j].second % out_row != 0) return std::nullopt;
    row_dims[j].second /= out_row;
    dense[j] = step;
    step *= row_dims[j].first;
  }
  // The attention's dims [batch, head, seq, depth] as stored now, then as they will be.
  std::array<int64_t, 4> size{}, before{}, after{};
  std::vector<int64_t> axis_stride(stored.size());
  for (int64_t a = static_cast<int64_t>(stored.size()) - 1, step = 1; a >= 0; --a) {
    axis_stride[a] = step;
    step *= stored[a];
  }
  std::vector<bool> used(row_dims.size(), false);
  for (int d = 0; d < 4; ++d) {
    size[d] = stored[layout.axis[d]];
    before[d] = axis_stride[layout.axis[d]];
    if (size[d] == 1) continue;
    if (before[d] * size[d] <= row) {  // inside a row
      after[d] = before[d];
      continue;
    }
    if (before[d] % row != 0) return std::nullopt;
    int found = -1;
    for (size_t j = 0; j < row_dims.size() && found < 0; ++j) {
      if (!used[j] && row_dims[j] == std::pair<int64_t, int64_t>{size[d], before[d] / row}) found = static_cast<int>(j);
    }
    if (found < 0) return std::nullopt;
    used[found] = true;
    after[d] = dense[found] * row;
  }
  int64_t in_row = 1;
  for (int d = 0; d < 4; ++d) in_row *= size[d] > 1 && before[d] * size[d] <= row ? size[d] : 1;
  if (in_row != row) return std::nullopt;
  for (size_t j = 0; j < row_dims.size(); ++j) {
    if (row_dims[j].first > 1 && !used[j]) return std::nullopt;
  }
  // Outermost first: dims of 1, then by stride; the strides must be those of a dense tensor.
  std::array<int, 4> order = {0, 1, 2, 3};
  std::sort(order.begin(), order.end(), [&](int a, int b) {
    if ((size[a] == 1) != (size[b] == 1)) return size[a] == 1;
    return after[a] > after[b];
  });
  ir::AttentionLayout out;
  Shape shape;
  int64_t expected = 1;
  for (int i = 3; i >= 0; --i) {
    const int d = order[i];
    if (size[d] != 1 && after[d] != expected) return std::nullopt;
    expected *= size[d];
  }
  for (int i = 0; i < 4; ++i) {
    out.axis[order[i]] = i;
    shape.push_back(size[order[i]]);
  }
  return std::pair{out, shape};
}

// Rewrites attention node `id` when its readers transpose the rows of its output projection.
StatusOr<bool> WriteInReadersOrder(ir::Graph& graph, int id) {
  const fusion::ValueUses uses(graph);
  const std::optional<OutputReaders> readers = FollowOutput(graph, uses, id);
  if (!readers) return false;
  KILN_ASSIGN_OR_RETURN(ir::AttentionAttrs attrs, ir::ParseAttentionAttrs(graph.node(id).attrs));
  const std::optional<Shape> stored = KnownShape(graph, {id, 0}), rows = KnownShape(graph, readers->run.input);
  const std::optional<Shape> result = KnownShape(graph, readers->result);
  const std::optional<Shape> out_rows = KnownShape(graph, {readers->run.nodes.back(), 0});
  if (!stored || !rows || !result || !out_rows) return false;
  const auto reordered = ReorderedLayout(attrs.out, *stored, rows->back(), *readers, out_rows->back());
  if (!reordered) return false;
  ir::Node& node = graph.node(id);
  node.attrs.Set("out_layout", reordered->first.ToString());
  KILN_RETURN_IF_ERROR(ir::InferNodeShapes(graph, node));
  // The output as the result's rows, then the row-wise ops on them.
  Shape row_shape(result->begin(), result->end() - 1);
  row_shape.push_back(rows->back());
  const std::string name = graph.UniqueName(node.name + "/rows");
  ir::Node* shape = graph.AddConst(name + "/shape", Tensor::FromVector<int64_t>(
                                                        {static_cast<int64_t>(row_shape.size())}, row_shape));
  ir::AttrMap a;
  a.Set("T", DType::kFloat32);
  a.Set("Tshape", DType::kInt64);
  ir::Node* reshape = graph.AddNode(name, "Reshape", {{id, 0}, {shape->id, 0}}, std::move(a), 1);
  KILN_RETURN_IF_ERROR(ir::InferNodeShapes(graph, *reshape));
  KILN_ASSIGN_OR_RETURN(ValueRef computed, ReapplyRowwise(graph, readers->run, {reshape->id, 0}));
  graph.ReplaceAllUses(readers->result, computed);
  return true;
}

}  // namespace

Status WriteAttentionOutputsInReadersOrder(ir::Graph& graph) {
  bool changed = false;
  for (int id = 0; id < graph.num_nodes(); ++id) {
    if (graph.node(id).op != ir::kAttentionOp) continue;
    KILN_ASSIGN_OR_RETURN(bool rewritten, WriteInReadersOrder(graph, id));
    changed |= rewritten;
  }
  if (!changed) return OkStatus();
  graph.RemoveDeadNodes();
  return ir::InferShapes(graph);
}

}  // namespace kiln::passes
