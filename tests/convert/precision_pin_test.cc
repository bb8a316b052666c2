// keep_precision: layers pinned above their engine's precision, by node name or op type, at
// conversion or at load; and loading a converted model to run its original segments.
#include <algorithm>

#include "api/model_impl.h"
#include "convert/convert_test_util.h"
#include "convert/attach.h"
#include "convert/record.h"

namespace kiln {
namespace {

using testing::Mnist;
using testing::MnistBatches;
using testing::MnistModel;

// The notes of the converted model's engines that say what a pin kept.
std::vector<std::string> PinNotes(const ConversionSummary& s) {
  std::vector<std::string> out;
  for (const std::string& n : s.notes) {
    if (n.find("kept in ") != std::string::npos) out.push_back(n);
  }
  return out;
}

// The name of the first node of op type `op` in the MNIST model's graph.
std::string FirstNodeOf(const std::string& op) {
  auto imported = api::ImportModel(MnistModel(), {});
  if (!imported.ok()) return "";
  for (int i = 0; i < imported->graph.num_nodes(); ++i) {
    if (imported->graph.node(i).op == op) return imported->graph.node(i).name;
  }
  return "";
}

StatusOr<ConversionSummary> ConvertInt8(const std::vector<PrecisionPin>& pins, const std::string& dir,
                                        std::unique_ptr<Model>* model = nullptr) {
  ConversionParams params;
  params.precision_mode = Precision::kINT8;
  params.keep_precision = pins;
  KILN_ASSIGN_OR_RETURN(auto converted, testing::ConvertSaveLoad(MnistModel(), params, dir,
                                                                 InputsFrom(MnistBatches(128, 64)),
                                                                 InputsFrom(MnistBatches(360, 360))));
  if (model != nullptr) *model = std::move(converted);
  return SummarizeConvertedModel(dir);
}

TEST(PrecisionPins, ParseAndPrint) {
  KILN_ASSERT_OK_AND_ASSIGN(PrecisionPin pin, ParsePrecisionPin("fp32:dense/MatMul"));
  EXPECT_EQ(pin.precision, Precision::kFP32);
  EXPECT_EQ(pin.layer, "dense/MatMul");
  EXPECT_EQ(PrecisionPinToString(pin), "fp32:dense/MatMul");
  for (const char* bad : {"dense/MatMul", "fp16:", "fp64:x", "int8:x"}) {
    auto parsed = ParsePrecisionPin(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_NE(parsed.status().message().find(bad), std::string::npos) << parsed.status().message();
  }
}

TEST(PrecisionPins, AnOpTypePinKeepsEveryLayerOfItOutOfInt8) {
  testing::TempDir plain_dir("pins_plain"), pinned_dir("pins_conv");
  std::unique_ptr<Model> plain, pinned;
  KILN_ASSERT_OK_AND_ASSIGN(ConversionSummary s0, ConvertInt8({}, plain_dir.path("m"), &plain));
  KILN_ASSERT_OK_AND_ASSIGN(ConversionSummary s1,
                            ConvertInt8({{Precision::kFP16, "Conv2D"}}, pinned_dir.path("m"), &pinned));
  EXPECT_TRUE(PinNotes(s0).empty());
  // Both convolutions, found through the fused nodes that took their place.
  const std::vector<std::string> notes = PinNotes(s1);
  ASSERT_EQ(notes.size(), 2u) << s1.ToString();
  for (const std::string& n : notes) {
    EXPECT_NE(n.find("kept in fp16: "), std::string::npos) << n;
    EXPECT_NE(n.find("(KilnFusedConv2D) by keep_precision fp16:Conv2D"), std::string::npos) << n;
  }
  EXPECT_NE(s1.ToString().find("2 conv/matmul layer(s) computed in int8"), std::string::npos) << s1.ToString();
  EXPECT_NE(s0.ToString().find("4 conv/matmul layer(s) computed in int8"), std::string::npos) << s0.ToString();
  // The pin travels with the model.
  const std::string record_path = convert::ConversionRecordPath(pinned_dir.path("m"));
  KILN_ASSERT_OK_AND_ASSIGN(auto record, convert::ReadConversionRecord(record_path));
  ASSERT_EQ(record.params.keep_precision.size(), 1u);
  EXPECT_EQ(PrecisionPinToString(record.params.keep_precision[0]), "fp16:Conv2D");
  KILN_ASSERT_OK_AND_ASSIGN(Tensor a, testing::RunSingle(*plain, "input_1", Mnist().images));
  KILN_ASSERT_OK_AND_ASSIGN(Tensor b, testing::RunSingle(*pinned, "input_1", Mnist().images));
  EXPECT_GT(testing::MaxAbsDiff(a, b), 0.0);  // the pinned layers compute differently
}

TEST(PrecisionPins, ANodeNamePinFindsTheFusedLayerThatAbsorbedIt) {
  const std::string conv = FirstNodeOf("Conv2D");
  ASSERT_FALSE(conv.empty());
  testing::TempDir dir("pins_name");
  KILN_ASSERT_OK_AND_ASSIGN(ConversionSummary s, ConvertInt8({{Precision::kFP32, conv}}, dir.path("m")));
  const std::vector<std::string> notes = PinNotes(s);
  ASSERT_EQ(notes.size(), 1u) << s.ToString();
  EXPECT_NE(notes[0].find("kept in fp32: "), std::string::npos) << notes[0];
  EXPECT_NE(notes[0].find("by keep_precision fp32:" + conv), std::string::npos) << notes[0];
}

TEST(PrecisionPins, Fp32PinsLeaveFp16LayersUnrounded) {
  testing::TempDir dir("pins_fp16");
  ConversionParams params;
  params.precision_mode = Precision::kFP16;
  params.keep_precision = {{Precision::kFP32, "Softmax"}};
  KILN_ASSERT_OK_AND_ASSIGN(auto model, testing::ConvertSaveLoad(MnistModel(), params, dir.path("m"), {},
                                                                 InputsFrom(MnistBatches(8, 8))));
  KILN_ASSERT_OK_AND_ASSIGN(ConversionSummary s, SummarizeConvertedModel(dir.path("m")));
  const std::vector<std::string> notes = PinNotes(s);
  ASSERT_EQ(notes.size(), 1u) << s.ToString();
  EXPECT_NE(notes[0].find("(Softmax) by keep_precision fp32:Softmax"), std::string::npos) << notes[0];
  // The probabilities are not rounded to fp16: some differ from every fp16 value near them.
  KILN_ASSERT_OK_AND_ASSIGN(Tensor got, testing::RunSingle(*model, "input_1", testing::Rows(Mnist().images, 0, 8)));
  bool unrounded = false;
  for (int64_t i = 0; i < got.num_elements(); ++i) {
    const float v = got.data<float>()[i];
    unrounded |= HalfToFloat(FloatToHalf(v)) != v;
  }
  EXPECT_TRUE(unrounded);
}

TEST(PrecisionPins, PinsThatNameNothingAreErrors) {
  testing::TempDir dir("pins_bad");
  ConversionParams params;
  params.precision_mode = Precision::kFP16;
  params.keep_precision = {{Precision::kFP32, "no_such_layer"}};
  auto converted = testing::ConvertSaveLoad(MnistModel(), params, dir.path("m"));
  ASSERT_FALSE(converted.ok());
  EXPECT_NE(converted.status().message().find("keep_precision 'fp32:no_such_layer' names no node"),
            std::string::npos)
      << converted.status().ToString();
}

TEST(PrecisionPins, PinsAtLoadRebuildTheEngines) {
  testing::TempDir dir("pins_load");
  KILN_ASSERT_OK(ConvertInt8({}, dir.path("m")).status());
  LoadOptions load;
  load.keep_precision = {{Precision::kFP16, "MatMul"}};
  KILN_ASSERT_OK_AND_ASSIGN(auto model, Model::Load(dir.path("m"), load));
  KILN_ASSERT_OK(testing::RunSingle(*model, "input_1", Mnist().images).status());
  const EngineOpStats stats = model->engine_stats().at(0);
  EXPECT_EQ(stats.engines_loaded, 0);
  EXPECT_EQ(stats.engines_built, 1);
  EXPECT_EQ(stats.engine_runs, 1);
  load.keep_precision = {{Precision::kFP16, "Conv3D"}};
  auto bad = Model::Load(dir.path("m"), load);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("fp16:Conv3D"), std::string::npos) << bad.status().ToString();
}

TEST(PrecisionPins, WithoutEnginesAConvertedModelComputesWhatTheOriginalDid) {
  testing::TempDir dir("pins_native");
  KILN_ASSERT_OK(ConvertInt8({}, dir.path("m")).status());
  KILN_ASSERT_OK_AND_ASSIGN(auto original, Model::Load(MnistModel()));
  KILN_ASSERT_OK_AND_ASSIGN(Tensor want, testing::RunSingle(*original, "input_1", Mnist().images));
  LoadOptions load;
  load.use_engines = false;
  KILN_ASSERT_OK_AND_ASSIGN(auto native, Model::Load(dir.path("m"), load));
  testing::WarningCapture warnings;
  KILN_ASSERT_OK_AND_ASSIGN(Tensor got, testing::RunSingle(*native, "input_1", Mnist().images));
  EXPECT_EQ(testing::MaxAbsDiff(got, want), 0.0);
  EXPECT_EQ(native->engine_stats().at(0).native_runs, 1);
  EXPECT_EQ(native->engine_stats().at(0).engine_runs, 0);
  EXPECT_TRUE(warnings.warnings().empty()) << warnings.All();
}

}  // namespace
}  // namespace kiln
