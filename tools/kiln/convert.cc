// `kiln convert`, `kiln build` and `kiln summary`: the converter's workflow from the command line.
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <random>

#include "cli_util.h"
#include "commands.h"
#include "io/npy.h"
#include "kiln/converter.h"

namespace kiln::cli {
namespace {

// Progress on a terminal: "\r  calibrate: 12" or "\r  build: 2/3", finished with a newline.
class Progress {
 public:
  Progress() : tty_(isatty(fileno(stderr)) != 0) {}
  ~Progress() { Finish(); }
  ProgressFn fn() {
    return [this](const std::string& stage, int done, int total) {
      if (!tty_) return;
      if (stage != stage_) Finish();
      stage_ = stage;
      if (total > 0) {
        std::fprintf(stderr, "\r  %s: %d/%d", stage.c_str(), done, total);
      } else {
        std::fprintf(stderr, "\r  %s: %d input set(s)", stage.c_str(), done);
      }
      std::fflush(stderr);
      open_ = true;
    };
  }
  void Finish() {
    if (open_) std::fprintf(stderr, "\n");
    open_ = false;
  }

 private:
  bool tty_;
  bool open_ = false;
  std::string stage_;
};

// "input_1=8x28x28x1" or "input_1=8,28,28,1" -> (name, shape).
StatusOr<std::pair<std::string, Shape>> ParseShapeArg(const std::string& arg) {
  const size_t eq = arg.find('=');
  if (eq == std::string::npos || eq == 0) {
    return InvalidArgument("--build-input '" + arg + "' is not NAME=SHAPE (for example input_1=8x28x28x1)");
  }
  Shape shape;
  std::string dims = arg.substr(eq + 1);
  if (!dims.empty() && dims.front() == '[' && dims.back() == ']') dims = dims.substr(1, dims.size() - 2);
  size_t pos = 0;
  while (pos <= dims.size() && !dims.empty()) {
    size_t next = dims.find_first_of("x,", pos);
    if (next == std::string::npos) next = dims.size();
    const std::string d = dims.substr(pos, next - pos);
    if (d.empty() || d.size() > 12 || d.find_first_not_of("0123456789") != std::string::npos) {
      return InvalidArgument("--build-input '" + arg + "': '" + d + "' is not a dimension");
    }
    shape.push_back(std::stoll(d));
    pos = next + 1;
  }
  return std::make_pair(arg.substr(0, eq), shape);
}

// Input sets from --build-input: the k-th mention of each input belongs to set k. Values are
// random; only their shapes matter to the engines.
StatusOr<std::vector<InputSet>> BuildInputSets(const std::vector<std::string>& args, const SignatureInfo& sig) {
  std::map<std::string, int> seen;
  std::vector<InputSet> sets;
  std::mt19937 rng(0);
  std::uniform_real_distribution<float> uniform(0.f, 1.f);
  for (const std::string& arg : args) {
    KILN_ASSIGN_OR_RETURN(auto parsed, ParseShapeArg(arg));
    const TensorSpec* spec = nullptr;
    for (const auto& in : sig.inputs) spec = in.name == parsed.first ? &in : spec;
    if (spec == nullptr) {
      std::string names;
      for (const auto& in : sig.inputs) names += (names.empty() ? "" : ", ") + in.name;
      return InvalidArgument("--build-input names '" + parsed.first + "', which is not an input; inputs: " + names);
    }
    if (!spec->shape.Accepts(parsed.second)) {
      return InvalidArgument("--build-input " + arg + ": input '" + spec->name + "' takes shapes " +
                             spec->shape.ToString());
    }
    const int k = seen[parsed.first]++;
    if (k >= static_cast<int>(sets.size())) sets.resize(k + 1);
    Tensor t(spec->dtype, parsed.second);
    if (spec->dtype == DType::kFloat32) {
      for (int64_t i = 0; i < t.num_elements(); ++i) t.data<float>()[i] = uniform(rng);
    }
    sets[k][parsed.first] = t;
  }
  for (size_t k = 0; k < sets.size(); ++k) {
    for (const auto& in : sig.inputs) {
      if (!sets[k].count(in.name)) {
        return InvalidArgument("--build-input set " + std::to_string(k + 1) + " gives no shape for input '" + in.name +
                               "'");
      }
    }
  }
  return sets;
}


float ParseSmoothingAlpha(const std::string& text) {
  size_t used = 0;
  float alpha = -1;
  try {
    alpha = std::stof(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || !(alpha >= 0.0f && alpha <= 1.0f)) {
    Die(InvalidArgument("--smoothing-alpha must be auto or a number in [0, 1], got '" + text + "'"));
  }
  return alpha;
}

struct ConvertOptions {
  std::string input, output, precision = "fp32", backend;
  std::string tag_set = "serve", signature_def = "serving_default";
  int minimum_segment_size = 3;
  int64_t max_workspace_size = int64_t{1} << 30;
  int maximum_cached_engines = 1;
  std::string calibration_data, calibrator = "entropy";
  int calibration_batch_size = 32;
  std::string smoothing_alpha = "auto";
  std::vector<std::string> build_inputs;
  bool dynamic_shape = false;
  bool allow_tf32 = false;
  std::string profile_strategy = "range";
  std::string denylist;
  std::vector<std::string> keep_precision;
  int maximum_segments = -1;
  bool no_build_at_runtime = false, no_engines = false, no_native_fallback = false, no_calibration = false;
};

void RunConvert(const ConvertOptions& o) {
  ConversionParams params;
  params.precision_mode = OrDie(ParsePrecision(o.precision));
  params.allow_tf32 = o.allow_tf32;
  if (!o.backend.empty()) params.engine_device = OrDie(ParseDevice(o.backend));
  params.minimum_segment_size = o.minimum_segment_size;
  params.max_workspace_size_bytes = o.max_workspace_size;
  params.maximum_cached_engines = o.maximum_cached_engines;
  params.use_calibration = !o.no_calibration;
  params.calibrator = OrDie(ParseCalibrator(o.calibrator));
  if (o.smoothing_alpha != "auto") params.smoothing_alpha = ParseSmoothingAlpha(o.smoothing_alpha);
  params.allow_build_at_runtime = !o.no_build_at_runtime;
  params.use_dynamic_shape = o.dynamic_shape;
  params.profile_strategy = OrDie(ParseProfileStrategy(o.profile_strategy));
  if (!o.denylist.empty()) params.denylist = SplitComma(o.denylist);
  params.maximum_segments = o.maximum_segments;
  params.allow_native_fallback = !o.no_native_fallback;
  for (const std::string& pins : o.keep_precision) {
    for (PrecisionPin& pin : OrDie(ParsePrecisionPins(SplitComma(pins)))) params.keep_precision.push_back(pin);
  }
  if (o.calibration_batch_size < 1) Die(InvalidArgument("--calibration-batch-size must be at least 1"));

  const LoadOptions load{SplitComma(o.tag_set), o.signature_def};
  auto converter = OrDie(Converter::Create(o.input, params, load));
  Progress progress;
  converter->set_progress(progress.fn());
  InputFn calibration;
  if (!o.calibration_data.empty())
    calibration = InputsFrom(OrDie(NpzBatches(o.calibration_data, o.calibration_batch_size)));
  Status s = converter->Convert(calibration);
  progress.Finish();
  if (!s.ok()) Die(s);
  if (!o.build_inputs.empty()) {
    s = converter->Build(InputsFrom(OrDie(BuildInputSets(o.build_inputs, converter->signature()))));
    progress.Finish();
    if (!s.ok()) Die(s);
  }
  SaveOptions save;
  save.save_engines = !o.no_engines;
  s = converter->Save(o.output, save);
  if (!s.ok()) Die(s);
  const ConversionSummary summary = converter->Summary();
  size_t built = 0;
  for (const auto& e : summary.engines) built += e.engines.size();
  fmt::print("converted {} of {} ops into {} segment(s) at {}; {} engine(s) {}; wrote {}\n", summary.converted_ops,
             summary.total_ops, summary.engines.size(), summary.precision, built,
             o.no_engines ? "built, not saved (--no-engines)" : "saved", o.output);
  for (const std::string& note : summary.notes) fmt::print("  note: {}\n", note);
  fmt::print("`kiln summary --dir {}` lists every segment and each op left native with its reason\n", o.output);
}

struct BuildOptions {
  std::string dir, device;
  std::vector<std::string> build_inputs;
};

void RunBuild(const BuildOptions& o) {
  auto model = OrDie(Model::Load(o.dir));
  auto sets = OrDie(BuildInputSets(o.build_inputs, model->signature()));
  model.reset();
  Progress progress;
  std::optional<Device> device;
  if (!o.device.empty()) device = OrDie(ParseDevice(o.device));
  Status s = BuildEngines(o.dir, InputsFrom(std::move(sets)), progress.fn(), device);
  progress.Finish();
  if (!s.ok()) Die(s);
  const ConversionSummary summary = OrDie(SummarizeConvertedModel(o.dir));
  for (const auto& e : summary.engines) {
    std::string keys;
    for (const auto& k : e.engines) keys += (keys.empty() ? "" : "; ") + k;
    fmt::print("{}: {}\n", e.name, keys.empty() ? "no engine" : keys);
  }
  fmt::print("engines written to {}/assets/kiln/engines\n", o.dir);
}

}  // namespace

void AddConvertCommands(CLI::App& app) {
  auto c = std::make_shared<ConvertOptions>();
  CLI::App* cmd =
      app.add_subcommand("convert", "Convert a model: engine segments, native fallback, saved as a SavedModel");
  cmd->add_option("--input", c->input, "SavedModel directory or .onnx file")->required();
  cmd->add_option("--output", c->output, "directory for the converted SavedModel")->required();
  cmd->add_option("--precision", c->precision, "fp32, fp16, bf16, int8 or fp8")->capture_default_str();
  cmd->add_option("--backend", c->backend, "cpu, cuda or cuda:N: where engines run (default: cuda with a GPU)");
  cmd->add_flag("--allow-tf32", c->allow_tf32, "FP32 engines on a GPU may compute products and convolutions in TF32");
  cmd->add_option("--tag_set", c->tag_set, "comma-separated tag set")->capture_default_str();
  cmd->add_option("--signature_def", c->signature_def, "signature key")->capture_default_str();
  cmd->add_option("--minimum-segment-size", c->minimum_segment_size, "smallest segment converted; -1 disables")
      ->capture_default_str();
  cmd->add_option("--max-workspace-size", c->max_workspace_size, "bytes of intermediate memory one engine may plan")
      ->capture_default_str();
  cmd->add_option("--maximum-cached-engines", c->maximum_cached_engines, "engines kept per segment")
      ->capture_default_str();
  cmd->add_option("--calibration-data", c->calibration_data, ".npz of calibration samples named like the inputs");
  cmd->add_option("--calibration-batch-size", c->calibration_batch_size, "samples per calibration batch")
      ->capture_default_str();
  cmd->add_option("--calibrator", c->calibrator, "entropy, percentile or minmax")->capture_default_str();
  cmd->add_option("--smoothing-alpha", c->smoothing_alpha,
                  "INT8: how much of an activation's per-channel range moves into the weights of matrix "
                  "products, 0 to 1 (0: no smoothing), or auto: chosen per layer on the calibration data")
      ->capture_default_str();
  cmd->add_flag("--no-calibration", c->no_calibration, "INT8/FP8 without calibration (explicit quantization only)");
  cmd->add_option("--build-input", c->build_inputs, "NAME=SHAPE (8x28x28x1): build an engine for these shapes now");
  cmd->add_flag("--dynamic-shape", c->dynamic_shape, "engines cover shape profiles instead of one shape");
  cmd->add_option("--profile-strategy", c->profile_strategy, "range, optimal or range+optimal")->capture_default_str();
  cmd->add_option("--denylist", c->denylist, "OP,OP,...: op types that stay native");
  cmd->add_option("--keep-precision", c->keep_precision,
                  "PRECISION:LAYER,...: keep layers (node names or op types) in fp32, fp16 or bf16, e.g. "
                  "fp16:conv2d/Conv2D,fp32:Softmax");
  cmd->add_option("--maximum-segments", c->maximum_segments, "keep at most N segments, the largest; -1: no cap")
      ->capture_default_str();
  cmd->add_flag("--no-build-at-runtime", c->no_build_at_runtime, "never build engines while serving");
  cmd->add_flag("--no-native-fallback", c->no_native_fallback, "fail instead of running a segment natively");
  cmd->add_flag("--no-engines", c->no_engines, "save without engines (built on the target GPU by `kiln build`)");
  cmd->callback([c] { RunConvert(*c); });

  auto b = std::make_shared<BuildOptions>();
  CLI::App* build = app.add_subcommand("build", "Build the engines of a converted model on this machine");
  build->add_option("--dir", b->dir, "converted SavedModel directory")->required();
  build->add_option("--build-input", b->build_inputs, "NAME=SHAPE (8x28x28x1), one per input and shape")->required();
  build->add_option("--device", b->device, "cpu, cuda or cuda:N: where engines run (default: cuda with a GPU)");
  build->callback([b] { RunBuild(*b); });

  auto dir = std::make_shared<std::string>();
  CLI::App* summary = app.add_subcommand("summary", "Describe a converted model's engines and native ops");
  summary->add_option("--dir", *dir, "converted SavedModel directory")->required();
  summary->callback([dir] { fmt::print("{}", OrDie(SummarizeConvertedModel(*dir)).ToString()); });
}

}  // namespace kiln::cli
