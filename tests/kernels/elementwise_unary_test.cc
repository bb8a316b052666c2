// Unary elementwise ops against references computed in double precision.
#include <cmath>
#include <limits>

#include "kernels/elementwise_test_util.h"

namespace kiln {
namespace {

using testing::FailsWith;
using testing::FromDoubles;
using testing::Int64sAre;
using testing::MapReference;
using testing::RandomTensor;
using testing::RunOp;
using testing::RunOpUnknownShapes;
using testing::TensorsNear;
using testing::ValuesAre;

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

struct UnaryCase {
  const char* op;
  double (*ref)(double);
  double lo, hi;  // input range
};

double Relu(double x) { return x > 0 ? x : 0; }

const UnaryCase kFloatCases[] = {
    {"Relu", Relu, -3, 3},
    {"Relu6", [](double x) { return std::min(Relu(x), 6.0); }, -3, 9},
    {"Elu", [](double x) { return x < 0 ? std::expm1(x) : x; }, -3, 3},
    {"Selu",
     [](double x) {
       const double scale = 1.0507009873554804934193349852946, alpha = 1.6732632423543772848170429916717;
       return x > 0 ? scale * x : scale * alpha * std::expm1(x);
     },
     -3, 3},
    {"LeakyRelu", [](double x) { return x > 0 ? x : static_cast<double>(0.2f) * x; }, -3, 3},  // alpha is a float attr
    {"Softplus", [](double x) { return std::log1p(std::exp(x)); }, -20, 20},
    {"Softsign", [](double x) { return x / (1 + std::fabs(x)); }, -5, 5},
    {"Sigmoid", [](double x) { return 1 / (1 + std::exp(-x)); }, -10, 10},
    {"Tanh", [](double x) { return std::tanh(x); }, -5, 5},
    {"Erf", [](double x) { return std::erf(x); }, -3, 3},
    {"Erfc", [](double x) { return std::erfc(x); }, -3, 3},
    {"Exp", [](double x) { return std::exp(x); }, -5, 5},
    {"Expm1", [](double x) { return std::expm1(x); }, -3, 3},
    {"Log", [](double x) { return std::log(x); }, 0.01, 10},
    {"Log1p", [](double x) { return std::log1p(x); }, -0.9, 10},
    {"Sqrt", [](double x) { return std::sqrt(x); }, 0, 10},
    {"Rsqrt", [](double x) { return 1 / std::sqrt(x); }, 0.1, 10},
    {"Reciprocal", [](double x) { return 1 / x; }, 0.5, 5},
    {"Inv", [](double x) { return 1 / x; }, -5, -0.5},
    {"Floor", [](double x) { return std::floor(x); }, -5, 5},
    {"Ceil", [](double x) { return std::ceil(x); }, -5, 5},
    {"Round", [](double x) { return std::nearbyint(x); }, -5, 5},
    {"Rint", [](double x) { return std::nearbyint(x); }, -5, 5},
    {"Sin", [](double x) { return std::sin(x); }, -6, 6},
    {"Cos", [](double x) { return std::cos(x); }, -6, 6},
    {"Tan", [](double x) { return std::tan(x); }, -1.4, 1.4},
    {"Asin", [](double x) { return std::asin(x); }, -0.99, 0.99},
    {"Acos", [](double x) { return std::acos(x); }, -0.99, 0.99},
    {"Atan", [](double x) { return std::atan(x); }, -5, 5},
    {"Sinh", [](double x) { return std::sinh(x); }, -4, 4},
    {"Cosh", [](double x) { return std::cosh(x); }, -4, 4},
    {"Asinh", [](double x) { return std::asinh(x); }, -5, 5},
    {"Acosh", [](double x) { return std::acosh(x); }, 1, 10},
    {"Atanh", [](double x) { return std::atanh(x); }, -0.95, 0.95},
    {"Neg", [](double x) { return -x; }, -5, 5},
    {"Abs", [](double x) { return std::fabs(x); }, -5, 5},
    {"Sign", [](double x) { return x > 0   ? 1.0
                                   : x < 0 ? -1.0
                                           : 0.0; }, -5, 5},
    {"Square", [](double x) { return x * x; }, -5, 5},
};

class UnaryFloatTest : public ::testing::TestWithParam<UnaryCase> {};

// The kernel computes float16 in float32 and rounds once, so it may land one float16 ulp from
// the double reference rounded to float16.
TEST_P(UnaryFloatTest, MatchesReference) {
  const UnaryCase& c = GetParam();
  struct Tol {
    DType dtype;
    double atol, rtol;
  };
  const Tol tols[] = {{DType::kFloat32, 1e-6, 1e-5}, {DType::kFloat16, 1e-3, 2e-3}, {DType::kFloat64, 1e-12, 1e-12}};
  uint64_t seed = 1;
  for (const Tol& t : tols) {
    for (bool placeholders : {false, true}) {
      const Tensor x = RandomTensor(t.dtype, {3, 17}, seed++, c.lo, c.hi);
      auto out = RunOp(c.op, {x}, {}, placeholders);
      ASSERT_TRUE(out.ok()) << out.status().ToString();
      EXPECT_TRUE(TensorsNear((*out)[0], MapReference(x, t.dtype, c.ref), t.atol, t.rtol))
          << c.op << " " << DTypeName(t.dtype) << (placeholders ? " (placeholders)" : "");
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Ops, UnaryFloatTest, ::testing::ValuesIn(kFloatCases),
                         [](const ::testing::TestParamInfo<UnaryCase>& info) { return std::string(info.param.op); });

TEST(UnaryTest, BFloat16ComputesInFloat32AndRoundsOnce) {
  const Tensor x = RandomTensor(DType::kBFloat16, {64}, 7, -4, 4);
  for (const auto& [op, ref] : std::vector<std::pair<std::string, double (*)(double)>>{
           {"Relu", Relu},
           {"Exp", [](double v) { return std::exp(v); }},
           {"Tanh", [](double v) { return std::tanh(v); }},
           {"Sigmoid", [](double v) { return 1 / (1 + std::exp(-v)); }}}) {
    auto out = RunOp(op, {x});
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    EXPECT_TRUE(TensorsNear((*out)[0], MapReference(x, DType::kBFloat16, ref), 1e-2, 8e-3)) << op;
  }
}

TEST(UnaryTest, LeakyReluUsesAlpha) {
  const Tensor x = RandomTensor(DType::kFloat32, {4, 5}, 3, -2, 2);
  ir::AttrMap attrs;
  attrs.Set("alpha", 0.01f);
  auto out = RunOp("LeakyRelu", {x}, attrs);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_TRUE(TensorsNear((*out)[0], MapReference(x, DType::kFloat32, [](double v) {
                            return v > 0 ? v : static_cast<double>(0.01f) * v;
                          })));
}

TEST(UnaryTest, SpecialValuesMatchTensorFlow) {
  // tf.nn.relu / relu6 / tf.sign / tf.round / tf.abs / tf.nn.elu on
  // [nan, -0.0, 0.0, 2.5, -2.5, 0.5, 1.5, -0.5, inf] (float32).
  const Tensor x = FromDoubles(DType::kFloat32, {9}, {kNan, -0.0, 0.0, 2.5, -2.5, 0.5, 1.5, -0.5, kInf});
  const std::vector<std::pair<std::string, std::vector<double>>> cases = {
      {"Relu", {kNan, 0, 0, 2.5, 0, 0.5, 1.5, 0, kInf}},
      {"Relu6", {kNan, 0, 0, 2.5, 0, 0.5, 1.5, 0, 6}},
      {"Sign", {kNan, 0, 0, 1, -1, 1, 1, -1, 1}},
      {"Round", {kNan, -0.0, 0, 2, -2, 0, 2, -0.0, kInf}},
      {"Rint", {kNan, -0.0, 0, 2, -2, 0, 2, -0.0, kInf}},
      {"Abs", {kNan, 0, 0, 2.5, 2.5, 0.5, 1.5, 0.5, kInf}},
      {"Elu", {kNan, -0.0, 0, 2.5, -0.9179149866104126, 0.5, 1.5, -0.39346933364868164, kInf}},
  };
  for (const auto& [op, expected] : cases) {
    auto out = RunOp(op, {x});
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    EXPECT_TRUE(ValuesAre((*out)[0], expected, 1e-7)) << op;
  }
  // The sign of zero: tf.negative(0.0) is -0.0 and tf.abs(-0.0) is 0.0.
  auto neg = RunOp("Neg", {x});
  ASSERT_TRUE(neg.ok());
  EXPECT_TRUE(std::signbit((*neg)[0].data<float>()[2]));
  EXPECT_FALSE(std::signbit((*neg)[0].data<float>()[1]));
  auto abs = RunOp("Abs", {x});
  ASSERT_TRUE(abs.ok());
  EXPECT_FALSE(std::signbit((*abs)[0].data<float>()[1]));
  // tf.round on float16 [0.5, 1.5, 2.5, -0.5, -1.5]: halfway cases go to even.
  auto r = RunOp("Round", {FromDoubles(DType::kFloat16, {5}, {0.5, 1.5, 2.5, -0.5, -1.5})});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(ValuesAre((*r)[0], {0, 2, 2, -0.0, -2}));
}

TEST(UnaryTest, SoftplusMatchesTensorFlowThresholds) {
  // tf.nn.softplus(tf.constant([100., -100., 20., -20., 0., 14., -14.])).
  auto out = RunOp("Softplus", {FromDoubles(DType::kFloat32, {7}, {100, -100, 20, -20, 0, 14, -14})});
  ASSERT_TRUE(out.ok());
  EXPECT_TRUE(
      ValuesAre((*out)[0], {100, 0, 20, 2.06115369216775e-09, 0.6931471824645996, 14, 8.315287232107949e-07}, 1e-6));
}

TEST(UnaryTest, Predicates) {
  const std::vector<double> v = {kNan, kInf, -kInf, 1.5, -0.0};
  for (DType dtype : {DType::kFloat32, DType::kFloat16, DType::kFloat64, DType::kBFloat16}) {
    const Tensor x = FromDoubles(dtype, {5}, v);
    for (const auto& [op, expected] : std::vector<std::pair<std::string, std::vector<int64_t>>>{
             {"IsNan", {1, 0, 0, 0, 0}}, {"IsInf", {0, 1, 1, 0, 0}}, {"IsFinite", {0, 0, 0, 1, 1}}}) {
      auto out = RunOp(op, {x}, {}, true);
      ASSERT_TRUE(out.ok()) << out.status().ToString();
      EXPECT_EQ((*out)[0].dtype(), DType::kBool);
      EXPECT_TRUE(Int64sAre((*out)[0], expected)) << op << " " << DTypeName(dtype);
    }
  }
}

TEST(UnaryTest, LogicalNot) {
  const Tensor x = RandomTensor(DType::kBool, {3, 4}, 5);
  auto out = RunOp("LogicalNot", {x}, {}, true);
  ASSERT_TRUE(out.ok());
  EXPECT_TRUE(TensorsNear((*out)[0], MapReference(x, DType::kBool, [](double v) { return v == 0 ? 1.0 : 0.0; })));
}

TEST(UnaryTest, IntegerOpsWrapLikeTensorFlow) {
  struct IntCase {
    const char* op;
    double (*ref)(double);
  };
  const IntCase cases[] = {
      {"Abs", [](double x) { return std::fabs(x); }},
      {"Neg", [](double x) { return -x; }},
      {"Sign", [](double x) { return x > 0   ? 1.0
                                     : x < 0 ? -1.0
                                             : 0.0; }},
      {"Square", [](double x) { return x * x; }},  // wraps in int8, as FromDoubles does
      {"Relu", Relu},
      {"Relu6", [](double x) { return std::min(Relu(x), 6.0); }},
      {"Round", [](double x) { return x; }},
  };
  uint64_t seed = 100;
  for (const IntCase& c : cases) {
    for (DType dtype : {DType::kInt32, DType::kInt64, DType::kInt8}) {
      const Tensor x = RandomTensor(dtype, {5, 6}, seed++, -50, 50);
      auto out = RunOp(c.op, {x}, {}, true);
      ASSERT_TRUE(out.ok()) << c.op << ": " << out.status().ToString();
      EXPECT_TRUE(TensorsNear((*out)[0], MapReference(x, dtype, c.ref))) << c.op << " " << DTypeName(dtype);
    }
  }
  // tf.abs / tf.negative of int32 min give int32 min; tf.square(70000) = 605032704.
  const Tensor min = FromDoubles(DType::kInt32, {1}, {-2147483648.0});
  for (const char* op : {"Abs", "Neg"}) {
    auto out = RunOp(op, {min});
    ASSERT_TRUE(out.ok());
    EXPECT_TRUE(Int64sAre((*out)[0], {-2147483648LL})) << op;
  }
  auto sq = RunOp("Square", {FromDoubles(DType::kInt32, {1}, {70000})});
  ASSERT_TRUE(sq.ok());
  EXPECT_TRUE(Int64sAre((*sq)[0], {605032704}));
}

TEST(UnaryTest, EmptyAndScalarInputs) {
  for (const Shape& shape : {Shape{0, 3}, Shape{}, Shape{1, 0}}) {
    const Tensor x = RandomTensor(DType::kFloat32, shape, 9);
    auto out = RunOp("Exp", {x}, {}, true);
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    EXPECT_TRUE(TensorsNear((*out)[0], MapReference(x, DType::kFloat32, [](double v) { return std::exp(v); })));
  }
}

TEST(UnaryTest, RejectsUnsupportedDTypes) {
  const Tensor ints = FromDoubles(DType::kInt32, {2}, {1, 2});
  EXPECT_TRUE(FailsWith(RunOp("Exp", {ints}).status(), "unsupported dtype int32"));
  EXPECT_TRUE(FailsWith(RunOpUnknownShapes("Sigmoid", {ints}).status(), "unsupported dtype int32"));
  EXPECT_TRUE(FailsWith(RunOp("LogicalNot", {ints}).status(), "must be bool, got int32"));
  EXPECT_TRUE(FailsWith(RunOp("Abs", {FromDoubles(DType::kBool, {1}, {1})}).status(), "unsupported dtype bool"));
  EXPECT_TRUE(FailsWith(RunOp("Relu", {Tensor::Strings({1}, {"a"})}).status(), "unsupported dtype string"));
}

TEST(UnaryTest, RegistersTensorFlowOutputNames) {
  const ir::OpDef* relu = ir::OpRegistry::Global().Find("Relu");
  ASSERT_NE(relu, nullptr);
  EXPECT_EQ(relu->outputs[0].name, "activations");
  const ir::OpDef* exp = ir::OpRegistry::Global().Find("Exp");
  ASSERT_NE(exp, nullptr);
  EXPECT_EQ(exp->outputs[0].name, "y");
  ir::Node node;
  node.op = "LeakyRelu";
  KILN_ASSERT_OK(ir::OpRegistry::Global().ApplyDefaults(node));
  EXPECT_EQ(*node.attrs.Get<float>("alpha"), 0.2f);
}

}  // namespace
}  // namespace kiln
