// KilnFakeQuant against independent references: a rounding to 11 significant bits for fp16, a
// floor-based round-half-to-even for int8 and a nearest search over all 256 E4M3FN codes for FP8.
#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "kernels/array_test_util.h"
#include "util/half_reference.h"

namespace kiln {
namespace {

using namespace testing;  // NOLINT: test helpers

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

float FromBits(uint32_t b) {
  float f;
  std::memcpy(&f, &b, 4);
  return f;
}

// Same value and sign (so -0 differs from +0), or both NaN.
bool SameFloat(float a, float b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  return a == b && std::signbit(a) == std::signbit(b);
}

::testing::AssertionResult AllSame(const Tensor& actual, const std::vector<float>& in, const std::vector<float>& want) {
  for (size_t i = 0; i < want.size(); ++i) {
    const float got = actual.data<float>()[i];
    if (!SameFloat(got, want[i])) {
      return ::testing::AssertionFailure()
             << "element " << i << ": input " << in[i] << " gave " << got << ", expected " << want[i];
    }
  }
  return ::testing::AssertionSuccess();
}

StatusOr<Tensor> FakeQuant(const Tensor& x, const std::string& mode, std::vector<float> scale = {}, int64_t axis = -1) {
  KILN_ASSIGN_OR_RETURN(std::vector<Tensor> out,
                        RunOp("KilnFakeQuant", {x}, Attrs({{"mode", mode}, {"scale", scale}, {"axis", axis}})));
  return out[0];
}

std::vector<float> RandomFloats(size_t n, int min_exp, int max_exp, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<float> v;
  for (size_t i = 0; i < n; ++i) {
    const uint32_t sign = static_cast<uint32_t>(rng() & 1) << 31;
    const uint32_t exp = static_cast<uint32_t>(min_exp + 127 + static_cast<int>(rng() % (max_exp - min_exp + 1)));
    const uint32_t mant = static_cast<uint32_t>(rng() & 0x7fffff);
    v.push_back(FromBits(sign | (exp << 23) | mant));
  }
  return v;
}

// x to 8 significant bits (bfloat16 keeps float32's exponents, subnormals included: its step below
// 2^-126 is 2^-133), rounding ties to even through nearbyint on the exactly scaled value.
float BFloat16Reference(float x) {
  if (!std::isfinite(x) || x == 0.0f) return x;
  const int e = std::max(std::ilogb(x), -126);
  const double step = std::ldexp(1.0, e - 7);
  const double r = std::nearbyint(static_cast<double>(x) / step) * step;
  if (std::fabs(r) > std::numeric_limits<float>::max()) return std::copysign(kInf, x);
  return r == 0.0 ? std::copysign(0.0f, x) : static_cast<float>(r);
}

// Round half to even of x / scale by floor and an explicit tie test, clamped to int8; NaN gives 0.
float Int8Reference(float x, float scale) {
  const float v = x / scale;
  if (std::isnan(v)) return 0.0f;
  if (v >= 127.0f) return 127.0f * scale;
  if (v <= -128.0f) return -128.0f * scale;
  const double f = std::floor(static_cast<double>(v));
  const double frac = static_cast<double>(v) - f;
  double q = frac > 0.5 ? f + 1 : frac < 0.5 ? f : (std::fmod(f, 2.0) == 0 ? f : f + 1);
  if (q == 0) q = 0;  // +0
  return static_cast<float>(q) * scale;
}

// Value of E4M3FN code c (0..255); NaN for 0x7f / 0xff.
double E4M3Value(int c) {
  const int e = (c >> 3) & 0xf, m = c & 7;
  if (e == 15 && m == 7) return std::nan("");
  const double mag = e == 0 ? m * std::ldexp(1.0, -9) : (1 + m / 8.0) * std::ldexp(1.0, e - 7);
  return (c & 0x80) ? -mag : mag;
}

// Nearest E4M3FN magnitude of |v| by scanning every finite code; ties go to the even code.
float E4M3Reference(float v) {
  if (std::isnan(v)) return v;
  const double a = std::fabs(static_cast<double>(v));
  int best = 0;
  for (int c = 1; c <= 0x7e; ++c) {
    const double d = std::fabs(E4M3Value(c) - a), bd = std::fabs(E4M3Value(best) - a);
    if (d < bd || (d == bd && (c & 1) == 0)) best = c;
  }
  return std::copysign(static_cast<float>(E4M3Value(best)), v);
}

TEST(KilnFakeQuantTest, Fp16MatchesCompilerConversion) {
  std::vector<float> in = {0.0f,
                           -0.0f,
                           1.0f + 0x1p-11f,
                           1.0f + 3 * 0x1p-11f,
                           -(1.0f + 0x1p-11f),
                           65504.0f,
                           65519.0f,
                           65520.0f,
                           -65520.0f,
                           1e9f,
                           kInf,
                           -kInf,
                           kNaN,
                           0x1p-24f,
                           0x1p-25f,
                           3 * 0x1p-25f,
                           0x1.8p-25f,
                           0x1p-26f,
                           -0x1p-26f,
                           0x1.ffcp-15f,
                           0x1.ffep-15f,
                           6.1e-5f,
                           0.1f,
                           -3.14159f};
  const std::vector<float> random = RandomFloats(20000, -30, 17, 7);
  in.insert(in.end(), random.begin(), random.end());
  std::vector<float> want;
  for (float x : in) want.push_back(testing::HalfReference(x));
  const int64_t n = static_cast<int64_t>(in.size());
  KILN_ASSERT_OK_AND_ASSIGN(Tensor y, FakeQuant(F32({n}, in), "fp16"));
  EXPECT_TRUE(AllSame(y, in, want));
  // Spot checks of the reference itself: ties to even, overflow, subnormal ties.
  EXPECT_EQ(want[2], 1.0f);
  EXPECT_EQ(want[3], 1.0f + 0x1p-9f);
  EXPECT_EQ(want[6], 65504.0f);
  EXPECT_EQ(want[7], kInf);
  EXPECT_EQ(want[14], 0.0f);
  EXPECT_EQ(want[15], 0x1p-23f);
  EXPECT_TRUE(std::signbit(want[18]));
}

TEST(KilnFakeQuantTest, Bf16RoundsToNearestEvenBFloat16) {
  std::vector<float> in = {0.0f,
                           -0.0f,
                           1.0f + 0x1p-8f,      // a tie: stays at 1
                           1.0f + 3 * 0x1p-8f,  // a tie: goes up to the even 1 + 2^-6
                           -(1.0f + 0x1p-8f),
                           0x1.fep127f,          // the largest bfloat16
                           0x1.ffp127f,          // a tie past it: infinity
                           std::numeric_limits<float>::max(),
                           kInf,
                           -kInf,
                           kNaN,
                           0x1p-133f,            // the smallest bfloat16 subnormal
                           0x1p-134f,            // a tie below it: zero
                           0x1.8p-134f,
                           0.1f,
                           -3.14159f,
                           65504.0f};
  const std::vector<float> random = RandomFloats(20000, -60, 60, 11);
  in.insert(in.end(), random.begin(), random.end());
  std::vector<float> want;
  for (float x : in) want.push_back(BFloat16Reference(x));
  const int64_t n = static_cast<int64_t>(in.size());
  KILN_ASSERT_OK_AND_ASSIGN(Tensor y, FakeQuant(F32({n}, in), "bf16"));
  EXPECT_TRUE(AllSame(y, in, want));
  EXPECT_EQ(want[2], 1.0f);
  EXPECT_EQ(want[3], 1.0f + 0x1p-6f);
  EXPECT_EQ(want[5], 0x1.fep127f);
  EXPECT_EQ(want[6], kInf);
  EXPECT_EQ(want[7], kInf);
  EXPECT_EQ(want[11], 0x1p-133f);
  EXPECT_EQ(want[12], 0.0f);
  EXPECT_EQ(want[13], 0x1p-133f);
  EXPECT_EQ(want[16], 65536.0f);
}

TEST(KilnFakeQuantTest, Int8PerTensorRoundsHalfToEvenAndSaturates) {
  const float s = 0.05f;
  std::vector<float> in = {0.0f,        -0.0f,   2.5f * s, 3.5f * s, -2.5f * s, -0.4f * s, 127.4f * s, 127.5f * s,
                           -128.5f * s, 1000.0f, kInf,     -kInf,    kNaN,      1e-30f,    0.5f * s,   -0.5f * s};
  const std::vector<float> random = RandomFloats(5000, -12, 4, 11);
  in.insert(in.end(), random.begin(), random.end());
  std::vector<float> want;
  for (float x : in) want.push_back(Int8Reference(x, s));
  KILN_ASSERT_OK_AND_ASSIGN(Tensor y, FakeQuant(F32({static_cast<int64_t>(in.size())}, in), "int8", {s}));
  EXPECT_TRUE(AllSame(y, in, want));
  EXPECT_EQ(want[2], 2 * s);
  EXPECT_EQ(want[3], 4 * s);
  EXPECT_EQ(want[7], 127 * s);
  EXPECT_EQ(want[8], -128 * s);
  EXPECT_EQ(want[12], 0.0f);
  // int8 holds no negative zero.
  for (int i : {1, 5, 15}) EXPECT_FALSE(std::signbit(y.data<float>()[i])) << i;
}

TEST(KilnFakeQuantTest, Int8PerChannelAlongEachAxis) {
  const Shape shape = {2, 3, 4};
  const Tensor x = RandomTensor(DType::kFloat32, shape, 3, -3, 3);
  const std::vector<float> in = x.ToFloatVector();
  for (int64_t axis : {0, 1, 2, -1}) {
    const int a = static_cast<int>(axis < 0 ? axis + 3 : axis);
    std::vector<float> scales;
    for (int64_t c = 0; c < shape[a]; ++c) scales.push_back(0.01f + 0.013f * static_cast<float>(c));
    std::vector<float> want;
    for (int64_t i = 0; i < x.num_elements(); ++i) {
      const std::vector<int64_t> idx = Unravel(i, shape);
      want.push_back(Int8Reference(in[i], scales[idx[a]]));
    }
    KILN_ASSERT_OK_AND_ASSIGN(Tensor y, FakeQuant(x, "int8", scales, axis));
    EXPECT_TRUE(AllSame(y, in, want)) << "axis " << axis;
  }
}

TEST(KilnFakeQuantTest, Fp8E4M3MatchesNearestCodeSearch) {
  std::vector<float> in = {0.0f,
                           -0.0f,
                           1.0f + 1 / 16.0f,
                           1.0f + 3 / 16.0f,
                           -(1.0f + 1 / 16.0f),
                           0x1p-10f,
                           3 * 0x1p-10f,
                           0x1p-6f,
                           0x1.fp-7f,
                           448.0f,
                           449.0f,
                           464.0f,
                           480.0f,
                           1e9f,
                           -1e9f,
                           kInf,
                           -kInf,
                           kNaN,
                           0x1p-12f,
                           -0x1p-12f,
                           5 * 0x1p-10f,
                           240.0f,
                           248.0f,
                           256.0f,
                           0.3f};
  const std::vector<float> random = RandomFloats(6000, -12, 9, 5);
  in.insert(in.end(), random.begin(), random.end());
  const int64_t n = static_cast<int64_t>(in.size());
  for (float s : {1.0f, 0.37f}) {
    std::vector<float> scaled, want;
    for (float x : in) {
      scaled.push_back(x * s);
      want.push_back(E4M3Reference(x * s / s) * s);
    }
    KILN_ASSERT_OK_AND_ASSIGN(Tensor y, FakeQuant(F32({n}, scaled), "fp8_e4m3", {s}));
    EXPECT_TRUE(AllSame(y, scaled, want)) << "scale " << s;
  }
  EXPECT_EQ(E4M3Reference(1.0f + 1 / 16.0f), 1.0f);
  EXPECT_EQ(E4M3Reference(1.0f + 3 / 16.0f), 1.25f);
  EXPECT_EQ(E4M3Reference(0x1p-10f), 0.0f);
  EXPECT_EQ(E4M3Reference(3 * 0x1p-10f), 0x1p-8f);
  EXPECT_EQ(E4M3Reference(464.0f), 448.0f);
  EXPECT_EQ(E4M3Reference(kInf), 448.0f);
  EXPECT_TRUE(std::signbit(E4M3Reference(-0x1p-12f)));
}

TEST(KilnFakeQuantTest, Fp8PerChannel) {
  const Tensor x = RandomTensor(DType::kFloat32, {3, 5}, 9, -500, 500);
  const std::vector<float> in = x.ToFloatVector(), scales = {0.5f, 1.0f, 2.0f};
  std::vector<float> want;
  for (int64_t i = 0; i < x.num_elements(); ++i) want.push_back(E4M3Reference(in[i] / scales[i / 5]) * scales[i / 5]);
  KILN_ASSERT_OK_AND_ASSIGN(Tensor y, FakeQuant(x, "fp8_e4m3", scales, 0));
  EXPECT_TRUE(AllSame(y, in, want));
}

TEST(KilnFakeQuantTest, RejectsBadAttributesAndInputs) {
  const Tensor x = F32({2, 3}, {1, 2, 3, 4, 5, 6});
  EXPECT_TRUE(OpFails("KilnFakeQuant", {x}, Attrs({{"mode", std::string("int4")}}), "mode must be"));
  EXPECT_TRUE(OpFails("KilnFakeQuant", {x}, Attrs({{"mode", std::string("int8")}}), "needs a scale"));
  EXPECT_TRUE(OpFails("KilnFakeQuant", {x}, Attrs({{"mode", std::string("fp16")}, {"scale", std::vector<float>{1}}}),
                      "takes no scale"));
  EXPECT_TRUE(OpFails("KilnFakeQuant", {x}, Attrs({{"mode", std::string("bf16")}, {"scale", std::vector<float>{1}}}),
                      "takes no scale"));
  EXPECT_TRUE(OpFails("KilnFakeQuant", {x}, Attrs({{"mode", std::string("int8")}, {"scale", std::vector<float>{0}}}),
                      "positive finite"));
  EXPECT_TRUE(OpFails("KilnFakeQuant", {x},
                      Attrs({{"mode", std::string("int8")}, {"scale", std::vector<float>{1, 2}}, {"axis", int64_t{1}}}),
                      "channels along axis 1"));
  EXPECT_TRUE(OpFails("KilnFakeQuant", {x},
                      Attrs({{"mode", std::string("int8")}, {"scale", std::vector<float>{1, 2}}, {"axis", int64_t{2}}}),
                      "out of range"));
  EXPECT_TRUE(OpFails("KilnFakeQuant", {FromDoubles(DType::kFloat16, {2}, {1, 2})},
                      Attrs({{"mode", std::string("fp16")}}), "float32"));
}

}  // namespace
}  // namespace kiln
