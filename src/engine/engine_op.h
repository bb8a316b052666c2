#pragma once
// EngineOp: what runs a KilnEngineOp node (calls into one op are serialized). It holds the segment's engines in a cache
// keyed by input shapes and walks the fallback ladder on every call:
//
//   input check -> cached engine covering these shapes (LRU, maximum_cached_engines)
//               -> build one now, when allow_build_at_runtime (a build that failed for some
//                  shapes is not tried again for them)
//               -> the segment's native ops (when no engine fits, a build fails, or the engine
//                  fails at run time; a warning once per cause), unless allow_native_fallback is
//                  false, in which case each of those is an error saying what happened.

#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "calibrate/table.h"
#include "engine/backend.h"
#include "engine/engine_file.h"
#include "kiln/converter.h"
#include "kiln/model.h"
#include "runtime/executor.h"

namespace kiln::engine {

// A KilnEngineOp node's attributes, typed.
struct EngineOpSpec {
  std::string name;      // the node's name, also the segment's
  std::string function;  // the native segment's function name
  std::vector<DType> input_dtypes, output_dtypes;
  std::vector<PartialShape> input_shapes, output_shapes;
  std::vector<std::string> input_tensors;  // the original graph's tensors feeding the segment
  Precision precision = Precision::kFP32;
  int64_t max_workspace_size_bytes = int64_t{1} << 30;
  int maximum_cached_engines = 1;
  bool allow_build_at_runtime = true;
  bool allow_native_fallback = true;
  bool use_dynamic_shape = false;
  ProfileStrategy profile_strategy = ProfileStrategy::kRange;
  bool explicit_quantization = false;
  bool allow_tf32 = false;  // FP32 engines on a GPU may use TF32
  std::vector<PrecisionPin> keep_precision;  // layers kept in a higher precision

  static StatusOr<EngineOpSpec> FromNode(const ir::Node& node);
  ir::AttrMap ToAttrs() const;
};

class EngineOp {
 public:
  // `native` is the segment as a graph (Placeholders for inputs, shapes inferred); `ranges` holds
  // the calibrated ranges of its tensors (INT8/FP8). The native segment runs on `device`, where the
  // backend's engines run.
  static StatusOr<std::unique_ptr<EngineOp>> Create(EngineOpSpec spec, ir::Graph native, const Backend& backend,
                                                    calibrate::CalibrationTable ranges,
                                                    Device device = Device::CPU());

  const EngineOpSpec& spec() const { return spec_; }
  const ir::Graph& native_graph() const { return native_; }

  // Runs the ladder: on the host, or (with `device`, the run's context) on the device's stream,
  // outputs left on the device.
  StatusOr<std::vector<Tensor>> Run(const std::vector<Tensor>& inputs, runtime::DeviceContext* device = nullptr);
  // The ladder as the kernel of the node, on the host or on the executor's device.
  runtime::KernelFn AsKernel();
  // Every run answers with the segment's original ops, without warnings: the model as it was
  // before conversion (LoadOptions::use_engines = false).
  void RunNativeOnly() { native_only_ = true; }

  // Engines ahead of time: records the input shapes the next runs see (running natively), then
  // builds the engines they need: one per shape for static engines, one engine whose profiles
  // follow profile_strategy for dynamic ones.
  void StartRecordingShapes();
  Status BuildRecordedShapes();

  // An engine file read from disk (or, with `read_error`, one that could not be read). One that is
  // unreadable, corrupted, or made for another device, version or segment, is reported with a
  // warning and left out (the segment rebuilds or runs natively).
  void AddEngineFile(const std::string& path, std::string_view bytes, const std::string& read_error = "");

  // The cached engines as engine files, most recently used first.
  StatusOr<std::vector<std::string>> SerializeEngines() const;
  std::vector<std::string> EngineKeys() const;  // the cached engines' profiles
  // What the cached engines' builds noted, without repeats.
  std::vector<std::string> EngineNotes() const;
  // Op type -> count in the most recently used engine (after fusion); empty without engines.
  std::map<std::string, int> EngineOpCounts() const;
  EngineOpStats stats() const;

 private:
  struct Cached {
    std::shared_ptr<const Engine> engine;  // shared with the runs using it, so eviction is safe
    std::string key;                 // profiles, as text
    std::vector<std::string> notes;  // the build's notes, kept in the engine file too
  };
  EngineOp(EngineOpSpec spec, ir::Graph native, const Backend& backend, calibrate::CalibrationTable ranges)
      : spec_(std::move(spec)), native_(std::move(native)), backend_(backend), ranges_(std::move(ranges)) {}

  Status CheckInputs(const std::vector<Tensor>& inputs) const;
  // The cached engine that takes `shapes`, marked most recently used; null if none.
  std::shared_ptr<const Engine> FindEngine(const std::vector<Shape>& shapes);
  StatusOr<std::shared_ptr<const Engine>> BuildEngine(std::vector<ShapeProfile> profiles);
  void Insert(std::shared_ptr<const Engine> engine, std::vector<std::string> notes);
  // Drops the least recently used engines past maximum_cached_engines.
  void EvictBeyondCapacity();
  // The native path, or the error that says why there is none. Called without mu_ held.
  StatusOr<std::vector<Tensor>> Fallback(const std::vector<Tensor>& inputs, runtime::DeviceContext* device,
                                         const std::string& cause, const std::string& warning_key);
  void WarnOnce(const std::string& key, const std::string& message);  // with mu_ held

  EngineOpSpec spec_;
  ir::Graph native_;
  const Backend& backend_;
  calibrate::CalibrationTable ranges_;
  std::unique_ptr<runtime::Executor> native_executor_;

  // Guards the cache, the recording, warnings and statistics; builds happen under it. Engines and
  // the native segment run outside it, so threads may run one model at once.
  mutable std::mutex mu_;
  std::list<Cached> cache_;  // most recently used first
  bool recording_ = false;
  std::vector<std::vector<Shape>> recorded_;
  std::set<std::string> warned_;
  std::map<std::string, std::string> failed_builds_;  // input shapes -> why the build failed
  EngineOpStats stats_;
  bool native_only_ = false;
};

}  // namespace kiln::engine
