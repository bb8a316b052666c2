// Reduced-precision engines on real weights and real data: the pretrained all-MiniLM-L6-v2 sentence
// embedder (scripts/fixtures/onnx_minilm.py) converted at FP16, FP8 and INT8 (calibrated on other
// sentences), each test sentence's embedding compared with the FP32 one by cosine similarity.
#include <cmath>
#include <cstdio>
#include <optional>

#include "convert/convert_test_util.h"
#include "io/npy.h"

namespace kiln {
namespace {

class SentenceEmbeddingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::FixturePath("onnx_minilm");
    KILN_ASSERT_OK_AND_ASSIGN(io::NamedTensors inputs, io::ReadNpz(dir_ + "/inputs.npz"));
    inputs_ = std::map<std::string, Tensor>(inputs.begin(), inputs.end());
    KILN_ASSERT_OK_AND_ASSIGN(io::NamedTensors calibration, io::ReadNpz(dir_ + "/calibration.npz"));
    // Two calibration batches of half the sentences each.
    for (int64_t start : {int64_t{0}, calibration.begin()->second.dim(0) / 2}) {
      InputSet set;
      for (const auto& [name, t] : calibration) set[name] = testing::Rows(t, start, t.dim(0) / 2);
      calibration_.push_back(std::move(set));
    }
    KILN_ASSERT_OK_AND_ASSIGN(auto native, Model::Load(dir_ + "/model.onnx"));
    KILN_ASSERT_OK_AND_ASSIGN(auto out, native->Run(inputs_));
    want_ = out.at("sentence_embedding");
  }

  // The smallest cosine similarity, over the test sentences, of the converted model's embeddings
  // to the FP32 ones.
  double MinCosine(Precision precision, CalibratorKind calibrator = CalibratorKind::kMinMax,
                   std::optional<float> smoothing_alpha = std::nullopt) {
    testing::TempDir tmp("minilm");
    ConversionParams params;
    params.precision_mode = precision;
    params.calibrator = calibrator;
    params.smoothing_alpha = smoothing_alpha;
    auto model = testing::ConvertSaveLoad(dir_ + "/model.onnx", params, tmp.path("m"), InputsFrom(calibration_));
    EXPECT_TRUE(model.ok()) << model.status().ToString();
    if (!model.ok()) return 0.0;
    auto out = (*model)->Run(inputs_);
    EXPECT_TRUE(out.ok()) << out.status().ToString();
    if (!out.ok()) return 0.0;
    const Tensor& got = out->at("sentence_embedding");
    const int64_t rows = want_.dim(0), cols = want_.dim(1);
    double lowest = 1.0;
    for (int64_t r = 0; r < rows; ++r) {
      double dot = 0, g2 = 0, w2 = 0;
      for (int64_t c = 0; c < cols; ++c) {
        const double g = got.data<float>()[r * cols + c], w = want_.data<float>()[r * cols + c];
        dot += g * w;
        g2 += g * g;
        w2 += w * w;
      }
      lowest = std::min(lowest, dot / std::sqrt(g2 * w2));
    }
    std::printf("%s (%s calibrator): lowest cosine similarity to fp32 %.5f\n", PrecisionName(precision),
                CalibratorName(calibrator), lowest);
    return lowest;
  }

  std::string dir_;
  std::map<std::string, Tensor> inputs_;
  std::vector<InputSet> calibration_;
  Tensor want_;
};

TEST_F(SentenceEmbeddingTest, Fp16KeepsTheEmbeddings) { EXPECT_GE(MinCosine(Precision::kFP16), 0.9999); }

TEST_F(SentenceEmbeddingTest, Fp8KeepsTheEmbeddingsAbove099) { EXPECT_GE(MinCosine(Precision::kFP8), 0.99); }

// INT8 smooths the activations of the linear layers, with alpha chosen per layer on the calibration
// sentences; whatever the calibrator.
TEST_F(SentenceEmbeddingTest, Int8KeepsTheEmbeddingsAbove099) {
  EXPECT_GE(MinCosine(Precision::kINT8, CalibratorKind::kEntropy), 0.99);
  EXPECT_GE(MinCosine(Precision::kINT8, CalibratorKind::kMinMax), 0.99);
}

// Without smoothing, one INT8 scale per activation loses the outlier channels' neighbours.
TEST_F(SentenceEmbeddingTest, SmoothingIsWhatKeepsInt8Close) {
  const double smoothed = MinCosine(Precision::kINT8, CalibratorKind::kMinMax);
  const double fixed = MinCosine(Precision::kINT8, CalibratorKind::kMinMax, 0.7f);
  const double unsmoothed = MinCosine(Precision::kINT8, CalibratorKind::kMinMax, 0.0f);
  EXPECT_LT(unsmoothed, 0.99);
  EXPECT_GT(smoothed, unsmoothed);
  EXPECT_GT(fixed, unsmoothed);
}

}  // namespace
}  // namespace kiln
