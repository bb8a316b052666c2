// `kiln show`: what `saved_model_cli show` prints, plus the frozen graph's op counts; for an
// ONNX file, its opsets, inputs and outputs (with symbolic dims) and op counts.
#include <algorithm>

#include "cli_util.h"
#include "commands.h"

namespace kiln::cli {
namespace {

struct ShowOptions {
  std::string dir;
  std::string tag_set;
  std::string signature_def;
  bool all = false;
  std::string device = "cpu";
};

std::string ShapeForDisplay(const PartialShape& s) {
  if (!s.rank_known) return "unknown_rank";
  std::string out = "(";
  for (size_t i = 0; i < s.dims.size(); ++i) {
    out += (i ? ", " : "") + std::to_string(s.dims[i]);
  }
  return out + (s.dims.size() == 1 ? ",)" : ")");
}

void PrintTensors(const char* kind, const std::vector<TensorSpec>& specs, const std::string& indent) {
  fmt::print("{}The given SavedModel SignatureDef contains the following {}(s):\n", indent, kind);
  for (const auto& s : specs) {
    fmt::print("{}  {}s['{}'] tensor_info:\n", indent, kind, s.name);
    fmt::print("{}      dtype: {}\n", indent, TfDTypeName(s.dtype));
    fmt::print("{}      shape: {}\n", indent, ShapeForDisplay(s.shape));
    fmt::print("{}      name: {}\n", indent, s.tensor_name);
  }
}

// (batch, 3, 224, 224) with symbolic dims by name.
std::string OnnxShapeForDisplay(const TensorSpec& s) {
  if (!s.shape.rank_known) return "unknown_rank";
  std::string out = "(";
  for (size_t i = 0; i < s.shape.dims.size(); ++i) {
    std::string dim = std::to_string(s.shape.dims[i]);
    if (s.shape.dims[i] < 0) dim = i < s.dim_names.size() && !s.dim_names[i].empty() ? s.dim_names[i] : "?";
    out += (i ? ", " : "") + dim;
  }
  return out + (s.shape.dims.size() == 1 ? ",)" : ")");
}

void PrintSortedCounts(const std::map<std::string, int>& counts, const std::string& indent) {
  std::vector<std::pair<std::string, int>> sorted(counts.begin(), counts.end());
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  for (const auto& [op, n] : sorted) fmt::print("{}  {:<28} {}\n", indent, op, n);
}

// The frozen graph's op counts; on a GPU, also the nodes that stay on the host and why.
void PrintOpCounts(const std::string& dir, const std::vector<std::string>& tags, const SignatureInfo& sig,
                   const std::string& indent, Device device) {
  const bool returns_tensors = std::any_of(sig.outputs.begin(), sig.outputs.end(),
                                           [](const TensorSpec& t) { return t.dtype != DType::kInvalid; });
  if (!returns_tensors) {
    fmt::print("{}Frozen graph: none (the signature runs an operation and returns no tensors)\n", indent);
    return;
  }
  const std::string& key = sig.key;
  LoadOptions load{tags, key};
  load.device = device;
  auto model = Model::Load(dir, load);
  if (!model.ok()) {
    fmt::print("{}Frozen graph: not loadable: {}\n", indent, model.status().ToString());
    return;
  }
  const auto counts = (*model)->OpCounts();
  int total = 0;
  for (const auto& [op, n] : counts) total += n;
  fmt::print("{}Frozen graph: {} nodes\n", indent, total);
  PrintSortedCounts(counts, indent);
  if (device.is_cpu()) return;
  const auto host = (*model)->host_nodes();
  fmt::print("{}On {}: {} node(s) stay on the host:\n", indent, device.ToString(), host.size());
  for (const auto& n : host) fmt::print("{}  {} ({}): {}\n", indent, n.name, n.op, n.reason);
}

void ShowOnnx(const std::string& path, Device device) {
  const OnnxModelInfo info = OrDie(InspectOnnxModel(path));
  fmt::print("ONNX model '{}': IR version {}, producer '{}'\n", path, info.ir_version, info.producer);
  std::string opsets;
  for (const auto& [domain, version] : info.opsets) {
    opsets += (opsets.empty() ? "" : ", ") + (domain.empty() ? std::string("ai.onnx") : domain) + " " +
              std::to_string(version);
  }
  fmt::print("Opsets: {}\n", opsets);
  for (const char* kind : {"input", "output"}) {
    const auto& specs = std::string(kind) == "input" ? info.signature.inputs : info.signature.outputs;
    fmt::print("The graph has the following {}(s):\n", kind);
    for (const auto& s : specs) {
      fmt::print("  {}s['{}']: dtype {}, shape {}\n", kind, s.name, DTypeName(s.dtype), OnnxShapeForDisplay(s));
    }
  }
  int total = 0;
  for (const auto& [op, n] : info.op_counts) total += n;
  fmt::print("Graph: {} nodes, {} initializers\n", total, info.num_initializers);
  PrintSortedCounts(info.op_counts, "");
  PrintOpCounts(path, {}, info.signature, "", device);
}

std::string JoinTags(const std::vector<std::string>& tags) {
  std::string s;
  for (const auto& t : tags) s += (s.empty() ? "" : ", ") + t;
  return s;
}

void PrintSignature(const SignatureInfo& sig, const std::string& indent) {
  PrintTensors("input", sig.inputs, indent);
  PrintTensors("output", sig.outputs, indent);
  fmt::print("{}Method name is: {}\n", indent, sig.method_name);
}

void RunShow(const ShowOptions& o) {
  const Device device = OrDie(ParseDevice(o.device));
  if (IsOnnxModelPath(o.dir)) return ShowOnnx(o.dir, device);
  const auto metas = OrDie(InspectSavedModel(o.dir));
  if (o.all) {
    for (const auto& meta : metas) {
      fmt::print("\nMetaGraphDef with tag-set: '{}' contains the following SignatureDefs:\n", JoinTags(meta.tags));
      for (const auto& sig : meta.signatures) {
        fmt::print("\nsignature_def['{}']:\n", sig.key);
        PrintSignature(sig, "  ");
        PrintOpCounts(o.dir, meta.tags, sig, "  ", device);
      }
    }
    return;
  }
  if (o.tag_set.empty()) {
    fmt::print("The given SavedModel contains the following tag-sets:\n");
    for (const auto& meta : metas) fmt::print("'{}'\n", JoinTags(meta.tags));
    return;
  }
  const std::vector<std::string> tags = SplitComma(o.tag_set);
  std::vector<std::string> sorted_tags = tags;
  std::sort(sorted_tags.begin(), sorted_tags.end());
  const MetaGraphInfo* meta = nullptr;
  for (const auto& m : metas) {
    std::vector<std::string> have = m.tags;
    std::sort(have.begin(), have.end());
    if (have == sorted_tags) meta = &m;
  }
  if (meta == nullptr) Die(NotFound("no MetaGraph with tag set '" + o.tag_set + "' in '" + o.dir + "'"));
  if (o.signature_def.empty()) {
    fmt::print("The given SavedModel MetaGraphDef contains SignatureDefs with the following keys:\n");
    for (const auto& sig : meta->signatures) fmt::print("SignatureDef key: \"{}\"\n", sig.key);
    return;
  }
  for (const auto& sig : meta->signatures) {
    if (sig.key != o.signature_def) continue;
    PrintSignature(sig, "");
    PrintOpCounts(o.dir, tags, sig, "", device);
    return;
  }
  Die(NotFound("signature '" + o.signature_def + "' not found in MetaGraph '" + o.tag_set + "'"));
}

}  // namespace

void AddShowCommand(CLI::App& app) {
  auto opts = std::make_shared<ShowOptions>();
  CLI::App* cmd = app.add_subcommand(
      "show", "Show a SavedModel's tag sets and signatures, or an ONNX file's graph, with frozen-graph op counts");
  cmd->add_option("--dir,--model", opts->dir, "SavedModel directory or .onnx file")->required();
  cmd->add_option("--tag_set", opts->tag_set, "comma-separated tag set, e.g. serve");
  cmd->add_option("--signature_def", opts->signature_def, "signature key, e.g. serving_default");
  cmd->add_flag("--all", opts->all, "show every MetaGraph and signature");
  cmd->add_option("--device", opts->device, "cpu, cuda or cuda:N: also list the nodes that stay on the host there")
      ->capture_default_str();
  cmd->callback([opts] { RunShow(*opts); });
}

}  // namespace kiln::cli
