// StoreInReducedPrecision: 16-bit storage for engines that compute in FP16 or BF16.
#include <algorithm>
#include <cmath>
#include <map>
#include <span>

#include "ir/shape_fns.h"
#include "kernels/cpu/kernel_util.h"
#include "passes/precision.h"

namespace kiln::passes {
namespace {

using ir::Graph;
using ir::Node;
using ir::ValueRef;

bool ReadsOrWritesFloat32(const Graph& graph, const Node& n) {
  for (const ValueRef& in : n.inputs) {
    if (graph.output_info(in).dtype == DType::kFloat32) return true;
  }
  for (const auto& out : n.outputs) {
    if (out.dtype == DType::kFloat32) return true;
  }
  return false;
}

// A float32 tensor in `storage`, finite values past float16's range saturated to its largest
// finite value (masks such as (1 - m) * -3.4e38 stay finite, so 0 * them stays 0, not NaN).
StatusOr<Tensor> Narrowed(const Tensor& t, DType storage) {
  if (storage != DType::kFloat16) return kernels::cpu::CastTensor(t, storage);
  constexpr float kHalfMax = 65504.0f;
  Tensor clamped = t.Clone();
  for (float& v : std::span<float>(clamped.data<float>(), static_cast<size_t>(clamped.num_elements()))) {
    if (std::isfinite(v)) v = std::clamp(v, -kHalfMax, kHalfMax);
  }
  return kernels::cpu::CastTensor(clamped, storage);
}

// Every float32 in the node's attributes (T, DstT, dtype lists, tensor values) made `storage`.
Status ConvertAttrs(Node& n, DType storage) {
  for (const auto& [name, value] : std::map<std::string, ir::AttrValue>(n.attrs.all())) {
    if (const DType* d = std::get_if<DType>(&value); d && *d == DType::kFloat32) {
      n.attrs.Set(name, storage);
    } else if (const auto* list = std::get_if<std::vector<DType>>(&value)) {
      std::vector<DType> converted = *list;
      for (DType& e : converted) e = e == DType::kFloat32 ? storage : e;
      n.attrs.Set(name, std::move(converted));
    } else if (const Tensor* t = std::get_if<Tensor>(&value); t && t->dtype() == DType::kFloat32) {
      KILN_ASSIGN_OR_RETURN(Tensor cast, Narrowed(*t, storage));
      n.attrs.Set(name, std::move(cast));
    }
  }
  return OkStatus();
}

// Casts of values, one per (value, dtype), made as needed.
class Casts {
 public:
  explicit Casts(Graph& graph) : graph_(graph) {}
  ValueRef Of(ValueRef v, DType from, DType to) {
    auto [it, fresh] = made_.try_emplace({v, to});
    if (!fresh) return it->second;
    ir::AttrMap attrs;
    attrs.Set("SrcT", from);
    attrs.Set("DstT", to);
    attrs.Set("Truncate", false);
    const std::string name = graph_.UniqueName(graph_.node(v.node).name + "/kiln_to_" + std::string(DTypeName(to)));
    Node* cast = graph_.AddNode(name, "Cast", {v}, std::move(attrs), 1);
    return it->second = ValueRef{cast->id, 0};
  }

 private:
  Graph& graph_;
  std::map<std::pair<ValueRef, DType>, ValueRef> made_;
};

}  // namespace

Status StoreInReducedPrecision(ir::Graph& graph, DType storage,
                               const std::function<bool(const ir::Node&)>& runs_reduced) {
  if (storage != DType::kFloat16 && storage != DType::kBFloat16) {
    return InvalidArgument("reduced-precision storage is float16 or bfloat16, not " + std::string(DTypeName(storage)));
  }
  const int num_nodes = graph.num_nodes();
  // Which nodes compute in `storage`: those the backend runs in it. A float32 constant is stored
  // in it when every reader computes in it.
  std::vector<bool> reduced(static_cast<size_t>(num_nodes), false);
  for (int id = 0; id < num_nodes; ++id) {
    const Node& n = graph.node(id);
    if (n.op != "Const" && n.op != "Placeholder" && ReadsOrWritesFloat32(graph, n)) reduced[id] = runs_reduced(n);
  }
  std::vector<bool> read_in_float32(static_cast<size_t>(num_nodes), false);
  for (int id = 0; id < num_nodes; ++id) {
    for (const ValueRef& in : graph.node(id).inputs) {
      if (!reduced[id]) read_in_float32[in.node] = true;
    }
  }
  for (const auto& out : graph.outputs()) read_in_float32[out.value.node] = true;
  for (int id = 0; id < num_nodes; ++id) {
    const Node& n = graph.node(id);
    if (n.op == "Const" && n.outputs[0].dtype == DType::kFloat32 && !read_in_float32[id]) reduced[id] = true;
  }

  // Casts where a float32 value crosses between the two kinds of node, and at the graph outputs.
  Casts casts(graph);
  auto dtype_of = [&](ValueRef v) { return graph.output_info(v).dtype; };
  for (int id = 0; id < num_nodes; ++id) {
    for (size_t k = 0; k < graph.node(id).inputs.size(); ++k) {
      const ValueRef v = graph.node(id).inputs[k];
      if (dtype_of(v) != DType::kFloat32 || reduced[v.node] == reduced[id]) continue;
      const ValueRef cast = reduced[id] ? casts.Of(v, DType::kFloat32, storage) : casts.Of(v, storage, DType::kFloat32);
      graph.node(id).inputs[k] = cast;
    }
  }
  for (auto& out : graph.outputs()) {
    if (out.value.node < num_nodes && reduced[out.value.node] && dtype_of(out.value) == DType::kFloat32) {
      out.value = casts.Of(out.value, storage, DType::kFloat32);
    }
  }
  for (int id = 0; id < num_nodes; ++id) {
    if (!reduced[id]) continue;
    Status s = ConvertAttrs(graph.node(id), storage);
    if (!s.ok()) return s.AtNode(graph.node(id).name, graph.node(id).op);
  }
  return ir::InferShapes(graph);
}

}  // namespace kiln::passes
