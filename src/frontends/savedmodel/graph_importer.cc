#include "frontends/savedmodel/graph_importer.h"

#include <algorithm>
#include <map>
#include <optional>

#include "frontends/savedmodel/attr_convert.h"
#include "frontends/savedmodel/tensor_proto.h"
#include "ir/op_registry.h"

namespace kiln::savedmodel {
namespace {

constexpr int kMaxCallDepth = 64;
// Functions that each call the next several times multiply: their inlined nodes are bounded.
constexpr int64_t kMaxNodes = int64_t{1} << 22;

bool IsCallOp(const std::string& op) { return op == "StatefulPartitionedCall" || op == "PartitionedCall"; }
// Ops whose function attributes are graphs they run (see src/ir/ops/control_flow_ops.cc), imported
// as functions of the graph rather than inlined.
bool IsControlFlowOp(const std::string& op) {
  return op == "If" || op == "StatelessIf" || op == "Case" || op == "StatelessCase" || op == "While" ||
         op == "StatelessWhile" || op == "Loop";
}
constexpr int kTfResourceDType = 20;  // DT_RESOURCE

// A value flowing through the TensorFlow graph: an IR value, or a handle to a variable.
struct Binding {
  ir::ValueRef value;
  std::string variable;  // top-level VarHandleOp name when this is a resource handle
  bool is_resource() const { return !variable.empty(); }
};

// A parsed input string: "arg", "node", "node:idx" or "node:out_arg:idx".
struct InputName {
  std::string node;
  std::string out_arg;  // empty: `index` is a flat output position
  int index = 0;
};

StatusOr<InputName> ParseInput(const std::string& s) {
  InputName in;
  const size_t c1 = s.find(':');
  in.node = s.substr(0, c1);
  if (c1 == std::string::npos) return in;
  const std::string rest = s.substr(c1 + 1);
  const size_t c2 = rest.find(':');
  auto parse_index = [&](const std::string& digits) -> Status {
    if (digits.empty() || digits.size() > 9 || !std::all_of(digits.begin(), digits.end(), ::isdigit)) {
      return InvalidArgument("malformed input name '" + s + "'");
    }
    in.index = std::stoi(digits);
    return OkStatus();
  };
  if (c2 == std::string::npos) {
    if (!rest.empty() && std::all_of(rest.begin(), rest.end(), ::isdigit)) {
      KILN_RETURN_IF_ERROR(parse_index(rest));
    } else {
      in.out_arg = rest;
    }
    return in;
  }
  in.out_arg = rest.substr(0, c2);
  KILN_RETURN_IF_ERROR(parse_index(rest.substr(c2 + 1)));
  return in;
}

struct Scope {
  std::string function;  // empty at top level
  std::string prefix;    // prefix of the IR node names made in this scope
  std::map<std::string, const tfproto::NodeDef*> nodes;
  std::map<std::string, Binding> args;
  std::map<std::string, std::vector<Binding>> outputs;  // imported nodes, flat outputs
  std::map<std::string, ir::Node*> ir_nodes;            // imported nodes that became one IR node
};

class Importer {
 public:
  Importer(const tfproto::MetaGraphDef& meta, const VariableReader& read_variable)
      : meta_(meta), read_variable_(read_variable) {
    for (const auto& f : meta.graph_def().library().function()) library_[f.signature().name()] = &f;
  }

  StatusOr<ir::Graph> Import(const std::string& signature_key);

 private:
  Status ImportNodes(Scope& scope, const std::vector<std::string>& roots);
  Status ImportNode(Scope& scope, const tfproto::NodeDef& node);
  StatusOr<Binding> Resolve(Scope& scope, const std::string& input);
  StatusOr<std::vector<Binding>> InlineCall(Scope& caller, const tfproto::NodeDef& call, std::vector<Binding> args);
  StatusOr<ir::ValueRef> VariableValue(const std::string& handle, const std::string& name);
  // A control-flow node (see IsControlFlowOp): its functions become graphs of graph_'s library.
  // Variables passed to it (resource inputs) are frozen inside those graphs, so that the node
  // takes and gives tensors only; a While gives each variable back as it came.
  Status ImportControlFlow(Scope& scope, const tfproto::NodeDef& node, const std::vector<Binding>& inputs,
                           std::vector<Binding>& outputs);
  // Function `fname` of the library imported as a graph of its own into graph_'s function library,
  // its resource arguments bound to the variables in `frozen` (argument index -> variable), once
  // per function and binding; returns its name there.
  StatusOr<std::string> ImportBody(const std::string& fname, const std::map<int, std::string>& frozen);
  StatusOr<ir::Graph> ImportFunctionGraph(const tfproto::FunctionDef& fn, const std::map<int, std::string>& frozen);
  Status Fail(const Scope& scope, Status s, const tfproto::NodeDef& node) {
    if (!scope.function.empty() && s.node().empty()) s.Prepend("in function '" + scope.function + "'");
    return s.AtNode(scope.prefix + node.name(), node.op());
  }

  const tfproto::MetaGraphDef& meta_;
  const VariableReader& read_variable_;
  std::map<std::string, const tfproto::FunctionDef*> library_;
  std::map<std::string, ir::ValueRef> variable_values_;
  // "function|arg=variable|..." (a library function with its frozen arguments) -> its name in
  // graph_'s functions.
  std::map<std::string, std::string> bodies_;
  ir::Graph graph_;
  int depth_ = 0;
  int64_t imported_ = 0;
};

StatusOr<ir::Graph> Importer::Import(const std::string& signature_key) {
  const auto& sigs = meta_.signature_def();
  auto sig_it = sigs.find(signature_key);
  if (sig_it == sigs.end()) return NotFound("signature '" + signature_key + "' not found");
  const tfproto::SignatureDef& sig = sig_it->second;

  Scope top;
  for (const auto& n : meta_.graph_def().node()) top.nodes[n.name()] = &n;

  // Signature inputs become Placeholders, in key order.
  std::vector<std::string> input_keys, output_keys;
  for (const auto& [k, _] : sig.inputs()) input_keys.push_back(k);
  for (const auto& [k, _] : sig.outputs()) output_keys.push_back(k);
  std::sort(input_keys.begin(), input_keys.end());
  std::sort(output_keys.begin(), output_keys.end());
  for (const auto& key : input_keys) {
    const auto& info = sig.inputs().at(key);
    if (info.name().empty()) return Unimplemented("signature input '" + key + "' is not a dense tensor");
    KILN_ASSIGN_OR_RETURN(InputName in, ParseInput(info.name()));
    KILN_ASSIGN_OR_RETURN(DType dtype, DTypeFromProto(info.dtype()));
    PartialShape shape;
    if (info.has_tensor_shape()) {
      KILN_ASSIGN_OR_RETURN(shape, ShapeFromProto(info.tensor_shape()));
    }
    ir::AttrMap attrs;
    attrs.Set("dtype", dtype);
    attrs.Set("shape", shape);
    ir::Node* p = graph_.AddNode(in.node, "Placeholder", {}, std::move(attrs), 1);
    p->outputs[0] = {dtype, shape};
    graph_.inputs().push_back({key, {p->id, 0}});
    top.outputs[in.node] = {Binding{{p->id, 0}, ""}};
  }

  for (const auto& key : output_keys) {
    const auto& info = sig.outputs().at(key);
    if (info.name().empty()) return Unimplemented("signature output '" + key + "' is not a dense tensor");
    KILN_ASSIGN_OR_RETURN(InputName out, ParseInput(info.name()));
    if (!top.nodes.count(out.node) && !top.outputs.count(out.node)) {
      return NotFound("signature output '" + key + "' names tensor '" + info.name() + "', which is not in the graph");
    }
    KILN_RETURN_IF_ERROR(ImportNodes(top, {out.node}));
    if (top.outputs[out.node].empty()) {
      return Unimplemented("signature output '" + key + "' names operation '" + out.node +
                           "', which produces no tensor (an initialisation signature cannot be run)");
    }
    KILN_ASSIGN_OR_RETURN(Binding b, Resolve(top, info.name()));
    if (b.is_resource()) return Unimplemented("signature output '" + key + "' is a resource handle");
    graph_.outputs().push_back({key, b.value});
  }
  graph_.RemoveDeadNodes();
  return std::move(graph_);
}

// Imports `roots` and everything they depend on through data edges, inputs before users,
// with an explicit stack so deep graphs cannot overflow the call stack.
Status Importer::ImportNodes(Scope& scope, const std::vector<std::string>& roots) {
  std::map<std::string, int> state;  // 1: expanded, waiting for inputs
  std::vector<std::string> stack(roots.rbegin(), roots.rend());
  while (!stack.empty()) {
    const std::string name = stack.back();
    if (scope.outputs.count(name)) {
      stack.pop_back();
      continue;
    }
    auto it = scope.nodes.find(name);
    if (it == scope.nodes.end()) {
      std::string where = scope.function.empty() ? "the graph" : "function '" + scope.function + "'";
      return NotFound("node '" + name + "' is referenced but not defined in " + where);
    }
    const tfproto::NodeDef& node = *it->second;
    std::vector<std::string> pending;
    for (const auto& input : node.input()) {
      if (input.empty() || input[0] == '^') continue;
      KILN_ASSIGN_OR_RETURN(InputName in, ParseInput(input));
      if (scope.args.count(in.node) && in.out_arg.empty() && in.index == 0 && input.find(':') == std::string::npos) {
        continue;
      }
      if (scope.outputs.count(in.node)) continue;
      if (state[in.node] == 1) {
        return Fail(scope, InvalidArgument("the graph has a cycle through '" + in.node + "'"), node);
      }
      pending.push_back(in.node);
    }
    if (pending.empty()) {
      KILN_RETURN_IF_ERROR(ImportNode(scope, node));
      stack.pop_back();
    } else {
      state[name] = 1;
      stack.insert(stack.end(), pending.rbegin(), pending.rend());
    }
  }
  return OkStatus();
}

StatusOr<Binding> Importer::Resolve(Scope& scope, const std::string& input) {
  KILN_ASSIGN_OR_RETURN(InputName in, ParseInput(input));
  if (input.find(':') == std::string::npos) {
    if (auto a = scope.args.find(in.node); a != scope.args.end()) return a->second;
  }
  auto produced = scope.outputs.find(in.node);
  if (produced == scope.outputs.end()) return NotFound("input '" + input + "' was not imported");
  int flat = in.index;
  if (!in.out_arg.empty()) {
    const tfproto::NodeDef& producer = *scope.nodes.at(in.node);
    if (IsCallOp(producer.op())) {
      if (in.out_arg != "output") return InvalidArgument("call '" + in.node + "' has no output '" + in.out_arg + "'");
    } else if (auto ir_node = scope.ir_nodes.find(in.node); ir_node != scope.ir_nodes.end()) {
      if (const ir::OpDef* def = ir::OpRegistry::Global().Find(producer.op())) {
        KILN_ASSIGN_OR_RETURN(flat, def->FlatOutputIndex(ir_node->second->attrs, in.out_arg, in.index));
      }
    }
  }
  std::vector<Binding>& outs = produced->second;
  if (flat >= static_cast<int>(outs.size())) {
    // An op kiln does not know: its output count is learnt from its uses.
    auto ir_node = scope.ir_nodes.find(in.node);
    if (ir_node == scope.ir_nodes.end() || ir::OpRegistry::Global().Find(ir_node->second->op) != nullptr) {
      return InvalidArgument("input '" + input + "' refers to output " + std::to_string(flat) + " of '" + in.node +
                             "', which has " + std::to_string(outs.size()));
    }
    ir::Node* n = ir_node->second;
    while (static_cast<int>(outs.size()) <= flat) {
      outs.push_back(Binding{{n->id, static_cast<int>(outs.size())}, ""});
      n->outputs.emplace_back();
    }
  }
  return outs[flat];
}

StatusOr<ir::ValueRef> Importer::VariableValue(const std::string& handle, const std::string& name) {
  if (auto it = variable_values_.find(handle); it != variable_values_.end()) return it->second;
  KILN_ASSIGN_OR_RETURN(Tensor value, read_variable_(handle));
  ir::ValueRef ref{graph_.AddConst(name, std::move(value))->id, 0};
  variable_values_[handle] = ref;
  return ref;
}

Status Importer::ImportNode(Scope& scope, const tfproto::NodeDef& node) {
  if (++imported_ > kMaxNodes) {
    return Fail(scope, InvalidArgument("the graph has more than " + std::to_string(kMaxNodes) +
                                       " nodes with its functions inlined"), node);
  }
  const std::string& op = node.op();
  std::vector<Binding> inputs;
  for (const auto& input : node.input()) {
    if (input.empty() || input[0] == '^') continue;
    auto b = Resolve(scope, input);
    if (!b.ok()) return Fail(scope, b.status(), node);
    inputs.push_back(std::move(b).value());
  }
  const std::string name = scope.prefix + node.name();
  std::vector<Binding>& outputs = scope.outputs[node.name()];

  if (op == "NoOp") return OkStatus();
  if (op == "VarHandleOp") {
    if (!scope.function.empty()) return Fail(scope, Unimplemented("variables created inside functions"), node);
    outputs = {Binding{{}, node.name()}};
    return OkStatus();
  }
  if (op == "Placeholder" && scope.function.empty()) {
    return Fail(scope, InvalidArgument("the signature's outputs depend on a graph input that is not a signature input"),
                node);
  }
  if (IsCallOp(op)) {
    auto result = InlineCall(scope, node, std::move(inputs));
    if (!result.ok()) return Fail(scope, result.status(), node);
    outputs = std::move(result).value();
    return OkStatus();
  }
  if (IsControlFlowOp(op)) {
    Status s = ImportControlFlow(scope, node, inputs, outputs);
    return s.ok() ? s : Fail(scope, s, node);
  }
  const bool any_resource = std::any_of(inputs.begin(), inputs.end(), [](const Binding& b) { return b.is_resource(); });
  if (any_resource) {
    // Freezing the way TensorFlow does: reads become the variable's value, gathers GatherV2.
    if (op == "Identity" || op == "IdentityN") {
      outputs = inputs;
      return OkStatus();
    }
    if (op == "ReadVariableOp" && inputs.size() == 1) {
      auto value = VariableValue(inputs[0].variable, name);
      if (!value.ok()) return Fail(scope, value.status(), node);
      outputs = {Binding{*value, ""}};
      return OkStatus();
    }
    if (op == "ResourceGather" && inputs.size() == 2 && inputs[0].is_resource()) {
      auto params = VariableValue(inputs[0].variable, name + "/params");
      if (!params.ok()) return Fail(scope, params.status(), node);
      auto attrs = ConvertNodeAttrs(node);
      if (!attrs.ok()) return attrs.status();
      ir::AttrMap gather;
      gather.Set("batch_dims", attrs->GetOr<int64_t>("batch_dims", 0).value());
      ir::ValueRef axis{graph_.AddConst(name + "/axis", Tensor::Scalar<int32_t>(0))->id, 0};
      ir::Node* n = graph_.AddNode(name, "GatherV2", {*params, inputs[1].value, axis}, std::move(gather), 1);
      KILN_RETURN_IF_ERROR(ir::OpRegistry::Global().ApplyDefaults(*n));
      outputs = {Binding{{n->id, 0}, ""}};
      scope.ir_nodes[node.name()] = n;
      return OkStatus();
    }
    return Fail(scope, Unimplemented("stateful op on a variable; kiln supports ReadVariableOp and ResourceGather"),
                node);
  }

  KILN_ASSIGN_OR_RETURN(ir::AttrMap attrs, ConvertNodeAttrs(node));
  std::vector<ir::ValueRef> values;
  for (const auto& b : inputs) values.push_back(b.value);
  const ir::OpDef* def = ir::OpRegistry::Global().Find(op);
  int num_outputs = 1;
  ir::Node* n = graph_.AddNode(name, op, std::move(values), std::move(attrs), 0);
  if (def != nullptr) {
    Status s = ir::OpRegistry::Global().ApplyDefaults(*n);
    if (!s.ok()) return Fail(scope, s, node);
    auto count = def->NumOutputs(n->attrs);
    if (!count.ok()) return Fail(scope, count.status(), node);
    num_outputs = *count;
  }
  n->outputs.resize(static_cast<size_t>(num_outputs));
  for (int i = 0; i < num_outputs; ++i) outputs.push_back(Binding{{n->id, i}, ""});
  scope.ir_nodes[node.name()] = n;
  return OkStatus();
}

StatusOr<std::vector<Binding>> Importer::InlineCall(Scope& caller, const tfproto::NodeDef& call,
                                                    std::vector<Binding> args) {
  auto f = call.attr().find("f");
  if (f == call.attr().end() || !f->second.has_func()) return InvalidArgument("call has no function attribute 'f'");
  const std::string& fname = f->second.func().name();
  auto it = library_.find(fname);
  if (it == library_.end()) return NotFound("function '" + fname + "' is not in the SavedModel's library");
  const tfproto::FunctionDef& fn = *it->second;
  if (fn.signature().input_arg_size() != static_cast<int>(args.size())) {
    return InvalidArgument("function '" + fname + "' takes " + std::to_string(fn.signature().input_arg_size()) +
                           " inputs, the call passes " + std::to_string(args.size()));
  }
  if (depth_ >= kMaxCallDepth) return InvalidArgument("function calls nest deeper than " + std::to_string(kMaxCallDepth));

  Scope scope;
  scope.function = fname;
  scope.prefix = caller.prefix + call.name() + "/";
  for (int i = 0; i < fn.signature().input_arg_size(); ++i) scope.args[fn.signature().input_arg(i).name()] = args[i];
  for (const auto& n : fn.node_def()) scope.nodes[n.name()] = &n;

  std::vector<std::string> rets, roots;
  for (const auto& out : fn.signature().output_arg()) {
    auto r = fn.ret().find(out.name());
    if (r == fn.ret().end()) return InvalidArgument("function '" + fname + "' does not bind output '" + out.name() + "'");
    rets.push_back(r->second);
    KILN_ASSIGN_OR_RETURN(InputName in, ParseInput(r->second));
    if (!scope.args.count(in.node) || r->second.find(':') != std::string::npos) roots.push_back(in.node);
  }
  ++depth_;
  Status s = ImportNodes(scope, roots);
  --depth_;
  KILN_RETURN_IF_ERROR(s);
  std::vector<Binding> results;
  for (const auto& r : rets) {
    KILN_ASSIGN_OR_RETURN(Binding b, Resolve(scope, r));
    results.push_back(std::move(b));
  }
  return results;
}

Status Importer::ImportControlFlow(Scope& scope, const tfproto::NodeDef& node, const std::vector<Binding>& inputs,
                                   std::vector<Binding>& outputs) {
  const std::string& op = node.op();
  const bool is_while = op == "While" || op == "StatelessWhile";
  // The inputs that reach the functions as arguments: all but an If's condition or a Case's index.
  const size_t first_arg = is_while ? 0 : 1;
  std::map<int, std::string> frozen;
  std::vector<ir::ValueRef> values;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].is_resource()) {
      values.push_back(inputs[i].value);
    } else if (i < first_arg || op == "Loop") {
      return Unimplemented("input " + std::to_string(i) + " is a variable where a tensor is needed");
    } else {
      frozen[static_cast<int>(i - first_arg)] = inputs[i].variable;
    }
  }
  ir::AttrMap attrs;
  for (const auto& [name, value] : node.attr()) {
    if (!name.empty() && name[0] == '_') continue;
    if (value.has_func()) {
      KILN_ASSIGN_OR_RETURN(std::string body, ImportBody(value.func().name(), frozen));
      attrs.Set(name, ir::FuncRef{body});
      continue;
    }
    if (value.has_list() && value.list().func_size() > 0) {
      std::vector<ir::FuncRef> bodies;
      for (const auto& f : value.list().func()) {
        KILN_ASSIGN_OR_RETURN(std::string body, ImportBody(f.name(), frozen));
        bodies.push_back(ir::FuncRef{body});
      }
      attrs.Set(name, std::move(bodies));
      continue;
    }
    // Lists of types and shapes, one per argument (or While output), lose the variables' entries.
    const bool per_argument = name == "Tin" || name == "T" || (is_while && name == "output_shapes");
    if (value.has_list() && per_argument && !frozen.empty()) {
      std::vector<DType> types;
      std::vector<PartialShape> shapes;
      for (int i = 0; i < value.list().type_size(); ++i) {
        if (frozen.count(i)) continue;
        KILN_ASSIGN_OR_RETURN(DType d, DTypeFromProto(value.list().type(i)));
        types.push_back(d);
      }
      for (int i = 0; i < value.list().shape_size(); ++i) {
        if (frozen.count(i)) continue;
        KILN_ASSIGN_OR_RETURN(PartialShape shape, ShapeFromProto(value.list().shape(i)));
        shapes.push_back(std::move(shape));
      }
      if (value.list().shape_size() > 0) {
        attrs.Set(name, std::move(shapes));
      } else {
        attrs.Set(name, std::move(types));
      }
      continue;
    }
    auto converted = ConvertAttr(value);
    if (!converted.ok()) {
      Status s = converted.status();
      return s.Prepend("attribute '" + name + "'");
    }
    attrs.Set(name, std::move(converted).value());
  }
  ir::Node* n = graph_.AddNode(scope.prefix + node.name(), op, std::move(values), std::move(attrs), 0);
  KILN_RETURN_IF_ERROR(ir::OpRegistry::Global().ApplyDefaults(*n));
  KILN_ASSIGN_OR_RETURN(int num_outputs, ir::OpRegistry::Global().Find(op)->NumOutputs(n->attrs));
  n->outputs.resize(static_cast<size_t>(num_outputs));
  scope.ir_nodes[node.name()] = n;
  // A While's outputs follow its loop variables; a variable comes back as it went in.
  int next = 0;
  const int total = is_while ? static_cast<int>(inputs.size()) : num_outputs;
  for (int i = 0; i < total; ++i) {
    if (is_while && frozen.count(i)) {
      outputs.push_back(inputs[i]);
    } else if (next < num_outputs) {
      outputs.push_back(Binding{{n->id, next++}, ""});
    }
  }
  return OkStatus();
}

StatusOr<std::string> Importer::ImportBody(const std::string& fname, const std::map<int, std::string>& frozen) {
  std::string key = fname;
  for (const auto& [arg, variable] : frozen) key += "|" + std::to_string(arg) + "=" + variable;
  if (auto it = bodies_.find(key); it != bodies_.end()) return it->second;
  auto it = library_.find(fname);
  if (it == library_.end()) return NotFound("function '" + fname + "' is not in the SavedModel's library");
  if (depth_ >= kMaxCallDepth) {
    return InvalidArgument("functions nest deeper than " + std::to_string(kMaxCallDepth));
  }
  Importer sub(meta_, read_variable_);
  sub.depth_ = depth_ + 1;
  sub.imported_ = imported_;
  auto body = sub.ImportFunctionGraph(*it->second, frozen);
  imported_ = sub.imported_;
  if (!body.ok()) {
    Status s = body.status();
    return s.Prepend("in function '" + fname + "'");
  }
  const std::string name = graph_.AddFunction(fname, std::move(body).value());
  bodies_[key] = name;
  return name;
}

StatusOr<ir::Graph> Importer::ImportFunctionGraph(const tfproto::FunctionDef& fn,
                                                  const std::map<int, std::string>& frozen) {
  Scope scope;
  scope.function = fn.signature().name();
  for (int i = 0; i < fn.signature().input_arg_size(); ++i) {
    const auto& arg = fn.signature().input_arg(i);
    if (arg.type() == kTfResourceDType) {
      auto variable = frozen.find(i);
      if (variable == frozen.end()) {
        return Unimplemented("argument '" + arg.name() + "' is a resource that is not a variable of the model");
      }
      scope.args[arg.name()] = Binding{{}, variable->second};
      continue;
    }
    auto dtype = DTypeFromProto(arg.type());
    if (!dtype.ok()) {
      Status s = dtype.status();
      return s.Prepend("argument '" + arg.name() + "'");
    }
    PartialShape shape;
    if (auto a = fn.arg_attr().find(static_cast<uint32_t>(i)); a != fn.arg_attr().end()) {
      auto shapes = a->second.attr().find("_output_shapes");
      if (shapes != a->second.attr().end() && shapes->second.list().shape_size() == 1) {
        KILN_ASSIGN_OR_RETURN(shape, ShapeFromProto(shapes->second.list().shape(0)));
      }
    }
    ir::AttrMap attrs;
    attrs.Set("dtype", *dtype);
    attrs.Set("shape", shape);
    ir::Node* p = graph_.AddNode(graph_.UniqueName(arg.name()), "Placeholder", {}, std::move(attrs), 1);
    p->outputs[0] = {*dtype, shape};
    graph_.inputs().push_back({arg.name(), {p->id, 0}});
    scope.args[arg.name()] = Binding{{p->id, 0}, ""};
  }
  for (const auto& n : fn.node_def()) scope.nodes[n.name()] = &n;
  std::vector<std::string> rets, roots;
  for (const auto& out : fn.signature().output_arg()) {
    auto r = fn.ret().find(out.name());
    if (r == fn.ret().end()) return InvalidArgument("output '" + out.name() + "' is not bound");
    rets.push_back(r->second);
    KILN_ASSIGN_OR_RETURN(InputName in, ParseInput(r->second));
    if (!scope.args.count(in.node) || r->second.find(':') != std::string::npos) roots.push_back(in.node);
  }
  KILN_RETURN_IF_ERROR(ImportNodes(scope, roots));
  for (int i = 0; i < static_cast<int>(rets.size()); ++i) {
    KILN_ASSIGN_OR_RETURN(Binding b, Resolve(scope, rets[i]));
    // A variable given back (a While body passing a loop variable on) is not an output: the node
    // gives the variable back itself.
    if (b.is_resource()) {
      if (!frozen.count(i) || frozen.at(i) != b.variable) {
        return Unimplemented("output '" + fn.signature().output_arg(i).name() +
                             "' is a variable other than the one its loop variable holds");
      }
      continue;
    }
    graph_.outputs().push_back({fn.signature().output_arg(i).name(), b.value});
  }
  graph_.RemoveDeadNodes();
  return std::move(graph_);
}

}  // namespace

StatusOr<ir::Graph> ImportSignature(const tfproto::MetaGraphDef& meta, const std::string& signature_key,
                                    const VariableReader& read_variable) {
  Importer importer(meta, read_variable);
  return importer.Import(signature_key);
}

}  // namespace kiln::savedmodel
