// IR -> TensorFlow protos: attributes, node names, GraphDef, FunctionDef and the SavedModel file.
#include "frontends/savedmodel/graph_def_io.h"

#include <algorithm>
#include <climits>
#include <filesystem>
#include <functional>
#include <map>
#include <set>

#include "frontends/savedmodel/tensor_proto.h"
#include "io/npy.h"
#include "ir/op_registry.h"
#include "proto/saved_model.pb.h"

namespace kiln::savedmodel {
namespace {

namespace fs = std::filesystem;

constexpr char kDefaultMethodName[] = "tensorflow/serving/predict";

bool IsNameStart(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.';
}
bool IsNameChar(char c) { return IsNameStart(c) || c == '_' || c == '-' || c == '/' || c == '>'; }

// Illegal characters become '_' and characters that cannot start a name are dropped from the front.
std::string SanitizedName(const std::string& name) {
  std::string s;
  for (char c : name) s += IsNameChar(c) ? c : '_';
  s.erase(s.begin(), std::find_if(s.begin(), s.end(), IsNameStart));
  return s.empty() ? "node" : s;
}

StatusOr<tfproto::DataType> DTypeProto(DType dtype) {
  if (dtype == DType::kInvalid) return InvalidArgument("invalid dtype");
  return static_cast<tfproto::DataType>(DTypeToProto(dtype));
}

// Checks that `v` names an existing output of an existing node.
Status CheckValue(const ir::Graph& graph, ir::ValueRef v, const std::string& what) {
  if (v.node < 0 || v.node >= graph.num_nodes()) return Internal(what + " refers to no node");
  const ir::Node& producer = graph.node(v.node);
  if (v.index < 0 || v.index >= static_cast<int>(producer.outputs.size())) {
    return Internal(what + " refers to output " + std::to_string(v.index) + " of '" + producer.name + "', which has " +
                    std::to_string(producer.outputs.size()));
  }
  return OkStatus();
}

// The node's attributes, with the ones a TensorFlow Placeholder or Const must carry filled in
// from its outputs when the IR left them implicit.
ir::AttrMap AttrsToWrite(const ir::Node& node) {
  ir::AttrMap attrs = node.attrs;
  if (node.op == "Placeholder" && !node.outputs.empty()) {
    if (!attrs.Has("dtype")) attrs.Set("dtype", node.outputs[0].dtype);
    if (!attrs.Has("shape")) attrs.Set("shape", node.outputs[0].shape);
  }
  if (node.op == "Const" && !attrs.Has("dtype")) {
    if (const auto* v = attrs.Find("value"); v != nullptr && std::holds_alternative<Tensor>(*v)) {
      attrs.Set("dtype", std::get<Tensor>(*v).dtype());
    }
  }
  return attrs;
}

// DType::kInvalid marks an optional dtype attribute as unset ("output_dtype" of QuantizeLinear);
// TensorFlow has no such dtype, so the attribute is left out and readers restore the default.
bool IsUnsetDTypeDefault(const std::string& op, const std::string& name, const ir::AttrValue& value) {
  const DType* dtype = std::get_if<DType>(&value);
  if (dtype == nullptr || *dtype != DType::kInvalid) return false;
  const ir::OpDef* def = ir::OpRegistry::Global().Find(op);
  if (def == nullptr) return false;
  for (const auto& a : def->attrs) {
    if (a.name != name) continue;
    const DType* fallback = a.default_value ? std::get_if<DType>(&*a.default_value) : nullptr;
    return fallback != nullptr && *fallback == DType::kInvalid;
  }
  return false;
}

// Fills `def` from `node`; `input_name` spells each input.
Status WriteNodeDef(const ir::Graph& graph, const ir::Node& node,
                    const std::function<std::string(ir::ValueRef)>& input_name, tfproto::NodeDef* def) {
  if (!IsLegalNodeName(node.name)) {
    return InvalidArgument("'" + node.name + "' is not a legal TensorFlow node name (run LegalizeNodeNames first)")
        .AtNode(node.name, node.op);
  }
  def->set_name(node.name);
  def->set_op(node.op);
  for (size_t i = 0; i < node.inputs.size(); ++i) {
    Status s = CheckValue(graph, node.inputs[i], "input " + std::to_string(i));
    if (!s.ok()) return s.AtNode(node.name, node.op);
    def->add_input(input_name(node.inputs[i]));
  }
  const ir::AttrMap attrs = AttrsToWrite(node);  // the loop below must not outlive it
  for (const auto& [name, value] : attrs.all()) {
    if (IsUnsetDTypeDefault(node.op, name, value)) continue;
    auto proto = AttrToProto(value);
    if (!proto.ok()) {
      Status s = proto.status();
      return s.Prepend("attribute '" + name + "'").AtNode(node.name, node.op);
    }
    (*def->mutable_attr())[name] = std::move(proto).value();
  }
  return OkStatus();
}

// The value of Const `node` when `variables` takes it (numeric, on the host, of at least
// min_bytes); nullptr when the Const stays inline.
const Tensor* VariableValue(const ir::Node& node, const VariableStore* variables) {
  if (variables == nullptr || node.op != "Const") return nullptr;
  const ir::AttrValue* v = node.attrs.Find("value");
  const Tensor* t = v != nullptr ? std::get_if<Tensor>(v) : nullptr;
  if (t == nullptr || t->dtype() == DType::kString || !t->on_host() || t->byte_size() < variables->min_bytes) {
    return nullptr;
  }
  return t;
}

// Names for the variable handles of a graph's Consts: "<name>/variable", made unique among the
// graph's node names and each other. The names are gathered at the first handle, so a graph
// written without variables pays nothing.
class HandleNames {
 public:
  explicit HandleNames(const ir::Graph& graph) : graph_(graph) {}
  std::string For(const std::string& name) {
    if (taken_.empty()) {
      for (int i = 0; i < graph_.num_nodes(); ++i) taken_.insert(graph_.node(i).name);
    }
    std::string handle = name + "/variable";
    for (int i = 1; taken_.count(handle); ++i) handle = name + "/variable_" + std::to_string(i);
    taken_.insert(handle);
    return handle;
  }

 private:
  const ir::Graph& graph_;
  std::set<std::string> taken_;
};

// Writes Const `node` as a variable (VariableStore): `handle` a VarHandleOp named `handle_name`
// whose shared_name is the key the store gives, `read` a ReadVariableOp of it (spelt
// `handle_input`) named as the Const.
Status WriteVariable(const ir::Node& node, const Tensor& value, const VariableStore& variables,
                     const std::string& handle_name, const std::string& handle_input, tfproto::NodeDef* handle,
                     tfproto::NodeDef* read) {
  if (!IsLegalNodeName(node.name)) {
    return InvalidArgument("'" + node.name + "' is not a legal TensorFlow node name (run LegalizeNodeNames first)")
        .AtNode(node.name, node.op);
  }
  auto key = variables.store(node.name, value);
  if (!key.ok()) {
    Status s = key.status();
    return s.Prepend("storing the value as a variable").AtNode(node.name, node.op);
  }
  KILN_ASSIGN_OR_RETURN(tfproto::DataType dtype, DTypeProto(value.dtype()));
  handle->set_name(handle_name);
  handle->set_op("VarHandleOp");
  auto& attrs = *handle->mutable_attr();
  attrs["dtype"].set_type(dtype);
  ShapeToProto(value.shape(), attrs["shape"].mutable_shape());
  attrs["shared_name"].set_s(*key);
  attrs["container"].set_s("");
  read->set_name(node.name);
  read->set_op("ReadVariableOp");
  read->add_input(handle_input);
  (*read->mutable_attr())["dtype"].set_type(dtype);
  return OkStatus();
}

std::string FlatTensorName(const ir::Graph& graph, ir::ValueRef v) {
  return graph.node(v.node).name + ":" + std::to_string(v.index);
}

std::string GraphTensorName(const ir::Graph& graph, ir::ValueRef v) {
  return v.index == 0 ? graph.node(v.node).name : FlatTensorName(graph, v);
}

// A TensorInfo for the graph value `v`.
StatusOr<tfproto::TensorInfo> MakeTensorInfo(const ir::Graph& graph, ir::ValueRef v, const std::string& key) {
  KILN_RETURN_IF_ERROR(CheckValue(graph, v, "signature tensor '" + key + "'"));
  const ir::OutputInfo& info = graph.output_info(v);
  auto dtype = DTypeProto(info.dtype);
  if (!dtype.ok()) return InvalidArgument("signature tensor '" + key + "' has no known dtype");
  tfproto::TensorInfo out;
  out.set_name(FlatTensorName(graph, v));
  out.set_dtype(*dtype);
  ShapeToProto(info.shape, out.mutable_tensor_shape());
  return out;
}

// The graph's endpoint names must be unique and, when the signature lists tensors, be its keys.
Status CheckEndpoints(const std::vector<ir::GraphEndpoint>& endpoints, const std::vector<TensorSpec>& specs,
                      const std::string& kind) {
  std::set<std::string> names;
  for (const auto& e : endpoints) {
    if (e.name.empty()) return InvalidArgument("a graph " + kind + " has no name");
    if (!names.insert(e.name).second) return InvalidArgument("graph " + kind + " '" + e.name + "' appears twice");
  }
  if (specs.empty()) return OkStatus();
  std::set<std::string> keys;
  for (const auto& s : specs) keys.insert(s.name);
  if (keys != names) {
    std::string have, want;
    for (const auto& n : names) have += (have.empty() ? "'" : ", '") + n + "'";
    for (const auto& k : keys) want += (want.empty() ? "'" : ", '") + k + "'";
    return InvalidArgument("the graph's " + kind + "s " + have + " are not the signature's " + want);
  }
  return OkStatus();
}

}  // namespace

StatusOr<tfproto::AttrValue> AttrToProto(const ir::AttrValue& value) {
  tfproto::AttrValue out;
  Status status;
  std::visit(
      [&](const auto& v) {
        using V = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<V, std::monostate>) {
        } else if constexpr (std::is_same_v<V, int64_t>) {
          out.set_i(v);
        } else if constexpr (std::is_same_v<V, float>) {
          out.set_f(v);
        } else if constexpr (std::is_same_v<V, bool>) {
          out.set_b(v);
        } else if constexpr (std::is_same_v<V, std::string>) {
          out.set_s(v);
        } else if constexpr (std::is_same_v<V, DType>) {
          auto d = DTypeProto(v);
          if (d.ok()) out.set_type(*d);
          status = d.status();
        } else if constexpr (std::is_same_v<V, PartialShape>) {
          ShapeToProto(v, out.mutable_shape());
        } else if constexpr (std::is_same_v<V, Tensor>) {
          if (!v.valid()) {
            status = InvalidArgument("tensor attribute holds no tensor");
          } else {
            TensorToProto(v, out.mutable_tensor());
          }
        } else if constexpr (std::is_same_v<V, ir::FuncRef>) {
          out.mutable_func()->set_name(v.name);
        } else {
          auto* list = out.mutable_list();  // set even when empty: an empty list, not "no value"
          for (const auto& x : v) {
            using X = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<X, int64_t>) {
              list->add_i(x);
            } else if constexpr (std::is_same_v<X, float>) {
              list->add_f(x);
            } else if constexpr (std::is_same_v<X, bool>) {
              list->add_b(x);
            } else if constexpr (std::is_same_v<X, std::string>) {
              list->add_s(x);
            } else if constexpr (std::is_same_v<X, DType>) {
              auto d = DTypeProto(x);
              if (!d.ok()) {
                status = d.status();
                return;
              }
              list->add_type(*d);
            } else if constexpr (std::is_same_v<X, ir::FuncRef>) {
              list->add_func()->set_name(x.name);
            } else {
              ShapeToProto(static_cast<const PartialShape&>(x), list->add_shape());
            }
          }
        }
      },
      value);
  if (!status.ok()) return status;
  return out;
}

bool IsLegalNodeName(const std::string& name) {
  return !name.empty() && IsNameStart(name[0]) && std::all_of(name.begin() + 1, name.end(), IsNameChar);
}

Status LegalizeNodeNames(ir::Graph& graph) {
  std::set<std::string> used;
  for (int id = 0; id < graph.num_nodes(); ++id) {
    if (IsLegalNodeName(graph.node(id).name)) used.insert(graph.node(id).name);
  }
  for (int id = 0; id < graph.num_nodes(); ++id) {
    const std::string& old_name = graph.node(id).name;
    if (IsLegalNodeName(old_name)) continue;
    const std::string base = SanitizedName(old_name);
    std::string name = base;
    for (int i = 1; used.count(name); ++i) name = base + "_" + std::to_string(i);
    used.insert(name);
    KILN_RETURN_IF_ERROR(graph.RenameNode(id, name));
  }
  return OkStatus();
}

StatusOr<tfproto::GraphDef> GraphToGraphDef(const ir::Graph& graph, const VariableStore* variables) {
  KILN_ASSIGN_OR_RETURN(std::vector<int> order, graph.TopologicalOrder());
  tfproto::GraphDef def;
  auto input_name = [&](ir::ValueRef v) { return GraphTensorName(graph, v); };
  HandleNames handles(graph);
  for (int id : order) {
    const ir::Node& node = graph.node(id);
    if (const Tensor* value = VariableValue(node, variables); value != nullptr) {
      const std::string handle = handles.For(node.name);
      KILN_RETURN_IF_ERROR(WriteVariable(node, *value, *variables, handle, handle, def.add_node(), def.add_node()));
      continue;
    }
    KILN_RETURN_IF_ERROR(WriteNodeDef(graph, node, input_name, def.add_node()));
  }
  return def;
}

namespace {

Status AddFunctions(const ir::Graph& graph, const std::string& prefix, std::vector<tfproto::FunctionDef>& library) {
  for (const auto& [name, function] : graph.functions()) {
    const ir::Graph& body = *function;
    const std::string written = prefix + name;
    KILN_ASSIGN_OR_RETURN(tfproto::FunctionDef fn, GraphToFunctionDef(body, written));
    auto rename = [&](tfproto::NameAttrList* f) {
      if (body.function(f->name()) != nullptr) f->set_name(written + "__" + f->name());
    };
    for (auto& node : *fn.mutable_node_def()) {
      for (auto& [attr, value] : *node.mutable_attr()) {
        if (value.has_func()) rename(value.mutable_func());
        if (!value.has_list()) continue;
        for (auto& f : *value.mutable_list()->mutable_func()) rename(&f);
      }
    }
    library.push_back(std::move(fn));
    KILN_RETURN_IF_ERROR(AddFunctions(body, written + "__", library));
  }
  return OkStatus();
}

}  // namespace

StatusOr<std::vector<tfproto::FunctionDef>> FunctionLibraryToProto(const ir::Graph& graph) {
  std::vector<tfproto::FunctionDef> library;
  KILN_RETURN_IF_ERROR(AddFunctions(graph, "", library));
  return library;
}

StatusOr<tfproto::FunctionDef> GraphToFunctionDef(const ir::Graph& graph, const std::string& function_name,
                                                  const VariableStore* variables) {
  if (function_name.empty()) return InvalidArgument("a function needs a name");
  tfproto::FunctionDef fn;
  tfproto::OpDef* sig = fn.mutable_signature();
  sig->set_name(function_name);

  std::map<int, std::string> arg_of_node;  // Placeholder node id -> input arg name
  std::set<std::string> arg_names;
  for (size_t i = 0; i < graph.inputs().size(); ++i) {
    const ir::GraphEndpoint& in = graph.inputs()[i];
    KILN_RETURN_IF_ERROR(CheckValue(graph, in.value, "graph input '" + in.name + "'"));
    const ir::Node& p = graph.node(in.value.node);
    if (p.op != "Placeholder") {
      return InvalidArgument("graph input '" + in.name + "' is not a Placeholder").AtNode(p.name, p.op);
    }
    if (in.name.empty() || in.name.find(':') != std::string::npos || in.name[0] == '^') {
      return InvalidArgument("graph input name '" + in.name + "' cannot name a function argument");
    }
    if (!arg_names.insert(in.name).second) return InvalidArgument("graph input '" + in.name + "' appears twice");
    if (!arg_of_node.emplace(p.id, in.name).second) {
      return InvalidArgument("two graph inputs read Placeholder '" + p.name + "'");
    }
    const ir::OutputInfo& info = p.outputs[0];
    auto dtype = DTypeProto(info.dtype);
    if (!dtype.ok()) return InvalidArgument("graph input '" + in.name + "' has no known dtype");
    auto* arg = sig->add_input_arg();
    arg->set_name(in.name);
    arg->set_type(*dtype);
    tfproto::AttrValue shapes;
    ShapeToProto(info.shape, shapes.mutable_list()->add_shape());
    (*(*fn.mutable_arg_attr())[static_cast<uint32_t>(i)].mutable_attr())["_output_shapes"] = std::move(shapes);
  }

  // Body inputs always carry ":i" so that a node named like an argument is never read as it.
  auto input_name = [&](ir::ValueRef v) {
    auto arg = arg_of_node.find(v.node);
    return arg != arg_of_node.end() ? arg->second : FlatTensorName(graph, v);
  };
  KILN_ASSIGN_OR_RETURN(std::vector<int> order, graph.TopologicalOrder());
  HandleNames handles(graph);
  for (int id : order) {
    const ir::Node& n = graph.node(id);
    if (arg_of_node.count(id)) continue;
    if (n.op == "Placeholder") return InvalidArgument("Placeholder is not a graph input").AtNode(n.name, n.op);
    if (const Tensor* value = VariableValue(n, variables); value != nullptr) {
      const std::string handle = handles.For(n.name);
      KILN_RETURN_IF_ERROR(
          WriteVariable(n, *value, *variables, handle, handle + ":0", fn.add_node_def(), fn.add_node_def()));
      continue;
    }
    KILN_RETURN_IF_ERROR(WriteNodeDef(graph, n, input_name, fn.add_node_def()));
  }

  std::set<std::string> out_names;
  for (const auto& out : graph.outputs()) {
    KILN_RETURN_IF_ERROR(CheckValue(graph, out.value, "graph output '" + out.name + "'"));
    if (out.name.empty()) return InvalidArgument("a graph output has no name");
    if (!out_names.insert(out.name).second) return InvalidArgument("graph output '" + out.name + "' appears twice");
    auto dtype = DTypeProto(graph.output_info(out.value).dtype);
    if (!dtype.ok()) return InvalidArgument("graph output '" + out.name + "' has no known dtype");
    auto* arg = sig->add_output_arg();
    arg->set_name(out.name);
    arg->set_type(*dtype);
    (*fn.mutable_ret())[out.name] = input_name(out.value);
  }
  return fn;
}

Status WriteSavedModel(const std::string& dir, const ir::Graph& graph, const SignatureInfo& signature,
                       const std::vector<std::string>& tags, const std::string& signature_key,
                       const std::vector<tfproto::FunctionDef>& library, const VariableStore* variables) {
  if (signature_key.empty()) return InvalidArgument("the signature key is empty");
  KILN_RETURN_IF_ERROR(CheckEndpoints(graph.inputs(), signature.inputs, "input"));
  KILN_RETURN_IF_ERROR(CheckEndpoints(graph.outputs(), signature.outputs, "output"));

  tfproto::SavedModel model;
  model.set_saved_model_schema_version(1);
  tfproto::MetaGraphDef* meta = model.add_meta_graphs();
  for (const auto& tag : tags) meta->mutable_meta_info_def()->add_tags(tag);
  KILN_ASSIGN_OR_RETURN(*meta->mutable_graph_def(), GraphToGraphDef(graph, variables));
  for (const auto& fn : library) *meta->mutable_graph_def()->mutable_library()->add_function() = fn;

  tfproto::SignatureDef& sig = (*meta->mutable_signature_def())[signature_key];
  sig.set_method_name(signature.method_name.empty() ? kDefaultMethodName : signature.method_name);
  for (const auto& in : graph.inputs()) {
    KILN_RETURN_IF_ERROR(CheckValue(graph, in.value, "graph input '" + in.name + "'"));
    const ir::Node& p = graph.node(in.value.node);
    if (p.op != "Placeholder") {
      return InvalidArgument("graph input '" + in.name + "' is not a Placeholder").AtNode(p.name, p.op);
    }
    KILN_ASSIGN_OR_RETURN((*sig.mutable_inputs())[in.name], MakeTensorInfo(graph, in.value, in.name));
  }
  for (const auto& out : graph.outputs()) {
    KILN_ASSIGN_OR_RETURN((*sig.mutable_outputs())[out.name], MakeTensorInfo(graph, out.value, out.name));
  }

  const size_t size = model.ByteSizeLong();
  if (size > static_cast<size_t>(INT_MAX)) {
    return InvalidArgument("the SavedModel would take " + std::to_string(size) +
                           " bytes, past protobuf's 2 GB limit for saved_model.pb");
  }
  std::string bytes;
  if (!model.SerializeToString(&bytes)) return Internal("cannot serialize the SavedModel");
  const fs::path variables_dir = fs::path(dir) / "variables";
  std::error_code ec;
  fs::create_directories(variables_dir, ec);
  if (ec) return FailedPrecondition("cannot create directory '" + variables_dir.string() + "': " + ec.message());
  const std::string path = (fs::path(dir) / "saved_model.pb").string();
  Status written = io::WriteFile(path, bytes);
  if (!written.ok()) return written.InFile(path);
  return OkStatus();
}

}  // namespace kiln::savedmodel
