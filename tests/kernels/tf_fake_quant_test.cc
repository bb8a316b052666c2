// TensorFlow's FakeQuantWithMinMaxArgs / Vars / VarsPerChannel: expected values are TensorFlow
// 2.21's outputs (tf.quantization.fake_quant_*) for the same inputs, compared bit for bit.
#include <cmath>
#include <limits>

#include "kernels/array_test_util.h"

namespace kiln {
namespace {

using namespace testing;  // NOLINT: test helpers

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

// Inputs with ties and clamps first, then uniform values in [-8, 8).
const std::vector<float> kX = {
    0.0f,          -0.0f,         6.0f,          -6.0f,         7.0f,           -7.5f,           5.98000002f,
    0.0235293992f, 0.0235294104f, 0.0235294122f, 0.0352941193f, -0.0352941193f, 9.99999994e-09f, 0.781016052f,
    3.44302988f,   1.64421403f,   0.718130946f,  -1.22152317f,  2.33430576f,    -0.998604596f,   6.26836824f,
    7.41860437f,   -1.86493576f,  4.66760063f,   0.462318718f,  1.08871293f,    6.80954599f,     -6.86342287f,
    -6.60593128f,  -7.67650557f,  5.32191753f,   4.45050812f};

::testing::AssertionResult SameAs(const StatusOr<std::vector<Tensor>>& result, const std::vector<float>& want) {
  if (!result.ok()) return ::testing::AssertionFailure() << result.status().ToString();
  const Tensor& y = (*result)[0];
  if (y.num_elements() != static_cast<int64_t>(want.size())) {
    return ::testing::AssertionFailure() << "got " << y.DebugString() << ", expected " << want.size() << " values";
  }
  for (size_t i = 0; i < want.size(); ++i) {
    const float got = y.data<float>()[i];
    const bool same = std::isnan(want[i]) ? std::isnan(got) : got == want[i];
    if (!same) return ::testing::AssertionFailure() << "element " << i << ": got " << got << ", expected " << want[i];
  }
  return ::testing::AssertionSuccess();
}

ir::AttrMap ArgsAttrs(float min, float max, int64_t num_bits, bool narrow_range) {
  return Attrs({{"min", min}, {"max", max}, {"num_bits", num_bits}, {"narrow_range", narrow_range}});
}
ir::AttrMap VarsAttrs(int64_t num_bits, bool narrow_range) {
  return Attrs({{"num_bits", num_bits}, {"narrow_range", narrow_range}});
}
Tensor X() { return F32({static_cast<int64_t>(kX.size())}, kX); }

TEST(TfFakeQuantTest, WithMinMaxArgsMatchesTensorFlow) {
  // Defaults are min -6, max 6, 8 bits, not narrow.
  EXPECT_TRUE(
      SameAs(RunOp("FakeQuantWithMinMaxArgs", {X()}),
             {0.0f,          0.0f,          5.97647047f,   -5.97647047f,  5.97647047f,    -6.02352953f,  5.97647047f,
              0.0470588244f, 0.0470588244f, 0.0470588244f, 0.0470588244f, -0.0470588244f, 0.0f,          0.800000012f,
              3.43529415f,   1.64705884f,   0.70588237f,   -1.22352946f,  2.35294127f,    -0.988235295f, 5.97647047f,
              5.97647047f,   -1.88235295f,  4.65882349f,   0.470588237f,  1.082353f,      5.97647047f,   -6.02352953f,
              -6.02352953f,  -6.02352953f,  5.31764698f,   4.47058821f}));
  EXPECT_TRUE(
      SameAs(RunOp("FakeQuantWithMinMaxArgs", {X()}, ArgsAttrs(-6.0f, 6.0f, 8, false)),
             {0.0f,          0.0f,          5.97647047f,   -5.97647047f,  5.97647047f,    -6.02352953f,  5.97647047f,
              0.0470588244f, 0.0470588244f, 0.0470588244f, 0.0470588244f, -0.0470588244f, 0.0f,          0.800000012f,
              3.43529415f,   1.64705884f,   0.70588237f,   -1.22352946f,  2.35294127f,    -0.988235295f, 5.97647047f,
              5.97647047f,   -1.88235295f,  4.65882349f,   0.470588237f,  1.082353f,      5.97647047f,   -6.02352953f,
              -6.02352953f,  -6.02352953f,  5.31764698f,   4.47058821f}))
      << "-6.0f, 6.0f, 8, false";
  EXPECT_TRUE(SameAs(
      RunOp("FakeQuantWithMinMaxArgs", {X()}, ArgsAttrs(-1.0f, 2.0f, 4, true)),
      {0.0f,         0.0f,         1.92857146f, -1.07142854f, 1.92857146f,  -1.07142854f, 1.92857146f,  0.0f,
       0.0f,         0.0f,         0.0f,        0.0f,         0.0f,         0.857142866f, 1.92857146f,  1.71428573f,
       0.642857134f, -1.07142854f, 1.92857146f, -1.07142854f, 1.92857146f,  1.92857146f,  -1.07142854f, 1.92857146f,
       0.428571433f, 1.07142854f,  1.92857146f, -1.07142854f, -1.07142854f, -1.07142854f, 1.92857146f,  1.92857146f}))
      << "-1.0f, 2.0f, 4, true";
  EXPECT_TRUE(
      SameAs(RunOp("FakeQuantWithMinMaxArgs", {X()}, ArgsAttrs(-0.3f, 5.1f, 16, false)),
             {0.0f,          0.0f,          5.09998655f,   -0.300013751f, 5.09998655f,    -0.300013751f, 5.09998655f,
              0.0235660337f, 0.0235660337f, 0.0235660337f, 0.0352666527f, -0.0352666527f, 0.0f,          0.780975103f,
              3.4430306f,    1.64418411f,   0.718104839f,  -0.300013751f, 2.33427334f,    -0.300013751f, 5.09998655f,
              5.09998655f,   -0.300013751f, 4.66764021f,   0.462339222f,  1.08873427f,    5.09998655f,   -0.300013751f,
              -0.300013751f, -0.300013751f, 5.09998655f,   4.45051956f}))
      << "-0.3f, 5.1f, 16, false";
  EXPECT_TRUE(
      SameAs(RunOp("FakeQuantWithMinMaxArgs", {X()}, ArgsAttrs(0.2f, 1.5f, 8, false)),
             {0.0f,          0.0f,          1.29999995f,   0.0f, 1.29999995f, 0.0f,         1.29999995f, 0.0254901946f,
              0.0254901946f, 0.0254901946f, 0.0356862731f, 0.0f, 0.0f,        0.779999912f, 1.29999995f, 1.29999995f,
              0.718823493f,  0.0f,          1.29999995f,   0.0f, 1.29999995f, 1.29999995f,  0.0f,        1.29999995f,
              0.463921547f,  1.09098029f,   1.29999995f,   0.0f, 0.0f,        0.0f,         1.29999995f, 1.29999995f}))
      << "0.2f, 1.5f, 8, false";
  EXPECT_TRUE(SameAs(RunOp("FakeQuantWithMinMaxArgs", {X()}, ArgsAttrs(-2.5f, -0.5f, 3, false)),
                     {0.0f,  0.0f, 0.0f, -2.0f, 0.0f, -2.0f, 0.0f,         0.0f,  0.0f,          0.0f, 0.0f,
                      0.0f,  0.0f, 0.0f, 0.0f,  0.0f, 0.0f,  -1.14285719f, 0.0f,  -0.857142925f, 0.0f, 0.0f,
                      -2.0f, 0.0f, 0.0f, 0.0f,  0.0f, -2.0f, -2.0f,        -2.0f, 0.0f,          0.0f}))
      << "-2.5f, -0.5f, 3, false";
}

TEST(TfFakeQuantTest, WithMinMaxVarsMatchesTensorFlow) {
  auto run = [](const Tensor& x, float min, float max, int64_t num_bits, bool narrow_range) {
    return RunOp("FakeQuantWithMinMaxVars", {x, Tensor::Scalar(min), Tensor::Scalar(max)},
                 VarsAttrs(num_bits, narrow_range));
  };
  EXPECT_TRUE(
      SameAs(run(X(), -0.7f, 1.9f, 8, false),
             {0.0f,          0.0f,          1.89647043f,   -0.703529358f, 1.89647043f,   -0.703529358f, 1.89647043f,
              0.0203921553f, 0.0203921553f, 0.0203921553f, 0.030588232f,  -0.030588232f, 0.0f,          0.785097957f,
              1.89647043f,   1.64156854f,   0.713725448f,  -0.703529358f, 1.89647043f,   -0.703529358f, 1.89647043f,
              1.89647043f,   -0.703529358f, 1.89647043f,   0.458823502f,  1.09098029f,   1.89647043f,   -0.703529358f,
              -0.703529358f, -0.703529358f, 1.89647043f,   1.89647043f}))
      << "-0.7f, 1.9f, 8, false";
  EXPECT_TRUE(
      SameAs(run(X(), -0.7f, 1.9f, 8, true),
             {0.0f,          0.0f,          1.90393698f,   -0.696062982f, 1.90393698f,    -0.696062982f, 1.90393698f,
              0.0204724409f, 0.0204724409f, 0.0204724409f, 0.0307086613f, -0.0307086613f, 0.0f,          0.777952731f,
              1.90393698f,   1.64803147f,   0.716535449f,  -0.696062982f, 1.90393698f,    -0.696062982f, 1.90393698f,
              1.90393698f,   -0.696062982f, 1.90393698f,   0.46062991f,   1.08503938f,    1.90393698f,   -0.696062982f,
              -0.696062982f, -0.696062982f, 1.90393698f,   1.90393698f}))
      << "-0.7f, 1.9f, 8, true";
  EXPECT_TRUE(SameAs(run(X(), 0.0f, 0.0f, 8, false),
                     {0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f,
                      0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f}))
      << "0.0f, 0.0f, 8, false";
  EXPECT_TRUE(
      SameAs(run(X(), -3.3f, 3.3f, 2, false),
             {0.0f, 0.0f,         2.20000005f, -4.4000001f, 2.20000005f, -4.4000001f, 2.20000005f,  0.0f,
              0.0f, 0.0f,         0.0f,        0.0f,        0.0f,        0.0f,        2.20000005f,  2.20000005f,
              0.0f, -2.20000005f, 2.20000005f, 0.0f,        2.20000005f, 2.20000005f, -2.20000005f, 2.20000005f,
              0.0f, 0.0f,         2.20000005f, -4.4000001f, -4.4000001f, -4.4000001f, 2.20000005f,  2.20000005f}))
      << "-3.3f, 3.3f, 2, false";
  EXPECT_TRUE(SameAs(run(X(), -1e-3f, 5.0f, 16, true), {0.0f,
                                                        0.0f,
                                                        5.00000763f,
                                                        -0.000992049929f,
                                                        5.00000763f,
                                                        -0.000992049929f,
                                                        5.00000763f,
                                                        0.0235039517f,
                                                        0.0235039517f,
                                                        0.0235039517f,
                                                        0.0353322402f,
                                                        -0.000992049929f,
                                                        0.0f,
                                                        0.781048536f,
                                                        3.44302368f,
                                                        1.64420831f,
                                                        0.718167841f,
                                                        -0.000992049929f,
                                                        2.33429337f,
                                                        -0.000992049929f,
                                                        5.00000763f,
                                                        5.00000763f,
                                                        -0.000992049929f,
                                                        4.66759491f,
                                                        0.462295264f,
                                                        1.08873665f,
                                                        5.00000763f,
                                                        -0.000992049929f,
                                                        -0.000992049929f,
                                                        -0.000992049929f,
                                                        5.00000763f,
                                                        4.45048857f}))
      << "-1e-3f, 5.0f, 16, true";
  // min > max is not rejected: the formula gives max for every input.
  EXPECT_TRUE(SameAs(run(F32({4}, {kX.begin(), kX.begin() + 4}), 2.0f, 1.0f, 8, false), {1.0f, 1.0f, 1.0f, 1.0f}));
}

TEST(TfFakeQuantTest, WithMinMaxVarsPerChannelMatchesTensorFlow) {
  const Tensor x = F32({2, 3, 4}, {kX.begin(), kX.begin() + 24});
  // Channel 2 has min = max = 0: its output is zero.
  const Tensor min = F32({4}, {-6, -0.7f, 0, -1.25f}), max = F32({4}, {6, 1.9f, 0, 3.0f});
  EXPECT_TRUE(
      SameAs(RunOp("FakeQuantWithMinMaxVarsPerChannel", {x, min, max}),
             {0.0f,          0.0f,          0.0f, -1.25000012f,   5.97647047f, -0.703529358f, 0.0f, 0.0166666675f,
              0.0470588244f, 0.0203921553f, 0.0f, -0.0333333351f, 0.0f,        0.785097957f,  0.0f, 1.6500001f,
              0.70588237f,   -0.703529358f, 0.0f, -1.0f,          5.97647047f, 1.89647043f,   0.0f, 3.00000024f}));
  EXPECT_TRUE(SameAs(RunOp("FakeQuantWithMinMaxVarsPerChannel", {x, min, max}, VarsAttrs(5, true), true),
                     {0.0f,         0.0f,          0.0f, -1.27499998f,  6.0f, -0.693333328f, 0.0f, 0.0f,
                      0.0f,         0.0f,          0.0f, 0.0f,          0.0f, 0.779999971f,  0.0f, 1.70000005f,
                      0.800000012f, -0.693333328f, 0.0f, -0.991666675f, 6.0f, 1.90666664f,   0.0f, 2.9749999f}));
  EXPECT_TRUE(SameAs(RunOp("FakeQuantWithMinMaxVarsPerChannel", {F32({4}, {kX.begin(), kX.begin() + 4}), min, max}),
                     {0.0f, 0.0f, 0.0f, -1.25000012f}));
}

TEST(TfFakeQuantTest, NaNPropagatesAndInfinitiesClamp) {
  const Tensor s = F32({4}, {kNaN, kInf, -kInf, 1.0f});
  EXPECT_TRUE(SameAs(RunOp("FakeQuantWithMinMaxArgs", {s}), {kNaN, 5.97647047f, -6.02352953f, 0.988235295f}));
  EXPECT_TRUE(SameAs(RunOp("FakeQuantWithMinMaxVars", {s, Tensor::Scalar(-1.0f), Tensor::Scalar(2.0f)}),
                     {kNaN, 2.0f, -1.0f, 1.0f}));
  EXPECT_TRUE(SameAs(
      RunOp("FakeQuantWithMinMaxVarsPerChannel",
            {F32({1, 4}, {kNaN, kInf, -kInf, 1.0f}), F32({4}, {-6, -0.7f, 0, -1.25f}), F32({4}, {6, 1.9f, 0, 3.0f})}),
      {kNaN, 1.89647043f, 0.0f, 1.0f}));
}

TEST(TfFakeQuantTest, RejectsWhatTensorFlowRejects) {
  const Tensor x = F32({3}, {1, 2, 3});
  EXPECT_TRUE(OpFails("FakeQuantWithMinMaxArgs", {x}, ArgsAttrs(2, 1, 8, false), "min has to be smaller than max"));
  EXPECT_TRUE(OpFails("FakeQuantWithMinMaxArgs", {x}, ArgsAttrs(1, 1, 8, false), "min has to be smaller than max"));
  EXPECT_TRUE(OpFails("FakeQuantWithMinMaxArgs", {x}, ArgsAttrs(-1, 1, 1, false), "num_bits must be between 2 and 16"));
  EXPECT_TRUE(
      OpFails("FakeQuantWithMinMaxArgs", {x}, ArgsAttrs(-1, 1, 17, false), "num_bits must be between 2 and 16"));
  EXPECT_TRUE(
      OpFails("FakeQuantWithMinMaxVars", {x, F32({2}, {1, 2}), Tensor::Scalar(3.0f)}, {}, "`min` must be rank 0"));
  EXPECT_TRUE(OpFails("FakeQuantWithMinMaxVarsPerChannel",
                      {F32({1, 3}, {1, 2, 3}), F32({2}, {-1, -1}), F32({2}, {1, 1})}, {},
                      "min has incorrect size, expected 3"));
}

}  // namespace
}  // namespace kiln
