// ONNX models exported from PyTorch run in kiln with onnxruntime's answers, and kiln describes
// their inputs and outputs (dtypes, symbolic dims) as the file declares them.
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "io/npy.h"
#include "kiln/model.h"
#include "util/test_util.h"

namespace kiln {
namespace {

namespace fs = std::filesystem;

// The fixtures scripts/fixtures/onnx_torch.py, onnx_minilm.py and onnx_control_flow.py build; a
// missing one is a failure, not a skip.
const std::vector<std::string> kFixtures = {
    "onnx_resnet18",     "onnx_mobilenet_v2", "onnx_mobilenet_v3_small", "onnx_efficientnet_b0", "onnx_regnet_y_400mf",
    "onnx_bert_encoder", "onnx_gpt_decoder",  "onnx_small_cnn",          "onnx_external_data",   "onnx_qdq_cnn",
    "onnx_ops_mix",      "onnx_minilm",       "onnx_cond",               "onnx_scan_rnn",        "onnx_loop",
    "onnx_scan_axes",    "onnx_torch_rnn",
};

nlohmann::json ReadMeta(const std::string& dir) { return nlohmann::json::parse(std::ifstream(dir + "/meta.json")); }

class OnnxFixtureTest : public ::testing::TestWithParam<std::string> {};

TEST_P(OnnxFixtureTest, MatchesOnnxRuntime) {
  const std::string dir = testing::FixturePath(GetParam());
  ASSERT_TRUE(fs::exists(dir + "/meta.json")) << "fixture missing: run scripts/make_fixtures.py (" << dir << ")";
  const nlohmann::json meta = ReadMeta(dir);
  const double atol = meta.value("atol", 1e-4), rtol = meta.value("rtol", 1e-4);

  KILN_ASSERT_OK_AND_ASSIGN(auto model, Model::Load(dir + "/model.onnx", {.device = testing::TestDevice()}));
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

TEST_P(OnnxFixtureTest, SignatureMatchesTheFile) {
  const std::string dir = testing::FixturePath(GetParam());
  ASSERT_TRUE(fs::exists(dir + "/meta.json")) << "fixture missing (" << dir << ")";
  const nlohmann::json meta = ReadMeta(dir);
  KILN_ASSERT_OK_AND_ASSIGN(OnnxModelInfo info, InspectOnnxModel(dir + "/model.onnx"));
  EXPECT_EQ(info.opsets.at(""), meta["opset"].get<int64_t>());
  for (const auto& [kind, specs] : {std::pair{"inputs", info.signature.inputs}, {"outputs", info.signature.outputs}}) {
    ASSERT_EQ(specs.size(), meta[kind].size()) << kind;
    for (const auto& spec : specs) {
      const auto& want = meta[kind].at(spec.name);
      EXPECT_EQ(DTypeName(spec.dtype), want["dtype"].get<std::string>()) << spec.name;
      ASSERT_EQ(spec.shape.dims.size(), want["shape"].size()) << spec.name;
      for (size_t d = 0; d < spec.shape.dims.size(); ++d) {
        if (want["shape"][d].is_string()) {
          EXPECT_EQ(spec.shape.dims[d], -1) << spec.name << " dim " << d;
          EXPECT_EQ(spec.dim_names[d], want["shape"][d].get<std::string>()) << spec.name << " dim " << d;
        } else {
          EXPECT_EQ(spec.shape.dims[d], want["shape"][d].get<int64_t>()) << spec.name << " dim " << d;
        }
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Torch, OnnxFixtureTest, ::testing::ValuesIn(kFixtures),
                         [](const auto& info) { return info.param; });

// Dynamic dims really are dynamic: the same loaded model runs other batch and sequence sizes.
TEST(OnnxDynamicShapeTest, GptDecoderRunsOtherSequenceLengths) {
  const std::string dir = testing::FixturePath("onnx_gpt_decoder");
  KILN_ASSERT_OK_AND_ASSIGN(auto model, Model::Load(dir + "/model.onnx", {.device = testing::TestDevice()}));
  for (auto [batch, seq] : {std::pair<int64_t, int64_t>{1, 1}, {3, 7}}) {
    Tensor ids(DType::kInt64, {batch, seq});
    for (int64_t i = 0; i < ids.num_elements(); ++i) ids.data<int64_t>()[i] = (i * 37) % 1000;
    KILN_ASSERT_OK_AND_ASSIGN(auto out, model->Run({{"input_ids", ids}}));
    EXPECT_EQ(out.at("logits").shape(), (Shape{batch, seq, 1000}));
  }
}

// The causal mask: logits at position t do not depend on tokens after t.
TEST(OnnxDynamicShapeTest, GptDecoderIsCausal) {
  const std::string dir = testing::FixturePath("onnx_gpt_decoder");
  KILN_ASSERT_OK_AND_ASSIGN(auto model, Model::Load(dir + "/model.onnx", {.device = testing::TestDevice()}));
  Tensor a(DType::kInt64, {1, 6});
  for (int64_t i = 0; i < 6; ++i) a.data<int64_t>()[i] = 10 + i;
  Tensor b = a.Clone();
  b.data<int64_t>()[5] = 999;
  KILN_ASSERT_OK_AND_ASSIGN(auto out_a, model->Run({{"input_ids", a}}));
  KILN_ASSERT_OK_AND_ASSIGN(auto out_b, model->Run({{"input_ids", b}}));
  const float* la = out_a.at("logits").data<float>();
  const float* lb = out_b.at("logits").data<float>();
  for (int64_t i = 0; i < 5 * 1000; ++i) ASSERT_EQ(la[i], lb[i]) << "position " << i / 1000;
  bool last_differs = false;
  for (int64_t i = 5 * 1000; i < 6 * 1000; ++i) last_differs |= la[i] != lb[i];
  EXPECT_TRUE(last_differs);
}

}  // namespace
}  // namespace kiln
