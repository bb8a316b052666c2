// Every kind of fixture model through the converter at FP32, FP16 and BF16: the converted model must
// give the native model's answers (engines run the same math, fused, in the precision asked for) and
// its engines must serve the calls.
#include <filesystem>

#include "convert/convert_test_util.h"

namespace kiln {
namespace {

class FixtureSweepTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    dir_ = testing::FixturePath(GetParam());
    source_ = std::filesystem::exists(dir_ + "/model.onnx") ? dir_ + "/model.onnx" : dir_ + "/saved_model";
    KILN_ASSERT_OK_AND_ASSIGN(auto inputs_list, io::ReadNpz(dir_ + "/inputs.npz"));
    inputs_ = std::map<std::string, Tensor>(inputs_list.begin(), inputs_list.end());
    KILN_ASSERT_OK_AND_ASSIGN(auto native, Model::Load(source_));
    KILN_ASSERT_OK_AND_ASSIGN(expected_, native->Run(inputs_));
  }

  // Converts at `precision` with engines for the test device (KILN_TEST_DEVICE, else the CPU), runs
  // there, and checks each output against the native FP32 answers within atol + rtol * max |want|.
  void CheckConversion(Precision precision, double atol, double rtol) {
    testing::TempDir tmp("sweep");
    testing::WarningCapture warnings;
    ConversionParams params;
    params.precision_mode = precision;
    KILN_ASSERT_OK_AND_ASSIGN(auto converted, testing::ConvertSaveLoad(source_, params, tmp.path("m"), {}, {}, true,
                                                                       testing::TestDevice()));
    KILN_ASSERT_OK_AND_ASSIGN(auto got, converted->Run(inputs_));
    ASSERT_EQ(got.size(), expected_.size());
    for (const auto& [name, want] : expected_) {
      ASSERT_EQ(got.count(name), 1u) << name;
      const double scale = testing::MaxAbs(want);
      EXPECT_LE(testing::MaxAbsDiff(got.at(name), want), atol + rtol * scale) << name << " (max |want| " << scale << ")";
    }
    ASSERT_FALSE(converted->engine_stats().empty());
    for (const auto& s : converted->engine_stats()) {
      EXPECT_EQ(s.engine_runs, 1) << s.name;
      EXPECT_EQ(s.native_runs, 0) << s.name;
    }
    EXPECT_TRUE(warnings.warnings().empty()) << warnings.All();
  }

  std::string dir_, source_;
  std::map<std::string, Tensor> inputs_, expected_;
};

// Engines run the same math, fused: the native answers, to float32 rounding.
TEST_P(FixtureSweepTest, Fp32ConversionKeepsTheNativeAnswers) { CheckConversion(Precision::kFP32, 1e-4, 1e-4); }

// Values stored in 16 bits: within a few fp16 roundings of the native answers.
TEST_P(FixtureSweepTest, Fp16ConversionStaysClose) { CheckConversion(Precision::kFP16, 1e-2, 2e-2); }

// bfloat16 keeps 8 bits of mantissa to float16's 11: eight times the rounding.
TEST_P(FixtureSweepTest, Bf16ConversionStaysClose) { CheckConversion(Precision::kBF16, 8e-2, 1.6e-1); }

INSTANTIATE_TEST_SUITE_P(Fixtures, FixtureSweepTest,
                         ::testing::Values("resnet_keras3", "resnet_tfkeras", "separable_cnn", "transformer_keras3",
                                           "tfmodule_ops", "layers_activations_keras3", "layers_conv_tfkeras",
                                           "onnx_resnet18", "onnx_mobilenet_v3_small", "onnx_gpt_decoder",
                                           "onnx_bert_encoder", "onnx_ops_mix", "onnx_qdq_cnn"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace kiln
