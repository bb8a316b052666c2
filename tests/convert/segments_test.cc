// How the converter cuts models: an unsupported op in the middle, the denylist,
// minimum_segment_size, and conversion disabled; each native node with its reason.
#include "convert/convert_test_util.h"

namespace kiln {
namespace {

using testing::Mnist;
using testing::MnistModel;

const ConversionSummary::NativeNode* FindNative(const ConversionSummary& s, const std::string& op) {
  for (const auto& n : s.native_nodes) {
    if (n.op == op) return &n;
  }
  return nullptr;
}

TEST(ConverterSegments, UnsupportedOpInTheMiddleGivesTwoEnginesAndANativeOp) {
  const std::string dir = testing::FixturePath("converter_cumsum_middle");
  KILN_ASSERT_OK_AND_ASSIGN(auto inputs, io::ReadNpz(dir + "/inputs.npz"));
  KILN_ASSERT_OK_AND_ASSIGN(auto outputs, io::ReadNpz(dir + "/outputs.npz"));
  testing::TempDir tmp("cumsum");
  KILN_ASSERT_OK_AND_ASSIGN(auto converted,
                            testing::ConvertSaveLoad(dir + "/saved_model", ConversionParams{}, tmp.path("m")));
  KILN_ASSERT_OK_AND_ASSIGN(Tensor got, testing::RunSingle(*converted, "images", inputs[0].second));
  EXPECT_TRUE(testing::TensorsNear(got, outputs[0].second, 1e-5, 1e-4));  // against TensorFlow

  const auto stats = converted->engine_stats();
  ASSERT_EQ(stats.size(), 2u);
  for (const auto& s : stats) {
    EXPECT_EQ(s.engine_runs, 1) << s.name;
    EXPECT_EQ(s.native_runs, 0) << s.name;
  }
  KILN_ASSERT_OK_AND_ASSIGN(ConversionSummary summary, SummarizeConvertedModel(tmp.path("m")));
  ASSERT_EQ(summary.engines.size(), 2u);
  EXPECT_EQ(summary.engines[0].name, "KilnEngineOp_0");  // named in graph order
  EXPECT_EQ(summary.engines[0].op_counts.at("Conv2D"), 2);
  EXPECT_EQ(summary.engines[1].op_counts.at("Conv2D"), 1);
  EXPECT_NE(summary.engines[1].inputs[0].tensor_name.find("Cumsum"), std::string::npos);
  ASSERT_EQ(summary.native_nodes.size(), 1u);
  EXPECT_EQ(summary.native_nodes[0].op, "Cumsum");
  EXPECT_NE(summary.native_nodes[0].reason.find("cumulative sums"), std::string::npos);
  EXPECT_EQ(summary.converted_ops + 1, summary.total_ops);
  const std::string text = summary.ToString();
  EXPECT_NE(text.find("Cumsum (Cumsum): the cpu engine does not take Cumsum"), std::string::npos) << text;
}

TEST(ConverterSegments, TheEngineCapKeepsTheLargestSegments) {
  const std::string dir = testing::FixturePath("converter_cumsum_middle");
  ConversionParams params;
  params.maximum_segments = 1;
  KILN_ASSERT_OK_AND_ASSIGN(auto converter, Converter::Create(dir + "/saved_model", params));
  KILN_ASSERT_OK(converter->Convert());
  const ConversionSummary summary = converter->Summary();
  ASSERT_EQ(summary.engines.size(), 1u);
  EXPECT_EQ(summary.engines[0].op_counts.at("Conv2D"), 1);  // the 8-op tail outranks the 6-op head
  int capped = 0;
  for (const auto& n : summary.native_nodes) capped += n.reason.find("past the cap of 1") != std::string::npos;
  EXPECT_EQ(capped, 6) << summary.ToString();
  params.maximum_segments = 0;
  EXPECT_FALSE(Converter::Create(dir + "/saved_model", params).ok());
}

TEST(ConverterSegments, DenylistedOpSplitsTheModel) {
  KILN_ASSERT_OK_AND_ASSIGN(auto native, Model::Load(MnistModel()));
  const Tensor batch = testing::Rows(Mnist().images, 0, 16);
  KILN_ASSERT_OK_AND_ASSIGN(Tensor expected, testing::RunSingle(*native, "input_1", batch));
  testing::TempDir tmp("denylist");
  ConversionParams params;
  params.denylist = {"Reshape"};
  KILN_ASSERT_OK_AND_ASSIGN(auto converted, testing::ConvertSaveLoad(MnistModel(), params, tmp.path("m")));
  KILN_ASSERT_OK_AND_ASSIGN(Tensor got, testing::RunSingle(*converted, "input_1", batch));
  EXPECT_TRUE(testing::TensorsNear(got, expected, 1e-6, 1e-5));
  KILN_ASSERT_OK_AND_ASSIGN(ConversionSummary summary, SummarizeConvertedModel(tmp.path("m")));
  EXPECT_EQ(summary.engines.size(), 2u);
  const auto* reshape = FindNative(summary, "Reshape");
  ASSERT_NE(reshape, nullptr) << summary.ToString();
  EXPECT_EQ(reshape->reason, "op Reshape is on the denylist");
  EXPECT_EQ(summary.converted_op_counts.count("Reshape"), 0u);
}

TEST(ConverterSegments, SegmentsBelowMinimumSizeStayNative) {
  testing::TempDir tmp("minsize");
  ConversionParams params;
  params.denylist = {"Reshape"};
  params.minimum_segment_size = 7;  // the 8-op convolutional half stays, the 6-op dense half goes native
  KILN_ASSERT_OK_AND_ASSIGN(auto converted, testing::ConvertSaveLoad(MnistModel(), params, tmp.path("m")));
  KILN_ASSERT_OK_AND_ASSIGN(ConversionSummary summary, SummarizeConvertedModel(tmp.path("m")));
  ASSERT_EQ(summary.engines.size(), 1u) << summary.ToString();
  EXPECT_EQ(summary.converted_op_counts.count("MatMul"), 0u);
  const auto* matmul = FindNative(summary, "MatMul");
  ASSERT_NE(matmul, nullptr);
  EXPECT_NE(matmul->reason.find("fewer than minimum_segment_size 7"), std::string::npos) << matmul->reason;

  KILN_ASSERT_OK_AND_ASSIGN(auto native, Model::Load(MnistModel()));
  const Tensor batch = testing::Rows(Mnist().images, 0, 8);
  KILN_ASSERT_OK_AND_ASSIGN(Tensor expected, testing::RunSingle(*native, "input_1", batch));
  KILN_ASSERT_OK_AND_ASSIGN(Tensor got, testing::RunSingle(*converted, "input_1", batch));
  EXPECT_TRUE(testing::TensorsNear(got, expected, 1e-6, 1e-5));
}

TEST(ConverterSegments, MinusOneDisablesConversion) {
  testing::TempDir tmp("disabled");
  ConversionParams params;
  params.minimum_segment_size = -1;
  KILN_ASSERT_OK_AND_ASSIGN(auto converter, Converter::Create(MnistModel(), params));
  KILN_ASSERT_OK(converter->Convert());
  const ConversionSummary summary = converter->Summary();
  EXPECT_TRUE(summary.engines.empty());
  EXPECT_EQ(summary.converted_ops, 0);
  ASSERT_EQ(static_cast<int>(summary.native_nodes.size()), summary.total_ops);
  for (const auto& n : summary.native_nodes) {
    EXPECT_EQ(n.reason, "conversion is disabled (minimum_segment_size is -1)") << n.name;
  }
  KILN_ASSERT_OK(converter->Save(tmp.path("m")));
  KILN_ASSERT_OK_AND_ASSIGN(auto model, Model::Load(tmp.path("m")));
  KILN_ASSERT_OK_AND_ASSIGN(Tensor got, testing::RunSingle(*model, "input_1", testing::Rows(Mnist().images, 0, 2)));
  EXPECT_EQ(got.shape(), (Shape{2, 10}));
}

}  // namespace
}  // namespace kiln
