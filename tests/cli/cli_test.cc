// The kiln command as a user runs it: output, exit codes, and error messages.
#include <cstdio>
#include <filesystem>

#include "cli/cli_test_util.h"
#include "io/npy.h"
#include "util/test_util.h"

namespace kiln {
namespace {

namespace fs = std::filesystem;

using Result = testing::CliResult;
using testing::RunKiln;

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    model_ = testing::SourcePath("fixtures/mnist/saved_model");
    tmp_ = fs::temp_directory_path() / ("kiln_cli_" + std::to_string(::getpid()));
    fs::create_directories(tmp_);
  }
  void TearDown() override { fs::remove_all(tmp_); }
  std::string Tmp(const std::string& name) const { return (tmp_ / name).string(); }
  std::string model_;
  fs::path tmp_;
};

TEST_F(CliTest, ShowListsTagSetsSignaturesAndOpCounts) {
  Result tags = RunKiln("show --dir " + model_);
  EXPECT_EQ(tags.exit_code, 0) << tags.output;
  EXPECT_NE(tags.output.find("'serve'"), std::string::npos) << tags.output;

  Result keys = RunKiln("show --dir " + model_ + " --tag_set serve");
  EXPECT_NE(keys.output.find("SignatureDef key: \"serving_default\""), std::string::npos) << keys.output;

  Result sig = RunKiln("show --dir " + model_ + " --tag_set serve --signature_def serving_default");
  EXPECT_EQ(sig.exit_code, 0) << sig.output;
  for (const char* want : {"inputs['input_1'] tensor_info:", "dtype: DT_FLOAT", "shape: (-1, 28, 28, 1)",
                           "name: serving_default_input_1:0", "outputs['probabilities']",
                           "Method name is: tensorflow/serving/predict", "Conv2D", "MatMul", "Frozen graph:"}) {
    EXPECT_NE(sig.output.find(want), std::string::npos) << "missing '" << want << "' in:\n" << sig.output;
  }
  Result all = RunKiln("show --dir " + model_ + " --all");
  EXPECT_EQ(all.exit_code, 0) << all.output;
  EXPECT_NE(all.output.find("signature_def['serving_default']"), std::string::npos) << all.output;
}

TEST_F(CliTest, RunWritesNamedOutputsAndReportsAccuracy) {
  const std::string images = testing::SourcePath("fixtures/mnist/heldout_images.npy");
  const std::string labels = testing::SourcePath("fixtures/mnist/heldout_labels.npy");
  Result r = RunKiln("run --dir " + model_ + " --input input_1=" + images + " --labels " + labels + " --output " +
                     Tmp("out.npz"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("probabilities: float32 [360,10]"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("top-1 accuracy"), std::string::npos) << r.output;
  KILN_ASSERT_OK_AND_ASSIGN(io::NamedTensors out, io::ReadNpz(Tmp("out.npz")));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].first, "probabilities");
  EXPECT_EQ(out[0].second.shape(), (Shape{360, 10}));
}

TEST_F(CliTest, BadInputsFailWithClearMessages) {
  ASSERT_TRUE(io::WriteFile(Tmp("junk.npy"), "definitely not numpy").ok());
  Result not_npy = RunKiln("run --dir " + model_ + " --input input_1=" + Tmp("junk.npy"));
  EXPECT_EQ(not_npy.exit_code, 1);
  EXPECT_NE(not_npy.output.find("is not a .npy file"), std::string::npos) << not_npy.output;

  ASSERT_TRUE(io::WriteNpy(Tmp("flat.npy"), Tensor(DType::kFloat32, {2, 784})).ok());
  Result shape = RunKiln("run --dir " + model_ + " --input input_1=" + Tmp("flat.npy"));
  EXPECT_EQ(shape.exit_code, 1);
  EXPECT_NE(shape.output.find("input 'input_1' expects float32 [?,28,28,1], got float32 [2,784]"), std::string::npos)
      << shape.output;

  Result missing = RunKiln("run --dir " + model_);
  EXPECT_NE(missing.output.find("missing input(s) 'input_1'"), std::string::npos) << missing.output;

  Result malformed = RunKiln("run --dir " + model_ + " --input input_1");
  EXPECT_NE(malformed.output.find("is not of the form NAME=file.npy"), std::string::npos) << malformed.output;

  Result no_dir = RunKiln("show --dir " + Tmp("nowhere"));
  EXPECT_EQ(no_dir.exit_code, 1);
  EXPECT_NE(no_dir.output.find("is not a directory"), std::string::npos) << no_dir.output;

  Result bad_sig = RunKiln("show --dir " + model_ + " --tag_set serve --signature_def nope");
  EXPECT_EQ(bad_sig.exit_code, 1);
  EXPECT_NE(bad_sig.output.find("signature 'nope' not found"), std::string::npos) << bad_sig.output;
}

// A loop in the model stops at --max-loop-iterations with an error naming it (the fixture's
// loop runs 7 iterations).
TEST_F(CliTest, RunStopsALoopAtTheIterationLimit) {
  const std::string dir = testing::FixturePath("onnx_loop");
  const std::string args = "run --model " + dir + "/model.onnx --input_npz " + dir + "/inputs.npz";
  Result enough = RunKiln(args + " --max-loop-iterations 7");
  EXPECT_EQ(enough.exit_code, 0) << enough.output;
  EXPECT_NE(enough.output.find("ys: float32 [7,3]"), std::string::npos) << enough.output;
  Result stopped = RunKiln(args + " --max-loop-iterations 6");
  EXPECT_EQ(stopped.exit_code, 1) << stopped.output;
  EXPECT_NE(stopped.output.find("the loop reached its limit of 6 iterations"), std::string::npos) << stopped.output;
  EXPECT_NE(stopped.output.find("(Loop)"), std::string::npos) << stopped.output;
}

// An ONNX file goes through the same commands: show gives its opsets, symbolic dims and op
// counts; run takes an .npz of inputs named as the graph's inputs.
TEST_F(CliTest, ShowAndRunAcceptOnnxFiles) {
  const std::string dir = testing::FixturePath("onnx_bert_encoder");
  Result show = RunKiln("show --model " + dir + "/model.onnx");
  EXPECT_EQ(show.exit_code, 0) << show.output;
  for (const char* want :
       {"Opsets: ai.onnx 18", "inputs['input_ids']: dtype int64, shape (batch, seq)",
        "outputs['pooler_output']: dtype float32, shape (batch, 64)", "LayerNormalization", "Frozen graph:"}) {
    EXPECT_NE(show.output.find(want), std::string::npos) << "missing '" << want << "' in:\n" << show.output;
  }
  Result run =
      RunKiln("run --model " + dir + "/model.onnx --input_npz " + dir + "/inputs.npz --output " + Tmp("bert.npz"));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  KILN_ASSERT_OK_AND_ASSIGN(io::NamedTensors out, io::ReadNpz(Tmp("bert.npz")));
  KILN_ASSERT_OK_AND_ASSIGN(io::NamedTensors want, io::ReadNpz(dir + "/outputs.npz"));
  ASSERT_EQ(out.size(), want.size());

  // bench synthesizes inputs; a symbolic dim without a value is named, with the way to give it.
  Result unbound = RunKiln("bench --model " + dir + "/model.onnx --batch 1 --iters 1 --warmup 0");
  EXPECT_EQ(unbound.exit_code, 1);
  EXPECT_NE(unbound.output.find("dim 1 ('seq') of input 'input_ids' has no value: give it with --dim seq=N"),
            std::string::npos)
      << unbound.output;
  Result bench = RunKiln("bench --model " + dir + "/model.onnx --dim seq=4 --batch 1,2 --iters 2 --warmup 0");
  EXPECT_EQ(bench.exit_code, 0) << bench.output;
  EXPECT_NE(bench.output.find("samples/s"), std::string::npos) << bench.output;
  // --soak: memory sampled along the runs, with its growth after the first tenth.
  Result soak = RunKiln("bench --model " + dir + "/model.onnx --dim seq=4 --batch 1 --soak 40 --warmup 0 --json " +
                        Tmp("soak.json"));
  EXPECT_EQ(soak.exit_code, 0) << soak.output;
  EXPECT_NE(soak.output.find("resident memory from run 4 to run 40"), std::string::npos) << soak.output;
  KILN_ASSERT_OK_AND_ASSIGN(std::string soak_json, io::ReadFile(Tmp("soak.json")));
  EXPECT_NE(soak_json.find("\"resident_growth_bytes\""), std::string::npos) << soak_json;

  ASSERT_TRUE(io::WriteFile(Tmp("junk.onnx"), "not a model").ok());
  Result junk = RunKiln("run --model " + Tmp("junk.onnx"));
  EXPECT_EQ(junk.exit_code, 1);
  EXPECT_NE(junk.output.find("not a valid ONNX model"), std::string::npos) << junk.output;
}

}  // namespace
}  // namespace kiln
