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
std::string NodeLabel(const NodeProto& n) { return n.name().empty() ? (n.output_size() ? n.output(0) : "") : n.name(); }

// Values visible to the nodes of one graph or inlined function body.
using Scope = std::map<std::string, ir::ValueRef>;

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
    if (g.sparse_initializer_size() > 0) {
      return Unimplemented("sparse initializers are not supported (the first is '" +
                           g.sparse_initializer(0).values().name() + "')");
    }
    KILN_ASSIGN_OR_RETURN(out_.signature, DescribeGraph(g));
    Scope scope;
    for (const auto& init : g.initializer()) {
      KILN_ASSIGN_OR_RETURN(Tensor t, TensorFromOnnx(init, dir_));
      scope[init.name()] = {out_.graph.AddConst(out_.graph.UniqueName(init.name()), std::move(t))->id, 0};
    }
    for (const auto& spec : out_.signature.inputs) {
      ir::AttrMap attrs;
      attrs.Set("dtype", spec.dtype);
      attrs.Set("shape", spec.shape);
      ir::Node* p = out_.graph.AddNode(out_.graph.UniqueName(spec.name), "Placeholder", {}, std::move(attrs), 1);
      p->outputs[0] = {spec.dtype, spec.shape};
      out_.graph.inputs().push_back({spec.name, {p->id, 0}});
      scope[spec.name] = {p->id, 0};
    }
    KILN_RETURN_IF_ERROR(ConvertNodes(g.node(), scope, opsets_));
    for (const auto& spec : out_.signature.outputs) {
      auto it = scope.find(spec.name);
      if (it == scope.end()) return InvalidArgument("graph output '" + spec.name + "' is produced by no node");
      const ir::OutputInfo& info = out_.graph.output_info(it->second);
      if (info.dtype != spec.dtype) {
        return InvalidArgument("graph output '" + spec.name + "' is declared " + std::string(DTypeName(spec.dtype)) +
                               " but computes " + std::string(DTypeName(info.dtype)));
      }
      out_.graph.outputs().push_back({spec.name, it->second});
    }
    return std::move(out_);
  }

 private:
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
    if (InlinedNodes(nodes, depth, sizes) > kMaxNodes) {
      return InvalidArgument("the model has more than " + std::to_string(kMaxNodes) +
                             " nodes with its functions inlined");
    }
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
      const bool default_domain = Domain(n.domain()).empty();
      if (default_domain && ConverterRegistry::Global().Find(n.op_type()) != nullptr) continue;
      unsupported[QualifiedOp(n)].push_back(NodeLabel(n));
    }
  }

  Status ConvertNodes(const google::protobuf::RepeatedPtrField<NodeProto>& nodes, Scope& scope, const Opsets& opsets,
                      int depth = 0) {
    for (const auto& n : nodes) {
      std::vector<ir::ValueRef> inputs;
      for (const auto& name : n.input()) {
        if (name.empty()) {
          inputs.push_back({});
          continue;
        }
        auto it = scope.find(name);
        if (it == scope.end()) {
          return InvalidArgument("input '" + name + "' is produced by no earlier node, initializer or graph input")
              .AtNode(NodeLabel(n), QualifiedOp(n));
        }
        inputs.push_back(it->second);
      }
      if (const FunctionProto* f = FindFunction(n)) {
        KILN_RETURN_IF_ERROR(InlineFunction(n, *f, inputs, scope, opsets, depth));
        continue;
      }
      ConvertContext ctx(out_.graph, n, std::move(inputs), opsets.at(""));
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
        if (depth == 0) KILN_RETURN_IF_ERROR(CheckDeclaredType(n, n.output(i), ctx.outputs()[i]));
        scope[n.output(i)] = ctx.outputs()[i];
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
    Scope inner;
    for (int i = 0; i < f.input_size() && i < static_cast<int>(inputs.size()); ++i) {
      if (inputs[i].valid()) inner[f.input(i)] = inputs[i];
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
      auto it = inner.find(f.output(i));
      if (it == inner.end()) {
        return InvalidArgument("function " + f.name() + " does not produce its output '" + f.output(i) + "'")
            .AtNode(NodeLabel(call), QualifiedOp(call));
      }
      scope[call.output(i)] = it->second;
    }
    return OkStatus();
  }

  static constexpr int kMaxFunctionDepth = 32;
  // Functions that each call the next several times multiply: their inlined nodes are bounded.
  static constexpr int64_t kMaxNodes = int64_t{1} << 22;

  const onnxproto::ModelProto& model_;
  std::string dir_;
  Opsets opsets_;
  std::map<std::pair<std::string, std::string>, const FunctionProto*> functions_;
  std::map<std::string, int> declared_types_;  // value_info: value name -> ONNX element type
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
