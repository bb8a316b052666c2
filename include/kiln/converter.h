#pragma once
// kiln's converter: cut a model into engine segments and native ops, calibrate, build engines,
// save the result as a SavedModel that Model::Load runs like any other.
//
//   ConversionParams params;
//   params.precision_mode = Precision::kFP16;
//   auto converter = Converter::Create("saved_model_dir", params);
//   (*converter)->Convert();
//   (*converter)->Build(InputsFrom({{{"input_1", batch}}}));  // optional: engines ahead of time
//   (*converter)->Save("converted_dir");
//   auto model = Model::Load("converted_dir");

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kiln/model.h"
#include "kiln/precision.h"
#include "kiln/status.h"
#include "kiln/tensor.h"

namespace kiln {

enum class ProfileStrategy { kRange, kOptimal, kRangeOptimal };

// "range", "optimal", "range+optimal".
const char* ProfileStrategyName(ProfileStrategy s);
StatusOr<ProfileStrategy> ParseProfileStrategy(const std::string& name);

struct ConversionParams {
  Precision precision_mode = Precision::kFP32;
  // FP32 engines on a GPU may compute products and convolutions in TF32 (faster; about 1e-3
  // relative error). Off: FP32 stays FP32.
  bool allow_tf32 = false;
  // Where engines are built and run ("backend"): the host, or a CUDA GPU. Unset: the first GPU when
  // the machine has one, else the host. A converted model loaded on another device builds engines
  // there, or runs natively.
  std::optional<Device> engine_device;
  // The most intermediate memory one engine may plan for; a segment needing more stays native.
  int64_t max_workspace_size_bytes = int64_t{1} << 30;
  // Segments with fewer ops stay native (identity-like ops and constants not counted); -1
  // disables conversion.
  int minimum_segment_size = 3;
  // Engines kept per segment, one per input-shape key (least recently used evicted).
  int maximum_cached_engines = 1;
  // INT8/FP8: calibrate activation ranges on the calibration inputs given to Convert().
  bool use_calibration = true;
  CalibratorKind calibrator = CalibratorKind::kEntropy;
  // INT8 matrix products with constant weights (the linear layers of transformers) smooth their
  // activations (SmoothQuant): channel j of the activation is divided by s_j and row j of the
  // weights multiplied by it, s_j = amax_j^alpha / max|w_j|^(1 - alpha), so outlier channels no
  // longer set one coarse scale for the whole tensor; a smoothed activation's range is the max of
  // its smoothed channels, whatever the calibrator. Unset: per activation, the alpha in 0.3..0.9
  // (or none) whose INT8 products of calibration samples err least. A value in (0, 1]: that alpha
  // everywhere. 0: no smoothing. FP8 does not smooth.
  std::optional<float> smoothing_alpha;
  // Build an engine when an input shape arrives that no cached engine covers.
  bool allow_build_at_runtime = true;
  // Engines cover shape profiles (min/opt/max per input) rather than one exact shape.
  bool use_dynamic_shape = false;
  ProfileStrategy profile_strategy = ProfileStrategy::kRange;
  // Op types that always stay native.
  std::vector<std::string> denylist;
  // Keep at most this many segments (the largest); the rest stay native. -1: no cap.
  int maximum_segments = -1;
  // When an engine is missing, unusable or fails, run the segment's original ops; when false,
  // those cases are errors.
  bool allow_native_fallback = true;
  // Layers kept in a higher precision than precision_mode (see PrecisionPin): not quantized in
  // INT8/FP8 engines, float32 in FP16/BF16 ones when pinned to fp32.
  std::vector<PrecisionPin> keep_precision;
};

// One set of inputs for the signature, by input name.
using InputSet = std::map<std::string, Tensor>;
// Yields input sets until it returns nullopt (a generator, as TF-TRT's input_fn).
using InputFn = std::function<std::optional<InputSet>()>;
// An InputFn over a fixed list.
InputFn InputsFrom(std::vector<InputSet> sets);

// Observes long steps (calibration, building): `done` of `total` items of `stage`.
using ProgressFn = std::function<void(const std::string& stage, int done, int total)>;

struct EngineSummary {
  std::string name;   // the KilnEngineOp node
  int num_nodes = 0;  // ops in the segment
  std::vector<TensorSpec> inputs, outputs;
  std::map<std::string, int> op_counts;         // the segment's ops
  std::vector<std::string> engines;             // built engines: their shape profiles
  std::map<std::string, int> engine_op_counts;  // what the latest engine runs, after fusion
};

struct ConversionSummary {
  std::string precision;
  std::vector<EngineSummary> engines;
  std::map<std::string, int> converted_op_counts;
  int total_ops = 0;      // ops in the graph before conversion (constants and inputs not counted)
  int converted_ops = 0;  // of those, ops inside engines
  struct NativeNode {
    std::string name, op, reason;
  };
  std::vector<NativeNode> native_nodes;
  std::vector<std::string> notes;  // e.g. layers left in fp16 for lack of a calibrated range

  // The report `kiln summary` prints.
  std::string ToString() const;
};

struct SaveOptions {
  bool save_engines = true;  // false: engines are built on the target by `kiln build` or at first use
  // Constants of at least this many bytes (numeric ones) are saved in variables/, the tensor bundle
  // TensorFlow keeps weights in, and read through variables; smaller ones stay in saved_model.pb.
  // So a model's weights are not bound by protobuf's 2 GB limit on saved_model.pb.
  size_t min_variable_bytes = 1024;
};

class Converter {
 public:
  // Reads `path` (a SavedModel directory or an .onnx file) and checks the parameters.
  static StatusOr<std::unique_ptr<Converter>> Create(const std::string& path, const ConversionParams& params,
                                                     const LoadOptions& load = {});
  ~Converter();

  // Partitions the graph into engine segments and native ops. INT8/FP8 with use_calibration
  // runs the native graph over `calibration_inputs` to derive activation ranges; a model with
  // explicit quantization (FakeQuant, QuantizeLinear/DequantizeLinear) needs none.
  Status Convert(const InputFn& calibration_inputs = {});
  // Builds ahead of time the engines the shapes of these input sets need.
  Status Build(const InputFn& inputs);
  Status Save(const std::string& dir, const SaveOptions& options = {});
  ConversionSummary Summary() const;
  // The signature being converted (it is the converted model's too).
  const SignatureInfo& signature() const;

  void set_progress(ProgressFn progress);

  struct Impl;

 private:
  explicit Converter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Builds, for a converted model in `dir`, the engines the shapes of these input sets need on
// `device` (unset: the first GPU when there is one, else the host) and writes them into the model's
// assets (what `kiln build` does on a new machine).
Status BuildEngines(const std::string& dir, const InputFn& inputs, const ProgressFn& progress = {},
                    std::optional<Device> device = std::nullopt);

// The summary of a converted model saved in `dir`.
StatusOr<ConversionSummary> SummarizeConvertedModel(const std::string& dir);

}  // namespace kiln
