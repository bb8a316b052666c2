// TensorFlow GraphDef / FunctionDef -> IR, for the protos graph_def_io.cc writes (and serialized
// engine graphs): every node checked before any is added, so bad data is an error naming the node.
#include <algorithm>
#include <map>
#include <set>

#include "frontends/savedmodel/attr_convert.h"
#include "frontends/savedmodel/graph_def_io.h"
#include "frontends/savedmodel/tensor_proto.h"
#include "ir/op_registry.h"

namespace kiln::savedmodel {
namespace {

// More outputs than this on one node is taken for corrupt attributes rather than allocated.
constexpr int kMaxNodeOutputs = 1 << 16;

// A parsed input string: "^node" (control), "node", "node:i" or, in function bodies, "node:out_arg:i".
struct InputRef {
  bool control = false;
  std::string node;
  std::string out_arg;
  int index = 0;
  bool has_index = false;  // written with ":"
};

StatusOr<InputRef> ParseInputRef(const std::string& s, bool allow_out_arg) {
  auto malformed = [&] { return InvalidArgument("malformed input '" + s + "'"); };
  auto is_index = [](const std::string& d) {
    return !d.empty() && d.size() <= 9 && std::all_of(d.begin(), d.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  InputRef ref;
  std::string body = s;
  if (!body.empty() && body[0] == '^') {
    ref.control = true;
    body.erase(0, 1);
  }
  std::vector<std::string> parts;
  for (size_t start = 0;;) {
    const size_t colon = body.find(':', start);
    parts.push_back(body.substr(start, colon == std::string::npos ? std::string::npos : colon - start));
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  ref.node = parts[0];
  if (ref.node.empty() || (ref.control && parts.size() != 1)) return malformed();
  if (parts.size() == 1) return ref;
  if (parts.size() == 2 && is_index(parts[1])) {
    ref.index = std::stoi(parts[1]);
  } else if (parts.size() == 3 && allow_out_arg && !parts[1].empty() && is_index(parts[2])) {
    ref.out_arg = parts[1];
    ref.index = std::stoi(parts[2]);
  } else {
    return malformed();
  }
  ref.has_index = true;
  return ref;
}

// Where an input reads from: a function argument or an output of a body node.
struct Source {
  int arg = -1;
  int node = -1;  // index into Body::defs
  int index = 0;
};

struct Arg {
  std::string name;
  DType dtype = DType::kInvalid;
  PartialShape shape;
};

// The nodes of a GraphDef or function body, checked and resolved before the IR is built.
struct Body {
  bool function = false;  // function bodies may read args and "node:out_arg:i"
  const CheckpointReader* checkpoint = nullptr;  // values of variables
  std::vector<Arg> args;
  std::map<std::string, int> arg_index;
  std::vector<const tfproto::NodeDef*> defs;
  std::map<std::string, int> def_index;
  std::vector<std::string> ops;  // the IR op of each def: a variable read is a Const, a handle none ("")
  std::vector<ir::AttrMap> attrs;
  std::vector<int> num_outputs;
  std::vector<std::vector<Source>> inputs;

  // Resolves `s`; the error does not name a node (callers add where it was read).
  StatusOr<Source> Resolve(const std::string& s) const {
    KILN_ASSIGN_OR_RETURN(InputRef ref, ParseInputRef(s, function));
    if (ref.control) return InvalidArgument("'" + s + "' is a control input, not a tensor");
    if (!ref.has_index) {
      if (auto a = arg_index.find(ref.node); a != arg_index.end()) return Source{a->second, -1, 0};
    }
    auto it = def_index.find(ref.node);
    if (it == def_index.end()) return NotFound("'" + s + "' names no node of the graph");
    const int p = it->second;
    if (ops[p].empty()) return Unimplemented("'" + s + "' is a variable handle, which only ReadVariableOp may read");
    int flat = ref.index;
    if (!ref.out_arg.empty()) {
      const ir::OpDef* def = ir::OpRegistry::Global().Find(defs[p]->op());
      KILN_ASSIGN_OR_RETURN(flat, def->FlatOutputIndex(attrs[p], ref.out_arg, ref.index));
    }
    if (flat >= num_outputs[p]) {
      return InvalidArgument("'" + s + "' reads output " + std::to_string(flat) + " of '" + ref.node + "', which has " +
                             std::to_string(num_outputs[p]));
    }
    return Source{-1, p, flat};
  }
};

// The value of ReadVariableOp `read` (VariableStore's form): its input must be a VarHandleOp of the
// body, and the checkpoint's value under the handle's shared_name must have the dtype and shape
// both declare.
StatusOr<Tensor> ReadVariable(const tfproto::NodeDef& read, const Body& body) {
  auto fail = [&](const std::string& what) { return InvalidArgument(what).AtNode(read.name(), read.op()); };
  if (read.input_size() != 1) return fail("a variable read takes one input, the variable's handle");
  auto ref = ParseInputRef(read.input(0), body.function);
  auto handle_at = ref.ok() && !ref->control ? body.def_index.find(ref->node) : body.def_index.end();
  if (handle_at == body.def_index.end() || body.defs[handle_at->second]->op() != "VarHandleOp" || ref->index != 0) {
    return fail("input '" + read.input(0) + "' is not a VarHandleOp of the graph");
  }
  const tfproto::NodeDef& handle = *body.defs[handle_at->second];
  const auto& attrs = handle.attr();
  const auto key = attrs.find("shared_name");
  const auto dtype = attrs.find("dtype");
  const auto shape = attrs.find("shape");
  if (key == attrs.end() || key->second.s().empty() || dtype == attrs.end() || shape == attrs.end()) {
    return fail("variable handle '" + handle.name() + "' lacks its shared_name, dtype or shape");
  }
  if (const auto read_dtype = read.attr().find("dtype");
      read_dtype == read.attr().end() || read_dtype->second.type() != dtype->second.type()) {
    return fail("the read's dtype is not the dtype of variable '" + handle.name() + "'");
  }
  if (body.checkpoint == nullptr) {
    return fail("reads variable '" + key->second.s() + "', but the graph was read without its checkpoint");
  }
  auto want_dtype = DTypeFromProto(dtype->second.type());
  auto want_shape = ConcreteShapeFromProto(shape->second.shape());
  if (!want_dtype.ok() || !want_shape.ok()) {
    return fail("variable handle '" + handle.name() + "' declares no usable dtype and shape");
  }
  auto value = (*body.checkpoint)(key->second.s(), *want_dtype, *want_shape);
  if (!value.ok()) {
    Status s = value.status();
    return s.Prepend("variable '" + key->second.s() + "'").AtNode(read.name(), read.op());
  }
  if (value->dtype() != *want_dtype || value->shape() != *want_shape) {
    return fail("variable '" + key->second.s() + "' holds " + std::string(DTypeName(value->dtype())) +
                ShapeToString(value->shape()) + " in the checkpoint, not the " + std::string(DTypeName(*want_dtype)) +
                ShapeToString(*want_shape) + " its handle declares");
  }
  return value;
}

Status ReadNodes(const google::protobuf::RepeatedPtrField<tfproto::NodeDef>& nodes, Body& body) {
  for (const auto& n : nodes) {
    if (!IsLegalNodeName(n.name())) {
      return InvalidArgument("'" + n.name() + "' is not a legal node name").AtNode(n.name(), n.op());
    }
    if (!body.def_index.emplace(n.name(), static_cast<int>(body.defs.size())).second) {
      return InvalidArgument("two nodes are named '" + n.name() + "'").AtNode(n.name(), n.op());
    }
    body.defs.push_back(&n);
  }
  for (const tfproto::NodeDef* n : body.defs) {
    if (n->op() == "VarHandleOp") {  // only read, by the ReadVariableOps that become Consts
      body.ops.emplace_back();
      body.attrs.emplace_back();
      body.num_outputs.push_back(1);
      continue;
    }
    if (n->op() == "ReadVariableOp") {
      KILN_ASSIGN_OR_RETURN(Tensor value, ReadVariable(*n, body));
      ir::AttrMap attrs;
      attrs.Set("dtype", value.dtype());
      attrs.Set("value", std::move(value));
      body.ops.push_back("Const");
      body.attrs.push_back(std::move(attrs));
      body.num_outputs.push_back(1);
      continue;
    }
    const ir::OpDef* def = ir::OpRegistry::Global().Find(n->op());
    if (def == nullptr) return Unimplemented("op " + n->op() + " is not registered").AtNode(n->name(), n->op());
    ir::Node node;
    node.name = n->name();
    node.op = n->op();
    KILN_ASSIGN_OR_RETURN(node.attrs, ConvertNodeAttrs(*n));
    KILN_RETURN_IF_ERROR(ir::OpRegistry::Global().ApplyDefaults(node));
    auto count = def->NumOutputs(node.attrs);
    if (!count.ok()) {
      Status s = count.status();
      return s.AtNode(n->name(), n->op());
    }
    if (*count < 0 || *count > kMaxNodeOutputs) {
      return InvalidArgument("the attributes give " + std::to_string(*count) + " outputs").AtNode(n->name(), n->op());
    }
    body.ops.push_back(n->op());
    body.attrs.push_back(std::move(node.attrs));
    body.num_outputs.push_back(*count);
  }
  for (const tfproto::NodeDef* n : body.defs) {
    std::vector<Source> sources;
    if (n->op() == "ReadVariableOp") {  // a Const now: its handle was checked by ReadVariable
      body.inputs.push_back(std::move(sources));
      continue;
    }
    for (const auto& input : n->input()) {
      auto ref = ParseInputRef(input, body.function);
      if (!ref.ok()) {
        Status s = ref.status();
        return s.AtNode(n->name(), n->op());
      }
      if (ref->control) {
        if (!body.def_index.count(ref->node) && !body.arg_index.count(ref->node)) {
          return NotFound("control input '" + input + "' names no node of the graph").AtNode(n->name(), n->op());
        }
        continue;
      }
      auto source = body.Resolve(input);
      if (!source.ok()) {
        Status s = source.status();
        return s.Prepend("input '" + input + "'").AtNode(n->name(), n->op());
      }
      sources.push_back(*source);
    }
    body.inputs.push_back(std::move(sources));
  }
  return OkStatus();
}

// Body nodes in an order where each follows its inputs; a cycle is an error naming a node on it.
StatusOr<std::vector<int>> TopologicalOrder(const Body& body) {
  const int n = static_cast<int>(body.defs.size());
  std::vector<int> pending(n, 0);
  std::vector<std::vector<int>> users(n);
  for (int i = 0; i < n; ++i) {
    for (const Source& s : body.inputs[i]) {
      if (s.node < 0) continue;
      ++pending[i];
      users[s.node].push_back(i);
    }
  }
  std::vector<int> order, ready;
  for (int i = n - 1; i >= 0; --i)
    if (pending[i] == 0) ready.push_back(i);
  while (!ready.empty()) {
    const int id = ready.back();
    ready.pop_back();
    order.push_back(id);
    for (int u : users[id])
      if (--pending[u] == 0) ready.push_back(u);
  }
  if (static_cast<int>(order.size()) == n) return order;
  // Walk back through unordered inputs from any unordered node until a node repeats: it is on a cycle.
  int id =
      static_cast<int>(std::find_if(pending.begin(), pending.end(), [](int p) { return p > 0; }) - pending.begin());
  std::vector<bool> seen(n, false);
  while (!seen[id]) {
    seen[id] = true;
    for (const Source& s : body.inputs[id]) {
      if (s.node >= 0 && pending[s.node] > 0) {
        id = s.node;
        break;
      }
    }
  }
  const tfproto::NodeDef& def = *body.defs[id];
  return InvalidArgument("the graph has a cycle through node '" + def.name() + "'").AtNode(def.name(), def.op());
}

// Adds Placeholders for the args (named `arg_nodes`) and the body nodes in order; returns the IR
// ids of the body nodes.
StatusOr<std::vector<int>> BuildGraph(const Body& body, const std::vector<std::string>& arg_nodes, ir::Graph& graph) {
  std::vector<int> arg_ids;
  for (size_t i = 0; i < body.args.size(); ++i) {
    const Arg& a = body.args[i];
    ir::AttrMap attrs;
    attrs.Set("dtype", a.dtype);
    attrs.Set("shape", a.shape);
    ir::Node* p = graph.AddNode(arg_nodes[i], "Placeholder", {}, std::move(attrs), 1);
    p->outputs[0] = {a.dtype, a.shape};
    arg_ids.push_back(p->id);
    graph.inputs().push_back({a.name, {p->id, 0}});
  }
  KILN_ASSIGN_OR_RETURN(std::vector<int> order, TopologicalOrder(body));
  std::vector<int> ids(body.defs.size(), -1);
  for (int i : order) {
    if (body.ops[i].empty()) continue;  // a variable handle
    std::vector<ir::ValueRef> inputs;
    for (const Source& s : body.inputs[i]) {
      inputs.push_back(s.arg >= 0 ? ir::ValueRef{arg_ids[s.arg], 0} : ir::ValueRef{ids[s.node], s.index});
    }
    const tfproto::NodeDef& def = *body.defs[i];
    ir::Node* n = graph.AddNode(def.name(), body.ops[i], std::move(inputs), body.attrs[i], body.num_outputs[i]);
    if (n->name != def.name()) return Internal("node name '" + def.name() + "' is taken").AtNode(def.name(), def.op());
    ids[i] = n->id;
  }
  return ids;
}

ir::ValueRef ToValue(const Source& s, const std::vector<int>& ids, const ir::Graph& graph) {
  return s.arg >= 0 ? graph.inputs()[s.arg].value : ir::ValueRef{ids[s.node], s.index};
}

}  // namespace

StatusOr<ir::Graph> GraphFromGraphDef(const tfproto::GraphDef& def, const std::vector<std::string>& input_nodes,
                                      const std::vector<std::string>& output_tensors,
                                      const CheckpointReader* checkpoint) {
  Body body;
  body.checkpoint = checkpoint;
  KILN_RETURN_IF_ERROR(ReadNodes(def.node(), body));
  std::set<std::string> inputs;
  for (const auto& name : input_nodes) {
    auto it = body.def_index.find(name);
    if (it == body.def_index.end()) return NotFound("graph input '" + name + "' names no node of the graph");
    const tfproto::NodeDef& n = *body.defs[it->second];
    if (n.op() != "Placeholder") return InvalidArgument("graph input is not a Placeholder").AtNode(n.name(), n.op());
    if (!inputs.insert(name).second) return InvalidArgument("graph input '" + name + "' is listed twice");
  }
  for (const tfproto::NodeDef* n : body.defs) {
    if (n->op() == "Placeholder" && !inputs.count(n->name())) {
      return InvalidArgument("Placeholder is not one of the graph's inputs").AtNode(n->name(), n->op());
    }
  }

  ir::Graph graph;
  KILN_ASSIGN_OR_RETURN(std::vector<int> ids, BuildGraph(body, {}, graph));
  for (const auto& name : input_nodes) graph.inputs().push_back({name, {ids[body.def_index.at(name)], 0}});
  for (const auto& tensor : output_tensors) {
    auto source = body.Resolve(tensor);
    if (!source.ok()) {
      Status s = source.status();
      return s.Prepend("graph output '" + tensor + "'");
    }
    graph.outputs().push_back({tensor, ToValue(*source, ids, graph)});
  }
  KILN_RETURN_IF_ERROR(ir::InferShapes(graph));
  return graph;
}

StatusOr<ir::Graph> GraphFromFunctionDef(const tfproto::FunctionDef& fn, const CheckpointReader* checkpoint) {
  const tfproto::OpDef& sig = fn.signature();
  const std::string where = "function '" + sig.name() + "'";
  Body body;
  body.function = true;
  body.checkpoint = checkpoint;
  for (int i = 0; i < sig.input_arg_size(); ++i) {
    const auto& arg = sig.input_arg(i);
    const std::string what = where + " input '" + arg.name() + "'";
    if (arg.name().empty() || arg.name()[0] == '^' || arg.name().find(':') != std::string::npos) {
      return InvalidArgument(where + " has an input named '" + arg.name() + "'");
    }
    if (!arg.type_attr().empty() || !arg.number_attr().empty() || !arg.type_list_attr().empty()) {
      return Unimplemented(what + " has a polymorphic or list type");
    }
    Arg a;
    a.name = arg.name();
    auto dtype = DTypeFromProto(arg.type());
    if (!dtype.ok()) {
      Status s = dtype.status();
      return s.Prepend(what);
    }
    a.dtype = *dtype;
    if (auto attrs = fn.arg_attr().find(static_cast<uint32_t>(i)); attrs != fn.arg_attr().end()) {
      if (auto shapes = attrs->second.attr().find("_output_shapes"); shapes != attrs->second.attr().end()) {
        if (!shapes->second.has_list() || shapes->second.list().shape_size() != 1) {
          return InvalidArgument(what + " has an '_output_shapes' attribute that is not one shape");
        }
        auto shape = ShapeFromProto(shapes->second.list().shape(0));
        if (!shape.ok()) {
          Status s = shape.status();
          return s.Prepend(what);
        }
        a.shape = *shape;
      }
    }
    if (!body.arg_index.emplace(a.name, i).second)
      return InvalidArgument(where + " has two inputs named '" + a.name + "'");
    body.args.push_back(std::move(a));
  }
  KILN_RETURN_IF_ERROR(ReadNodes(fn.node_def(), body));
  for (const tfproto::NodeDef* n : body.defs) {
    if (n->op() == "Placeholder") {
      return InvalidArgument("a function body holds a Placeholder; its inputs are args").AtNode(n->name(), n->op());
    }
  }
  std::set<std::string> outputs;
  std::vector<Source> results;
  for (const auto& arg : sig.output_arg()) {
    if (!outputs.insert(arg.name()).second)
      return InvalidArgument(where + " has two outputs named '" + arg.name() + "'");
    auto ret = fn.ret().find(arg.name());
    if (ret == fn.ret().end()) return InvalidArgument(where + " does not bind output '" + arg.name() + "' in ret");
    auto source = body.Resolve(ret->second);
    if (!source.ok()) {
      Status s = source.status();
      return s.Prepend(where + " output '" + arg.name() + "'");
    }
    results.push_back(*source);
  }
  if (fn.ret_size() != sig.output_arg_size())
    return InvalidArgument(where + " binds names in ret that are not outputs");

  // Placeholders take the arg names unless a body node holds one.
  std::set<std::string> taken;
  for (const auto& [name, _] : body.def_index) taken.insert(name);
  std::vector<std::string> arg_nodes;
  for (const Arg& a : body.args) {
    std::string name = a.name;
    for (int i = 1; taken.count(name); ++i) name = a.name + "_arg" + (i == 1 ? "" : std::to_string(i));
    taken.insert(name);
    arg_nodes.push_back(name);
  }
  ir::Graph graph;
  KILN_ASSIGN_OR_RETURN(std::vector<int> ids, BuildGraph(body, arg_nodes, graph));
  for (int i = 0; i < sig.output_arg_size(); ++i) {
    graph.outputs().push_back({sig.output_arg(i).name(), ToValue(results[i], ids, graph)});
  }
  KILN_RETURN_IF_ERROR(ir::InferShapes(graph));
  for (int i = 0; i < sig.output_arg_size(); ++i) {
    const auto& arg = sig.output_arg(i);
    const DType computed = graph.output_info(graph.outputs()[i].value).dtype;
    if (!arg.type_attr().empty() || !arg.number_attr().empty() || !arg.type_list_attr().empty()) {
      return Unimplemented(where + " output '" + arg.name() + "' has a polymorphic or list type");
    }
    if (arg.type() != DTypeToProto(computed)) {
      return InvalidArgument(where + " output '" + arg.name() + "' is declared as TensorFlow dtype " +
                             std::to_string(arg.type()) + " but computes " + std::string(DTypeName(computed)));
    }
  }
  return graph;
}

}  // namespace kiln::savedmodel
