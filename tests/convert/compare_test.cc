// CompareConvertedModel: a converted model against its original ops, at its outputs and engine
// boundaries, and the search for the layer that loses the most, on a planted bad calibration range.
#include <cmath>

#include "api/model_impl.h"
#include "calibrate/table.h"
#include "convert/attach.h"
#include "convert/convert_test_util.h"
#include "kiln/compare.h"

namespace kiln {
namespace {

using testing::Mnist;
using testing::MnistBatches;
using testing::MnistModel;

std::vector<InputSet> Heldout() { return {{{"input_1", Mnist().images}}}; }

TEST(CompareConvertedModel, AnFp32ConversionAgreesAndHasNothingToFind) {
  testing::TempDir dir("compare_fp32");
  KILN_ASSERT_OK(testing::ConvertSaveLoad(MnistModel(), {}, dir.path("m")).status());
  KILN_ASSERT_OK_AND_ASSIGN(ComparisonReport r, CompareConvertedModel(dir.path("m"), Heldout()));
  EXPECT_EQ(r.precision, "fp32");
  ASSERT_EQ(r.outputs.size(), 1u);
  EXPECT_EQ(r.outputs[0].name, "probabilities");
  EXPECT_LT(r.outputs[0].max_abs_error, 1e-5);
  EXPECT_NEAR(r.outputs[0].cosine, 1.0, 1e-9);
  ASSERT_TRUE(r.outputs[0].top1_agreement.has_value());
  EXPECT_EQ(*r.outputs[0].top1_agreement, 1.0);
  ASSERT_EQ(r.boundaries.size(), 1u);
  EXPECT_EQ(r.boundaries[0].name, "KilnEngineOp_0:0");
  EXPECT_TRUE(r.layers.empty());
  EXPECT_NE(r.ToString().find("no layer to keep in a higher precision"), std::string::npos) << r.ToString();
}

// One layer's input range made 100x too small clips nearly all of its input: compare must name that
// layer first, and keeping it out of INT8 must recover the outputs.
TEST(CompareConvertedModel, FindsAPlantedBadCalibrationRangeFirst) {
  testing::TempDir dir("compare_planted");
  ConversionParams params;
  params.precision_mode = Precision::kINT8;
  KILN_ASSERT_OK(testing::ConvertSaveLoad(MnistModel(), params, dir.path("m"), InputsFrom(MnistBatches(128, 64)), {},
                                          /*save_engines=*/false)
                     .status());
  // The planted layer: the first matrix product, whose input range shrinks 100x.
  KILN_ASSERT_OK_AND_ASSIGN(auto imported, api::ImportModel(MnistModel(), {}));
  std::string product, input;
  for (int i = 0; i < imported.graph.num_nodes() && product.empty(); ++i) {
    const ir::Node& n = imported.graph.node(i);
    if (n.op != "MatMul") continue;
    product = n.name;
    input = imported.graph.node(n.inputs[0].node).name + ":" + std::to_string(n.inputs[0].index);
  }
  ASSERT_FALSE(product.empty());
  const std::string table_path = convert::CalibrationTablePath(dir.path("m"));
  KILN_ASSERT_OK_AND_ASSIGN(calibrate::CalibrationTable table, calibrate::ReadCalibrationTable(table_path));
  ASSERT_EQ(table.amax.count(input), 1u) << input;
  table.amax[input] /= 100.0f;
  // A smoothed activation's range comes from its channel ranges: they shrink alike.
  if (auto it = table.smoothing.find(input); it != table.smoothing.end()) {
    for (float& a : it->second.channel_amax) a /= 100.0f;
  }
  KILN_ASSERT_OK(calibrate::WriteCalibrationTable(table, table_path));

  KILN_ASSERT_OK_AND_ASSIGN(ComparisonReport r, CompareConvertedModel(dir.path("m"), Heldout()));
  EXPECT_EQ(r.precision, "int8");
  ASSERT_EQ(r.layers.size(), 4u) << r.ToString();  // two convolutions, two products
  const LayerFinding& first = r.layers.front();
  // The fused layer that took the product's place carries its layer's name scope.
  const std::string scope = product.substr(0, product.rfind('/') + 1);
  EXPECT_EQ(first.layer.rfind(scope, 0), 0u) << r.ToString();
  EXPECT_EQ(first.op, "KilnFusedMatMul");
  EXPECT_EQ(first.pin.precision, Precision::kFP16);
  EXPECT_LT(first.max_abs_error, r.max_abs_error / 10) << r.ToString();
  EXPECT_NE(r.ToString().find("--keep-precision fp16:" + first.layer), std::string::npos) << r.ToString();

  // The pin it prints, applied, recovers the model.
  LoadOptions load;
  load.keep_precision = {first.pin};
  KILN_ASSERT_OK_AND_ASSIGN(auto fixed, Model::Load(dir.path("m"), load));
  KILN_ASSERT_OK_AND_ASSIGN(auto original, Model::Load(MnistModel()));
  KILN_ASSERT_OK_AND_ASSIGN(Tensor want, testing::RunSingle(*original, "input_1", Mnist().images));
  KILN_ASSERT_OK_AND_ASSIGN(Tensor got, testing::RunSingle(*fixed, "input_1", Mnist().images));
  EXPECT_GE(testing::Top1Agreement(got, want), 0.98);
}

TEST(CompareConvertedModel, BadArgumentsAreClearErrors) {
  auto not_converted = CompareConvertedModel(MnistModel(), Heldout());
  ASSERT_FALSE(not_converted.ok());
  EXPECT_NE(not_converted.status().message().find("not a model converted by kiln"), std::string::npos);
  testing::TempDir dir("compare_errors");
  KILN_ASSERT_OK(testing::ConvertSaveLoad(MnistModel(), {}, dir.path("m")).status());
  auto none = CompareConvertedModel(dir.path("m"), {});
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("at least one input set"), std::string::npos);
  auto misnamed = CompareConvertedModel(dir.path("m"), {{{"pixels", Mnist().images}}});
  ASSERT_FALSE(misnamed.ok());
  EXPECT_NE(misnamed.status().message().find("missing input(s) 'input_1'"), std::string::npos)
      << misnamed.status().ToString();
}

}  // namespace
}  // namespace kiln
