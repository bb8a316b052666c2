// Select, SelectV2, ClipByValue, Cast, ZerosLike and OnesLike.
#include <cmath>
#include <limits>

#include "kernels/elementwise_test_util.h"

namespace kiln {
namespace {

using testing::BroadcastReferenceN;
using testing::FailsWith;
using testing::FromDoubles;
using testing::Int64sAre;
using testing::RandomTensor;
using testing::RunOp;
using testing::RunOpUnknownShapes;
using testing::TensorsNear;
using testing::ToDoubles;
using testing::ValuesAre;

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

double Choose(const std::vector<double>& v) { return v[0] != 0 ? v[1] : v[2]; }

TEST(SelectTest, SameShapeRowsAndScalarConditions) {
  for (DType dtype : {DType::kFloat32, DType::kFloat16, DType::kInt64, DType::kInt8}) {
    const Tensor t = RandomTensor(dtype, {4, 3, 2}, 1, -9, 9);
    const Tensor e = RandomTensor(dtype, {4, 3, 2}, 2, -9, 9);
    for (const Shape& cond_shape : {Shape{4, 3, 2}, Shape{4}, Shape{}}) {
      const Tensor cond = RandomTensor(DType::kBool, cond_shape, 3);
      // A vector condition picks whole rows: broadcast it as [4,1,1].
      const Tensor as_rows = cond.rank() == 1 ? *cond.Reshaped({4, 1, 1}) : cond;
      const Tensor expected = BroadcastReferenceN({as_rows, t, e}, dtype, Choose);
      for (bool placeholders : {false, true}) {
        auto out = RunOp("Select", {cond, t, e}, {}, placeholders);
        ASSERT_TRUE(out.ok()) << out.status().ToString();
        EXPECT_TRUE(TensorsNear((*out)[0], expected, 0, 0)) << DTypeName(dtype) << " " << ShapeToString(cond_shape);
      }
    }
  }
  auto strings = RunOp("Select", {FromDoubles(DType::kBool, {2}, {1, 0}), Tensor::Strings({2}, {"a", "b"}),
                                  Tensor::Strings({2}, {"x", "y"})});
  ASSERT_TRUE(strings.ok()) << strings.status().ToString();
  EXPECT_EQ((*strings)[0].strings(), (std::vector<std::string>{"a", "y"}));
}

TEST(SelectTest, RejectsBadShapes) {
  const Tensor t = RandomTensor(DType::kFloat32, {2, 2}, 1);
  const Tensor cond3 = RandomTensor(DType::kBool, {3}, 2);
  const Tensor cond12 = RandomTensor(DType::kBool, {1, 2}, 3);
  EXPECT_TRUE(FailsWith(RunOp("Select", {cond3, t, t}).status(), "must be a scalar"));
  EXPECT_TRUE(FailsWith(RunOpUnknownShapes("Select", {cond3, t, t}).status(), "has 3 elements but 'then' has 2 rows"));
  EXPECT_TRUE(FailsWith(RunOp("Select", {cond12, t, t}).status(), "must be a scalar"));
  EXPECT_TRUE(FailsWith(RunOpUnknownShapes("Select", {cond12, t, t}).status(), "must be a scalar"));
  const Tensor e = RandomTensor(DType::kFloat32, {2, 3}, 4);
  const Tensor cond = RandomTensor(DType::kBool, {2}, 5);
  EXPECT_TRUE(FailsWith(RunOp("Select", {cond, t, e}).status(), "must be equal"));
  EXPECT_TRUE(FailsWith(RunOpUnknownShapes("Select", {cond, t, e}).status(), "'then' and 'else' must have the same"));
  EXPECT_TRUE(FailsWith(RunOp("Select", {t, t, t}).status(), "condition must be bool, got float32"));
  EXPECT_TRUE(FailsWith(RunOpUnknownShapes("SelectV2", {t, t, t}).status(), "condition must be bool, got float32"));
}

TEST(SelectTest, SelectV2BroadcastsAllThreeInputs) {
  const std::vector<std::vector<Shape>> patterns = {
      {{2, 1, 1}, {1, 3, 1}, {1, 1, 4}},
      {{}, {2, 3}, {2, 3}},
      {{3}, {2, 3}, {}},
      {{2, 3}, {}, {}},
      {{0, 3}, {3}, {1}},
      {{5, 6}, {5, 6}, {6}},
      {{4, 1}, {4, 7}, {4, 1}},
  };
  uint64_t seed = 10;
  for (DType dtype : {DType::kFloat32, DType::kInt32, DType::kFloat16}) {
    for (const auto& p : patterns) {
      const Tensor cond = RandomTensor(DType::kBool, p[0], seed++);
      const Tensor t = RandomTensor(dtype, p[1], seed++, -9, 9);
      const Tensor e = RandomTensor(dtype, p[2], seed++, -9, 9);
      const Tensor expected = BroadcastReferenceN({cond, t, e}, dtype, Choose);
      for (bool placeholders : {false, true}) {
        auto out = RunOp("SelectV2", {cond, t, e}, {}, placeholders);
        ASSERT_TRUE(out.ok()) << out.status().ToString();
        EXPECT_TRUE(TensorsNear((*out)[0], expected, 0, 0)) << ShapeToString(p[0]) << ShapeToString(p[1]);
      }
    }
  }
  const Tensor c3 = RandomTensor(DType::kBool, {3}, 1);
  const Tensor t22 = RandomTensor(DType::kFloat32, {2, 2}, 2);
  EXPECT_TRUE(FailsWith(RunOp("SelectV2", {c3, t22, t22}).status(), "do not broadcast"));
  // tf.raw_ops.SelectV2 words this error the same way.
  EXPECT_TRUE(FailsWith(RunOpUnknownShapes("SelectV2", {c3, t22, t22}).status(),
                        "condition [3], then [2,2], and else [2,2] must be broadcastable"));
}

TEST(ClipByValueTest, ScalarAndElementwiseBounds) {
  uint64_t seed = 20;
  for (DType dtype : {DType::kFloat32, DType::kFloat16, DType::kInt32, DType::kFloat64}) {
    const Tensor t = RandomTensor(dtype, {5, 4}, seed++, -10, 10);
    for (bool elementwise : {false, true}) {
      const Tensor lo = elementwise ? RandomTensor(dtype, {5, 4}, seed++, -6, 0) : FromDoubles(dtype, {}, {-3});
      const Tensor hi = elementwise ? RandomTensor(dtype, {5, 4}, seed++, 0, 6) : FromDoubles(dtype, {}, {4});
      const Tensor expected = BroadcastReferenceN(
          {t, lo, hi}, dtype, [](const std::vector<double>& v) { return std::max(v[1], std::min(v[0], v[2])); });
      for (bool placeholders : {false, true}) {
        auto out = RunOp("ClipByValue", {t, lo, hi}, {}, placeholders);
        ASSERT_TRUE(out.ok()) << out.status().ToString();
        EXPECT_TRUE(TensorsNear((*out)[0], expected, 0, 0)) << DTypeName(dtype);
      }
    }
  }
}

TEST(ClipByValueTest, NanAndCrossedBoundsMatchTensorFlow) {
  // tf.clip_by_value([nan, 5, -5], -1, 1) and tf.raw_ops.ClipByValue([0, 5, -5], 1, -1).
  auto nan = RunOp("ClipByValue", {FromDoubles(DType::kFloat32, {3}, {kNan, 5, -5}),
                                   FromDoubles(DType::kFloat32, {}, {-1}), FromDoubles(DType::kFloat32, {}, {1})});
  ASSERT_TRUE(nan.ok());
  EXPECT_TRUE(ValuesAre((*nan)[0], {kNan, 1, -1}));
  auto crossed = RunOp("ClipByValue", {FromDoubles(DType::kFloat32, {3}, {0, 5, -5}),
                                       FromDoubles(DType::kFloat32, {}, {1}), FromDoubles(DType::kFloat32, {}, {-1})});
  ASSERT_TRUE(crossed.ok());
  EXPECT_TRUE(ValuesAre((*crossed)[0], {1, 1, 1}));
}

TEST(ClipByValueTest, RejectsBoundsOfOtherShapes) {
  const Tensor t = RandomTensor(DType::kFloat32, {2, 3}, 1);
  const Tensor row = RandomTensor(DType::kFloat32, {3}, 2);
  EXPECT_TRUE(FailsWith(RunOp("ClipByValue", {t, row, row}).status(), "clip_value_min has shape [3]"));
  EXPECT_TRUE(FailsWith(RunOpUnknownShapes("ClipByValue", {t, row, row}).status(),
                        "must be scalars or have the input's shape [2,3]"));
}

ir::AttrMap CastTo(DType dst, bool truncate = false) {
  ir::AttrMap attrs;
  attrs.Set("DstT", dst);
  if (truncate) attrs.Set("Truncate", true);
  return attrs;
}

TEST(CastTest, EveryPairOfDTypes) {
  const DType dtypes[] = {DType::kFloat32, DType::kFloat64, DType::kFloat16, DType::kBFloat16, DType::kInt8,
                          DType::kUInt8,   DType::kInt16,   DType::kUInt16,  DType::kInt32,    DType::kUInt32,
                          DType::kInt64,   DType::kUInt64,  DType::kBool};
  // 8 elements go four at a time where the device allows it; 5 one at a time.
  for (DType src : dtypes) {
    const Tensor sizes[] = {FromDoubles(src, {5}, {0, 1, 2, 5, 10}), FromDoubles(src, {8}, {0, 1, 2, 5, 10, 7, 3, 4})};
    for (const Tensor& x : sizes) {
      for (DType dst : dtypes) {
        ir::AttrMap attrs = CastTo(dst);
        attrs.Set("SrcT", src);
        auto out = RunOp("Cast", {x}, attrs, true);
        ASSERT_TRUE(out.ok()) << out.status().ToString();
        EXPECT_TRUE(TensorsNear((*out)[0], FromDoubles(dst, x.shape(), ToDoubles(x)), 0, 0))
            << DTypeName(src) << " -> " << DTypeName(dst);
      }
    }
  }
}

TEST(CastTest, RoundTrips) {
  const Tensor ints = RandomTensor(DType::kInt32, {100}, 1, -(1 << 24), 1 << 24);
  for (DType wide : {DType::kFloat32, DType::kFloat64, DType::kInt64}) {
    auto there = RunOp("Cast", {ints}, CastTo(wide));
    ASSERT_TRUE(there.ok());
    auto back = RunOp("Cast", {(*there)[0]}, CastTo(DType::kInt32));
    ASSERT_TRUE(back.ok());
    EXPECT_TRUE(TensorsNear((*back)[0], ints, 0, 0)) << DTypeName(wide);
  }
  for (DType narrow : {DType::kFloat16, DType::kBFloat16}) {
    const Tensor x = RandomTensor(narrow, {100}, 2, -1000, 1000);
    auto there = RunOp("Cast", {x}, CastTo(DType::kFloat32));
    ASSERT_TRUE(there.ok());
    auto back = RunOp("Cast", {(*there)[0]}, CastTo(narrow));
    ASSERT_TRUE(back.ok());
    EXPECT_TRUE(TensorsNear((*back)[0], x, 0, 0)) << DTypeName(narrow);
  }
  const Tensor same = RandomTensor(DType::kFloat32, {3}, 3);
  auto identity = RunOp("Cast", {same}, CastTo(DType::kFloat32));
  ASSERT_TRUE(identity.ok());
  EXPECT_TRUE(TensorsNear((*identity)[0], same, 0, 0));
}

TEST(CastTest, FloatToIntegerTruncatesAndDefinesOutOfRange) {
  // tf.cast of float32 [1e10, -1e10, nan, inf, -inf, 2.9, -2.9, 300.7, -129.5, 65535.9, 2**33]
  // on x86: NaN and out-of-range values give the minimum of int32/int64, and narrower types wrap
  // the int32 result.
  const std::vector<double> v = {1e10, -1e10, kNan, kInf, -kInf, 2.9, -2.9, 300.7, -129.5, 65535.9, 8589934592.0};
  const int64_t i32min = -2147483648LL;
  const int64_t i64min = std::numeric_limits<int64_t>::min();
  const std::vector<std::pair<DType, std::vector<int64_t>>> cases = {
      {DType::kInt32, {i32min, i32min, i32min, i32min, i32min, 2, -2, 300, -129, 65535, i32min}},
      {DType::kInt64, {10000000000LL, -10000000000LL, i64min, i64min, i64min, 2, -2, 300, -129, 65535, 8589934592LL}},
      {DType::kInt8, {0, 0, 0, 0, 0, 2, -2, 44, 127, -1, 0}},
      {DType::kUInt8, {0, 0, 0, 0, 0, 2, 254, 44, 127, 255, 0}},
      {DType::kInt16, {0, 0, 0, 0, 0, 2, -2, 300, -129, -1, 0}},
      {DType::kUInt16, {0, 0, 0, 0, 0, 2, 65534, 300, 65407, 65535, 0}},
  };
  for (DType src : {DType::kFloat32, DType::kFloat64}) {
    const Tensor x = FromDoubles(src, {11}, v);
    for (const auto& [dst, expected] : cases) {
      auto out = RunOp("Cast", {x}, CastTo(dst));
      ASSERT_TRUE(out.ok()) << out.status().ToString();
      EXPECT_TRUE(Int64sAre((*out)[0], expected)) << DTypeName(src) << " -> " << DTypeName(dst);
    }
  }
  // tf.cast(float64 [1.5e19, 9.3e18, 2e19], tf.uint64), read back as int64 bits.
  auto u64 = RunOp("Cast", {FromDoubles(DType::kFloat64, {3}, {1.5e19, 9.3e18, 2e19})}, CastTo(DType::kUInt64));
  ASSERT_TRUE(u64.ok());
  const uint64_t* p = (*u64)[0].data<uint64_t>();
  EXPECT_EQ(p[0], 15000000000000000000ULL);
  EXPECT_EQ(p[1], 9300000000000000000ULL);
  EXPECT_EQ(p[2], 9223372036854775808ULL);
  // tf.cast(float16 [70000 (inf), -70000, nan, 300.5, -2.5], tf.int32).
  auto h =
      RunOp("Cast", {FromDoubles(DType::kFloat16, {5}, {70000, -70000, kNan, 300.5, -2.5})}, CastTo(DType::kInt32));
  ASSERT_TRUE(h.ok());
  EXPECT_TRUE(Int64sAre((*h)[0], {i32min, i32min, i32min, 300, -2}));
}

TEST(CastTest, ToBool) {
  auto f = RunOp("Cast", {FromDoubles(DType::kFloat32, {4}, {kNan, 0, -0.0, 0.1})}, CastTo(DType::kBool));
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE(Int64sAre((*f)[0], {1, 0, 0, 1}));
  auto i = RunOp("Cast", {FromDoubles(DType::kInt32, {3}, {-1, 0, 2})}, CastTo(DType::kBool));
  ASSERT_TRUE(i.ok());
  EXPECT_TRUE(Int64sAre((*i)[0], {1, 0, 1}));
}

TEST(CastTest, Float16RoundsHalfwayCasesToEven) {
  // tf.cast(float32 [2049, 2051, 1+2**-11, 1+3*2**-11, 65520, 65519, 2**-25, 1.5*2**-24], tf.float16).
  const Tensor x = FromDoubles(DType::kFloat32, {8},
                               {2049, 2051, 1 + std::ldexp(1, -11), 1 + 3 * std::ldexp(1, -11), 65520, 65519,
                                std::ldexp(1, -25), 1.5 * std::ldexp(1, -24)});
  auto out = RunOp("Cast", {x}, CastTo(DType::kFloat16));
  ASSERT_TRUE(out.ok());
  EXPECT_TRUE(ValuesAre((*out)[0], {2048, 2052, 1, 1.001953125, kInf, 65504, 0, 1.1920928955078125e-07}));
  // tf.cast(int32 [2049, 2051, 70000], tf.float16).
  auto ints = RunOp("Cast", {FromDoubles(DType::kInt32, {3}, {2049, 2051, 70000})}, CastTo(DType::kFloat16));
  ASSERT_TRUE(ints.ok());
  EXPECT_TRUE(ValuesAre((*ints)[0], {2048, 2052, kInf}));
  // tf.cast(float64 [1 + 2**-11 + 2**-40], tf.float16) rounds through float32, giving 1.0.
  auto twice = RunOp("Cast", {FromDoubles(DType::kFloat64, {1}, {1 + std::ldexp(1, -11) + std::ldexp(1, -40)})},
                     CastTo(DType::kFloat16));
  ASSERT_TRUE(twice.ok());
  EXPECT_TRUE(ValuesAre((*twice)[0], {1}));
}

TEST(CastTest, TruncateRoundsTowardZero) {
  // tf.raw_ops.Cast(x, DstT=tf.bfloat16 / tf.float16, Truncate=True / False).
  const Tensor b = FromDoubles(DType::kFloat32, {3}, {1.00390625 + 1e-7, 1.0078125 * 1.5, -1.0117187});
  auto bt = RunOp("Cast", {b}, CastTo(DType::kBFloat16, true));
  ASSERT_TRUE(bt.ok());
  EXPECT_TRUE(ValuesAre((*bt)[0], {1.0, 1.5078125, -1.0078125}));
  auto bn = RunOp("Cast", {b}, CastTo(DType::kBFloat16));
  ASSERT_TRUE(bn.ok());
  EXPECT_TRUE(ValuesAre((*bn)[0], {1.0078125, 1.515625, -1.015625}));
  const Tensor h = FromDoubles(DType::kFloat32, {3}, {1.0009765625 * 0.9999 + 0.00097, 1.00146484375, 2049});
  auto ht = RunOp("Cast", {h}, CastTo(DType::kFloat16, true));
  ASSERT_TRUE(ht.ok());
  EXPECT_TRUE(ValuesAre((*ht)[0], {1.0009765625, 1.0009765625, 2048}));
  auto hn = RunOp("Cast", {h}, CastTo(DType::kFloat16));
  ASSERT_TRUE(hn.ok());
  EXPECT_TRUE(ValuesAre((*hn)[0], {1.001953125, 1.001953125, 2048}));
}

TEST(CastTest, RejectsStrings) {
  EXPECT_TRUE(FailsWith(RunOp("Cast", {FromDoubles(DType::kInt32, {1}, {1})}, CastTo(DType::kString)).status(),
                        "unsupported dtype string"));
  EXPECT_TRUE(FailsWith(RunOp("Cast", {Tensor::Strings({1}, {"1"})}, CastTo(DType::kInt32)).status(),
                        "unsupported dtype string"));
}

TEST(FillLikeTest, ZerosLikeAndOnesLike) {
  for (DType dtype :
       {DType::kFloat32, DType::kFloat16, DType::kBFloat16, DType::kInt32, DType::kUInt64, DType::kBool}) {
    const Tensor x = RandomTensor(dtype, {2, 3}, 1, 1, 5);
    for (bool placeholders : {false, true}) {
      auto zeros = RunOp("ZerosLike", {x}, {}, placeholders);
      ASSERT_TRUE(zeros.ok()) << zeros.status().ToString();
      EXPECT_TRUE(TensorsNear((*zeros)[0], FromDoubles(dtype, {2, 3}, std::vector<double>(6, 0)), 0, 0));
      auto ones = RunOp("OnesLike", {x}, {}, placeholders);
      ASSERT_TRUE(ones.ok()) << ones.status().ToString();
      EXPECT_TRUE(TensorsNear((*ones)[0], FromDoubles(dtype, {2, 3}, std::vector<double>(6, 1)), 0, 0));
    }
  }
  auto empty_strings = RunOp("ZerosLike", {Tensor::Strings({2}, {"a", "b"})});
  ASSERT_TRUE(empty_strings.ok());
  EXPECT_EQ((*empty_strings)[0].strings(), (std::vector<std::string>{"", ""}));
  EXPECT_TRUE(FailsWith(RunOp("OnesLike", {Tensor::Strings({1}, {"a"})}).status(), "unsupported dtype string"));
}

}  // namespace
}  // namespace kiln
