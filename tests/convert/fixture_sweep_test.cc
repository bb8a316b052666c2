// Every kind of fixture model through the converter at FP32: the converted model must give the
// native model's answers (engines run the same math, fused) and its engines must serve the calls.
#include <filesystem>

#include "convert/convert_test_util.h"

namespace kiln {
namespace {

class FixtureSweepTest : public ::testing::TestWithParam<std::string> {};

TEST_P(FixtureSweepTest, Fp32ConversionKeepsTheNativeAnswers) {
  const std::string dir = testing::FixturePath(GetParam());
  const std::string source = std::filesystem::exists(dir + "/model.onnx") ? dir + "/model.onnx" : dir + "/saved_model";
  KILN_ASSERT_OK_AND_ASSIGN(auto inputs_list, io::ReadNpz(dir + "/inputs.npz"));
  std::map<std::string, Tensor> inputs(inputs_list.begin(), inputs_list.end());
  KILN_ASSERT_OK_AND_ASSIGN(auto native, Model::Load(source));
  KILN_ASSERT_OK_AND_ASSIGN(auto expected, native->Run(inputs));

  testing::TempDir tmp("sweep");
  testing::WarningCapture warnings;
  KILN_ASSERT_OK_AND_ASSIGN(auto converted, testing::ConvertSaveLoad(source, ConversionParams{}, tmp.path("m")));
  EXPECT_EQ(converted->signature().inputs.size(), native->signature().inputs.size());
  KILN_ASSERT_OK_AND_ASSIGN(auto got, converted->Run(inputs));
  ASSERT_EQ(got.size(), expected.size());
  for (const auto& [name, want] : expected) {
    ASSERT_EQ(got.count(name), 1u) << name;
    EXPECT_TRUE(testing::TensorsNear(got.at(name), want, 1e-5, 1e-4)) << name;
  }
  ASSERT_FALSE(converted->engine_stats().empty());
  for (const auto& s : converted->engine_stats()) {
    EXPECT_EQ(s.engine_runs, 1) << s.name;
    EXPECT_EQ(s.native_runs, 0) << s.name;
  }
  EXPECT_TRUE(warnings.warnings().empty()) << warnings.All();
}

INSTANTIATE_TEST_SUITE_P(Fixtures, FixtureSweepTest,
                         ::testing::Values("resnet_keras3", "resnet_tfkeras", "separable_cnn", "transformer_keras3",
                                           "tfmodule_ops", "layers_activations_keras3", "layers_conv_tfkeras",
                                           "onnx_resnet18", "onnx_mobilenet_v3_small", "onnx_gpt_decoder",
                                           "onnx_bert_encoder", "onnx_ops_mix", "onnx_qdq_cnn"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace kiln
