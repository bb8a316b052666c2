// Broadcasting binary ops against a straightforward index-by-index reference.
#include <cmath>
#include <limits>

#include "kernels/cpu/broadcast.h"
#include "kernels/elementwise_test_util.h"

namespace kiln {
namespace {

using testing::BroadcastReference;
using testing::FailsWith;
using testing::FromDoubles;
using testing::Int64sAre;
using testing::RandomTensor;
using testing::RunOp;
using testing::RunOpUnknownShapes;
using testing::TensorsNear;
using testing::ValuesAre;

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// Same shape, scalar either side, row and column broadcasts, size-1 dims on both sides,
// rank mismatch, scalars and empty tensors.
const std::vector<std::pair<Shape, Shape>> kShapes = {
    {{2, 3, 4}, {2, 3, 4}},
    {{3, 4}, {}},
    {{}, {3, 4}},
    {{5, 7}, {7}},
    {{5, 7}, {5, 1}},
    {{7}, {5, 7}},
    {{5, 1}, {5, 7}},
    {{3, 1, 5}, {1, 4, 1}},
    {{2, 1, 3, 4}, {3, 1}},
    {{2, 3, 1, 4}, {1, 3, 5, 1}},
    {{1, 1, 6}, {6, 1, 1}},
    {{1}, {}},
    {{}, {}},
    {{0, 3}, {3}},
    {{2, 0}, {1}},
    {{4, 1}, {1, 0}},
    {{64, 33}, {33}},
    {{3, 1, 1}, {1, 2, 1}},
};

// The plan turns the common cases into long contiguous rows (the kernels' fast paths).
TEST(BroadcastPlanTest, CollapsesCommonCasesIntoLongRows) {
  struct Expect {
    std::vector<Shape> inputs;
    Shape output;
    int64_t row;
    std::vector<bool> contiguous;
  };
  const Expect cases[] = {
      {{{2, 3, 4}, {2, 3, 4}}, {2, 3, 4}, 24, {true, true}},  // same shape: one row
      {{{3, 4}, {}}, {3, 4}, 12, {true, false}},              // scalar
      {{{5, 7}, {7}}, {5, 7}, 7, {true, true}},               // row broadcast
      {{{5, 7}, {5, 1}}, {5, 7}, 7, {true, false}},           // column broadcast
      {{{2, 1, 3}, {1, 1, 1}}, {2, 1, 3}, 6, {true, false}},  // size-1 dims dropped
      {{{1, 1}, {}}, {1, 1}, 1, {false, false}},              // a single element
      {{{2, 3, 4}, {3, 4}, {}}, {2, 3, 4}, 12, {true, true, false}},
  };
  for (const Expect& e : cases) {
    auto plan = kernels::cpu::BroadcastPlan::Make(e.inputs);
    ASSERT_TRUE(plan.ok()) << plan.status().ToString();
    EXPECT_EQ(plan->output_shape(), e.output);
    EXPECT_EQ(plan->row_length(), e.row) << ShapeToString(e.output);
    for (size_t i = 0; i < e.contiguous.size(); ++i)
      EXPECT_EQ(plan->row_contiguous(static_cast<int>(i)), e.contiguous[i]);
  }
  EXPECT_TRUE(
      FailsWith(kernels::cpu::BroadcastPlan::Make({{2, 3}, {3, 2}}).status(), "Incompatible shapes: [2,3] vs. [3,2]"));
  EXPECT_TRUE(FailsWith(kernels::cpu::BroadcastPlan::Make({{0}, {2}}).status(), "Incompatible shapes"));
}

// Divisors that are powers of two with mixed signs, so x / y is exact in every precision and
// floor/trunc of the quotient cannot differ between the kernel and the reference.
Tensor PowerOfTwoDivisors(DType dtype, const Shape& shape, uint64_t seed) {
  const Tensor r = RandomTensor(DType::kInt32, shape, seed, 0, 8);
  std::vector<double> v;
  for (int64_t i = 0; i < r.num_elements(); ++i) {
    const int k = r.data<int32_t>()[i];
    v.push_back((k % 2 ? -1 : 1) * std::ldexp(1.0, k / 2 - 1));
  }
  return FromDoubles(dtype, shape, v);
}

struct BinaryCase {
  const char* op;
  double (*ref)(double, double);
  double x_lo, x_hi, y_lo, y_hi;
  bool exact_divisor = false;
};

double FloorMod(double x, double y) {
  const double r = std::fmod(x, y);
  return (r != 0 && ((y < 0) != (r < 0))) ? r + y : r;
}

const BinaryCase kFloatCases[] = {
    {"Add", [](double x, double y) { return x + y; }, -5, 5, -5, 5},
    {"AddV2", [](double x, double y) { return x + y; }, -5, 5, -5, 5},
    {"Sub", [](double x, double y) { return x - y; }, -5, 5, -5, 5},
    {"Mul", [](double x, double y) { return x * y; }, -5, 5, -5, 5},
    {"Div", [](double x, double y) { return x / y; }, -5, 5, 0.5, 4},
    {"RealDiv", [](double x, double y) { return x / y; }, -5, 5, -4, -0.5},
    {"DivNoNan", [](double x, double y) { return x / y; }, -5, 5, 0.5, 4},
    {"MulNoNan", [](double x, double y) { return x * y; }, -5, 5, -5, 5},
    {"Maximum", [](double x, double y) { return std::max(x, y); }, -5, 5, -5, 5},
    {"Minimum", [](double x, double y) { return std::min(x, y); }, -5, 5, -5, 5},
    {"Pow", [](double x, double y) { return std::pow(x, y); }, 0.1, 3, -2, 2},
    {"SquaredDifference", [](double x, double y) { return (x - y) * (x - y); }, -5, 5, -5, 5},
    {"Atan2", [](double y, double x) { return std::atan2(y, x); }, -5, 5, -5, 5},
    {"Xlogy", [](double x, double y) { return x * std::log(y); }, -5, 5, 0.1, 5},
    {"Xdivy", [](double x, double y) { return x / y; }, -5, 5, 0.5, 4},
    {"FloorDiv", [](double x, double y) { return std::floor(x / y); }, -9, 9, 0, 0, true},
    {"FloorMod", FloorMod, -9, 9, 0, 0, true},
    {"TruncateDiv", [](double x, double y) { return std::trunc(x / y); }, -9, 9, 0, 0, true},
    {"TruncateMod", [](double x, double y) { return std::fmod(x, y); }, -9, 9, 0, 0, true},
    {"Mod", [](double x, double y) { return std::fmod(x, y); }, -9, 9, 0, 0, true},
};

class BinaryFloatTest : public ::testing::TestWithParam<BinaryCase> {};

TEST_P(BinaryFloatTest, MatchesReferenceForEveryBroadcastPattern) {
  const BinaryCase& c = GetParam();
  struct Tol {
    DType dtype;
    double atol, rtol;
  };
  const Tol tols[] = {{DType::kFloat32, 1e-6, 1e-5}, {DType::kFloat16, 2e-3, 2e-3}, {DType::kFloat64, 1e-12, 1e-12}};
  uint64_t seed = 1;
  for (const Tol& t : tols) {
    for (const auto& [sx, sy] : kShapes) {
      const Tensor x = RandomTensor(t.dtype, sx, seed++, c.x_lo, c.x_hi);
      const Tensor y =
          c.exact_divisor ? PowerOfTwoDivisors(t.dtype, sy, seed++) : RandomTensor(t.dtype, sy, seed++, c.y_lo, c.y_hi);
      const Tensor expected = BroadcastReference(x, y, t.dtype, c.ref);
      for (bool placeholders : {false, true}) {
        auto out = RunOp(c.op, {x, y}, {}, placeholders);
        ASSERT_TRUE(out.ok()) << c.op << ": " << out.status().ToString();
        EXPECT_TRUE(TensorsNear((*out)[0], expected, t.atol, t.rtol))
            << c.op << " " << DTypeName(t.dtype) << " " << ShapeToString(sx) << " vs " << ShapeToString(sy);
      }
      auto unknown = RunOpUnknownShapes(c.op, {x, y});
      ASSERT_TRUE(unknown.ok()) << unknown.status().ToString();
      EXPECT_TRUE(TensorsNear((*unknown)[0], expected, t.atol, t.rtol));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Ops, BinaryFloatTest, ::testing::ValuesIn(kFloatCases),
                         [](const ::testing::TestParamInfo<BinaryCase>& info) { return std::string(info.param.op); });

TEST(BinaryTest, BFloat16Arithmetic) {
  const Tensor x = RandomTensor(DType::kBFloat16, {6, 5}, 11, -4, 4);
  const Tensor y = RandomTensor(DType::kBFloat16, {5}, 12, -4, 4);
  auto out = RunOp("Mul", {x, y});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_TRUE(TensorsNear(
      (*out)[0], BroadcastReference(x, y, DType::kBFloat16, [](double a, double b) { return a * b; }), 1e-2, 8e-3));
}

// Python semantics for // and %, checked with a reference written from their definitions.
const BinaryCase kIntCases[] = {
    {"Add", [](double x, double y) { return x + y; }, -100, 100, -100, 100},
    {"Sub", [](double x, double y) { return x - y; }, -100, 100, -100, 100},
    {"Mul", [](double x, double y) { return x * y; }, -100, 100, -100, 100},  // wraps in int8
    {"Maximum", [](double x, double y) { return std::max(x, y); }, -100, 100, -100, 100},
    {"Minimum", [](double x, double y) { return std::min(x, y); }, -100, 100, -100, 100},
    {"SquaredDifference", [](double x, double y) { return (x - y) * (x - y); }, -100, 100, -100, 100},
    {"Pow", [](double x, double y) { return std::pow(x, y); }, -6, 6, 0, 6},
    {"Div", [](double x, double y) { return std::trunc(x / y); }, -100, 100, 0, 0, true},
    {"FloorDiv", [](double x, double y) { return std::floor(x / y); }, -100, 100, 0, 0, true},
    {"FloorMod", [](double x, double y) { return x - std::floor(x / y) * y; }, -100, 100, 0, 0, true},
    {"TruncateDiv", [](double x, double y) { return std::trunc(x / y); }, -100, 100, 0, 0, true},
    {"TruncateMod", [](double x, double y) { return std::fmod(x, y); }, -100, 100, 0, 0, true},
    {"Mod", [](double x, double y) { return std::fmod(x, y); }, -100, 100, 0, 0, true},
};

TEST(BinaryTest, IntegerOpsMatchReference) {
  uint64_t seed = 500;
  for (const BinaryCase& c : kIntCases) {
    for (DType dtype : {DType::kInt32, DType::kInt64, DType::kInt8, DType::kInt16}) {
      for (const auto& [sx, sy] : {std::pair<Shape, Shape>{{4, 9}, {4, 9}}, {{3, 1, 5}, {4, 1}}, {{6}, {}}}) {
        const Tensor x = RandomTensor(dtype, sx, seed++, c.x_lo, c.x_hi);
        Tensor y = RandomTensor(dtype, sy, seed++, c.y_lo, c.y_hi);
        if (c.exact_divisor) {  // nonzero divisors in [-12, 12] of both signs
          std::vector<double> v = testing::ToDoubles(RandomTensor(DType::kInt32, sy, seed++, 1, 13));
          for (size_t i = 0; i < v.size(); ++i) v[i] *= i % 2 ? -1 : 1;
          y = FromDoubles(dtype, sy, v);
        }
        auto out = RunOp(c.op, {x, y}, {}, true);
        ASSERT_TRUE(out.ok()) << c.op << ": " << out.status().ToString();
        EXPECT_TRUE(TensorsNear((*out)[0], BroadcastReference(x, y, dtype, c.ref)))
            << c.op << " " << DTypeName(dtype) << " " << ShapeToString(sx) << " vs " << ShapeToString(sy);
      }
    }
  }
}

TEST(BinaryTest, IntegerDivisionByNegativeNumbersMatchesPython) {
  // Python: [7,-7,7,-7,0,1,-1,6,-6] // [2,2,-2,-2,3,-3,3,4,-4] and %, and TF's TruncateDiv/Mod.
  const std::vector<double> xs = {7, -7, 7, -7, 0, 1, -1, 6, -6};
  const std::vector<double> ys = {2, 2, -2, -2, 3, -3, 3, 4, -4};
  const std::vector<std::pair<std::string, std::vector<int64_t>>> cases = {
      {"FloorDiv", {3, -4, -4, 3, 0, -1, -1, 1, 1}},  {"FloorMod", {1, 1, -1, -1, 0, -2, 2, 2, -2}},
      {"TruncateDiv", {3, -3, -3, 3, 0, 0, 0, 1, 1}}, {"TruncateMod", {1, -1, 1, -1, 0, 1, -1, 2, -2}},
      {"Div", {3, -3, -3, 3, 0, 0, 0, 1, 1}},         {"Mod", {1, -1, 1, -1, 0, 1, -1, 2, -2}},
  };
  for (DType dtype : {DType::kInt32, DType::kInt64, DType::kInt8}) {
    for (const auto& [op, expected] : cases) {
      auto out = RunOp(op, {FromDoubles(dtype, {9}, xs), FromDoubles(dtype, {9}, ys)});
      ASSERT_TRUE(out.ok()) << out.status().ToString();
      EXPECT_TRUE(Int64sAre((*out)[0], expected)) << op << " " << DTypeName(dtype);
    }
  }
  // tf.raw_ops.FloorMod / FloorDiv on float32 x + 0.5.
  std::vector<double> xf;
  for (double v : xs) xf.push_back(v + 0.5);
  auto fm = RunOp("FloorMod", {FromDoubles(DType::kFloat32, {9}, xf), FromDoubles(DType::kFloat32, {9}, ys)});
  ASSERT_TRUE(fm.ok());
  EXPECT_TRUE(ValuesAre((*fm)[0], {1.5, 1.5, -0.5, -0.5, 0.5, -1.5, 2.5, 2.5, -1.5}));
  auto fd = RunOp("FloorDiv", {FromDoubles(DType::kFloat32, {9}, xf), FromDoubles(DType::kFloat32, {9}, ys)});
  ASSERT_TRUE(fd.ok());
  EXPECT_TRUE(ValuesAre((*fd)[0], {3, -4, -4, 3, 0, -1, -1, 1, 1}));
}

TEST(BinaryTest, IntegerMinimumDividedByMinusOneWraps) {
  // tf.raw_ops.FloorDiv/TruncateDiv(int32 min, -1) = int32 min; FloorMod/TruncateMod give 0.
  const Tensor x = FromDoubles(DType::kInt32, {1}, {-2147483648.0});
  const Tensor y = FromDoubles(DType::kInt32, {1}, {-1});
  for (const auto& [op, expected] : std::vector<std::pair<std::string, int64_t>>{{"FloorDiv", -2147483648LL},
                                                                                 {"TruncateDiv", -2147483648LL},
                                                                                 {"Div", -2147483648LL},
                                                                                 {"FloorMod", 0},
                                                                                 {"TruncateMod", 0},
                                                                                 {"Mod", 0}}) {
    auto out = RunOp(op, {x, y});
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    EXPECT_TRUE(Int64sAre((*out)[0], {expected})) << op;
  }
}

TEST(BinaryTest, IntegerDivisionByZeroIsAnError) {
  for (const char* op : {"Div", "RealDiv", "FloorDiv", "FloorMod", "TruncateDiv", "TruncateMod", "Mod"}) {
    for (DType dtype : {DType::kInt32, DType::kInt64, DType::kUInt8}) {
      const Tensor x = FromDoubles(dtype, {2, 3}, {1, 2, 3, 4, 5, 6});
      const Tensor y = FromDoubles(dtype, {3}, {1, 0, 2});
      EXPECT_TRUE(FailsWith(RunOp(op, {x, y}).status(), "Integer division by zero")) << op;
      EXPECT_TRUE(FailsWith(RunOpUnknownShapes(op, {x, y}).status(), "Integer division by zero")) << op;
    }
    // An empty output divides nothing, so TensorFlow reports no error.
    auto empty = RunOp(op, {Tensor(DType::kInt64, {0, 3}), FromDoubles(DType::kInt64, {3}, {1, 0, 2})});
    ASSERT_TRUE(empty.ok()) << empty.status().ToString();
    EXPECT_EQ((*empty)[0].shape(), (Shape{0, 3}));
  }
  // Floats divide by zero to inf/nan, as IEEE says (tf.raw_ops.FloorDiv / FloorMod / DivNoNan).
  const Tensor num = FromDoubles(DType::kFloat32, {3}, {1, -1, 0});
  const Tensor zero = FromDoubles(DType::kFloat32, {3}, {0, 0, 0});
  auto fd = RunOp("FloorDiv", {num, zero});
  ASSERT_TRUE(fd.ok());
  EXPECT_TRUE(ValuesAre((*fd)[0], {kInf, -kInf, kNan}));
  auto fm = RunOp("FloorMod", {num, zero});
  ASSERT_TRUE(fm.ok());
  EXPECT_TRUE(ValuesAre((*fm)[0], {kNan, kNan, kNan}));
}

TEST(BinaryTest, IntegerPowMatchesTensorFlow) {
  // tf.pow([2,-3,0,5,3], [10,3,0,1,40]) in int32; int64 3**40 and int8 3**7 wrap.
  auto out = RunOp(
      "Pow", {FromDoubles(DType::kInt32, {5}, {2, -3, 0, 5, 3}), FromDoubles(DType::kInt32, {5}, {10, 3, 0, 1, 40})});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_TRUE(Int64sAre((*out)[0], {1024, -27, 1, 5, 689956897}));
  const Tensor x64 = Tensor::FromVector<int64_t>({1}, {3});
  auto big = RunOp("Pow", {x64, Tensor::FromVector<int64_t>({1}, {40})});
  ASSERT_TRUE(big.ok());
  EXPECT_TRUE(Int64sAre((*big)[0], {-6289078614652622815LL}));
  auto small = RunOp("Pow", {FromDoubles(DType::kInt8, {1}, {3}), FromDoubles(DType::kInt8, {1}, {7})});
  ASSERT_TRUE(small.ok());
  EXPECT_TRUE(Int64sAre((*small)[0], {-117}));
  EXPECT_TRUE(FailsWith(
      RunOp("Pow", {FromDoubles(DType::kInt32, {2}, {2, 1}), FromDoubles(DType::kInt32, {2}, {-1, 2})}).status(),
      "Integers to negative integer powers are not allowed"));
}

// The wide unsigned dtypes take part in the basic arithmetic and comparisons, on random
// non-negative values against the double reference, with unsigned wrap-around.
TEST(BinaryTest, WideUnsignedArithmeticMatchesReference) {
  uint64_t seed = 900;
  for (DType dtype : {DType::kUInt16, DType::kUInt32, DType::kUInt64}) {
    std::vector<double> xs = testing::ToDoubles(RandomTensor(DType::kInt32, {3, 7}, seed++, 0, 200));
    std::vector<double> ys = testing::ToDoubles(RandomTensor(DType::kInt32, {7}, seed++, 1, 50));
    const Tensor x = FromDoubles(dtype, {3, 7}, xs);
    const Tensor y = FromDoubles(dtype, {7}, ys);
    struct Case {
      const char* op;
      double (*ref)(double, double);
    };
    for (const Case& c : std::initializer_list<Case>{
             {"AddV2", [](double a, double b) { return a + b; }},
             {"Mul", [](double a, double b) { return a * b; }},
             {"Maximum", [](double a, double b) { return std::max(a, b); }},
             {"Minimum", [](double a, double b) { return std::min(a, b); }},
             {"TruncateDiv", [](double a, double b) { return std::trunc(a / b); }},
             {"FloorMod", [](double a, double b) { return std::fmod(a, b); }}}) {
      auto out = RunOp(c.op, {x, y}, {}, true);
      ASSERT_TRUE(out.ok()) << c.op << " " << DTypeName(dtype) << ": " << out.status().ToString();
      EXPECT_TRUE(TensorsNear((*out)[0], BroadcastReference(x, y, dtype, c.ref))) << c.op << " " << DTypeName(dtype);
    }
    auto less = RunOp("Less", {x, y}, {}, true);
    ASSERT_TRUE(less.ok()) << less.status().ToString();
    EXPECT_EQ((*less)[0].dtype(), DType::kBool);
    auto sub = RunOp("Sub", {FromDoubles(dtype, {1}, {1}), FromDoubles(dtype, {1}, {2})});
    ASSERT_TRUE(sub.ok());
    const Tensor& d = (*sub)[0];
    if (dtype == DType::kUInt16) EXPECT_EQ(d.data<uint16_t>()[0], 0xFFFFu);
    if (dtype == DType::kUInt32) EXPECT_EQ(d.data<uint32_t>()[0], 0xFFFFFFFFu);
    if (dtype == DType::kUInt64) EXPECT_EQ(d.data<uint64_t>()[0], ~uint64_t{0});
  }
}

TEST(BinaryTest, OverflowWraps) {
  // tf.add(int32 max, 1), tf.multiply(uint8 200, 2) and tf.multiply(int16 300, 300).
  auto add = RunOp("AddV2", {FromDoubles(DType::kInt32, {1}, {2147483647}), FromDoubles(DType::kInt32, {1}, {1})});
  ASSERT_TRUE(add.ok());
  EXPECT_TRUE(Int64sAre((*add)[0], {-2147483648LL}));
  auto mul = RunOp("Mul", {FromDoubles(DType::kUInt8, {1}, {200}), FromDoubles(DType::kUInt8, {1}, {2})});
  ASSERT_TRUE(mul.ok());
  EXPECT_TRUE(Int64sAre((*mul)[0], {144}));
  auto mul16 = RunOp("Mul", {FromDoubles(DType::kInt16, {1}, {300}), FromDoubles(DType::kInt16, {1}, {300})});
  ASSERT_TRUE(mul16.ok());
  EXPECT_TRUE(Int64sAre((*mul16)[0], {24464}));  // 90000 mod 2^16
}

TEST(BinaryTest, NanAndZeroHandlingMatchesTensorFlow) {
  // tf.maximum / tf.minimum propagate NaN from either side.
  const Tensor a = FromDoubles(DType::kFloat32, {3}, {kNan, 1, kNan});
  const Tensor b = FromDoubles(DType::kFloat32, {3}, {1, kNan, kNan});
  for (const char* op : {"Maximum", "Minimum"}) {
    auto out = RunOp(op, {a, b});
    ASSERT_TRUE(out.ok());
    EXPECT_TRUE(ValuesAre((*out)[0], {kNan, kNan, kNan})) << op;
  }
  // tf.raw_ops.DivNoNan([1,nan,inf,3], [0,0,0,2]) and MulNoNan([1,nan,inf,3], [0,0,0,nan]).
  const Tensor x = FromDoubles(DType::kFloat32, {4}, {1, kNan, kInf, 3});
  auto dnn = RunOp("DivNoNan", {x, FromDoubles(DType::kFloat32, {4}, {0, 0, 0, 2})});
  ASSERT_TRUE(dnn.ok());
  EXPECT_TRUE(ValuesAre((*dnn)[0], {0, 0, 0, 1.5}));
  auto mnn = RunOp("MulNoNan", {x, FromDoubles(DType::kFloat32, {4}, {0, 0, 0, kNan})});
  ASSERT_TRUE(mnn.ok());
  EXPECT_TRUE(ValuesAre((*mnn)[0], {0, 0, 0, kNan}));
  // tf.raw_ops.Xlogy([0,0,0,1,2], [nan,0,-1,0,3]) and Xdivy([0,0,0,1], [nan,0,-1,0]).
  auto xlogy = RunOp("Xlogy", {FromDoubles(DType::kFloat32, {5}, {0, 0, 0, 1, 2}),
                               FromDoubles(DType::kFloat32, {5}, {kNan, 0, -1, 0, 3})});
  ASSERT_TRUE(xlogy.ok());
  EXPECT_TRUE(ValuesAre((*xlogy)[0], {0, 0, 0, -kInf, 2.1972246}, 1e-7));
  auto xdivy = RunOp(
      "Xdivy", {FromDoubles(DType::kFloat32, {4}, {0, 0, 0, 1}), FromDoubles(DType::kFloat32, {4}, {kNan, 0, -1, 0})});
  ASSERT_TRUE(xdivy.ok());
  EXPECT_TRUE(ValuesAre((*xdivy)[0], {0, 0, 0, kInf}));
}

TEST(BinaryTest, StringAddConcatenates) {
  auto out = RunOp("Add", {Tensor::Strings({2}, {"a", "b"}), Tensor::Strings({}, {"x"})});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ((*out)[0].strings(), (std::vector<std::string>{"ax", "bx"}));
}

TEST(BinaryTest, AddN) {
  ir::AttrMap attrs;
  attrs.Set("N", int64_t{3});
  for (DType dtype : {DType::kFloat32, DType::kFloat16, DType::kInt32}) {
    const Tensor a = RandomTensor(dtype, {4, 5}, 1, -10, 10);
    const Tensor b = RandomTensor(dtype, {4, 5}, 2, -10, 10);
    const Tensor c = RandomTensor(dtype, {4, 5}, 3, -10, 10);
    const std::vector<double> va = testing::ToDoubles(a), vb = testing::ToDoubles(b), vc = testing::ToDoubles(c);
    std::vector<double> sum(va.size());
    for (size_t i = 0; i < sum.size(); ++i) sum[i] = va[i] + vb[i] + vc[i];
    for (bool placeholders : {false, true}) {
      auto out = RunOp("AddN", {a, b, c}, attrs, placeholders);
      ASSERT_TRUE(out.ok()) << out.status().ToString();
      EXPECT_TRUE(TensorsNear((*out)[0], FromDoubles(dtype, {4, 5}, sum), 1e-2, 1e-3)) << DTypeName(dtype);
    }
  }
  ir::AttrMap one;
  one.Set("N", int64_t{1});
  const Tensor x = RandomTensor(DType::kFloat32, {3}, 4);
  auto single = RunOp("AddN", {x}, one);
  ASSERT_TRUE(single.ok());
  EXPECT_TRUE(TensorsNear((*single)[0], x));

  ir::AttrMap two;
  two.Set("N", int64_t{2});
  const Tensor m = RandomTensor(DType::kFloat32, {2, 2}, 5);
  const Tensor v = RandomTensor(DType::kFloat32, {2}, 6);
  EXPECT_TRUE(FailsWith(RunOp("AddN", {m, v}, two).status(), "must be equal"));
  EXPECT_TRUE(FailsWith(RunOpUnknownShapes("AddN", {m, v}, two).status(), "must have the same shape"));
  EXPECT_TRUE(FailsWith(RunOp("AddN", {m, m}, attrs).status(), "N is 3 but the op has 2 inputs"));
}

TEST(BinaryTest, RejectsBadInputs) {
  const Tensor a = RandomTensor(DType::kFloat32, {2, 3}, 1);
  const Tensor b = RandomTensor(DType::kFloat32, {4}, 2);
  EXPECT_TRUE(FailsWith(RunOp("AddV2", {a, b}).status(), "do not broadcast"));
  EXPECT_TRUE(FailsWith(RunOpUnknownShapes("AddV2", {a, b}).status(), "Incompatible shapes: [2,3] vs. [4]"));
  EXPECT_TRUE(FailsWith(RunOpUnknownShapes("Greater", {a, b}).status(), "Incompatible shapes: [2,3] vs. [4]"));
  const Tensor ints = RandomTensor(DType::kInt32, {2, 3}, 3, -5, 5);
  EXPECT_TRUE(FailsWith(RunOp("Mul", {a, ints}).status(), "has dtype int32 but input 0 has float32"));
  EXPECT_TRUE(FailsWith(RunOpUnknownShapes("Mul", {a, ints}).status(), "has dtype int32 but input 0 has float32"));
  const Tensor flags = RandomTensor(DType::kBool, {2}, 4);
  EXPECT_TRUE(FailsWith(RunOp("AddV2", {flags, flags}).status(), "unsupported dtype bool"));
  EXPECT_TRUE(FailsWith(RunOp("FloorDiv", {flags, flags}).status(), "unsupported dtype bool"));
  EXPECT_TRUE(FailsWith(RunOp("Atan2", {ints, ints}).status(), "unsupported dtype int32"));
}

}  // namespace
}  // namespace kiln
