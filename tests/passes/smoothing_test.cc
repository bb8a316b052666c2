// INT8 smoothing of matrix products: the factors, which layers qualify, and the emulation the
// precision pass inserts for a smoothed layer, against a hand computation.
#include "passes/smoothing.h"

#include <cmath>

#include "ir/shape_fns.h"
#include "kernels/cpu/fake_quant.h"
#include "passes/pass_test_util.h"
#include "passes/precision.h"

namespace kiln {
namespace {

using ir::ValueRef;
using kernels::cpu::FakeQuantInt8;
using testing::Attrs;
using testing::Builder;

TEST(SmoothingTest, FactorsMoveTheRangeByAlpha) {
  // s_j = a_j^alpha / w_j^(1 - alpha); 1 where either range is 0.
  auto sm = passes::ComputeSmoothing({16, 1, 0, 4}, {1, 4, 2, 0}, 0.5f);
  ASSERT_TRUE(sm.has_value());
  EXPECT_EQ(sm->factors, (std::vector<float>{4, 0.5f, 1, 1}));
  EXPECT_EQ(sm->amax, 4.0f);  // max(16 / 4, 1 / 0.5, 0, 4 / 1)
  sm = passes::ComputeSmoothing({16, 1}, {1, 4}, 1.0f);
  ASSERT_TRUE(sm.has_value());
  EXPECT_EQ(sm->factors, (std::vector<float>{16, 1}));  // every channel's range becomes 1
  EXPECT_EQ(sm->amax, 1.0f);
  EXPECT_FALSE(passes::ComputeSmoothing({1, 2}, {1}, 0.5f).has_value());
  EXPECT_FALSE(passes::ComputeSmoothing({0, 0}, {1, 1}, 0.5f).has_value());
}

TEST(SmoothingTest, SmoothableLayersContractTheActivationsLastAxisWithConstantWeights) {
  Builder b;
  const ValueRef x = b.Input("x", {2, 3});
  const ValueRef x3 = b.Input("x3", {2, 5, 3});
  const ValueRef w = b.RandomConst("w", {3, 4});
  const ValueRef wt = b.RandomConst("wt", {4, 3});
  const ValueRef mm = b.Op("mm", "MatMul", {x, w});
  const ValueRef mm_t = b.Op("mm_t", "MatMul", {x, wt}, Attrs({{"transpose_b", true}}));
  const ValueRef bmm = b.Op("bmm", "BatchMatMulV2", {x3, wt}, Attrs({{"adj_y", true}}));
  const ValueRef xt = b.Input("xt", {3, 2});
  const ValueRef mm_ta = b.Op("mm_ta", "MatMul", {xt, w}, Attrs({{"transpose_a", true}}));
  const ValueRef act = b.Op("act", "MatMul", {x, b.Op("relu", "Relu", {w})});
  for (ValueRef v : {mm, mm_t, bmm, mm_ta, act}) b.Output(v);
  KILN_ASSERT_OK(ir::InferShapes(b.graph()));
  const ir::Graph& g = b.graph();

  auto of = [&](const std::string& name) { return passes::SmoothableWeightsOf(g, *testing::FindNode(g, name)); };
  ASSERT_TRUE(of("mm").has_value());
  EXPECT_EQ(of("mm")->row_axis, 0);
  EXPECT_EQ(of("mm")->out_axis, 1);
  ASSERT_TRUE(of("mm_t").has_value());
  EXPECT_EQ(of("mm_t")->row_axis, 1);
  EXPECT_EQ(of("mm_t")->out_axis, 0);
  ASSERT_TRUE(of("bmm").has_value());
  EXPECT_EQ(of("bmm")->row_axis, 1);
  EXPECT_FALSE(of("mm_ta").has_value());  // contracts the activation's first axis
  EXPECT_FALSE(of("act").has_value());    // the weights are computed
  EXPECT_FALSE(of("relu").has_value());

  const Tensor w2 = Tensor::FromVector<float>({2, 3}, {1, -5, 2, -3, 4, 0});
  EXPECT_EQ(passes::WeightRowAmax(w2, 0), (std::vector<float>{5, 4}));
  EXPECT_EQ(passes::WeightRowAmax(w2, 1), (std::vector<float>{3, 5, 2}));
  const Tensor scaled = passes::ScaleRows(w2, 1, {2, 1, 0.5f});
  EXPECT_EQ(scaled.ToFloatVector(), (std::vector<float>{2, -5, 1, -6, 4, 0}));
}

// x [4, 3] @ w [3, 2] with channel ranges {8, 1, 0.5}, alpha 0.5: the engine quantizes x / s per
// tensor and w * s per output channel; the emulation computes the same product in float32.
TEST(SmoothingTest, EmulationComputesTheSmoothedInt8Product) {
  const std::vector<float> xv = {7.5f, 0.3f, -0.25f, -8, 1, 0.5f, 2, -0.7f, 0.1f, 0.05f, 0.9f, -0.4f};
  const std::vector<float> wv = {0.5f, -0.25f, 1.5f, -2, 0.75f, 1};
  for (bool transposed : {false, true}) {
    SCOPED_TRACE(transposed);
    Builder b;
    const ValueRef x = b.Input("x", {4, 3});
    std::vector<float> stored = wv;
    if (transposed) stored = {0.5f, 1.5f, 0.75f, -0.25f, -2, 1};  // w as [2, 3]
    const ValueRef w = b.Const("w", Tensor::FromVector<float>(transposed ? Shape{2, 3} : Shape{3, 2}, stored));
    b.Output(b.Op("mm", "MatMul", {x, w}, Attrs({{"transpose_b", transposed}})));
    KILN_ASSERT_OK(ir::InferShapes(b.graph()));
    passes::PrecisionOptions options;
    options.precision = Precision::kINT8;
    options.amax = {{"x:0", 8.0f}};
    options.smoothing["x:0"] = {{8, 1, 0.5f}, 0.5f};
    KILN_ASSERT_OK_AND_ASSIGN(auto report, passes::InsertPrecisionEmulation(b.graph(), options));
    EXPECT_EQ(report.quantized_layers, 1);
    EXPECT_EQ(report.smoothed_layers, 1);

    // Row maxima of w: {0.5, 2, 1}; s = sqrt(a / w) = {4, 1/sqrt(2), 1/sqrt(2)}; amax = max a / s = 2.
    const std::vector<float> s = {4, static_cast<float>(std::sqrt(0.5)), static_cast<float>(std::sqrt(0.5))};
    const ir::Node* xq = testing::FindNode(b.graph(), "x/kiln_int8");
    ASSERT_NE(xq, nullptr);
    EXPECT_EQ(*xq->attrs.Get<int64_t>("axis"), 1);
    const std::vector<float> scales = *xq->attrs.Get<std::vector<float>>("scale");
    ASSERT_EQ(scales.size(), 3u);
    for (int j = 0; j < 3; ++j) EXPECT_FLOAT_EQ(scales[j], s[j] * 2.0f / 127) << j;

    KILN_ASSERT_OK_AND_ASSIGN(auto out, testing::RunGraph(b.graph(), {Tensor::FromVector<float>({4, 3}, xv)}));
    for (int n = 0; n < 2; ++n) {
      float sigma = 0;  // the weight scale of output channel n: max_j |w_jn s_j| / 127
      for (int j = 0; j < 3; ++j) sigma = std::max(sigma, std::fabs(wv[j * 2 + n] * s[j]) / 127);
      for (int r = 0; r < 4; ++r) {
        double want = 0;
        for (int j = 0; j < 3; ++j) {
          want += double{FakeQuantInt8(xv[r * 3 + j], scales[j])} * FakeQuantInt8(wv[j * 2 + n] * s[j], sigma) / s[j];
        }
        EXPECT_NEAR(out[0].data<float>()[r * 2 + n], want, 1e-3 * std::fabs(want) + 1e-6) << r << "," << n;
      }
    }
  }
}

// Layers reading one activation share its quantizer, so their factors come from all their weights;
// a layer without channel ranges, and one not smoothable, keep per-tensor quantization.
TEST(SmoothingTest, LayersSharingAnActivationShareItsFactors) {
  Builder b;
  const ValueRef x = b.Input("x", {2, 2});
  const ValueRef y = b.Input("y", {2, 2});
  const ValueRef w1 = b.Const("w1", Tensor::FromVector<float>({2, 2}, {4, 1, 0.25f, 0.5f}));
  const ValueRef w2 = b.Const("w2", Tensor::FromVector<float>({2, 2}, {1, 1, 2, 0.5f}));
  b.Output(b.Op("mm1", "MatMul", {x, w1}));
  b.Output(b.Op("mm2", "MatMul", {x, w2}));
  b.Output(b.Op("mm3", "MatMul", {y, w2}));
  KILN_ASSERT_OK(ir::InferShapes(b.graph()));
  passes::PrecisionOptions options;
  options.precision = Precision::kINT8;
  options.amax = {{"x:0", 4.0f}, {"y:0", 1.0f}};
  options.smoothing["x:0"] = {{4, 2}, 1.0f};  // alpha 1: s = a, so amax 1 and scales a / 127
  KILN_ASSERT_OK_AND_ASSIGN(auto report, passes::InsertPrecisionEmulation(b.graph(), options));
  EXPECT_EQ(report.quantized_layers, 3);
  EXPECT_EQ(report.smoothed_layers, 2);
  const ir::Graph& g = b.graph();
  int smoothed_quantizers = 0;
  for (int i = 0; i < g.num_nodes(); ++i) {
    const ir::Node& n = g.node(i);
    if (n.op != "KilnFakeQuant" || n.inputs[0] != x) continue;
    ++smoothed_quantizers;
    EXPECT_EQ(*n.attrs.Get<std::vector<float>>("scale"), (std::vector<float>{4.0f / 127, 2.0f / 127}));
  }
  EXPECT_EQ(smoothed_quantizers, 1);
  const ir::Node* yq = testing::FindNode(g, "y/kiln_int8");
  ASSERT_NE(yq, nullptr);
  EXPECT_EQ(*yq->attrs.Get<std::vector<float>>("scale"), std::vector<float>{1.0f / 127});
  EXPECT_EQ(g.node(testing::FindNode(g, "mm3")->inputs[1].node).name, "w2/kiln_int8");
  KILN_ASSERT_OK(testing::RunGraph(g, {Tensor::FromVector<float>({2, 2}, {1, 2, 3, 4}),
                                       Tensor::FromVector<float>({2, 2}, {1, 0.5f, -1, 0})})
                     .status());
}

// One outlier channel: per-tensor INT8 rounds the other channels to a few levels; smoothing keeps them.
TEST(SmoothingTest, SmoothingCutsTheErrorOfAnOutlierChannel) {
  const Tensor xv = testing::RandomTensor(DType::kFloat32, {64, 16}, 7, -1, 1);
  Tensor x = xv;
  for (int r = 0; r < 64; ++r) x.data<float>()[r * 16] *= 60;
  const Tensor w = testing::RandomTensor(DType::kFloat32, {16, 8}, 8, -1, 1);
  std::vector<float> channel_amax(16, 0.0f);
  for (int64_t i = 0; i < x.num_elements(); ++i) {
    channel_amax[i % 16] = std::max(channel_amax[i % 16], std::fabs(x.data<float>()[i]));
  }
  const float amax = *std::max_element(channel_amax.begin(), channel_amax.end());
  auto error = [&](bool smooth) {
    Builder b;
    b.Output(b.Op("mm", "MatMul", {b.Input("x", {64, 16}), b.Const("w", w)}));
    EXPECT_TRUE(ir::InferShapes(b.graph()).ok());
    passes::PrecisionOptions options;
    options.precision = Precision::kINT8;
    options.amax = {{"x:0", amax}};
    if (smooth) options.smoothing["x:0"] = {channel_amax, 0.5f};
    EXPECT_TRUE(passes::InsertPrecisionEmulation(b.graph(), options).ok());
    auto got = testing::RunGraph(b.graph(), {x});
    EXPECT_TRUE(got.ok());
    double diff = 0, norm = 0;
    for (int r = 0; r < 64; ++r)
      for (int n = 0; n < 8; ++n) {
        double want = 0;
        for (int j = 0; j < 16; ++j) want += double{x.data<float>()[r * 16 + j]} * w.data<float>()[j * 8 + n];
        diff += std::pow((*got)[0].data<float>()[r * 8 + n] - want, 2);
        norm += want * want;
      }
    return diff / norm;
  };
  const double plain = error(false), smoothed = error(true);
  EXPECT_LT(smoothed, plain / 4) << "relative squared error " << smoothed << " smoothed, " << plain << " plain";
}

}  // namespace
}  // namespace kiln
