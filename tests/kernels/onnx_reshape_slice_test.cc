// OnnxReshape and OnnxSlice: ONNX's backend/reference cases on every data-movement dtype, shape
// inference with partly known inputs, and bad inputs.
#include <limits>

#include "kernels/array_test_util.h"

namespace kiln {
namespace {

using namespace testing;  // NOLINT: test helpers
using List = std::vector<int64_t>;

// 0, 1, 2, ... of `shape` in `dtype` ("s0", "s1", ... for strings).
Tensor Iota(DType dtype, const Shape& shape) {
  std::vector<double> v(NumElements(shape));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>(i);
  return Values(dtype, shape, v);
}
Tensor Vec(const List& v) { return I64({static_cast<int64_t>(v.size())}, v); }
Tensor Empty() { return Tensor(DType::kInt64, {0}); }

const std::vector<DType> kDTypes = {DType::kFloat32, DType::kFloat16, DType::kInt64,
                                    DType::kUInt8,   DType::kBool,    DType::kString};

// The reshapes of onnx/backend/test/case/node/reshape.py on a [2, 3, 4] input.
TEST(OnnxReshapeTest, MatchesOnnxBackendCases) {
  const std::vector<std::pair<List, Shape>> cases = {
      {{4, 2, 3}, {4, 2, 3}},       {{2, 12}, {2, 12}},
      {{2, 3, 2, 2}, {2, 3, 2, 2}}, {{24}, {24}},
      {{2, -1, 2}, {2, 6, 2}},      {{-1, 2, 3, 4}, {1, 2, 3, 4}},
      {{2, 0, 4, 1}, {2, 3, 4, 1}}, {{2, 0, 1, -1}, {2, 3, 1, 4}},
      {{0, 4, -1}, {2, 4, 3}},
  };
  for (DType dtype : kDTypes) {
    for (const auto& [shape, want] : cases) {
      SCOPED_TRACE(std::string(DTypeName(dtype)) + " " + ShapeToString(shape));
      EXPECT_TRUE(OpMatches("OnnxReshape", {Iota(dtype, {2, 3, 4}), Vec(shape)}, {}, {Iota(dtype, want)}));
    }
  }
  // allowzero=1 keeps a 0 as a zero-sized dim.
  const ir::AttrMap allowzero = Attrs({{"allowzero", int64_t{1}}});
  EXPECT_TRUE(OpMatches("OnnxReshape", {Iota(DType::kFloat32, {0, 3, 4}), Vec({3, 4, 0})}, allowzero,
                        {Iota(DType::kFloat32, {3, 4, 0})}));
  EXPECT_TRUE(OpMatches("OnnxReshape", {Iota(DType::kFloat32, {2, 3}), I32({2}, {3, 2})}, allowzero,
                        {Iota(DType::kFloat32, {3, 2})}));
}

TEST(OnnxReshapeTest, InfersShapes) {
  const auto x = Ph(DType::kFloat32, PS({-1, 3, 4}));
  EXPECT_EQ(InferredShape("OnnxReshape", {x, Const(Vec({0, 12}))}), "[?,12]");
  EXPECT_EQ(InferredShape("OnnxReshape", {x, Const(Vec({0, -1}))}), "[?,?]");
  EXPECT_EQ(InferredShape("OnnxReshape", {Ph(DType::kFloat32, PS({2, 3, 4})), Const(Vec({0, -1}))}), "[2,12]");
  EXPECT_EQ(InferredShape("OnnxReshape", {x, Ph(DType::kInt64, PS({3}))}), "[?,?,?]");
  EXPECT_EQ(InferredShape("OnnxReshape", {Ph(DType::kFloat32, PartialShape::Unknown()), Const(Vec({0, 5}))}), "[?,5]");
}

TEST(OnnxReshapeTest, RejectsBadShapes) {
  const Tensor x = Iota(DType::kFloat32, {2, 3, 4});
  EXPECT_TRUE(OpFails("OnnxReshape", {x, Vec({-1, -1})}, {}, "more than one -1"));
  EXPECT_TRUE(OpFails("OnnxReshape", {x, Vec({-2, 12})}, {}, "is negative"));
  EXPECT_TRUE(OpFails("OnnxReshape", {x, Vec({6, 1, 2, 0})}, {}, "has rank 3"));
  EXPECT_TRUE(OpFails("OnnxReshape", {x, Vec({5, 5})}, {}, "cannot reshape"));
  EXPECT_TRUE(OpFails("OnnxReshape", {x, Vec({5, -1})}, {}, "cannot infer the -1"));
  EXPECT_TRUE(OpFails("OnnxReshape", {Iota(DType::kFloat32, {0, 3}), Vec({0, -1})}, Attrs({{"allowzero", int64_t{1}}}),
                      "has both 0 and -1"));
  EXPECT_TRUE(OpFails("OnnxReshape", {x, F32({2}, {4, 6})}, {}, "shape must be int32 or int64"));
  EXPECT_TRUE(OpFails("OnnxReshape", {x, I64({1, 2}, {4, 6})}, {}, "shape must be a vector"));
}

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();

struct SliceCase {
  List starts, ends, axes, steps;  // empty axes / steps: absent
  Shape want_shape;
  std::vector<double> want;  // values of Iota([5, 4, 3]) taken
};

// Slices of 0..59 shaped [5, 4, 3], expected values from onnx.reference.ReferenceEvaluator (onnx 1.23);
// the first rows are the cases of onnx/backend/test/case/node/slice.py.
const SliceCase kSliceCases[] = {
    {{0, 0}, {3, 10}, {0, 1}, {1, 1}, {3, 4, 3}, {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11,
                                                  12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23,
                                                  24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35}},
    {{0}, {-1}, {1}, {1}, {5, 3, 3}, {0,  1,  2,  3,  4,  5,  6,  7,  8,  12, 13, 14, 15, 16, 17,
                                      18, 19, 20, 24, 25, 26, 27, 28, 29, 30, 31, 32, 36, 37, 38,
                                      39, 40, 41, 42, 43, 44, 48, 49, 50, 51, 52, 53, 54, 55, 56}},
    {{1000}, {1000}, {1}, {1}, {5, 0, 3}, {}},
    {{1}, {1000}, {1}, {1}, {5, 3, 3}, {3,  4,  5,  6,  7,  8,  9,  10, 11, 15, 16, 17, 18, 19, 20,
                                        21, 22, 23, 27, 28, 29, 30, 31, 32, 33, 34, 35, 39, 40, 41,
                                        42, 43, 44, 45, 46, 47, 51, 52, 53, 54, 55, 56, 57, 58, 59}},
    {{0, 0, 1}, {20, 10, 2}, {}, {}, {5, 4, 1}, {1,  4,  7,  10, 13, 16, 19, 22, 25, 28,
                                                 31, 34, 37, 40, 43, 46, 49, 52, 55, 58}},
    {{5, 4, 3}, {0, 0, 0}, {0, 1, 2}, {-1, -3, -2}, {4, 1, 1}, {59, 47, 35, 23}},
    {{0, 0, 1}, {5, 4, 2}, {0, -2, -1}, {}, {5, 4, 1}, {1,  4,  7,  10, 13, 16, 19, 22, 25, 28,
                                                        31, 34, 37, 40, 43, 46, 49, 52, 55, 58}},
    {{-1}, {kMin}, {0}, {-1}, {5, 4, 3}, {48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 36, 37, 38,
                                          39, 40, 41, 42, 43, 44, 45, 46, 47, 24, 25, 26, 27, 28, 29,
                                          30, 31, 32, 33, 34, 35, 12, 13, 14, 15, 16, 17, 18, 19, 20,
                                          21, 22, 23, 0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11}},
    {{kMax}, {kMin}, {-1}, {-2}, {5, 4, 2}, {2,  0,  5,  3,  8,  6,  11, 9,  14, 12, 17, 15, 20, 18,
                                             23, 21, 26, 24, 29, 27, 32, 30, 35, 33, 38, 36, 41, 39,
                                             44, 42, 47, 45, 50, 48, 53, 51, 56, 54, 59, 57}},
    {{kMin}, {kMax}, {1}, {3}, {5, 2, 3}, {0,  1,  2,  9,  10, 11, 12, 13, 14, 21, 22, 23, 24, 25, 26,
                                           33, 34, 35, 36, 37, 38, 45, 46, 47, 48, 49, 50, 57, 58, 59}},
    {{-100, 2}, {100, -100}, {2, 0}, {1, -1}, {3, 4, 3}, {24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35,
                                                          12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23,
                                                          0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11}},
    {{1}, {3}, {-3}, {kMax}, {1, 4, 3}, {12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23}},
    {{3}, {0}, {1}, {kMin}, {5, 1, 3}, {9, 10, 11, 21, 22, 23, 33, 34, 35, 45, 46, 47, 57, 58, 59}},
};

TEST(OnnxSliceTest, MatchesOnnxReference) {
  for (DType dtype : kDTypes) {
    for (const auto& c : kSliceCases) {
      SCOPED_TRACE(std::string(DTypeName(dtype)) + " starts " + ShapeToString(c.starts) + " ends " +
                   ShapeToString(c.ends) + " axes " + ShapeToString(c.axes) + " steps " + ShapeToString(c.steps));
      const Tensor axes = c.axes.empty() ? Empty() : Vec(c.axes);
      const Tensor steps = c.steps.empty() ? Empty() : Vec(c.steps);
      EXPECT_TRUE(OpMatches("OnnxSlice", {Iota(dtype, {5, 4, 3}), Vec(c.starts), Vec(c.ends), axes, steps}, {},
                            {Values(dtype, c.want_shape, c.want)}));
    }
  }
  // int32 starts/ends, and an absent input given as an empty vector of another dtype.
  EXPECT_TRUE(OpMatches(
      "OnnxSlice", {Iota(DType::kInt32, {6}), I32({1}, {-4}), I32({1}, {-1}), Tensor(DType::kFloat32, {0}), Empty()},
      {}, {Values(DType::kInt32, {3}, {2, 3, 4})}));
}

TEST(OnnxSliceTest, InfersShapes) {
  const auto x = Ph(DType::kFloat32, PS({5, -1, 3}));
  const auto none = Const(Empty());
  EXPECT_EQ(InferredShape("OnnxSlice", {x, Const(Vec({1, 0})), Const(Vec({4, 2})), Const(Vec({0, 2})), none}),
            "[3,?,2]");
  EXPECT_EQ(InferredShape("OnnxSlice", {x, Ph(DType::kInt64, PS({1})), Const(Vec({4})), Const(Vec({-1})), none}),
            "[5,?,?]");
  EXPECT_EQ(InferredShape("OnnxSlice", {x, Ph(DType::kInt64, PS({1})), Ph(DType::kInt64, PS({1})), none, none}),
            "[?,?,3]");
  EXPECT_EQ(InferredShape("OnnxSlice", {x, Const(Vec({0})), Const(Vec({1})), Ph(DType::kInt64, PS({1})), none}),
            "[?,?,?]");
}

TEST(OnnxSliceTest, RejectsBadInputs) {
  const Tensor x = Iota(DType::kFloat32, {5, 4, 3});
  EXPECT_TRUE(OpFails("OnnxSlice", {x, Vec({0}), Vec({2}), Vec({1}), Vec({0})}, {}, "steps[0] is 0"));
  EXPECT_TRUE(OpFails("OnnxSlice", {x, Vec({0, 0}), Vec({2, 2}), Vec({1, -2}), Empty()}, {}, "more than once"));
  EXPECT_TRUE(OpFails("OnnxSlice", {x, Vec({0}), Vec({2}), Vec({3}), Empty()}, {}, "out of range"));
  EXPECT_TRUE(OpFails("OnnxSlice", {x, Vec({0, 0}), Vec({2}), Empty(), Empty()}, {}, "must have one length"));
  EXPECT_TRUE(OpFails("OnnxSlice", {x, Vec({0, 0, 0, 0}), Vec({1, 1, 1, 1}), Empty(), Empty()}, {},
                      "4 starts for an input of rank 3"));
  EXPECT_TRUE(
      OpFails("OnnxSlice", {x, F32({1}, {0}), Vec({2}), Empty(), Empty()}, {}, "starts must be int32 or int64"));
  EXPECT_TRUE(OpFails("OnnxSlice", {x, I64({1, 1}, {0}), Vec({2}), Empty(), Empty()}, {}, "starts must be a vector"));
}

}  // namespace
}  // namespace kiln
