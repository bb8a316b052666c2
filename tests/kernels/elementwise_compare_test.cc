// Comparison and logical ops: bool results with broadcasting.
#include <cmath>
#include <limits>

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

const std::vector<std::pair<Shape, Shape>> kShapes = {
    {{3, 4}, {3, 4}},       {{3, 4}, {}},     {{}, {3, 4}},  {{5, 7}, {7}}, {{5, 7}, {5, 1}},
    {{3, 1, 5}, {1, 4, 1}}, {{2, 1, 3}, {3}}, {{0, 3}, {1}}, {{}, {}},
};

struct CompareCase {
  const char* op;
  double (*ref)(double, double);
};

const CompareCase kCases[] = {
    {"Greater", [](double x, double y) { return x > y ? 1.0 : 0.0; }},
    {"GreaterEqual", [](double x, double y) { return x >= y ? 1.0 : 0.0; }},
    {"Less", [](double x, double y) { return x < y ? 1.0 : 0.0; }},
    {"LessEqual", [](double x, double y) { return x <= y ? 1.0 : 0.0; }},
    {"Equal", [](double x, double y) { return x == y ? 1.0 : 0.0; }},
    {"NotEqual", [](double x, double y) { return x != y ? 1.0 : 0.0; }},
};

TEST(CompareTest, MatchesReference) {
  uint64_t seed = 1;
  for (const CompareCase& c : kCases) {
    for (DType dtype : {DType::kFloat32, DType::kFloat16, DType::kInt32, DType::kInt64, DType::kUInt8}) {
      for (const auto& [sx, sy] : kShapes) {
        // Few distinct (whole) values, so equal pairs are common.
        const Tensor x = RandomTensor(dtype, sx, seed++, 0, 4);
        const Tensor y = RandomTensor(dtype, sy, seed++, 0, 4);
        auto floor = [dtype](const Tensor& t) {
          return testing::MapReference(t, dtype, [](double v) { return std::floor(v); });
        };
        const Tensor fx = floor(x), fy = floor(y);
        const Tensor expected = BroadcastReference(fx, fy, DType::kBool, c.ref);
        for (bool placeholders : {false, true}) {
          auto out = RunOp(c.op, {fx, fy}, {}, placeholders);
          ASSERT_TRUE(out.ok()) << c.op << ": " << out.status().ToString();
          EXPECT_TRUE(TensorsNear((*out)[0], expected))
              << c.op << " " << DTypeName(dtype) << " " << ShapeToString(sx) << " vs " << ShapeToString(sy);
        }
      }
    }
  }
}

TEST(CompareTest, NanComparesUnequal) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const Tensor x = FromDoubles(DType::kFloat32, {2}, {nan, 1});
  const Tensor y = FromDoubles(DType::kFloat32, {2}, {nan, nan});
  for (const auto& [op, expected] : std::vector<std::pair<std::string, std::vector<int64_t>>>{
           {"Equal", {0, 0}}, {"NotEqual", {1, 1}}, {"Less", {0, 0}}, {"GreaterEqual", {0, 0}}}) {
    auto out = RunOp(op, {x, y});
    ASSERT_TRUE(out.ok());
    EXPECT_TRUE(Int64sAre((*out)[0], expected)) << op;
  }
}

TEST(CompareTest, EqualityOnBoolAndString) {
  // tf.equal([True, False], [True, True]) and tf.equal(['a','b'], ['a','c']).
  auto b = RunOp("Equal", {FromDoubles(DType::kBool, {2}, {1, 0}), FromDoubles(DType::kBool, {2}, {1, 1})});
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_TRUE(Int64sAre((*b)[0], {1, 0}));
  auto s = RunOp("NotEqual", {Tensor::Strings({2}, {"a", "b"}), Tensor::Strings({2}, {"a", "c"})});
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_TRUE(Int64sAre((*s)[0], {0, 1}));
  EXPECT_TRUE(
      FailsWith(RunOp("Greater", {FromDoubles(DType::kBool, {1}, {1}), FromDoubles(DType::kBool, {1}, {0})}).status(),
                "unsupported dtype bool"));
}

TEST(CompareTest, IncompatibleShapesWithoutErrorGiveAScalar) {
  // tf.raw_ops.Equal([1,2,3], [1,2], incompatible_shape_error=False) is False; NotEqual is True.
  const Tensor x = FromDoubles(DType::kInt32, {3}, {1, 2, 3});
  const Tensor y = FromDoubles(DType::kInt32, {2}, {1, 2});
  ir::AttrMap lenient;
  lenient.Set("incompatible_shape_error", false);
  for (const auto& [op, expected] : std::vector<std::pair<std::string, int64_t>>{{"Equal", 0}, {"NotEqual", 1}}) {
    for (int mode = 0; mode < 3; ++mode) {
      auto out = mode == 2 ? RunOpUnknownShapes(op, {x, y}, lenient) : RunOp(op, {x, y}, lenient, mode == 1);
      ASSERT_TRUE(out.ok()) << op << ": " << out.status().ToString();
      EXPECT_EQ((*out)[0].shape(), Shape{});
      EXPECT_TRUE(Int64sAre((*out)[0], {expected})) << op;
    }
    // Broadcastable shapes still compare elementwise.
    auto ok = RunOp(op, {x, FromDoubles(DType::kInt32, {1}, {2})}, lenient);
    ASSERT_TRUE(ok.ok());
    EXPECT_TRUE(Int64sAre((*ok)[0], expected ? std::vector<int64_t>{1, 0, 1} : std::vector<int64_t>{0, 1, 0}));
    EXPECT_TRUE(FailsWith(RunOp(op, {x, y}).status(), "do not broadcast"));
    EXPECT_TRUE(FailsWith(RunOpUnknownShapes(op, {x, y}).status(), "Incompatible shapes: [3] vs. [2]"));
  }
}

TEST(CompareTest, LogicalAndOr) {
  uint64_t seed = 40;
  for (const auto& [sx, sy] : kShapes) {
    const Tensor x = RandomTensor(DType::kBool, sx, seed++);
    const Tensor y = RandomTensor(DType::kBool, sy, seed++);
    auto a = RunOp("LogicalAnd", {x, y}, {}, true);
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    EXPECT_TRUE(TensorsNear((*a)[0], BroadcastReference(x, y, DType::kBool, [](double p, double q) { return p * q; })));
    auto o = RunOp("LogicalOr", {x, y});
    ASSERT_TRUE(o.ok()) << o.status().ToString();
    EXPECT_TRUE(TensorsNear((*o)[0], BroadcastReference(x, y, DType::kBool, [](double p, double q) { return p + q; })));
  }
  const Tensor f = RandomTensor(DType::kFloat32, {2}, 1);
  EXPECT_TRUE(FailsWith(RunOp("LogicalAnd", {f, f}).status(), "input 0 must be bool, got float32"));
  EXPECT_TRUE(FailsWith(RunOpUnknownShapes("LogicalOr", {f, f}).status(), "input 0 must be bool, got float32"));
}

}  // namespace
}  // namespace kiln
