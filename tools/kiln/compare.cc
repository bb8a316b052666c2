// kiln compare: where a converted model's accuracy goes (kiln/compare.h).
#include <random>

#include "cli_util.h"
#include "commands.h"
#include "kiln/compare.h"

namespace kiln::cli {
namespace {

struct CompareArgs {
  std::string dir, input_npz, device = "cpu";
  int batch_size = 64, max_layers = 64;
  bool no_layers = false;
};

// One input set of random values for the signature: floats uniform in [-1, 1), integers and
// booleans zero; unknown dims are `batch` for the first and 1 for the others.
StatusOr<std::vector<InputSet>> RandomInputs(const SignatureInfo& signature, int batch) {
  std::mt19937 rng(1234);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  InputSet set;
  for (const TensorSpec& spec : signature.inputs) {
    if (!spec.shape.rank_known) return InvalidArgument("input '" + spec.name + "' has no known rank; give --input_npz");
    Shape shape;
    for (size_t d = 0; d < spec.shape.dims.size(); ++d) {
      shape.push_back(spec.shape.dims[d] >= 0 ? spec.shape.dims[d] : (d == 0 ? batch : 1));
    }
    Tensor t(spec.dtype, shape);
    if (spec.dtype == DType::kFloat32) {
      for (int64_t i = 0; i < t.num_elements(); ++i) t.data<float>()[i] = uniform(rng);
    }
    set[spec.name] = t;
  }
  return std::vector<InputSet>{set};
}

void RunCompare(const CompareArgs& a) {
  CompareOptions options;
  options.device = OrDie(ParseDevice(a.device));
  options.find_layers = !a.no_layers;
  options.max_layers = a.max_layers;
  if (a.batch_size < 1) Die(InvalidArgument("--batch-size must be at least 1"));
  std::vector<InputSet> inputs;
  if (!a.input_npz.empty()) {
    inputs = OrDie(NpzBatches(a.input_npz, a.batch_size));
  } else {
    auto model = OrDie(Model::Load(a.dir, {.device = options.device}));
    inputs = OrDie(RandomInputs(model->signature(), a.batch_size));
    fmt::print("no --input_npz: comparing on random inputs (floats in [-1, 1))\n");
  }
  fmt::print("{}", OrDie(CompareConvertedModel(a.dir, inputs, options)).ToString());
}

}  // namespace

void AddCompareCommand(CLI::App& app) {
  auto a = std::make_shared<CompareArgs>();
  CLI::App* cmd = app.add_subcommand(
      "compare", "Compare a converted model with its original ops in fp32 and find the layers that lose the most");
  cmd->add_option("--dir", a->dir, "converted SavedModel directory")->required();
  cmd->add_option("--input_npz,--input-npz", a->input_npz, ".npz of inputs named like the signature's");
  cmd->add_option("--batch-size", a->batch_size, "samples per run (the npz is cut along dim 0)")->capture_default_str();
  cmd->add_option("--device", a->device, "cpu, cuda or cuda:N")->capture_default_str();
  cmd->add_option("--max-layers", a->max_layers, "layers tried in higher precision, at most")->capture_default_str();
  cmd->add_flag("--no-layers", a->no_layers, "only compare; do not look for the layers that lose the most");
  cmd->callback([a] { RunCompare(*a); });
}

}  // namespace kiln::cli
