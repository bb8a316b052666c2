#include "engine/engine_op.h"

#include <algorithm>

#include "util/log.h"

namespace kiln::engine {
namespace {

std::string ShapesToString(const std::vector<Shape>& shapes) {
  std::string out;
  for (size_t i = 0; i < shapes.size(); ++i) out += (i ? "; " : "") + ShapeToString(shapes[i]);
  return out;
}

std::string ProfilesKey(const std::vector<ShapeProfile>& profiles) {
  std::string out;
  for (size_t i = 0; i < profiles.size(); ++i) out += (i ? " | " : "") + profiles[i].ToString();
  return out;
}

// Profiles for a set of observed input shapes (all of one rank per input), per strategy.
std::vector<ShapeProfile> DynamicProfiles(const std::vector<std::vector<Shape>>& seen, ProfileStrategy strategy) {
  std::vector<ShapeProfile> out;
  if (strategy == ProfileStrategy::kRange || strategy == ProfileStrategy::kRangeOptimal) {
    ShapeProfile range;
    for (size_t i = 0; i < seen[0].size(); ++i) {
      InputRange r{seen[0][i], seen[0][i], seen[0][i]};
      int64_t opt_volume = NumElements(r.opt);
      for (const auto& shapes : seen) {
        for (size_t d = 0; d < r.min.size(); ++d) {
          r.min[d] = std::min(r.min[d], shapes[i][d]);
          r.max[d] = std::max(r.max[d], shapes[i][d]);
        }
        if (NumElements(shapes[i]) > opt_volume) {
          r.opt = shapes[i];
          opt_volume = NumElements(shapes[i]);
        }
      }
      range.inputs.push_back(std::move(r));
    }
    out.push_back(std::move(range));
  }
  if (strategy == ProfileStrategy::kOptimal || strategy == ProfileStrategy::kRangeOptimal) {
    for (const auto& shapes : seen) out.push_back(ShapeProfile::Exact(shapes));
  }
  return out;
}

}  // namespace

StatusOr<EngineOpSpec> EngineOpSpec::FromNode(const ir::Node& node) {
  EngineOpSpec s;
  s.name = node.name;
  const ir::AttrMap& a = node.attrs;
  KILN_ASSIGN_OR_RETURN(ir::FuncRef f, a.Get<ir::FuncRef>("segment_func"));
  s.function = f.name;
  KILN_ASSIGN_OR_RETURN(s.input_dtypes, a.Get<std::vector<DType>>("Tin"));
  KILN_ASSIGN_OR_RETURN(s.output_dtypes, a.Get<std::vector<DType>>("Tout"));
  KILN_ASSIGN_OR_RETURN(s.input_shapes, a.Get<std::vector<PartialShape>>("input_shapes"));
  KILN_ASSIGN_OR_RETURN(s.output_shapes, a.Get<std::vector<PartialShape>>("output_shapes"));
  KILN_ASSIGN_OR_RETURN(s.input_tensors, a.Get<std::vector<std::string>>("input_tensors"));
  KILN_ASSIGN_OR_RETURN(std::string precision, a.Get<std::string>("precision_mode"));
  KILN_ASSIGN_OR_RETURN(s.precision, ParsePrecision(precision));
  KILN_ASSIGN_OR_RETURN(s.max_workspace_size_bytes, a.Get<int64_t>("max_workspace_size_bytes"));
  KILN_ASSIGN_OR_RETURN(int64_t max_cached, a.Get<int64_t>("maximum_cached_engines"));
  KILN_ASSIGN_OR_RETURN(s.allow_build_at_runtime, a.Get<bool>("allow_build_at_runtime"));
  KILN_ASSIGN_OR_RETURN(s.allow_native_fallback, a.Get<bool>("allow_native_fallback"));
  KILN_ASSIGN_OR_RETURN(s.use_dynamic_shape, a.Get<bool>("use_dynamic_shape"));
  KILN_ASSIGN_OR_RETURN(std::string strategy, a.Get<std::string>("profile_strategy"));
  KILN_ASSIGN_OR_RETURN(s.profile_strategy, ParseProfileStrategy(strategy));
  KILN_ASSIGN_OR_RETURN(s.explicit_quantization, a.Get<bool>("explicit_quantization"));
  KILN_ASSIGN_OR_RETURN(s.allow_tf32, a.GetOr<bool>("allow_tf32", false));
  KILN_ASSIGN_OR_RETURN(std::vector<std::string> pins, a.GetOr<std::vector<std::string>>("keep_precision", {}));
  KILN_ASSIGN_OR_RETURN(s.keep_precision, ParsePrecisionPins(pins));
  if (max_cached < 1 || max_cached > 1 << 20) {
    return InvalidArgument("maximum_cached_engines is " + std::to_string(max_cached) + "; it must be at least 1");
  }
  s.maximum_cached_engines = static_cast<int>(max_cached);
  if (s.input_shapes.size() != s.input_dtypes.size() || s.input_tensors.size() != s.input_dtypes.size() ||
      s.output_shapes.size() != s.output_dtypes.size()) {
    return InvalidArgument("the input/output attribute lists of the engine op disagree in length");
  }
  return s;
}

ir::AttrMap EngineOpSpec::ToAttrs() const {
  ir::AttrMap a;
  a.Set("segment_func", ir::FuncRef{function});
  a.Set("Tin", input_dtypes);
  a.Set("Tout", output_dtypes);
  a.Set("input_shapes", input_shapes);
  a.Set("output_shapes", output_shapes);
  a.Set("input_tensors", input_tensors);
  a.Set("precision_mode", std::string(PrecisionName(precision)));
  a.Set("max_workspace_size_bytes", max_workspace_size_bytes);
  a.Set("maximum_cached_engines", int64_t{maximum_cached_engines});
  a.Set("allow_build_at_runtime", allow_build_at_runtime);
  a.Set("allow_native_fallback", allow_native_fallback);
  a.Set("use_dynamic_shape", use_dynamic_shape);
  a.Set("profile_strategy", std::string(ProfileStrategyName(profile_strategy)));
  a.Set("explicit_quantization", explicit_quantization);
  a.Set("allow_tf32", allow_tf32);
  a.Set("keep_precision", PrecisionPinStrings(keep_precision));
  return a;
}

StatusOr<std::unique_ptr<EngineOp>> EngineOp::Create(EngineOpSpec spec, ir::Graph native, const Backend& backend,
                                                     calibrate::CalibrationTable ranges, Device device) {
  if (native.inputs().size() != spec.input_dtypes.size() || native.outputs().size() != spec.output_dtypes.size()) {
    return InvalidArgument("segment function '" + spec.function + "' has " + std::to_string(native.inputs().size()) +
                           " inputs and " + std::to_string(native.outputs().size()) + " outputs; the engine op has " +
                           std::to_string(spec.input_dtypes.size()) + " and " +
                           std::to_string(spec.output_dtypes.size()))
        .AtNode(spec.name, "KilnEngineOp");
  }
  std::unique_ptr<EngineOp> op(new EngineOp(std::move(spec), std::move(native), backend, std::move(ranges)));
  op->stats_.name = op->spec_.name;
  auto executor = runtime::Executor::Create(op->native_, {.device = device});
  if (!executor.ok()) {
    Status s = executor.status();
    return s.Prepend("native segment '" + op->spec_.function + "'");
  }
  op->native_executor_ = std::move(executor).value();
  return op;
}

runtime::KernelFn EngineOp::AsKernel() {
  return [this](runtime::KernelContext& ctx) -> Status {
    std::vector<Tensor> inputs;
    for (int i = 0; i < ctx.num_inputs(); ++i) inputs.push_back(ctx.input(i));
    KILN_ASSIGN_OR_RETURN(std::vector<Tensor> outputs, Run(inputs, ctx.device_context()));
    if (static_cast<int>(outputs.size()) != ctx.num_outputs()) {
      return Internal("the segment produced " + std::to_string(outputs.size()) + " outputs, the node has " +
                      std::to_string(ctx.num_outputs()));
    }
    for (int i = 0; i < ctx.num_outputs(); ++i) ctx.set_output(i, std::move(outputs[i]));
    return OkStatus();
  };
}

Status EngineOp::CheckInputs(const std::vector<Tensor>& inputs) const {
  if (inputs.size() != spec_.input_dtypes.size()) {
    return InvalidArgument("segment '" + spec_.name + "' takes " + std::to_string(spec_.input_dtypes.size()) +
                           " inputs, got " + std::to_string(inputs.size()));
  }
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (inputs[i].dtype() != spec_.input_dtypes[i] || !spec_.input_shapes[i].Accepts(inputs[i].shape())) {
      return InvalidArgument("segment '" + spec_.name + "' input " + std::to_string(i) + " (" + spec_.input_tensors[i] +
                             ") expects " + std::string(DTypeName(spec_.input_dtypes[i])) + " " +
                             spec_.input_shapes[i].ToString() + ", got " + std::string(DTypeName(inputs[i].dtype())) +
                             " " + ShapeToString(inputs[i].shape()));
    }
  }
  return OkStatus();
}

void EngineOp::WarnOnce(const std::string& key, const std::string& message) {
  if (!warned_.insert(key).second) return;
  stats_.warnings.push_back(message);
  LogWarning(message);
}

std::shared_ptr<const Engine> EngineOp::FindEngine(const std::vector<Shape>& shapes) {
  for (auto it = cache_.begin(); it != cache_.end(); ++it) {
    if (!it->engine->Accepts(shapes)) continue;
    cache_.splice(cache_.begin(), cache_, it);
    return cache_.front().engine;
  }
  return nullptr;
}

void EngineOp::Insert(std::shared_ptr<const Engine> engine, std::vector<std::string> notes) {
  const std::string key = ProfilesKey(engine->profiles());
  cache_.remove_if([&](const Cached& c) { return c.key == key; });
  cache_.push_front(Cached{std::move(engine), key, std::move(notes)});
  EvictBeyondCapacity();
}

void EngineOp::EvictBeyondCapacity() {
  while (static_cast<int>(cache_.size()) > spec_.maximum_cached_engines) {
    cache_.pop_back();
    ++stats_.engines_evicted;
  }
}

StatusOr<std::shared_ptr<const Engine>> EngineOp::BuildEngine(std::vector<ShapeProfile> profiles) {
  BuildConfig config;
  config.precision = spec_.precision;
  config.max_workspace_size_bytes = spec_.max_workspace_size_bytes;
  config.profiles = std::move(profiles);
  config.amax = ranges_.amax;
  config.smoothing = ranges_.smoothing;
  config.explicit_quantization = spec_.explicit_quantization;
  config.allow_tf32 = spec_.allow_tf32;
  config.keep_precision = spec_.keep_precision;
  auto engine = backend_.Build(native_, config);
  if (!engine.ok()) {
    Status s = engine.status();
    return s.Prepend("building an engine for segment '" + spec_.name + "' at shapes " + ProfilesKey(config.profiles));
  }
  ++stats_.engines_built;
  std::shared_ptr<const Engine> built = std::move(engine).value();
  Insert(built, built->BuildNotes());
  return built;
}

StatusOr<std::vector<Tensor>> EngineOp::Fallback(const std::vector<Tensor>& inputs, runtime::DeviceContext* device,
                                                 const std::string& cause, const std::string& warning_key) {
  if (!spec_.allow_native_fallback) {
    return FailedPrecondition(cause + "; native fallback is disabled (allow_native_fallback=false)")
        .AtNode(spec_.name, "KilnEngineOp");
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    WarnOnce(warning_key, cause + "; running the segment's native ops");
    ++stats_.native_runs;
  }
  return native_executor_->RunInContext(inputs, device);
}

StatusOr<std::vector<Tensor>> EngineOp::Run(const std::vector<Tensor>& inputs, runtime::DeviceContext* device) {
  KILN_RETURN_IF_ERROR(CheckInputs(inputs));
  std::vector<Shape> shapes;
  for (const Tensor& t : inputs) shapes.push_back(t.shape());
  std::shared_ptr<const Engine> engine;
  std::string cause, warning_key;  // why the native segment answers instead, when it does
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (recording_ || native_only_) {
      if (recording_ && std::find(recorded_.begin(), recorded_.end(), shapes) == recorded_.end()) {
        recorded_.push_back(shapes);
      }
      ++stats_.native_runs;
    } else if (!(engine = FindEngine(shapes))) {
      const std::string key = ShapesToString(shapes);
      if (!spec_.allow_build_at_runtime) {
        std::string covered;
        for (const Cached& c : cache_) covered += (covered.empty() ? "" : " | ") + c.key;
        cause = "segment '" + spec_.name + "' has no engine for input shapes " + key + " (engines cover: " +
                (covered.empty() ? "none" : covered) + ") and building at run time is disabled " +
                "(allow_build_at_runtime=false)";
        warning_key = "no-engine " + key;
      } else if (auto failed = failed_builds_.find(key); failed != failed_builds_.end()) {
        // A build that failed for these shapes is not retried on every call.
        cause = failed->second;
        warning_key = "build " + key;
      } else {
        std::vector<ShapeProfile> profiles = spec_.use_dynamic_shape
                                                 ? DynamicProfiles({shapes}, spec_.profile_strategy)
                                                 : std::vector<ShapeProfile>{ShapeProfile::Exact(shapes)};
        auto built = BuildEngine(std::move(profiles));
        if (built.ok()) {
          engine = *built;
        } else {
          failed_builds_[key] = cause = built.status().ToString();
          warning_key = "build " + key;
        }
      }
    }
  }
  if (engine == nullptr) {
    if (cause.empty()) return native_executor_->RunInContext(inputs, device);  // recording shapes
    return Fallback(inputs, device, cause, warning_key);
  }
  auto outputs = engine->Run(inputs, device);
  if (!outputs.ok()) {
    return Fallback(inputs, device,
                    "the engine of segment '" + spec_.name + "' failed at run time: " + outputs.status().ToString(),
                    "run-failed");
  }
  std::lock_guard<std::mutex> lock(mu_);
  ++stats_.engine_runs;
  return outputs;
}

void EngineOp::StartRecordingShapes() {
  std::lock_guard<std::mutex> lock(mu_);
  recording_ = true;
  recorded_.clear();
}

Status EngineOp::BuildRecordedShapes() {
  std::lock_guard<std::mutex> lock(mu_);
  recording_ = false;
  if (recorded_.empty()) return OkStatus();
  if (spec_.use_dynamic_shape) {
    return BuildEngine(DynamicProfiles(recorded_, spec_.profile_strategy)).status();
  }
  if (static_cast<int>(recorded_.size()) > spec_.maximum_cached_engines) {
    WarnOnce("too-many-shapes", "segment '" + spec_.name + "' saw " + std::to_string(recorded_.size()) +
                                    " input shapes but keeps at most maximum_cached_engines=" +
                                    std::to_string(spec_.maximum_cached_engines) +
                                    " static engines; the last ones built are kept");
  }
  for (const auto& shapes : recorded_) {
    if (FindEngine(shapes) != nullptr) continue;
    KILN_RETURN_IF_ERROR(BuildEngine({ShapeProfile::Exact(shapes)}).status());
  }
  return OkStatus();
}

void EngineOp::AddEngineFile(const std::string& path, std::string_view bytes, const std::string& read_error) {
  const std::string then = spec_.allow_build_at_runtime ? "it will be rebuilt when needed"
                                                        : "the segment runs its native ops where it has no engine";
  auto warn = [&](const std::string& why) {
    std::lock_guard<std::mutex> lock(mu_);
    WarnOnce("file " + path,
             "engine file '" + path + "' of segment '" + spec_.name + "' is not used: " + why + "; " + then);
  };
  if (!read_error.empty()) return warn(read_error);
  auto file = ParseEngineFile(bytes);
  if (!file.ok()) return warn(file.status().message());
  if (file->header.segment != spec_.name) return warn("it belongs to segment '" + file->header.segment + "'");
  if (file->header.precision != PrecisionName(spec_.precision)) {
    return warn("it was built for " + file->header.precision + ", the segment is " + PrecisionName(spec_.precision));
  }
  const std::string why = Incompatibility(file->header, backend_.device());
  if (!why.empty()) return warn(why);
  auto engine = backend_.Deserialize(file->header.profiles, file->payload);
  if (!engine.ok()) return warn(engine.status().ToString());
  std::lock_guard<std::mutex> lock(mu_);
  // Files come most recently used first; keep that order in the cache.
  cache_.push_back(Cached{std::move(engine).value(), ProfilesKey(file->header.profiles), file->header.notes});
  ++stats_.engines_loaded;
  EvictBeyondCapacity();
}

StatusOr<std::vector<std::string>> EngineOp::SerializeEngines() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> files;
  for (const Cached& c : cache_) {
    KILN_ASSIGN_OR_RETURN(std::string payload, c.engine->SerializePayload());
    files.push_back(WriteEngineFile(
        MakeEngineHeader(backend_.device(), spec_.precision, spec_.name, c.engine->profiles(), c.notes), payload));
  }
  return files;
}

std::vector<std::string> EngineOp::EngineKeys() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> keys;
  for (const Cached& c : cache_) keys.push_back(c.key);
  return keys;
}

std::vector<std::string> EngineOp::EngineNotes() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> notes;
  for (const Cached& c : cache_) {
    for (const std::string& n : c.notes) {
      if (std::find(notes.begin(), notes.end(), n) == notes.end()) notes.push_back(n);
    }
  }
  return notes;
}

std::map<std::string, int> EngineOp::EngineOpCounts() const {
  std::lock_guard<std::mutex> lock(mu_);
  return cache_.empty() ? std::map<std::string, int>{} : cache_.front().engine->OpCounts();
}

EngineOpStats EngineOp::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  EngineOpStats s = stats_;
  s.cached_engines = static_cast<int>(cache_.size());
  return s;
}

}  // namespace kiln::engine
