// `kiln convert`, `kiln build` and `kiln summary` as a user runs them.
#include <filesystem>

#include "cli/cli_test_util.h"
#include "convert/convert_test_util.h"
#include "io/npy.h"

namespace kiln {
namespace {

namespace fs = std::filesystem;
using testing::RunKiln;

class ConvertCliTest : public ::testing::Test {
 protected:
  std::string model_ = testing::MnistModel();
  std::string images_ = testing::SourcePath("fixtures/mnist/heldout_images.npy");
  std::string labels_ = testing::SourcePath("fixtures/mnist/heldout_labels.npy");
  testing::TempDir tmp_{"convert_cli"};
};

TEST_F(ConvertCliTest, Int8WorkflowFromTheCommandLine) {
  // Calibration samples: the first 64 held-out digits under the input's name.
  KILN_ASSERT_OK(io::WriteNpz(tmp_.path("calib.npz"), {{"input_1", testing::Rows(testing::Mnist().images, 0, 64)}}));
  const std::string out = tmp_.path("int8");
  auto r = RunKiln("convert --input " + model_ + " --output " + out +
                   " --backend cpu --precision int8 --calibration-data " + tmp_.path("calib.npz") +
                   " --calibrator percentile --calibration-batch-size 16 --build-input input_1=360x28x28x1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("converted 15 of 15 ops into 1 segment(s) at int8; 1 engine(s) saved"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("on 4 input set(s) with the percentile calibrator"), std::string::npos) << r.output;
  EXPECT_TRUE(fs::exists(out + "/assets/kiln/engines/KilnEngineOp_0.0.engine"));

  auto summary = RunKiln("summary --dir " + out);
  ASSERT_EQ(summary.exit_code, 0) << summary.output;
  for (const char* want :
       {"precision: int8", "ops converted: 15 of 15 (100.0%)", "KilnEngineOp_0: 15 nodes",
        "input  kiln_input_0 float32 [?,28,28,1]  <- serving_default_input_1:0", "output kiln_output_0 float32 [?,10]",
        "engines built: [360,28,28,1]", "Conv2D: 2", "native nodes (0)"}) {
    EXPECT_NE(summary.output.find(want), std::string::npos) << "missing '" << want << "' in:\n" << summary.output;
  }
  auto run = RunKiln("run --dir " + out + " --input input_1=" + images_ + " --labels " + labels_);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("top-1 accuracy of 'probabilities' on 360 labelled samples"), std::string::npos);
  EXPECT_EQ(run.output.find("warning"), std::string::npos) << "the saved engine should serve: " << run.output;
}

// `kiln bench --profile` of a converted model shows the engine op and, op by op, what runs in it.
TEST_F(ConvertCliTest, BenchProfileSeesInsideEngines) {
  const std::string out = tmp_.path("fp32");
  auto r = RunKiln("convert --input " + model_ + " --output " + out + " --backend cpu --precision fp32");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto bench = RunKiln("bench --dir " + out + " --batch 4 --iters 2 --warmup 1 --profile");
  ASSERT_EQ(bench.exit_code, 0) << bench.output;
  for (const char* want : {"profile of one run at batch 4", "KilnEngineOp", "inside engines, op by op",
                           "in engines: KilnFusedConv2D", "in engines: MaxPool"}) {
    EXPECT_NE(bench.output.find(want), std::string::npos) << "missing '" << want << "' in:\n" << bench.output;
  }
}

TEST_F(ConvertCliTest, NoEnginesThenKilnBuild) {
  const std::string out = tmp_.path("fp16");
  auto r = RunKiln("convert --input " + model_ + " --output " + out +
                   " --backend cpu --precision fp16 --build-input input_1=8x28x28x1 --no-engines --denylist Reshape "
                   "--no-build-at-runtime --maximum-cached-engines 2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("into 2 segment(s)"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(out + "/assets/kiln/engines/KilnEngineOp_0.0.engine"));
  auto summary = RunKiln("summary --dir " + out);
  EXPECT_NE(summary.output.find("Reshape): op Reshape is on the denylist"), std::string::npos) << summary.output;
  EXPECT_NE(summary.output.find("engines built: none"), std::string::npos) << summary.output;

  auto build = RunKiln("build --dir " + out + " --device cpu --build-input input_1=8x28x28x1 --build-input "
                       "input_1=1x28x28x1");
  ASSERT_EQ(build.exit_code, 0) << build.output;
  EXPECT_NE(build.output.find("KilnEngineOp_0: [1,28,28,1]; [8,28,28,1]"), std::string::npos) << build.output;
  EXPECT_TRUE(fs::exists(out + "/assets/kiln/engines/KilnEngineOp_1.1.engine"));
}

TEST_F(ConvertCliTest, BadArgumentsFailClearly) {
  const std::string out = tmp_.path("bad");
  auto precision = RunKiln("convert --input " + model_ + " --output " + out + " --precision int4");
  EXPECT_EQ(precision.exit_code, 1);
  EXPECT_NE(precision.output.find("unknown precision 'int4'; expected fp32, fp16, bf16, int8 or fp8"), std::string::npos);

  auto calib = RunKiln("convert --input " + model_ + " --output " + out + " --precision int8");
  EXPECT_EQ(calib.exit_code, 1);
  EXPECT_NE(calib.output.find("--calibration-data"), std::string::npos) << calib.output;

  auto shape = RunKiln("convert --input " + model_ + " --output " + out + " --build-input input_1=8x28x28");
  EXPECT_EQ(shape.exit_code, 1);
  EXPECT_NE(shape.output.find("input 'input_1' takes shapes [?,28,28,1]"), std::string::npos) << shape.output;

  auto name = RunKiln("convert --input " + model_ + " --output " + out + " --build-input images=8x28x28x1");
  EXPECT_NE(name.output.find("--build-input names 'images', which is not an input; inputs: input_1"), std::string::npos)
      << name.output;

  auto dims = RunKiln("convert --input " + model_ + " --output " + out + " --build-input input_1=8xAx28x1");
  EXPECT_NE(dims.output.find("'A' is not a dimension"), std::string::npos) << dims.output;

  KILN_ASSERT_OK(io::WriteNpz(tmp_.path("flat.npz"), {{"input_1", Tensor(DType::kFloat32, {4, 784})}}));
  auto wrong = RunKiln("convert --input " + model_ + " --output " + out + " --precision int8 --calibration-data " +
                       tmp_.path("flat.npz"));
  EXPECT_EQ(wrong.exit_code, 1);
  EXPECT_NE(wrong.output.find("calibration input set 1: input 'input_1' expects float32 [?,28,28,1], got float32 "
                              "[4,784]"),
            std::string::npos)
      << wrong.output;

  auto strategy = RunKiln("convert --input " + model_ + " --output " + out + " --dynamic-shape --profile-strategy x");
  EXPECT_NE(strategy.output.find("unknown profile strategy 'x'"), std::string::npos) << strategy.output;

  auto backend = RunKiln("convert --input " + model_ + " --output " + out + " --backend tpu");
  EXPECT_EQ(backend.exit_code, 1);
  EXPECT_NE(backend.output.find("unknown device 'tpu'; expected cpu, cuda or cuda:N"), std::string::npos)
      << backend.output;
  const std::string missing_gpu = "cuda:" + std::to_string(CudaDeviceCount());
  auto gpu = RunKiln("convert --input " + model_ + " --output " + out + " --backend " + missing_gpu);
  EXPECT_EQ(gpu.exit_code, 1);
  EXPECT_NE(gpu.output.find("engine_device: cannot use " + missing_gpu), std::string::npos) << gpu.output;

  auto not_converted = RunKiln("summary --dir " + model_);
  EXPECT_EQ(not_converted.exit_code, 1);
  EXPECT_NE(not_converted.output.find("is not a model converted by kiln"), std::string::npos);
}

TEST_F(ConvertCliTest, CompareShowsWhereAccuracyGoes) {
  const std::string out = tmp_.path("int8_compare");
  auto r = RunKiln("convert --input " + model_ + " --output " + out + " --backend cpu --precision int8 " +
                   "--calibration-data " + testing::SourcePath("fixtures/mnist/calibration.npz") +
                   " --keep-precision fp16:MaxPool,fp32:Softmax --build-input input_1=8x28x28x1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto compare = RunKiln("compare --dir " + out + " --input_npz " +
                         testing::SourcePath("fixtures/mnist/inputs.npz") + " --max-layers 2");
  ASSERT_EQ(compare.exit_code, 0) << compare.output;
  for (const char* want : {"converted (int8 engines on cpu) against the original ops in fp32, on 1 input set(s)",
                           "probabilities", "KilnEngineOp_0:0", "1. ", "2. ", "--keep-precision fp16:"}) {
    EXPECT_NE(compare.output.find(want), std::string::npos) << "missing '" << want << "' in:\n" << compare.output;
  }
  auto summary = RunKiln("summary --dir " + out);
  EXPECT_NE(summary.output.find("kept in fp32: "), std::string::npos) << summary.output;
  EXPECT_NE(summary.output.find("by keep_precision fp16:MaxPool"), std::string::npos) << summary.output;
  auto random = RunKiln("compare --dir " + out + " --no-layers");
  ASSERT_EQ(random.exit_code, 0) << random.output;
  EXPECT_NE(random.output.find("random inputs"), std::string::npos) << random.output;
  auto bad = RunKiln("convert --input " + model_ + " --output " + tmp_.path("bad") + " --keep-precision int8:Conv2D");
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.output.find("keeps a layer in fp32, fp16 or bf16"), std::string::npos) << bad.output;
}

}  // namespace
}  // namespace kiln
