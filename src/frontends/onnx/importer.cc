#include "frontends/onnx/importer.h"

#include <algorithm>
#include <filesystem>
#include <set>

#include "frontends/onnx/convert_context.h"
#include "frontends/onnx/onnx_model.h"
#include "frontends/onnx/onnx_tensor.h"
#include "frontends/onnx/op_versions.h"

namespace kiln::onnx {
namespace {

using onnxproto::FunctionProto;
using onnxproto::NodeProto;
using Opsets = std::map<std::string, int64_t>;

std::string Domain(const std::string& d) { return d == "ai.onnx" ? "" : d; }
std::string QualifiedOp(const NodeProto& n) {
  const std::string d = Domain(n.domain());
  return d.empty() ? n.op_type() : d + "." + n.op_type();
}
// The graphs a node carries as attributes (If's branches, Loop's body, ...).
std::vector<const onnxproto::GraphProto*> GraphAttributes(const NodeProto& n) {
  std::vector<const onnxproto::GraphProto*> out;
  for (const auto& a : n.attribute()) {
    if (a.has_g()) out.push_back(&a.g());
    for (const auto& g : a.graphs()) out.push_back(&g);
  }
  return out;
}
std::string NodeLabel(const NodeProto& n) { return n.name().empty() ? (n.output_size() ? n.output(0) : "") : n.name(); }

// Values visible to the nodes of one graph, inlined function body or graph attribute. A graph
// attribute's nodes also see the values of the graphs around it: the first read of such a value
// adds a Placeholder to the body's graph and records the value as a capture (or, for a small
// constant, adds a copy of it).
struct Scope {
  static constexpr size_t kMaxCopiedConstantBytes = 1024;

  ir::Graph* graph = nullptr;
  std::map<std::string, ir::ValueRef> values;
  Scope* parent = nullptr;  // the scope around a graph attribute, else null
  // With a parent: where values of parent->graph that this graph reads are recorded; null for a
  // graph attribute converted into its parent's graph, which reads them directly.
  std::vector<ir::ValueRef>* captures = nullptr;

  // The value named `name` in this graph, or an invalid ref when no scope around has it.
  ir::ValueRef Find(const std::string& name) {
    if (auto it = values.find(name); it != values.end()) return it->second;
    if (parent == nullptr) return {};
    const ir::ValueRef outer = parent->Find(name);
    if (!outer.valid() || captures == nullptr) return outer;  // an inlined graph reads its parent's values
    // A small constant (an axis, a shape) is copied in, so that the body's converters can read it.
    const ir::Node& producer = parent->graph->node(outer.node);
    if (const ir::AttrValue* v = producer.op == "Const" ? producer.attrs.Find("value") : nullptr) {
      if (const Tensor* t = std::get_if<Tensor>(v); t != nullptr && t->byte_size() <= kMaxCopiedConstantBytes) {
        return values[name] = {graph->AddConst(graph->UniqueName(name), *t)->id, 0};
      }
    }
    const ir::OutputInfo info = parent->graph->output_info(outer);
    ir::AttrMap attrs;
    attrs.Set("dtype", info.dtype);
    attrs.Set("shape", info.shape);
    ir::Node* p = graph->AddNode(graph->UniqueName(name), "Placeholder", {}, std::move(attrs), 1);
    p->outputs[0] = info;
    graph->inputs().push_back({name, {p->id, 0}});
    captures->push_back(outer);
    return values[name] = {p->id, 0};
  }
};

class Importer {
 public:
  Importer(const onnxproto::ModelProto& model, std::string dir, Opsets opsets)
      : model_(model), dir_(std::move(dir)), opsets_(std::move(opsets)) {
    for (const auto& f : model.functions()) functions_[{Domain(f.domain()), f.name()}] = &f;
  }

  StatusOr<ImportedModel> Run() {
    const auto& g = model_.graph();
    for (const auto& info : g.value_info()) {
      if (info.type().has_tensor_type()) declared_types_[info.name()] = info.type().tensor_type().elem_type();
    }
    KILN_RETURN_IF_ERROR(CheckOps(g.node(), opsets_, 0));
    KILN_ASSIGN_OR_RETURN(out_.signature, DescribeGraph(g));
    Scope scope{.graph = &out_.graph};
    KILN_RETURN_IF_ERROR(AddInitializers(g, scope));
    for (const auto& spec : out_.signature.inputs) {
      ir::AttrMap attrs;
      attrs.Set("dtype", spec.dtype);
      attrs.Set("shape", spec.shape);
      ir::Node* p = out_.graph.AddNode(out_.graph.UniqueName(spec.name), "Placeholder", {}, std::move(attrs), 1);
      p->outputs[0] = {spec.dtype, spec.shape};
      out_.graph.inputs().push_back({spec.name, {p->id, 0}});
      scope.values[spec.name] = {p->id, 0};
    }
    KILN_RETURN_IF_ERROR(ConvertNodes(g.node(), scope, opsets_));
    for (const auto& spec : out_.signature.outputs) {
      const ir::ValueRef v = scope.Find(spec.name);
      if (!v.valid()) return InvalidArgument("graph output '" + spec.name + "' is produced by no node");
      const ir::OutputInfo& info = out_.graph.output_info(v);
      if (info.dtype != spec.dtype) {
        return InvalidArgument("graph output '" + spec.name + "' is declared " + std::string(DTypeName(spec.dtype)) +
                               " but computes " + std::string(DTypeName(info.dtype)));
      }
      out_.graph.outputs().push_back({spec.name, v});
    }
    return std::move(out_);
  }

 private:
  Status AddInitializers(const onnxproto::GraphProto& g, Scope& scope) {
    if (g.sparse_initializer_size() > 0) {
      return Unimplemented("sparse initializers are not supported (the first is '" +
                           g.sparse_initializer(0).values().name() + "')");
    }
    for (const auto& init : g.initializer()) {
      KILN_ASSIGN_OR_RETURN(Tensor t, TensorFromOnnx(init, dir_));
      scope.values[init.name()] = {scope.graph->AddConst(scope.graph->UniqueName(init.name()), std::move(t))->id, 0};
    }
    return OkStatus();
  }

  // Converts graph attribute `g`, which takes no inputs, into `parent`'s graph: its nodes see
  // `parent`'s values directly. Returns its outputs.
  StatusOr<std::vector<ir::ValueRef>> InlineGraphAttribute(const onnxproto::GraphProto& g, Scope& parent,
                                                           const Opsets& opsets, int depth) {
    if (depth >= kMaxFunctionDepth) {
      return InvalidArgument("graphs and functions nest deeper than " + std::to_string(kMaxFunctionDepth));
    }
    if (g.input_size() != 0) return InvalidArgument("the graph takes inputs; only a graph without inputs is inlined");
    Scope scope{.graph = parent.graph, .parent = &parent};
    KILN_RETURN_IF_ERROR(AddInitializers(g, scope));
    KILN_RETURN_IF_ERROR(ConvertNodes(g.node(), scope, opsets, depth + 1));
    std::vector<ir::ValueRef> outputs;
    for (const auto& out : g.output()) {
      const ir::ValueRef v = scope.Find(out.name());
      if (!v.valid()) return InvalidArgument("graph output '" + out.name() + "' is produced by no node");
      outputs.push_back(v);
    }
    return outputs;
  }

  // Converts graph attribute `g` as a graph of its own whose formal inputs take `inputs`; its
  // nodes see `parent`'s values (as captures).
  StatusOr<Body> ConvertGraphAttribute(const onnxproto::GraphProto& g, const std::vector<ir::OutputInfo>& inputs,
                                       Scope& parent, const Opsets& opsets, int depth) {
    if (depth >= kMaxFunctionDepth) {
      return InvalidArgument("graphs and functions nest deeper than " + std::to_string(kMaxFunctionDepth));
    }
    if (g.input_size() != static_cast<int>(inputs.size())) {
      return InvalidArgument("the graph takes " + std::to_string(g.input_size()) + " inputs; the node passes " +
                             std::to_string(inputs.size()));
    }
    Body body;
    Scope scope{.graph = &body.graph, .parent = &parent, .captures = &body.captures};
    for (int i = 0; i < g.input_size(); ++i) {
      const auto& in = g.input(i);
      if (in.type().has_tensor_type() && in.type().tensor_type().elem_type() != 0) {
        auto declared = DTypeFromOnnx(in.type().tensor_type().elem_type());
        if (declared.ok() && *declared != inputs[i].dtype) {
          return InvalidArgument("input '" + in.name() + "' is declared " + std::string(DTypeName(*declared)) +
                                 " but receives " + std::string(DTypeName(inputs[i].dtype)));
        }
      }
      ir::AttrMap attrs;
      attrs.Set("dtype", inputs[i].dtype);
      attrs.Set("shape", inputs[i].shape);
      ir::Node* p = body.graph.AddNode(body.graph.UniqueName(in.name()), "Placeholder", {}, std::move(attrs), 1);
      p->outputs[0] = inputs[i];
      body.graph.inputs().push_back({in.name(), {p->id, 0}});
      scope.values[in.name()] = {p->id, 0};
    }
    KILN_RETURN_IF_ERROR(AddInitializers(g, scope));
    KILN_RETURN_IF_ERROR(ConvertNodes(g.node(), scope, opsets, depth + 1));
    for (const auto& out : g.output()) {
      const ir::ValueRef v = scope.Find(out.name());
      if (!v.valid()) return InvalidArgument("graph output '" + out.name() + "' is produced by no node");
      body.graph.outputs().push_back({out.name(), v});
    }
    return body;
  }
  const FunctionProto* FindFunction(const NodeProto& n) const {
    auto it = functions_.find({Domain(n.domain()), n.op_type()});
    return it == functions_.end() ? nullptr : it->second;
  }

  static Opsets FunctionOpsets(const FunctionProto& f, const Opsets& outer) {
    Opsets opsets = outer;
    for (const auto& op : f.opset_import()) opsets[Domain(op.domain())] = op.version();
    return opsets;
  }

  // Collects every (op, node) kiln has no converter for, through function bodies, and fails
  // once with all of them.
  Status CheckOps(const google::protobuf::RepeatedPtrField<NodeProto>& nodes, const Opsets& opsets, int depth) {
    std::map<const FunctionProto*, int64_t> sizes;
    const int64_t inlined = InlinedNodes(nodes, depth, sizes);
    if (inlined > kMaxNodes) {
      return InvalidArgument("the model has more than " + std::to_string(kMaxNodes) +
                             " nodes with its functions inlined");
    }
    // A loop body is converted again when its carried shapes change (ConvertLoopBody), and the
    // loops inside it with it: nested loops multiply the work, which is bounded here.
    conversion_budget_ = kBodyReconversions * inlined + 4096;
    std::map<std::string, std::vector<std::string>> unsupported;
    std::set<const FunctionProto*> checked;
    CollectUnsupported(nodes, opsets, depth, unsupported, checked);
    if (!unsupported.empty()) return Unimplemented("the model uses ops kiln does not support: " + List(unsupported));
    std::map<std::string, std::vector<std::string>> redefined;
    checked.clear();
    CollectRedefined(nodes, opsets, depth, redefined, checked);
    if (redefined.empty()) return OkStatus();
    return Unimplemented("opset " + std::to_string(opsets.at("")) + " is older than " + std::to_string(kMinOpset) +
                         ", and these ops are defined differently there than at opset " + std::to_string(kMinOpset) +
                         ", the oldest definition kiln implements: " + List(redefined));
  }

  // How many nodes `nodes` make once their functions are inlined, counted before anything is
  // converted; past kMaxNodes the count stops growing. A function that calls itself counts once
  // (ConvertNodes reports the recursion).
  int64_t InlinedNodes(const google::protobuf::RepeatedPtrField<NodeProto>& nodes, int depth,
                       std::map<const FunctionProto*, int64_t>& sizes) {
    int64_t total = 0;
    for (const auto& n : nodes) {
      int64_t size = 1;
      if (const FunctionProto* f = FindFunction(n); f != nullptr && depth < kMaxFunctionDepth) {
        if (auto [it, first] = sizes.emplace(f, 1); first) {
          it->second = InlinedNodes(f->node(), depth + 1, sizes);
        }
        size = sizes.at(f);
      }
      for (const onnxproto::GraphProto* g : GraphAttributes(n)) {
        if (depth < kMaxFunctionDepth) size = std::min(size + InlinedNodes(g->node(), depth + 1, sizes), kMaxNodes + 1);
      }
      total = std::min(total + size, kMaxNodes + 1);
    }
    return total;
  }

  // "Op (node 'a'); Other (nodes 'b', 'c')"
  static std::string List(const std::map<std::string, std::vector<std::string>>& ops) {
    std::string list;
    for (const auto& [op, where] : ops) {
      list += (list.empty() ? "" : "; ") + op + " (node" + (where.size() > 1 ? "s" : "");
      for (size_t i = 0; i < where.size() && i < 5; ++i) list += (i ? ", '" : " '") + where[i] + "'";
      if (where.size() > 5) list += " and " + std::to_string(where.size() - 5) + " more";
      list += ")";
    }
    return list;
  }

  // Below opset 13, every default-domain op must be defined as at 13.
  void CollectRedefined(const google::protobuf::RepeatedPtrField<NodeProto>& nodes, const Opsets& opsets, int depth,
                        std::map<std::string, std::vector<std::string>>& redefined,
                        std::set<const FunctionProto*>& checked) {
    const int64_t opset = opsets.at("");
    for (const auto& n : nodes) {
      if (const FunctionProto* f = FindFunction(n)) {
        if (depth < kMaxFunctionDepth && checked.insert(f).second) {
          CollectRedefined(f->node(), FunctionOpsets(*f, opsets), depth + 1, redefined, checked);
        }
        continue;
      }
      for (const onnxproto::GraphProto* g : GraphAttributes(n)) {
        if (depth < kMaxFunctionDepth) CollectRedefined(g->node(), opsets, depth + 1, redefined, checked);
      }
      if (opset >= kMinOpset || !Domain(n.domain()).empty()) continue;
      const int64_t since = DefinedAsAtOpset13Since(n.op_type());
      if (since == 0 || since > opset) redefined[n.op_type()].push_back(NodeLabel(n));
    }
  }

  // Each function body is checked once (a function called many times, or calling itself, would
  // otherwise be walked once per path); recursion is reported by ConvertNodes.
  void CollectUnsupported(const google::protobuf::RepeatedPtrField<NodeProto>& nodes, const Opsets& opsets, int depth,
                          std::map<std::string, std::vector<std::string>>& unsupported,
                          std::set<const FunctionProto*>& checked) {
    for (const auto& n : nodes) {
      if (const FunctionProto* f = FindFunction(n)) {
        if (depth < kMaxFunctionDepth && checked.insert(f).second) {
          CollectUnsupported(f->node(), FunctionOpsets(*f, opsets), depth + 1, unsupported, checked);
        }
        continue;
      }
      for (const onnxproto::GraphProto* g : GraphAttributes(n)) {
        if (depth < kMaxFunctionDepth) CollectUnsupported(g->node(), opsets, depth + 1, unsupported, checked);
      }
      const bool default_domain = Domain(n.domain()).empty();
      if (default_domain && ConverterRegistry::Global().Find(n.op_type()) != nullptr) continue;
      unsupported[QualifiedOp(n)].push_back(NodeLabel(n));
    }
  }

  Status ConvertNodes(const google::protobuf::RepeatedPtrField<NodeProto>& nodes, Scope& scope, const Opsets& opsets,
                      int depth = 0) {
    const BodyConverter convert_body = {
        [&](const onnxproto::GraphProto& g, const std::vector<ir::OutputInfo>& in) {
          return ConvertGraphAttribute(g, in, scope, opsets, depth);
        },
        [&](const onnxproto::GraphProto& g) { return InlineGraphAttribute(g, scope, opsets, depth); }};
    for (const auto& n : nodes) {
      if (++converted_ > conversion_budget_) {
        return InvalidArgument("converting the model's loop bodies took more than " +
                               std::to_string(conversion_budget_) + " node conversions (loops nested too deeply)")
            .AtNode(NodeLabel(n), QualifiedOp(n));
      }
      std::vector<ir::ValueRef> inputs;
      for (const auto& name : n.input()) {
        if (name.empty()) {
          inputs.push_back({});
          continue;
        }
        const ir::ValueRef v = scope.Find(name);
        if (!v.valid()) {
          return InvalidArgument("input '" + name + "' is produced by no earlier node, initializer or graph input")
              .AtNode(NodeLabel(n), QualifiedOp(n));
        }
        inputs.push_back(v);
      }
      if (const FunctionProto* f = FindFunction(n)) {
        KILN_RETURN_IF_ERROR(InlineFunction(n, *f, inputs, scope, opsets, depth));
        continue;
      }
      ConvertContext ctx(*scope.graph, n, std::move(inputs), opsets.at(""));
      ctx.set_body_converter(&convert_body);
      const OpConverter* convert = ConverterRegistry::Global().Find(n.op_type());
      Status s = convert ? (*convert)(ctx) : Unimplemented("no converter for " + QualifiedOp(n));
      if (ctx.missing_input() >= 0) {
        return InvalidArgument("input " + std::to_string(ctx.missing_input()) + " is required but the node gives " +
                               std::to_string(n.input_size()) + " input(s)")
            .AtNode(NodeLabel(n), QualifiedOp(n));
      }
      if (!s.ok()) return s.AtNode(NodeLabel(n), QualifiedOp(n));
      for (int i = 0; i < n.output_size(); ++i) {
        if (n.output(i).empty()) continue;
        if (!ctx.outputs()[i].valid()) {
          return Unimplemented("output " + std::to_string(i) + " ('" + n.output(i) + "') is not supported")
              .AtNode(NodeLabel(n), QualifiedOp(n));
        }
        if (scope.graph == &out_.graph && depth == 0) {
          KILN_RETURN_IF_ERROR(CheckDeclaredType(n, n.output(i), ctx.outputs()[i]));
        }
        scope.values[n.output(i)] = ctx.outputs()[i];
      }
    }
    return OkStatus();
  }

  // A value the graph's value_info types must have that dtype; a mismatch means the file and
  // kiln disagree about the op, which would give wrong answers downstream.
  Status CheckDeclaredType(const NodeProto& n, const std::string& name, ir::ValueRef v) const {
    auto it = declared_types_.find(name);
    if (it == declared_types_.end()) return OkStatus();
    auto declared = DTypeFromOnnx(it->second);
    const DType computed = out_.graph.output_info(v).dtype;
    if (!declared.ok() || computed == DType::kInvalid || *declared == computed) return OkStatus();
    return InvalidArgument("value '" + name + "' is declared " + std::string(DTypeName(*declared)) +
                           " in value_info but the node computes " + std::string(DTypeName(computed)))
        .AtNode(NodeLabel(n), QualifiedOp(n));
  }

  // Converts the body of a model-local function in its own scope: formal inputs bound to the
  // call's values, attribute references resolved against the call's attributes.
  Status InlineFunction(const NodeProto& call, const FunctionProto& f, const std::vector<ir::ValueRef>& inputs,
                        Scope& scope, const Opsets& opsets, int depth) {
    if (depth >= kMaxFunctionDepth) {
      return InvalidArgument("functions nest deeper than " + std::to_string(kMaxFunctionDepth) + " (recursion?)")
          .AtNode(NodeLabel(call), QualifiedOp(call));
    }
    Scope inner{.graph = scope.graph};
    for (int i = 0; i < f.input_size() && i < static_cast<int>(inputs.size()); ++i) {
      if (inputs[i].valid()) inner.values[f.input(i)] = inputs[i];
    }
    google::protobuf::RepeatedPtrField<NodeProto> body;
    for (const auto& n : f.node()) {
      NodeProto copy = n;
      copy.clear_attribute();
      for (const auto& a : n.attribute()) {
        if (a.ref_attr_name().empty()) {
          *copy.add_attribute() = a;
          continue;
        }
        const onnxproto::AttributeProto* bound = nullptr;
        for (const auto& c : call.attribute()) {
          if (c.name() == a.ref_attr_name()) bound = &c;
        }
        for (const auto& d : f.attribute_proto()) {
          if (bound == nullptr && d.name() == a.ref_attr_name()) bound = &d;
        }
        if (bound == nullptr) continue;  // the attribute takes its default
        auto* added = copy.add_attribute();
        *added = *bound;
        added->set_name(a.name());
      }
      if (copy.name().empty()) copy.set_name(NodeLabel(call) + "/" + n.op_type());
      *body.Add() = std::move(copy);
    }
    KILN_RETURN_IF_ERROR(ConvertNodes(body, inner, FunctionOpsets(f, opsets), depth + 1));
    for (int i = 0; i < f.output_size() && i < call.output_size(); ++i) {
      if (call.output(i).empty()) continue;
      const ir::ValueRef v = inner.Find(f.output(i));
      if (!v.valid()) {
        return InvalidArgument("function " + f.name() + " does not produce its output '" + f.output(i) + "'")
            .AtNode(NodeLabel(call), QualifiedOp(call));
      }
      scope.values[call.output(i)] = v;
    }
    return OkStatus();
  }

  static constexpr int kMaxFunctionDepth = 32;
  // Functions that each call the next several times multiply: their inlined nodes are bounded.
  static constexpr int64_t kMaxNodes = int64_t{1} << 22;
  // How many times, on average, a node may be converted (loop bodies are converted again when
  // their carried shapes change).
  static constexpr int64_t kBodyReconversions = 16;

  const onnxproto::ModelProto& model_;
  std::string dir_;
  Opsets opsets_;
  std::map<std::pair<std::string, std::string>, const FunctionProto*> functions_;
  std::map<std::string, int> declared_types_;  // value_info: value name -> ONNX element type
  int64_t conversion_budget_ = 0;
  int64_t converted_ = 0;
  ImportedModel out_;
};

}  // namespace

bool IsOnnxPath(const std::string& path) {
  const std::filesystem::path p(path);
  return p.extension() == ".onnx" || (std::filesystem::is_regular_file(p));
}

StatusOr<ImportedModel> ImportOnnxModel(const std::string& path) {
  KILN_ASSIGN_OR_RETURN(onnxproto::ModelProto model, ReadModelProto(path));
  auto opsets = ModelOpsets(model);
  if (!opsets.ok()) {
    Status s = opsets.status();
    return s.InFile(path);
  }
  const std::string dir = std::filesystem::path(path).parent_path().string();
  auto imported = Importer(model, dir.empty() ? "." : dir, std::move(*opsets)).Run();
  if (!imported.ok()) {
    Status s = imported.status();
    return s.InFile(path);
  }
  return imported;
}

}  // namespace kiln::onnx
