#include "passes/view_ops.h"

#include "ir/op_registry.h"
#include "passes/fusion_util.h"

namespace kiln::passes {
namespace {

// A bool attr, read as set when it cannot be read.
bool Flag(const ir::Node& n, const char* name) {
  const StatusOr<bool> v = n.attrs.GetOr<bool>(name, false);
  return !v.ok() || *v;
}

// Whether `t` holds at most one row: every dim but the last is 1.
bool AtMostOneRow(const Tensor& t) {
  for (int d = 0; d + 1 < t.rank(); ++d) {
    if (t.dim(d) != 1) return false;
  }
  return true;
}

}  // namespace

std::optional<Shape> KnownShape(const ir::Graph& graph, ir::ValueRef v) {
  const PartialShape& p = graph.output_info(v).shape;
  if (!p.IsFullyDefined()) return std::nullopt;
  for (int64_t d : p.dims) {
    if (d <= 0) return std::nullopt;
  }
  return Shape(p.dims);
}

bool KeepsOrder(const std::string& op) {
  return op == "Reshape" || op == "OnnxReshape" || op == "Squeeze" || op == "ExpandDims" || op == "Identity";
}

std::optional<std::vector<int>> TransposePermutation(const ir::Graph& graph, const ir::Node& n, int rank) {
  if (n.op != "Transpose" || n.inputs.size() != 2) return std::nullopt;
  const Tensor* perm = fusion::ConstTensor(graph, n.inputs[1]);
  if (perm == nullptr || perm->num_elements() != rank) return std::nullopt;
  const StatusOr<std::vector<int64_t>> values = perm->ToInt64Vector();
  if (!values.ok()) return std::nullopt;
  std::vector<int> axes;
  std::vector<bool> seen(static_cast<size_t>(rank), false);
  for (const int64_t a : *values) {
    if (a < 0 || a >= rank || seen[a]) return std::nullopt;
    seen[a] = true;
    axes.push_back(static_cast<int>(a));
  }
  return axes;
}

std::optional<int> RowwiseInput(const ir::Graph& graph, const ir::Node& n) {
  if (n.inputs.size() != 2 || n.outputs.size() != 1 || n.outputs[0].dtype != DType::kFloat32) return std::nullopt;
  const Tensor* weight = fusion::ConstTensor(graph, n.inputs[1]);
  if (n.op == "MatMul" || n.op == "BatchMatMul" || n.op == "BatchMatMulV2" || n.op == "BatchMatMulV3") {
    const bool adjoint_x = n.op == "MatMul" ? Flag(n, "transpose_a") : Flag(n, "adj_x");
    if (weight == nullptr || weight->rank() != 2 || adjoint_x) return std::nullopt;
    return 0;
  }
  if (n.op != "Add" && n.op != "AddV2" && n.op != "Sub" && n.op != "Mul" && n.op != "BiasAdd") return std::nullopt;
  if (n.op == "BiasAdd") {
    const StatusOr<std::string> format = n.attrs.GetOr<std::string>("data_format", "NHWC");
    if (!format.ok() || *format != "NHWC") return std::nullopt;
  }
  for (int slot : {0, 1}) {
    if (n.op == "BiasAdd" && slot == 1) break;
    const Tensor* other = fusion::ConstTensor(graph, n.inputs[1 - slot]);
    const std::optional<Shape> data = KnownShape(graph, n.inputs[slot]), out = KnownShape(graph, {n.id, 0});
    if (other != nullptr && AtMostOneRow(*other) && other->rank() <= static_cast<int>(out ? out->size() : 0) &&
        data == out) {
      return slot;
    }
  }
  return std::nullopt;
}

StatusOr<ir::ValueRef> ReapplyRowwise(ir::Graph& graph, const RowwiseRun& run, ir::ValueRef input) {
  for (int id : run.nodes) {
    const ir::Node& n = graph.node(id);
    const std::optional<int> slot = RowwiseInput(graph, n);
    if (!slot) return Internal("node " + n.name + " is not row-wise");
    std::string op = n.op;
    ir::AttrMap attrs = n.attrs;
    std::vector<ir::ValueRef> inputs = n.inputs;
    const std::string name = graph.UniqueName(n.name + "/rows");
    inputs[*slot] = input;
    if (op == "MatMul" && graph.output_info(input).shape.rank() > 2) {
      const bool adjoint_y = Flag(n, "transpose_b");
      op = "BatchMatMulV2";
      attrs = ir::AttrMap();
      attrs.Set("T", DType::kFloat32);
      attrs.Set("adj_x", false);
      attrs.Set("adj_y", adjoint_y);
    }
    ir::Node* copy = graph.AddNode(name, op, std::move(inputs), std::move(attrs), 1);
    KILN_RETURN_IF_ERROR(ir::InferNodeShapes(graph, *copy));
    input = {copy->id, 0};
  }
  return input;
}

}  // namespace kiln::passes
