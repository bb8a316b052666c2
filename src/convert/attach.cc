#include "convert/attach.h"

#include <algorithm>
#include <filesystem>
#include <optional>

#include "calibrate/table.h"
#include "convert/segments.h"
#include "frontends/savedmodel/graph_def_io.h"
#include "frontends/savedmodel/tensor_bundle.h"
#include "io/npy.h"
#include "passes/precision.h"

namespace kiln::convert {

namespace fs = std::filesystem;

std::string KilnAssetsDir(const std::string& model_dir) { return (fs::path(model_dir) / "assets" / "kiln").string(); }
std::string EnginesDir(const std::string& model_dir) {
  return (fs::path(KilnAssetsDir(model_dir)) / "engines").string();
}
std::string CalibrationTablePath(const std::string& model_dir) {
  return (fs::path(KilnAssetsDir(model_dir)) / "calibration.json").string();
}
std::string ConversionRecordPath(const std::string& model_dir) {
  return (fs::path(KilnAssetsDir(model_dir)) / "conversion.json").string();
}
std::string EngineFilePath(const std::string& model_dir, const std::string& segment, int n) {
  return (fs::path(EnginesDir(model_dir)) / (segment + "." + std::to_string(n) + ".engine")).string();
}

calibrate::CalibrationTable SegmentRanges(const engine::EngineOpSpec& spec, const ir::Graph& native,
                                         const calibrate::CalibrationTable& table) {
  calibrate::CalibrationTable segment;
  segment.calibrator = table.calibrator;
  if (table.empty()) return segment;
  // The table's tensor `from` under the name `to` in the segment.
  auto take = [&](const std::string& from, const std::string& to) {
    if (auto it = table.amax.find(from); it != table.amax.end()) segment.amax[to] = it->second;
    if (auto it = table.smoothing.find(from); it != table.smoothing.end()) segment.smoothing[to] = it->second;
  };
  for (int i = 0; i < native.num_nodes(); ++i) {
    const ir::Node& n = native.node(i);
    for (size_t o = 0; o < n.outputs.size(); ++o) {
      const std::string name = n.name + ":" + std::to_string(o);
      take(name, name);
    }
  }
  for (size_t i = 0; i < spec.input_tensors.size(); ++i) {
    take(spec.input_tensors[i], SegmentInputName(static_cast<int>(i)) + ":0");
  }
  return segment;
}

namespace {

// The converted model's variables (variables/variables), opened when a segment function first
// reads one.
class ModelVariables {
 public:
  explicit ModelVariables(const std::string& model_dir)
      : prefix_((fs::path(model_dir) / "variables" / "variables").string()) {}

  StatusOr<Tensor> Read(const std::string& key) {
    if (!bundle_) {
      KILN_ASSIGN_OR_RETURN(savedmodel::TensorBundle bundle, savedmodel::TensorBundle::Open(prefix_));
      bundle_.emplace(std::move(bundle));
    }
    return bundle_->Read(key);
  }

 private:
  std::string prefix_;
  std::optional<savedmodel::TensorBundle> bundle_;
};

// The engine files saved for `segment`, in the order they were written (most recently used first).
std::vector<std::string> EngineFilesOf(const std::string& model_dir, const std::string& segment) {
  std::vector<std::pair<int, std::string>> found;
  std::error_code ec;
  const std::string prefix = segment + ".";
  for (const auto& entry : fs::directory_iterator(EnginesDir(model_dir), ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(prefix, 0) != 0 || entry.path().extension() != ".engine") continue;
    const std::string n = name.substr(prefix.size(), name.size() - prefix.size() - 7);
    if (n.empty() || n.size() > 6 || !std::all_of(n.begin(), n.end(), ::isdigit)) continue;
    found.emplace_back(std::stoi(n), entry.path().string());
  }
  std::sort(found.begin(), found.end());
  std::vector<std::string> paths;
  for (auto& [_, p] : found) paths.push_back(std::move(p));
  return paths;
}

}  // namespace

StatusOr<std::vector<std::unique_ptr<engine::EngineOp>>> AttachEngineOps(
    const ir::Graph& graph, const std::map<std::string, tfproto::FunctionDef>& functions, const std::string& model_dir,
    const LoadOptions& options) {
  const Device device = options.device;
  calibrate::CalibrationTable table;
  if (fs::exists(CalibrationTablePath(model_dir))) {
    KILN_ASSIGN_OR_RETURN(table, calibrate::ReadCalibrationTable(CalibrationTablePath(model_dir)));
  }
  std::vector<std::unique_ptr<engine::EngineOp>> ops;
  std::vector<const ir::Graph*> segments;
  ModelVariables variables(model_dir);
  const savedmodel::CheckpointReader checkpoint = [&](const std::string& key, DType, const Shape&) {
    return variables.Read(key);
  };
  for (int i = 0; i < graph.num_nodes(); ++i) {
    const ir::Node& node = graph.node(i);
    if (node.op != "KilnEngineOp") continue;
    auto spec = engine::EngineOpSpec::FromNode(node);
    if (!spec.ok()) {
      Status s = spec.status();
      return s.AtNode(node.name, node.op);
    }
    auto fn = functions.find(spec->function);
    if (fn == functions.end()) {
      return NotFound("the native segment function '" + spec->function + "' is not in the model's library")
          .AtNode(node.name, node.op);
    }
    auto native = savedmodel::GraphFromFunctionDef(fn->second, &checkpoint);
    if (!native.ok()) {
      Status s = native.status();
      return s.Prepend("native segment function '" + spec->function + "'").AtNode(node.name, node.op);
    }
    calibrate::CalibrationTable ranges = SegmentRanges(*spec, *native, table);
    spec->keep_precision.insert(spec->keep_precision.end(), options.keep_precision.begin(),
                                options.keep_precision.end());
    KILN_ASSIGN_OR_RETURN(auto op, engine::EngineOp::Create(std::move(spec).value(), std::move(native).value(),
                                                            engine::BackendFor(device), std::move(ranges), device));
    if (!options.use_engines) op->RunNativeOnly();
    ops.push_back(std::move(op));
    segments.push_back(&ops.back()->native_graph());
    // Files built without the load's pins would not honour them: engines are built at first use.
    if (!options.use_engines || !options.keep_precision.empty()) continue;
    for (const std::string& path : EngineFilesOf(model_dir, node.name)) {
      auto bytes = io::ReadFile(path);
      ops.back()->AddEngineFile(path, bytes.ok() ? std::string_view(*bytes) : std::string_view(),
                                bytes.ok() ? "" : bytes.status().message());
    }
  }
  KILN_RETURN_IF_ERROR(passes::CheckPinsMatch(options.keep_precision, segments));
  return ops;
}

}  // namespace kiln::convert
