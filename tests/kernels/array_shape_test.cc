// Shape, ShapeN, Size, Rank, Reshape, ExpandDims, Squeeze, Fill, Range and the ops that forward
// their input (Identity and friends).
#include <cmath>

#include "kernels/array_test_util.h"

namespace kiln {
namespace {

using namespace testing;  // NOLINT: test helpers

TEST(ShapeOpsTest, ShapeSizeRankForEveryDType) {
  uint64_t seed = 1;
  for (DType dtype : MovementDTypes()) {
    for (const Shape& shape : {Shape{}, Shape{3}, Shape{2, 0, 4}, Shape{2, 3, 4, 1}}) {
      const Tensor x = RandomAny(dtype, shape, ++seed);
      std::vector<int32_t> dims(shape.begin(), shape.end());
      const int64_t rank = static_cast<int64_t>(shape.size());
      EXPECT_TRUE(OpMatches("Shape", {x}, {}, {I32({rank}, dims)}));
      EXPECT_TRUE(OpMatches("Shape", {x}, Attrs({{"out_type", DType::kInt64}}), {I64({rank}, shape)}));
      EXPECT_TRUE(OpMatches("Size", {x}, {}, {Tensor::Scalar<int32_t>(static_cast<int32_t>(NumElements(shape)))}));
      EXPECT_TRUE(
          OpMatches("Size", {x}, Attrs({{"out_type", DType::kInt64}}), {Tensor::Scalar<int64_t>(NumElements(shape))}));
      EXPECT_TRUE(OpMatches("Rank", {x}, {}, {Tensor::Scalar<int32_t>(static_cast<int32_t>(rank))}));
    }
  }
  const Tensor a = RandomTensor(DType::kFloat32, {2, 5}, 1), b = RandomTensor(DType::kInt32, {7}, 2);
  EXPECT_TRUE(OpMatches("ShapeN", {a, b}, Attrs({{"N", int64_t{2}}}), {I32s({2, 5}), I32s({7})}));
  EXPECT_EQ(InferredShape("Shape", {Ph(DType::kFloat32, PS({-1, 3}))}), "[2]");
  EXPECT_EQ(InferredShape("Shape", {Ph(DType::kFloat32, PartialShape::Unknown())}), "[?]");
  EXPECT_TRUE(OpFails("Shape", {a}, Attrs({{"out_type", DType::kFloat32}}), "out_type must be int32 or int64"));
}

TEST(IdentityOpsTest, ForwardTheirInputsUnchanged) {
  uint64_t seed = 5;
  for (DType dtype : MovementDTypes()) {
    const Tensor x = RandomAny(dtype, {2, 3}, ++seed);
    for (const char* op : {"Identity", "StopGradient", "PreventGradient", "Snapshot"}) {
      EXPECT_TRUE(OpMatches(op, {x}, {}, {x})) << op;
    }
    EXPECT_TRUE(OpMatches("EnsureShape", {x}, Attrs({{"shape", PS({-1, 3})}}), {x}));
  }
  const Tensor a = RandomTensor(DType::kFloat32, {2}, 1), b = RandomTensor(DType::kInt64, {3, 1}, 2);
  EXPECT_TRUE(OpMatches("IdentityN", {a, b}, Attrs({{"T", std::vector<DType>{DType::kFloat32, DType::kInt64}}}), {a, b}));
}

TEST(ReshapeTest, ReshapesEveryDTypeAndResolvesMinusOne) {
  uint64_t seed = 10;
  for (DType dtype : MovementDTypes()) {
    const Tensor x = RandomAny(dtype, {2, 3, 4}, ++seed);
    EXPECT_TRUE(OpMatches("Reshape", {x, I32s({4, -1})}, {}, {*x.Reshaped({4, 6})}));
    EXPECT_TRUE(
        OpMatches("Reshape", {x, I64({3}, {-1, 2, 2})}, Attrs({{"Tshape", DType::kInt64}}), {*x.Reshaped({6, 2, 2})}));
    EXPECT_TRUE(OpMatches("Reshape", {x, I32s({24})}, {}, {*x.Reshaped({24})}));
  }
  // Scalar <-> [1,1]; tf.reshape(tf.ones([0,3]), [-1,0]) has shape [3,0].
  EXPECT_TRUE(OpMatches("Reshape", {F32({1, 1}, {5}), I32({0}, {})}, {}, {Tensor::Scalar<float>(5)}));
  EXPECT_TRUE(OpMatches("Reshape", {Tensor::Scalar<float>(5), I32s({1, -1})}, {}, {F32({1, 1}, {5})}));
  EXPECT_TRUE(
      OpMatches("Reshape", {Tensor(DType::kFloat32, {0, 3}), I32s({-1, 0})}, {}, {Tensor(DType::kFloat32, {3, 0})}));
  EXPECT_TRUE(
      OpMatches("Reshape", {Tensor(DType::kFloat32, {0, 3}), I32s({2, -1})}, {}, {Tensor(DType::kFloat32, {2, 0})}));
}

TEST(ReshapeTest, ShapeInference) {
  // The MNIST CNN's Flatten: [?,7,7,32] reshaped to [-1,1568].
  EXPECT_EQ(InferredShape("Reshape", {Ph(DType::kFloat32, PS({-1, 7, 7, 32})), Const(I32s({-1, 1568}))}), "[?,1568]");
  EXPECT_EQ(InferredShape("Reshape", {Ph(DType::kFloat32, PS({4, 7, 7, 32})), Const(I32s({-1, 1568}))}), "[4,1568]");
  EXPECT_EQ(InferredShape("Reshape", {Ph(DType::kFloat32, PS({-1, 6})), Ph(DType::kInt32, PS({3}))}), "[?,?,?]");
  EXPECT_EQ(InferredShape("Reshape", {Ph(DType::kFloat32, PS({-1, 6})), Ph(DType::kInt32, PS({-1}))}), "<unknown>");
  EXPECT_EQ(InferredShape("Reshape", {Ph(DType::kFloat32, PS({-1, 7})), Const(I32s({5, 3}))}),
            "error: cannot reshape a tensor of shape [?,7] to [5,3]");
}

TEST(ReshapeTest, BadInputsGiveClearErrors) {
  const Tensor x = RandomTensor(DType::kFloat32, {2, 3}, 1);
  // tf: "Input to reshape is a tensor with 6 values, but the requested shape has 8".
  EXPECT_TRUE(OpFails("Reshape", {x, I32s({4, 2})}, {}, "tensor with 6 values, but the requested shape [4,2] has 8"));
  EXPECT_TRUE(OpFails("Reshape", {x, I32s({-1, 4})}, {}, "requires a multiple of 4"));
  // tf: "Only one input size may be -1, not both 0 and 1".
  EXPECT_TRUE(OpFails("Reshape", {x, I32s({-1, -1})}, {}, "only one size may be -1"));
  EXPECT_TRUE(OpFails("Reshape", {x, I32s({-2, 3})}, {}, "must be non-negative, not -2"));
  EXPECT_TRUE(OpFails("Reshape", {x, I32({1, 2}, {2, 3})}, {}, "shape must be a vector"));
}

TEST(ExpandSqueezeTest, InsertAndRemoveUnitDims) {
  uint64_t seed = 20;
  for (DType dtype : MovementDTypes()) {
    const Tensor x = RandomAny(dtype, {2, 3}, ++seed);
    // tf.expand_dims(x, -3) has shape [1,2,3]; axis may be a 1-element vector.
    EXPECT_TRUE(OpMatches("ExpandDims", {x, Tensor::Scalar<int32_t>(0)}, {}, {*x.Reshaped({1, 2, 3})}));
    EXPECT_TRUE(OpMatches("ExpandDims", {x, Tensor::Scalar<int32_t>(-3)}, {}, {*x.Reshaped({1, 2, 3})}));
    EXPECT_TRUE(OpMatches("ExpandDims", {x, I32s({2})}, {}, {*x.Reshaped({2, 3, 1})}));
    EXPECT_TRUE(OpMatches("ExpandDims", {x, I64({}, {-1})}, {}, {*x.Reshaped({2, 3, 1})}));
    const Tensor y = RandomAny(dtype, {1, 2, 1, 3, 1}, ++seed);
    EXPECT_TRUE(OpMatches("Squeeze", {y}, {}, {*y.Reshaped({2, 3})}));
    EXPECT_TRUE(
        OpMatches("Squeeze", {y}, Attrs({{"squeeze_dims", std::vector<int64_t>{-1, 0}}}), {*y.Reshaped({2, 1, 3})}));
  }
  EXPECT_TRUE(OpMatches("ExpandDims", {Tensor::Scalar<float>(2), Tensor::Scalar<int32_t>(0)}, {}, {F32({1}, {2})}));
  EXPECT_EQ(InferredShape("ExpandDims", {Ph(DType::kFloat32, PS({-1, 3})), Const(Tensor::Scalar<int32_t>(1))}),
            "[?,1,3]");
  EXPECT_EQ(InferredShape("ExpandDims", {Ph(DType::kFloat32, PS({-1, 3})), Ph(DType::kInt32, PS({}))}), "[?,?,?]");
  EXPECT_EQ(InferredShape("Squeeze", {Ph(DType::kFloat32, PS({-1, 1, 3}))},
                          Attrs({{"squeeze_dims", std::vector<int64_t>{1}}})),
            "[?,3]");
  EXPECT_EQ(InferredShape("Squeeze", {Ph(DType::kFloat32, PS({-1, 1, 3}))}), "<unknown>");
  EXPECT_EQ(InferredShape("Squeeze", {Ph(DType::kFloat32, PS({2, 1, 3}))}), "[2,3]");

  const Tensor x = RandomTensor(DType::kFloat32, {2, 3}, 1);
  // tf: "Tried to expand dim index 3 for tensor with 2 dimensions."
  EXPECT_TRUE(OpFails("ExpandDims", {x, Tensor::Scalar<int32_t>(3)}, {}, "axis 3 is out of range for rank 3"));
  EXPECT_TRUE(OpFails("ExpandDims", {x, I32s({1, 2})}, {}, "single value"));
  // tf: "Can not squeeze dim[0], expected a dimension of 1, got 2".
  EXPECT_TRUE(OpFails("Squeeze", {x}, Attrs({{"squeeze_dims", std::vector<int64_t>{0}}}),
                      "cannot squeeze dim 0 of shape [2,3]: its size is not 1"));
  EXPECT_TRUE(OpFails("Squeeze", {x}, Attrs({{"squeeze_dims", std::vector<int64_t>{2}}}), "out of range"));
}

TEST(FillTest, FillsEveryDType) {
  uint64_t seed = 30;
  for (DType dtype : MovementDTypes()) {
    const Tensor v = RandomAny(dtype, {}, ++seed);
    for (const Shape& shape : {Shape{}, Shape{3}, Shape{2, 0}, Shape{2, 3, 4}}) {
      std::vector<int32_t> dims(shape.begin(), shape.end());
      const Tensor want = TakeFlat(v, shape, std::vector<int64_t>(NumElements(shape), 0));
      EXPECT_TRUE(OpMatches("Fill", {I32({static_cast<int64_t>(dims.size())}, dims), v}, {}, {want}))
          << DTypeName(dtype) << ShapeToString(shape);
    }
  }
  EXPECT_EQ(InferredShape("Fill", {Const(I32s({2, 5})), Ph(DType::kFloat32, PS({}))}), "[2,5]");
  EXPECT_EQ(InferredShape("Fill", {Ph(DType::kInt32, PS({3})), Ph(DType::kFloat32, PS({}))}), "[?,?,?]");
  // tf: "Dimension -1 must be >= 0".
  EXPECT_TRUE(
      OpFails("Fill", {I32s({2, -1}), Tensor::Scalar<float>(1)}, {}, "dimension -1 in shape [2,-1] must be >= 0"));
  EXPECT_TRUE(OpFails("Fill", {I32s({2}), F32({1}, {1})}, {}, "value must be a scalar"));
  EXPECT_TRUE(OpFails("Fill", {I64({2}, {int64_t{1} << 40, int64_t{1} << 40}), Tensor::Scalar<float>(1)}, {},
                      "too many elements"));
}

TEST(RangeTest, MatchesTensorFlow) {
  // tf.range(3, 10, 3, dtype=tf.int64) == [3,6,9]; tf.range(5, -3, -3) == [5,2,-1].
  EXPECT_TRUE(OpMatches("Range", {I64({}, {3}), I64({}, {10}), I64({}, {3})}, {}, {I64({3}, {3, 6, 9})}));
  EXPECT_TRUE(OpMatches("Range", {I32({}, {5}), I32({}, {-3}), I32({}, {-3})}, {}, {I32s({5, 2, -1})}));
  EXPECT_TRUE(OpMatches("Range", {I32({}, {4}), I32({}, {4}), I32({}, {1})}, {}, {I32({0}, {})}));
  // tf.range(0.5, 2.3, 0.4) == [0.5,0.9,1.3,1.7,2.1]; tf.range(0., 1., 0.1)[-1] == 0.90000004.
  EXPECT_TRUE(OpMatches("Range",
                        {Tensor::Scalar<float>(0.5f), Tensor::Scalar<float>(2.3f), Tensor::Scalar<float>(0.4f)}, {},
                        {F32({5}, {0.5f, 0.9f, 1.3f, 1.7f, 2.1f})}, 0, 1e-7));
  auto r = RunOp("Range", {Tensor::Scalar<float>(0), Tensor::Scalar<float>(1), Tensor::Scalar<float>(0.1f)});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ((*r)[0].num_elements(), 10);
  EXPECT_EQ((*r)[0].data<float>()[9], 0.90000004f);
  // Start + i * delta (not repeated addition): 997 values, all equal to float32(0.3) + i * float32(0.1).
  auto long_range =
      RunOp("Range", {Tensor::Scalar<float>(0.3f), Tensor::Scalar<float>(100), Tensor::Scalar<float>(0.1f)});
  ASSERT_TRUE(long_range.ok());
  ASSERT_EQ((*long_range)[0].num_elements(), 997);
  for (int i = 0; i < 997; ++i) ASSERT_EQ((*long_range)[0].data<float>()[i], 0.3f + static_cast<float>(i) * 0.1f) << i;
  // tf.range(0., 1., 0.1, dtype=tf.float16)[3] == 0.2998.
  Tensor h0(DType::kFloat16, {}), h1(DType::kFloat16, {}), hd(DType::kFloat16, {});
  h0.data<Half>()[0] = FloatToHalf(0);
  h1.data<Half>()[0] = FloatToHalf(1);
  hd.data<Half>()[0] = FloatToHalf(0.1f);
  auto half = RunOp("Range", {h0, h1, hd}, {}, true);
  ASSERT_TRUE(half.ok()) << half.status().ToString();
  ASSERT_EQ((*half)[0].num_elements(), 10);
  EXPECT_EQ(HalfToFloat((*half)[0].data<Half>()[3]), HalfToFloat(FloatToHalf(0.2998f)));
  EXPECT_TRUE(OpMatches("Range", {Tensor::Scalar<double>(1), Tensor::Scalar<double>(0), Tensor::Scalar<double>(-0.25)},
                        {}, {Tensor::FromVector<double>({4}, {1, 0.75, 0.5, 0.25})}));

  EXPECT_EQ(InferredShape("Range", {Const(I32({}, {0})), Const(I32({}, {10})), Const(I32({}, {3}))}), "[4]");
  EXPECT_EQ(InferredShape("Range", {Const(I32({}, {0})), Ph(DType::kInt32, PS({})), Const(I32({}, {3}))}), "[?]");
  // tf: "Requires delta != 0: 0"; "Requires start <= limit when delta > 0: 5/0".
  EXPECT_TRUE(OpFails("Range", {I32({}, {0}), I32({}, {5}), I32({}, {0})}, {}, "delta must not be 0"));
  EXPECT_TRUE(OpFails("Range", {I32({}, {5}), I32({}, {0}), I32({}, {1})}, {}, "must be <= limit"));
  EXPECT_TRUE(OpFails("Range", {I32({}, {0}), I32({}, {5}), I32({}, {-1})}, {}, "must be >= limit"));
  EXPECT_TRUE(OpFails("Range", {I32({}, {0}), I64({}, {5}), I32({}, {1})}, {}, "one dtype"));
  EXPECT_TRUE(OpFails("Range", {Tensor::Scalar<float>(0), Tensor::Scalar<float>(INFINITY), Tensor::Scalar<float>(1)},
                      {}, "too many elements"));
}

}  // namespace
}  // namespace kiln
