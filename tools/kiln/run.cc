// `kiln run`: runs a signature on .npy/.npz inputs and writes its outputs to .npz.
#include "cli_util.h"
#include "commands.h"
#include "io/npy.h"

namespace kiln::cli {
namespace {

struct RunOptions {
  std::string dir;
  std::string tag_set = "serve";
  std::string signature_def = "serving_default";
  std::vector<std::string> inputs;
  std::vector<std::string> input_npz;
  std::string output;
  std::string labels;
  std::string device = "cpu";
  bool allow_tf32 = false;
  int64_t max_loop_iterations = LoadOptions{}.max_loop_iterations;
};

// Top-1 accuracy of `scores` ([N, classes]) against integer `labels` ([N]).
StatusOr<double> Accuracy(const Tensor& scores, const Tensor& labels) {
  if (scores.rank() != 2) return InvalidArgument("accuracy needs a [N, classes] output, got " + scores.DebugString());
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> truth, labels.ToInt64Vector());
  if (static_cast<int64_t>(truth.size()) != scores.dim(0)) {
    return InvalidArgument("--labels has " + std::to_string(truth.size()) + " labels for " +
                           std::to_string(scores.dim(0)) + " samples");
  }
  const std::vector<float> s = scores.ToFloatVector();
  const int64_t classes = scores.dim(1);
  int64_t correct = 0;
  for (int64_t i = 0; i < scores.dim(0); ++i) {
    int64_t best = 0;
    for (int64_t c = 1; c < classes; ++c)
      if (s[i * classes + c] > s[i * classes + best]) best = c;
    correct += best == truth[i];
  }
  return truth.empty() ? 0.0 : static_cast<double>(correct) / static_cast<double>(truth.size());
}

void RunRun(const RunOptions& o) {
  LoadOptions load{SplitComma(o.tag_set), o.signature_def};
  load.device = OrDie(ParseDevice(o.device));
  load.allow_tf32 = o.allow_tf32;
  load.max_loop_iterations = o.max_loop_iterations;
  auto model = OrDie(Model::Load(o.dir, load));
  auto inputs = OrDie(ReadInputs(o.inputs, o.input_npz));
  auto outputs = OrDie(model->Run(inputs));
  io::NamedTensors named;
  for (const auto& [name, t] : outputs) {
    fmt::print("{}: {} {}\n", name, DTypeName(t.dtype()), ShapeToString(t.shape()));
    named.emplace_back(name, t);
  }
  if (!o.output.empty()) {
    Status s = io::WriteNpz(o.output, named);
    if (!s.ok()) Die(s);
    fmt::print("wrote {}\n", o.output);
  }
  if (!o.labels.empty()) {
    Tensor labels = OrDie(io::ReadNpy(o.labels));
    const double acc = OrDie(Accuracy(named.front().second, labels));
    fmt::print("top-1 accuracy of '{}' on {} labelled samples: {:.2f}%\n", named.front().first,
               labels.num_elements(), 100.0 * acc);
  }
}

}  // namespace

void AddRunCommand(CLI::App& app) {
  auto opts = std::make_shared<RunOptions>();
  CLI::App* cmd = app.add_subcommand("run", "Run a SavedModel signature on .npy inputs");
  cmd->add_option("--dir,--model", opts->dir, "SavedModel directory or .onnx file")->required();
  cmd->add_option("--tag_set", opts->tag_set, "comma-separated tag set")->capture_default_str();
  cmd->add_option("--signature_def", opts->signature_def, "signature key")->capture_default_str();
  cmd->add_option("--input", opts->inputs, "NAME=file.npy, one per signature input");
  cmd->add_option("--input_npz", opts->input_npz, "an .npz whose arrays are named like the signature's inputs");
  cmd->add_option("--output", opts->output, "write the outputs to this .npz, named by the signature");
  cmd->add_option("--labels", opts->labels, "integer labels (.npy): print the first output's top-1 accuracy");
  cmd->add_option("--device", opts->device, "cpu, cuda or cuda:N")->capture_default_str();
  cmd->add_flag("--allow-tf32", opts->allow_tf32, "let FP32 matrix products and convolutions on the GPU use TF32");
  cmd->add_option("--max-loop-iterations", opts->max_loop_iterations,
                  "stop a loop in the model that has not finished after this many iterations, with an error")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->callback([opts] { RunRun(*opts); });
}

}  // namespace kiln::cli
