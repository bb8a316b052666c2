// The converter's public API: Convert (partition, calibrate, replace segments with engine ops),
// Build (engines ahead of time), Save (a SavedModel with engines and tables under assets/kiln),
// Summary; and the same steps for a model already converted (BuildEngines, SummarizeConvertedModel).
#include "kiln/converter.h"

#include <algorithm>
#include <filesystem>
#include <set>
#include <sstream>

#include "api/model_impl.h"
#include "calibrate/table.h"
#include "convert/attach.h"
#include "convert/calibration.h"
#include "convert/record.h"
#include "convert/segments.h"
#include "convert/smoothing.h"
#include "frontends/savedmodel/graph_def_io.h"
#include "frontends/savedmodel/tensor_bundle_writer.h"
#include "io/npy.h"
#include "io/staged_dir.h"
#include "ir/op_registry.h"
#include "partition/partitioner.h"
#include "passes/precision.h"
#include "passes/smoothing.h"
#include "util/log.h"

namespace kiln {

namespace fs = std::filesystem;

InputFn InputsFrom(std::vector<InputSet> sets) {
  auto shared = std::make_shared<std::vector<InputSet>>(std::move(sets));
  auto next = std::make_shared<size_t>(0);
  return [shared, next]() -> std::optional<InputSet> {
    if (*next >= shared->size()) return std::nullopt;
    return (*shared)[(*next)++];
  };
}

namespace {

int CountOps(const ir::Graph& graph) {
  int n = 0;
  for (int i = 0; i < graph.num_nodes(); ++i) n += !runtime::IsSourceOp(graph.node(i).op);
  return n;
}

Status CheckParams(const ConversionParams& p) {
  if (p.minimum_segment_size < 1 && p.minimum_segment_size != -1) {
    return InvalidArgument("minimum_segment_size is " + std::to_string(p.minimum_segment_size) +
                           "; it must be at least 1, or -1 to disable conversion");
  }
  if (p.maximum_cached_engines < 1) {
    return InvalidArgument("maximum_cached_engines is " + std::to_string(p.maximum_cached_engines) +
                           "; it must be at least 1");
  }
  if (p.max_workspace_size_bytes <= 0) {
    return InvalidArgument("max_workspace_size_bytes is " + std::to_string(p.max_workspace_size_bytes) +
                           "; it must be positive");
  }
  if (p.maximum_segments < 1 && p.maximum_segments != -1) {
    return InvalidArgument("maximum_segments is " + std::to_string(p.maximum_segments) +
                           "; it must be at least 1, or -1 for no cap");
  }
  if (p.smoothing_alpha && !(*p.smoothing_alpha >= 0.0f && *p.smoothing_alpha <= 1.0f)) {
    return InvalidArgument("smoothing_alpha is " + std::to_string(*p.smoothing_alpha) +
                           "; it must be in [0, 1] (0: no smoothing), or unset to choose it per layer");
  }
  if (p.engine_device) {
    Status usable = CheckDeviceUsable(*p.engine_device);
    if (!usable.ok()) return usable.Prepend("engine_device");
  }
  for (const std::string& op : p.denylist) {
    if (ir::OpRegistry::Global().Find(op) == nullptr) {
      return InvalidArgument("the denylist names op '" + op + "', which kiln does not know");
    }
  }
  return OkStatus();
}

// kiln never writes into the model it reads: `dir` may be neither `source` nor inside it.
Status CheckNotInside(const std::string& dir, const std::string& source) {
  std::error_code ec;
  const fs::path out = fs::weakly_canonical(dir, ec), in = fs::weakly_canonical(source, ec);
  if (ec) return OkStatus();
  if (out == in) return InvalidArgument("the output directory is the model being converted").InFile(dir);
  const auto [end, _] = std::mismatch(in.begin(), in.end(), out.begin(), out.end());
  if (end == in.end()) return InvalidArgument("the output directory is inside the model being converted").InFile(dir);
  return OkStatus();
}

// "INT8 smooths 12 of 24 matrix-product activations (alpha 0.5: 4, 0.7: 8)".
std::string SmoothingNote(const std::map<std::string, calibrate::ChannelSmoothing>& smoothing, size_t candidates) {
  std::map<float, int> by_alpha;
  for (const auto& [_, sm] : smoothing) by_alpha[sm.alpha]++;
  std::string note = "INT8 smooths " + std::to_string(smoothing.size()) + " of " + std::to_string(candidates) +
                     " matrix-product activation(s)";
  std::string alphas;
  for (const auto& [alpha, count] : by_alpha) {
    std::ostringstream entry;
    entry << (alphas.empty() ? "" : ", ") << alpha << ": " << count;
    alphas.append(entry.str());
  }
  if (!alphas.empty()) note.append(" (alpha " + alphas + ")");
  return note;
}

// Runs `inputs` through the converted model with its engine ops recording shapes, then builds
// the engines those shapes need.
Status BuildFromInputs(Model::Impl& model, const InputFn& inputs, const ProgressFn& progress) {
  for (auto& op : model.engine_ops) op->StartRecordingShapes();
  int sets = 0;
  while (auto set = inputs()) {
    ++sets;
    auto outs = model.Run(*set);  // the signature's own input checks
    if (!outs.ok()) {
      Status s = outs.status();
      return s.Prepend("build input set " + std::to_string(sets));
    }
  }
  if (sets == 0) return InvalidArgument("the build inputs are empty");
  int done = 0;
  for (auto& op : model.engine_ops) {
    Status s = op->BuildRecordedShapes();
    if (!s.ok()) {
      if (!op->spec().allow_native_fallback) return s;
      LogWarning(s.ToString() + "; the segment runs its native ops until an engine can be built");
    }
    if (progress) progress("build", ++done, static_cast<int>(model.engine_ops.size()));
  }
  return OkStatus();
}

Status WriteEngines(const Model::Impl& model, const std::string& dir) {
  std::error_code ec;
  fs::remove_all(convert::EnginesDir(dir), ec);
  fs::create_directories(convert::EnginesDir(dir), ec);
  if (ec) return InvalidArgument("cannot create directory: " + ec.message()).InFile(convert::EnginesDir(dir));
  for (const auto& op : model.engine_ops) {
    KILN_ASSIGN_OR_RETURN(std::vector<std::string> files, op->SerializeEngines());
    for (size_t n = 0; n < files.size(); ++n) {
      KILN_RETURN_IF_ERROR(io::WriteFile(convert::EngineFilePath(dir, op->spec().name, static_cast<int>(n)), files[n]));
    }
  }
  return OkStatus();
}

std::vector<TensorSpec> SpecsOf(const ir::Graph& g, const std::vector<ir::GraphEndpoint>& endpoints) {
  std::vector<TensorSpec> specs;
  for (const auto& e : endpoints) {
    TensorSpec s;
    s.name = e.name;
    s.dtype = g.output_info(e.value).dtype;
    s.shape = g.output_info(e.value).shape;
    s.tensor_name = g.node(e.value.node).name + ":" + std::to_string(e.value.index);
    specs.push_back(std::move(s));
  }
  return specs;
}

ConversionSummary MakeSummary(const Model::Impl& model, const convert::ConversionRecord& record) {
  ConversionSummary s;
  s.precision = PrecisionName(record.params.precision_mode);
  s.total_ops = record.total_ops;
  s.native_nodes = record.native_nodes;
  s.notes = record.notes;
  for (const auto& op : model.engine_ops) {
    EngineSummary e;
    e.name = op->spec().name;
    const ir::Graph& native = op->native_graph();
    e.num_nodes = CountOps(native);
    e.inputs = SpecsOf(native, native.inputs());
    for (size_t i = 0; i < e.inputs.size() && i < op->spec().input_tensors.size(); ++i) {
      e.inputs[i].tensor_name = op->spec().input_tensors[i];
    }
    e.outputs = SpecsOf(native, native.outputs());
    for (const auto& [type, count] : native.OpCounts()) {
      if (runtime::IsSourceOp(type)) continue;
      e.op_counts[type] = count;
      s.converted_op_counts[type] += count;
    }
    s.converted_ops += e.num_nodes;
    e.engines = op->EngineKeys();
    e.engine_op_counts = op->EngineOpCounts();
    for (const std::string& note : op->EngineNotes()) s.notes.push_back(e.name + ": " + note);
    s.engines.push_back(std::move(e));
  }
  return s;
}

}  // namespace

const char* ProfileStrategyName(ProfileStrategy s) {
  switch (s) {
    case ProfileStrategy::kRange:
      return "range";
    case ProfileStrategy::kOptimal:
      return "optimal";
    case ProfileStrategy::kRangeOptimal:
      return "range+optimal";
  }
  return "?";
}

StatusOr<ProfileStrategy> ParseProfileStrategy(const std::string& name) {
  for (ProfileStrategy s : {ProfileStrategy::kRange, ProfileStrategy::kOptimal, ProfileStrategy::kRangeOptimal}) {
    if (name == ProfileStrategyName(s)) return s;
  }
  return InvalidArgument("unknown profile strategy '" + name + "'; expected range, optimal or range+optimal");
}

struct Converter::Impl {
  std::string source;
  ConversionParams params;
  LoadOptions load;
  ProgressFn progress;
  api::ImportedModel imported;             // until Convert
  std::unique_ptr<Model::Impl> converted;  // after Convert
  convert::ConversionRecord record;
  calibrate::CalibrationTable calibration;
};

Converter::Converter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Converter::~Converter() = default;

void Converter::set_progress(ProgressFn progress) { impl_->progress = std::move(progress); }

const SignatureInfo& Converter::signature() const { return impl_->imported.signature; }

StatusOr<std::unique_ptr<Converter>> Converter::Create(const std::string& path, const ConversionParams& params,
                                                       const LoadOptions& load) {
  KILN_RETURN_IF_ERROR(CheckParams(params));
  auto impl = std::make_unique<Impl>();
  impl->source = path;
  impl->params = params;
  impl->load = load;
  KILN_ASSIGN_OR_RETURN(impl->imported, api::ImportModel(path, load));
  if (int n = convert::CountEngineOps(impl->imported.graph); n > 0) {
    return FailedPrecondition("'" + path + "' was already converted by kiln (it holds " + std::to_string(n) +
                              " KilnEngineOp node(s)); convert the original model instead");
  }
  KILN_RETURN_IF_ERROR(savedmodel::LegalizeNodeNames(impl->imported.graph));  // shapes stay inferred
  return std::unique_ptr<Converter>(new Converter(std::move(impl)));
}

Status Converter::Convert(const InputFn& calibration_inputs) {
  if (impl_->converted) return FailedPrecondition("Convert() was already called on this converter");
  const ConversionParams& params = impl_->params;
  ir::Graph& graph = impl_->imported.graph;
  KILN_RETURN_IF_ERROR(passes::CheckPinsMatch(params.keep_precision, {&graph}));
  // Filled here and kept only when conversion succeeds, so a failed Convert() can be retried.
  convert::ConversionRecord record;
  record.kiln_version = KILN_VERSION;
  record.source = impl_->source;
  record.params = params;
  const Device engine_device = params.engine_device.value_or(engine::DefaultEngineDevice());
  record.params.engine_device = engine_device;
  record.total_ops = CountOps(graph);
  for (const auto* specs : {&impl_->imported.signature.inputs, &impl_->imported.signature.outputs}) {
    for (const TensorSpec& spec : *specs) {
      const bool named = std::any_of(spec.dim_names.begin(), spec.dim_names.end(), [](auto& n) { return !n.empty(); });
      if (named) record.dim_names[spec.name] = spec.dim_names;
    }
  }

  partition::PartitionOptions options;
  options.minimum_segment_size = params.minimum_segment_size;
  options.denylist = std::set<std::string>(params.denylist.begin(), params.denylist.end());
  options.maximum_segments = params.maximum_segments;
  const engine::Backend& backend = engine::BackendFor(engine_device);
  KILN_ASSIGN_OR_RETURN(
      partition::Partition partition,
      partition::PartitionGraph(
          graph, [&](const ir::Graph& g, const ir::Node& n) { return backend.Validate(g, n); }, options));
  for (const auto& [id, reason] : partition.native_reasons) {
    const ir::Node& n = graph.node(id);
    if (!runtime::IsSourceOp(n.op)) record.native_nodes.push_back({n.name, n.op, reason});
  }

  const bool explicit_quantization = passes::HasExplicitQuantization(graph);
  const bool quantized = params.precision_mode == Precision::kINT8 || params.precision_mode == Precision::kFP8;
  if (quantized && explicit_quantization) {
    record.notes.push_back(
        "the model quantizes explicitly (FakeQuant or QuantizeLinear/DequantizeLinear); its own "
        "ranges are used and no calibration is needed");
  } else if (quantized && !params.use_calibration) {
    record.notes.push_back("use_calibration is off and the model has no explicit quantization: layers stay in fp16");
  } else if (quantized && !partition.segments.empty()) {
    if (!calibration_inputs) {
      return InvalidArgument(std::string(PrecisionName(params.precision_mode)) +
                             " conversion calibrates activation ranges: give calibration inputs (kiln convert "
                             "--calibration-data), set use_calibration=false, or quantize the model explicitly");
    }
    // Every floating-point tensor inside or entering a segment; per channel, the activations of
    // the matrix products that INT8 smoothing may scale.
    const bool smooth = params.precision_mode == Precision::kINT8 && params.smoothing_alpha.value_or(1.0f) > 0;
    std::set<std::string> tensors, channel_tensors;
    for (const auto& seg : partition.segments) {
      for (int id : seg.nodes) {
        const ir::Node& n = graph.node(id);
        for (size_t o = 0; o < n.outputs.size(); ++o) tensors.insert(n.name + ":" + std::to_string(o));
        for (const ir::ValueRef& in : n.inputs) {
          tensors.insert(graph.node(in.node).name + ":" + std::to_string(in.index));
        }
        if (smooth && passes::SmoothableWeightsOf(graph, n)) {
          channel_tensors.insert(graph.node(n.inputs[0].node).name + ":" + std::to_string(n.inputs[0].index));
        }
      }
    }
    KILN_ASSIGN_OR_RETURN(convert::CalibrationResult result,
                          convert::Calibrate(graph, tensors, channel_tensors, calibration_inputs, params.calibrator,
                                             impl_->progress));
    impl_->calibration.calibrator = CalibratorName(params.calibrator);
    impl_->calibration.amax = std::move(result.amax);
    record.notes.push_back("calibrated " + std::to_string(impl_->calibration.amax.size()) + " tensor ranges on " +
                           std::to_string(result.batches) + " input set(s) with the " +
                           CalibratorName(params.calibrator) + " calibrator");
    if (smooth) {
      KILN_ASSIGN_OR_RETURN(impl_->calibration.smoothing,
                            convert::ChooseSmoothing(graph, result.channels, impl_->calibration.amax,
                                                     params.smoothing_alpha, params.keep_precision));
      record.notes.push_back(SmoothingNote(impl_->calibration.smoothing, channel_tensors.size()));
    }
  }

  engine::EngineOpSpec base;
  base.precision = params.precision_mode;
  base.allow_tf32 = params.allow_tf32;
  base.keep_precision = params.keep_precision;
  base.max_workspace_size_bytes = params.max_workspace_size_bytes;
  base.maximum_cached_engines = params.maximum_cached_engines;
  base.allow_build_at_runtime = params.allow_build_at_runtime;
  base.allow_native_fallback = params.allow_native_fallback;
  base.use_dynamic_shape = params.use_dynamic_shape;
  base.profile_strategy = params.profile_strategy;
  base.explicit_quantization = explicit_quantization;
  KILN_ASSIGN_OR_RETURN(std::vector<convert::ExtractedSegment> segments,
                        convert::ExtractSegments(graph, partition, base));

  auto converted = std::make_unique<Model::Impl>();
  converted->signature = impl_->imported.signature;
  for (auto& seg : segments) {
    calibrate::CalibrationTable ranges = convert::SegmentRanges(seg.spec, seg.native, impl_->calibration);
    KILN_ASSIGN_OR_RETURN(
        auto op, engine::EngineOp::Create(std::move(seg.spec), std::move(seg.native), backend, std::move(ranges)));
    converted->engine_ops.push_back(std::move(op));
  }
  converted->graph = std::move(graph);
  KILN_RETURN_IF_ERROR(converted->Prepare(LoadOptions{}));
  impl_->converted = std::move(converted);
  impl_->record = std::move(record);
  return OkStatus();
}

Status Converter::Build(const InputFn& inputs) {
  if (!impl_->converted) return FailedPrecondition("Build() needs Convert() first");
  return BuildFromInputs(*impl_->converted, inputs, impl_->progress);
}

Status Converter::Save(const std::string& dir, const SaveOptions& options) {
  if (!impl_->converted) return FailedPrecondition("Save() needs Convert() first");
  KILN_RETURN_IF_ERROR(CheckNotInside(dir, impl_->source));
  const Model::Impl& model = *impl_->converted;
  // Everything is written beside `dir` and renamed into place once complete.
  auto staged = io::StagedDirectory::Create(dir);
  if (!staged.ok()) {
    Status s = staged.status();
    return s.InFile(dir);
  }
  const std::string& out = staged->path();
  std::error_code ec;
  fs::create_directories(fs::path(out) / "variables", ec);
  if (ec) return InvalidArgument("cannot create directory: " + ec.message()).InFile(out + "/variables");
  // The weights, of the graph and of the segments' native functions, go to variables/: the graph's
  // under their node names, a function's under "<function>:<node>" (':' is in no node name).
  savedmodel::TensorBundleWriter bundle((fs::path(out) / "variables" / "variables").string());
  std::string key_prefix;
  savedmodel::VariableStore variables;
  variables.min_bytes = options.min_variable_bytes;
  variables.store = [&](const std::string& node, const Tensor& value) -> StatusOr<std::string> {
    const std::string key = key_prefix + node;
    KILN_RETURN_IF_ERROR(bundle.Add(key, value));
    return key;
  };
  // Control-flow bodies (kept native) keep their constants inline.
  KILN_ASSIGN_OR_RETURN(std::vector<tfproto::FunctionDef> library, savedmodel::FunctionLibraryToProto(model.graph));
  for (const auto& op : model.engine_ops) {
    key_prefix = op->spec().function + ":";
    KILN_ASSIGN_OR_RETURN(auto fn, savedmodel::GraphToFunctionDef(op->native_graph(), op->spec().function, &variables));
    library.push_back(std::move(fn));
  }
  key_prefix.clear();
  KILN_RETURN_IF_ERROR(savedmodel::WriteSavedModel(out, model.graph, model.signature, impl_->load.tags,
                                                   impl_->load.signature_key, library, &variables));
  KILN_RETURN_IF_ERROR(bundle.Finish());
  fs::create_directories(convert::KilnAssetsDir(out), ec);
  if (ec) return InvalidArgument("cannot create directory: " + ec.message()).InFile(convert::KilnAssetsDir(out));
  if (options.save_engines) KILN_RETURN_IF_ERROR(WriteEngines(model, out));
  if (!impl_->calibration.empty()) {
    KILN_RETURN_IF_ERROR(calibrate::WriteCalibrationTable(impl_->calibration, convert::CalibrationTablePath(out)));
  }
  KILN_RETURN_IF_ERROR(convert::WriteConversionRecord(convert::ConversionRecordPath(out), impl_->record));
  return staged->Commit();
}

ConversionSummary Converter::Summary() const {
  if (!impl_->converted) {
    ConversionSummary s;
    s.precision = PrecisionName(impl_->params.precision_mode);
    s.notes.push_back("not converted yet");
    return s;
  }
  return MakeSummary(*impl_->converted, impl_->record);
}

Status BuildEngines(const std::string& dir, const InputFn& inputs, const ProgressFn& progress,
                    std::optional<Device> device) {
  LoadOptions load;
  load.device = device.value_or(engine::DefaultEngineDevice());
  KILN_ASSIGN_OR_RETURN(auto model, api::LoadModel(dir, load));
  if (model->engine_ops.empty()) {
    return FailedPrecondition("'" + dir + "' is not a model converted by kiln (it has no KilnEngineOp nodes)");
  }
  KILN_RETURN_IF_ERROR(BuildFromInputs(*model, inputs, progress));
  return WriteEngines(*model, dir);
}

StatusOr<ConversionSummary> SummarizeConvertedModel(const std::string& dir) {
  if (!fs::exists(convert::ConversionRecordPath(dir))) {
    KILN_ASSIGN_OR_RETURN(auto model, api::LoadModel(dir, {}));
    if (model->engine_ops.empty()) {
      return FailedPrecondition("'" + dir + "' is not a model converted by kiln (it has no KilnEngineOp nodes)");
    }
  }
  KILN_ASSIGN_OR_RETURN(convert::ConversionRecord record,
                        convert::ReadConversionRecord(convert::ConversionRecordPath(dir)));
  // The engines are read for the device they were built for, when this machine has it.
  LoadOptions load;
  const Device built_for = record.params.engine_device.value_or(Device::CPU());
  if (CheckDeviceUsable(built_for).ok()) load.device = built_for;
  KILN_ASSIGN_OR_RETURN(auto model, api::LoadModel(dir, load));
  return MakeSummary(*model, record);
}

std::string ConversionSummary::ToString() const {
  std::string out = "precision: " + precision + "\n";
  char share[32] = "0.0";
  if (total_ops > 0) std::snprintf(share, sizeof(share), "%.1f", 100.0 * converted_ops / total_ops);
  out += "ops converted: " + std::to_string(converted_ops) + " of " + std::to_string(total_ops) + " (" + share + "%)\n";
  out += "\nengines (" + std::to_string(engines.size()) + "):\n";
  auto spec_line = [](const TensorSpec& t) {
    return t.name + " " + std::string(DTypeName(t.dtype)) + " " + t.shape.ToString() +
           (t.tensor_name.empty() ? "" : "  <- " + t.tensor_name);
  };
  for (const EngineSummary& e : engines) {
    out += "  " + e.name + ": " + std::to_string(e.num_nodes) + " nodes\n";
    for (const TensorSpec& t : e.inputs) out += "    input  " + spec_line(t) + "\n";
    for (const TensorSpec& t : e.outputs) {
      TensorSpec shown = t;
      shown.tensor_name.clear();
      out += "    output " + spec_line(shown) + "\n";
    }
    std::string ops;
    for (const auto& [type, count] : e.op_counts)
      ops += (ops.empty() ? "" : ", ") + type + " x" + std::to_string(count);
    out += "    ops: " + ops + "\n";
    std::string built;
    for (const std::string& k : e.engines) built += (built.empty() ? "" : "; ") + k;
    out +=
        "    engines built: " + (built.empty() ? std::string("none (built on first use or by `kiln build`)") : built) +
        "\n";
    std::string fused;
    for (const auto& [type, count] : e.engine_op_counts) {
      if (type != "Const" && type != "Placeholder")
        fused += (fused.empty() ? "" : ", ") + type + " x" + std::to_string(count);
    }
    if (!fused.empty()) out += "    engine ops after fusion: " + fused + "\n";
  }
  out += "\nconverted ops by type:\n";
  for (const auto& [type, count] : converted_op_counts) out += "  " + type + ": " + std::to_string(count) + "\n";
  out += "\nnative nodes (" + std::to_string(native_nodes.size()) + "):\n";
  for (const auto& n : native_nodes) out += "  " + n.name + " (" + n.op + "): " + n.reason + "\n";
  if (!notes.empty()) {
    out += "\nnotes:\n";
    for (const std::string& n : notes) out += "  " + n + "\n";
  }
  return out;
}

}  // namespace kiln
