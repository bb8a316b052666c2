// How the converter chooses INT8 smoothing from calibration statistics: an activation with an
// outlier channel is smoothed, one whose channels are alike is not, and a given alpha is used as is.
#include "convert/smoothing.h"

#include <algorithm>

#include "ir/shape_fns.h"
#include "passes/pass_test_util.h"

namespace kiln {
namespace {

using testing::Builder;

// x [-1, 16] @ w [16, 8], and calibration statistics of x from two batches of `make_batch`.
struct Case {
  ir::Graph graph;
  std::map<std::string, calibrate::ChannelStats> channels;
  std::map<std::string, float> amax;
};

Case MakeCase(const Tensor& w, const std::function<Tensor(int)>& make_batch) {
  Builder b;
  b.Output(b.Op("mm", "MatMul", {b.Input("x", {-1, 16}), b.Const("w", w)}));
  EXPECT_TRUE(ir::InferShapes(b.graph()).ok());
  Case c{std::move(b.graph()), {}, {}};
  for (int batch = 0; batch < 2; ++batch) EXPECT_TRUE(c.channels["x:0"].Add(make_batch(batch)).ok());
  const std::vector<float>& a = c.channels["x:0"].amax();
  c.amax["x:0"] = *std::max_element(a.begin(), a.end());
  return c;
}

// Values of +-1 only.
Tensor Signs(Shape shape, uint64_t seed) {
  Tensor t = testing::RandomTensor(DType::kFloat32, std::move(shape), seed, -1, 1);
  for (int64_t i = 0; i < t.num_elements(); ++i) t.data<float>()[i] = t.data<float>()[i] < 0 ? -1.0f : 1.0f;
  return t;
}

TEST(SmoothingChoiceTest, AnOutlierChannelIsSmoothed) {
  Case c = MakeCase(testing::RandomTensor(DType::kFloat32, {16, 8}, 3), [](int batch) {
    Tensor x = testing::RandomTensor(DType::kFloat32, {32, 16}, 10 + batch, -1, 1);
    for (int r = 0; r < 32; ++r) x.data<float>()[r * 16 + 5] *= 50;
    return x;
  });
  KILN_ASSERT_OK_AND_ASSIGN(auto chosen, convert::ChooseSmoothing(c.graph, c.channels, c.amax, std::nullopt, {}));
  ASSERT_EQ(chosen.count("x:0"), 1u);
  const auto& candidates = convert::SmoothingCandidates();
  EXPECT_NE(std::find(candidates.begin(), candidates.end(), chosen.at("x:0").alpha), candidates.end());
  EXPECT_EQ(chosen.at("x:0").channel_amax, c.channels.at("x:0").amax());

  KILN_ASSERT_OK_AND_ASSIGN(chosen, convert::ChooseSmoothing(c.graph, c.channels, c.amax, 0.6f, {}));
  EXPECT_EQ(chosen.at("x:0").alpha, 0.6f);
  // A pinned layer is not quantized, so its activation is not smoothed for it.
  KILN_ASSERT_OK_AND_ASSIGN(chosen, convert::ChooseSmoothing(c.graph, c.channels, c.amax, std::nullopt,
                                                             {{Precision::kFP16, "mm"}}));
  EXPECT_TRUE(chosen.empty());
}

// Every channel spans [-1, 1] and every weight row has max 1: every alpha gives factors of 1, which
// are no better than no smoothing.
TEST(SmoothingChoiceTest, AlikeChannelsAreLeftAlone) {
  Case c = MakeCase(Signs({16, 8}, 4), [](int batch) { return Signs({32, 16}, 20 + batch); });
  KILN_ASSERT_OK_AND_ASSIGN(auto chosen, convert::ChooseSmoothing(c.graph, c.channels, c.amax, std::nullopt, {}));
  EXPECT_TRUE(chosen.empty());
}

}  // namespace
}  // namespace kiln
