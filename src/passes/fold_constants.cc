#include <optional>

#include "ir/op_registry.h"
#include "passes/passes.h"
#include "runtime/kernel.h"

namespace kiln::passes {
namespace {

// Folding never creates constants larger than this; big results stay computed at run time.
constexpr size_t kMaxFoldedBytes = 16 << 20;

const Tensor* ConstValue(const ir::Graph& graph, ir::ValueRef v) {
  const ir::Node& n = graph.node(v.node);
  if (n.op != "Const") return nullptr;
  const ir::AttrValue* value = n.attrs.Find("value");
  return value ? std::get_if<Tensor>(value) : nullptr;
}

// Shape, Size and Rank of a fully known shape, without running anything.
std::optional<Tensor> FoldShapeOp(const ir::Graph& graph, const ir::Node& n) {
  if (n.inputs.size() != 1) return std::nullopt;
  const PartialShape& in = graph.output_info(n.inputs[0]).shape;
  if (!in.IsFullyDefined() || n.outputs.empty()) return std::nullopt;
  const DType out = n.outputs[0].dtype;
  auto make = [&](std::vector<int64_t> values, Shape shape) -> std::optional<Tensor> {
    if (out == DType::kInt32) {
      std::vector<int32_t> v(values.begin(), values.end());
      return Tensor::FromVector<int32_t>(std::move(shape), v);
    }
    if (out == DType::kInt64) return Tensor::FromVector<int64_t>(std::move(shape), values);
    return std::nullopt;
  };
  if (n.op == "Shape") return make(in.dims, {static_cast<int64_t>(in.dims.size())});
  if (n.op == "Size") return make({NumElements(in.dims)}, {});
  if (n.op == "Rank") return make({static_cast<int64_t>(in.dims.size())}, {});
  return std::nullopt;
}

}  // namespace

std::optional<std::vector<Tensor>> EvaluateConstantNode(const ir::Graph& graph, const ir::Node& n) {
  if (n.op == "Const" || n.op == "Placeholder" || n.outputs.empty()) return std::nullopt;
  // Tensor lists are made at run time: a constant cannot hold one.
  for (const ir::OutputInfo& out : n.outputs) {
    if (out.dtype == DType::kVariant) return std::nullopt;
  }
  if (auto shape_value = FoldShapeOp(graph, n)) {
    std::vector<Tensor> results;
    results.push_back(std::move(*shape_value));
    return results;
  }
  std::vector<const Tensor*> inputs;
  for (const auto& in : n.inputs) {
    const Tensor* t = ConstValue(graph, in);
    if (t == nullptr) return std::nullopt;
    inputs.push_back(t);
  }
  const runtime::KernelFn* kernel = runtime::KernelRegistry::Global().Find(n.op, DeviceType::kCPU);
  if (kernel == nullptr) return std::nullopt;
  // Outputs known to be past the folding limit are left to run time before anything is computed.
  for (const ir::OutputInfo& out : n.outputs) {
    if (!out.shape.IsFullyDefined() || out.dtype == DType::kString) continue;
    double bytes = static_cast<double>(DTypeSize(out.dtype));
    for (int64_t d : out.shape.dims) bytes *= static_cast<double>(d);
    if (bytes > kMaxFoldedBytes) return std::nullopt;
  }
  runtime::KernelContext ctx(n, std::move(inputs));
  // A kernel that fails here fails at run time too, with the same message; leave it there.
  if (!runtime::RunKernel(*kernel, ctx).ok()) return std::nullopt;
  size_t bytes = 0;
  for (const auto& t : ctx.outputs()) {
    if (!t.valid()) return std::nullopt;
    bytes += t.byte_size();
  }
  if (bytes > kMaxFoldedBytes) return std::nullopt;
  return std::move(ctx.outputs());
}

Status FoldConstants(ir::Graph& graph) {
  KILN_ASSIGN_OR_RETURN(std::vector<int> order, graph.TopologicalOrder());
  for (int id : order) {
    auto results = EvaluateConstantNode(graph, graph.node(id));
    if (!results) continue;
    const std::string name = graph.node(id).name;
    for (int i = 0; i < static_cast<int>(results->size()); ++i) {
      const int c = graph
                        .AddConst(name + (results->size() > 1 ? "/folded_" + std::to_string(i) : "/folded"),
                                  std::move((*results)[i]))
                        ->id;
      graph.ReplaceAllUses({id, i}, {c, 0});
    }
  }
  graph.RemoveDeadNodes();
  return OkStatus();
}

Status OptimizeForInference(ir::Graph& graph) {
  for (const auto& [name, body] : graph.functions()) {
    Status s = OptimizeForInference(*graph.mutable_function(name));
    if (!s.ok()) return s.Prepend("in function '" + name + "'");
  }
  KILN_RETURN_IF_ERROR(RemoveIdentities(graph));
  KILN_RETURN_IF_ERROR(ir::InferShapes(graph));
  KILN_RETURN_IF_ERROR(FoldConstants(graph));
  KILN_RETURN_IF_ERROR(ir::InferShapes(graph));
  return OkStatus();
}

}  // namespace kiln::passes
