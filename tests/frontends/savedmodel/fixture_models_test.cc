// Every fixture SavedModel, written by TensorFlow, runs in kiln with TensorFlow's answers.
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "io/npy.h"
#include "kiln/model.h"
#include "util/test_util.h"

namespace kiln {
namespace {

namespace fs = std::filesystem;

// The fixtures scripts/make_fixtures.py builds; a missing one is a failure, not a skip.
const std::vector<std::string> kFixtures = {
    "dense_blog",           "dense_tfmodule",         "mnist_tfmodule",           "mnist_keras3",
    "mnist_tfkeras",        "resnet_keras3",          "resnet_tfkeras",           "separable_cnn",
    "separable_cnn_tfkeras", "transformer_keras3",    "transformer_tfkeras",      "tfmodule_ops",
    "layers_activations_keras3", "layers_activations_tfkeras", "layers_conv_keras3", "layers_conv_tfkeras",
    "layers_merge_keras3",  "layers_merge_tfkeras",   "layers_pool_keras3",       "layers_pool_tfkeras",
    "layers_shape_keras3",  "layers_shape_tfkeras",   "tf_cond",                  "tf_while",
    "tf_tensor_arrays",     "rnn_cells_keras3",       "rnn_cells_tfkeras",        "rnn_stacked_keras3",
    "rnn_stacked_tfkeras",
};

class FixtureModelTest : public ::testing::TestWithParam<std::string> {};

TEST_P(FixtureModelTest, MatchesTensorFlow) {
  const std::string dir = testing::FixturePath(GetParam());
  ASSERT_TRUE(fs::exists(dir + "/meta.json")) << "fixture missing: run scripts/make_fixtures.py (" << dir << ")";
  nlohmann::json meta = nlohmann::json::parse(std::ifstream(dir + "/meta.json"));
  const double atol = meta.value("atol", 1e-4), rtol = meta.value("rtol", 1e-4);

  LoadOptions options;
  options.device = testing::TestDevice();
  options.signature_key = meta.value("signature_key", "serving_default");
  KILN_ASSERT_OK_AND_ASSIGN(auto model, Model::Load(dir + "/saved_model", options));
  KILN_ASSERT_OK_AND_ASSIGN(io::NamedTensors inputs, io::ReadNpz(dir + "/inputs.npz"));
  KILN_ASSERT_OK_AND_ASSIGN(io::NamedTensors expected, io::ReadNpz(dir + "/outputs.npz"));
  std::map<std::string, Tensor> feed(inputs.begin(), inputs.end());
  KILN_ASSERT_OK_AND_ASSIGN(auto outputs, model->Run(feed));
  ASSERT_EQ(outputs.size(), expected.size());
  for (const auto& [name, want] : expected) {
    ASSERT_TRUE(outputs.count(name)) << "kiln produced no output '" << name << "'";
    EXPECT_TRUE(testing::TensorsNear(outputs.at(name), want, atol, rtol)) << "output '" << name << "'";
  }
}

INSTANTIATE_TEST_SUITE_P(SavedModels, FixtureModelTest, ::testing::ValuesIn(kFixtures),
                         [](const auto& info) { return info.param; });

// The three writers of the same trained MNIST network classify the held-out digits alike.
TEST(MnistFixtureTest, HeldOutAccuracyMatchesEveryWriter) {
  for (const char* name : {"mnist_tfmodule", "mnist_keras3", "mnist_tfkeras"}) {
    const std::string dir = testing::FixturePath(name);
    KILN_ASSERT_OK_AND_ASSIGN(auto model, Model::Load(dir + "/saved_model", {.device = testing::TestDevice()}));
    KILN_ASSERT_OK_AND_ASSIGN(Tensor images, io::ReadNpy(dir + "/heldout_images.npy"));
    KILN_ASSERT_OK_AND_ASSIGN(Tensor labels, io::ReadNpy(dir + "/heldout_labels.npy"));
    ASSERT_EQ(model->signature().inputs.size(), 1u);
    KILN_ASSERT_OK_AND_ASSIGN(auto out, model->Run({{model->signature().inputs[0].name, images}}));
    const Tensor& probs = out.begin()->second;
    ASSERT_EQ(probs.shape(), (Shape{images.dim(0), 10}));
    KILN_ASSERT_OK_AND_ASSIGN(std::vector<int64_t> truth, labels.ToInt64Vector());
    int correct = 0;
    for (int64_t i = 0; i < images.dim(0); ++i) {
      const float* row = probs.data<float>() + i * 10;
      correct += std::max_element(row, row + 10) - row == truth[i];
    }
    EXPECT_GT(static_cast<double>(correct) / images.dim(0), 0.9) << name;
  }
}

}  // namespace
}  // namespace kiln
