#include "ir/op_registry.h"

#include <algorithm>

namespace kiln::ir {

InferenceContext::InferenceContext(const Node& node, std::vector<OutputInfo> inputs,
                                   std::vector<const Tensor*> input_values, const Graph* graph)
    : graph_(graph), node_(node), inputs_(std::move(inputs)), input_values_(std::move(input_values)) {
  outputs_.resize(node.outputs.size());
}

Status InferenceContext::ExpectInputs(int min, int max) const {
  if (num_inputs() < min || num_inputs() > max) {
    std::string want = min == max ? std::to_string(min) : std::to_string(min) + " to " + std::to_string(max);
    return InvalidArgument("expects " + want + " inputs, got " + std::to_string(num_inputs()));
  }
  return OkStatus();
}

StatusOr<const Graph*> InferenceContext::Function(const std::string& attr) const {
  KILN_ASSIGN_OR_RETURN(FuncRef f, node_.attrs.Get<FuncRef>(attr));
  const Graph* body = graph_ == nullptr ? nullptr : graph_->function(f.name);
  if (body == nullptr) return NotFound("the function '" + f.name + "' (attribute '" + attr + "') is not in the graph");
  return body;
}

StatusOr<std::vector<const Graph*>> InferenceContext::Functions(const std::string& attr) const {
  KILN_ASSIGN_OR_RETURN(std::vector<FuncRef> refs, node_.attrs.Get<std::vector<FuncRef>>(attr));
  std::vector<const Graph*> out;
  for (const FuncRef& f : refs) {
    const Graph* body = graph_ == nullptr ? nullptr : graph_->function(f.name);
    if (body == nullptr) return NotFound("the function '" + f.name + "' (attribute '" + attr + "') is not in the graph");
    out.push_back(body);
  }
  return out;
}

namespace {
StatusOr<int> OutputArgLength(const OutputArgDef& arg, const AttrMap& attrs) {
  if (!arg.number_attr.empty()) {
    KILN_ASSIGN_OR_RETURN(int64_t n, attrs.Get<int64_t>(arg.number_attr));
    if (n < 0) return InvalidArgument("attribute '" + arg.number_attr + "' is negative");
    return static_cast<int>(n);
  }
  if (!arg.type_list_attr.empty()) {
    KILN_ASSIGN_OR_RETURN(std::vector<DType> types, attrs.Get<std::vector<DType>>(arg.type_list_attr));
    return static_cast<int>(types.size());
  }
  return 1;
}
}  // namespace

StatusOr<int> OpDef::NumOutputs(const AttrMap& attrs) const {
  int total = 0;
  for (const auto& arg : outputs) {
    KILN_ASSIGN_OR_RETURN(int n, OutputArgLength(arg, attrs));
    total += n;
  }
  return total;
}

StatusOr<int> OpDef::FlatOutputIndex(const AttrMap& attrs, std::string_view arg_name, int index) const {
  int offset = 0;
  for (const auto& arg : outputs) {
    KILN_ASSIGN_OR_RETURN(int n, OutputArgLength(arg, attrs));
    if (arg.name == arg_name) {
      if (index < 0 || index >= n) {
        return InvalidArgument("output '" + std::string(arg_name) + ":" + std::to_string(index) + "' of op " + name +
                               " is out of range (it has " + std::to_string(n) + ")");
      }
      return offset + index;
    }
    offset += n;
  }
  return InvalidArgument("op " + name + " has no output argument '" + std::string(arg_name) + "'");
}

OpRegistry& OpRegistry::Global() {
  static OpRegistry* registry = new OpRegistry();
  return *registry;
}

void OpRegistry::Register(OpDef def) {
  auto it = std::find_if(defs_.begin(), defs_.end(), [&](const OpDef& d) { return d.name == def.name; });
  if (it != defs_.end()) {
    *it = std::move(def);
  } else {
    defs_.push_back(std::move(def));
  }
}

const OpDef* OpRegistry::Find(std::string_view op) const {
  for (const auto& d : defs_)
    if (d.name == op) return &d;
  return nullptr;
}

std::vector<std::string> OpRegistry::OpNames() const {
  std::vector<std::string> names;
  for (const auto& d : defs_) names.push_back(d.name);
  std::sort(names.begin(), names.end());
  return names;
}

Status OpRegistry::ApplyDefaults(Node& node) const {
  const OpDef* def = Find(node.op);
  if (def == nullptr) return Unimplemented("op " + node.op + " is not registered");
  for (const auto& a : def->attrs) {
    if (node.attrs.Has(a.name)) continue;
    if (!a.default_value) {
      return InvalidArgument("required attribute '" + a.name + "' is missing").AtNode(node.name, node.op);
    }
    node.attrs.Set(a.name, *a.default_value);
  }
  return OkStatus();
}

Status InferNodeShapes(Graph& graph, Node& node) {
  const OpDef* def = OpRegistry::Global().Find(node.op);
  if (def == nullptr) return Unimplemented("op " + node.op + " is not registered").AtNode(node.name, node.op);
  std::vector<OutputInfo> inputs;
  std::vector<const Tensor*> values;
  for (const ValueRef& in : node.inputs) {
    const Node& producer = graph.node(in.node);
    inputs.push_back(graph.output_info(in));
    const Tensor* value = nullptr;
    if (producer.op == "Const") {
      if (const AttrValue* v = producer.attrs.Find("value")) value = std::get_if<Tensor>(v);
    }
    values.push_back(value);
  }
  if (!def->shape_fn) return OkStatus();
  InferenceContext ctx(node, std::move(inputs), std::move(values), &graph);
  Status s = def->shape_fn(ctx);
  if (!s.ok()) return s.AtNode(node.name, node.op);
  node.outputs = ctx.outputs();
  return OkStatus();
}

Status InferShapes(Graph& graph) {
  // Bodies first: a control-flow node's shape function reads its bodies' outputs.
  for (const auto& [name, body] : graph.functions()) {
    Status s = InferShapes(*graph.mutable_function(name));
    if (!s.ok()) return s.Prepend("in function '" + name + "'");
  }
  KILN_ASSIGN_OR_RETURN(std::vector<int> order, graph.TopologicalOrder());
  for (int id : order) KILN_RETURN_IF_ERROR(InferNodeShapes(graph, graph.node(id)));
  return OkStatus();
}

}  // namespace kiln::ir
