// Transpose, Tile, BroadcastTo, ReverseV2, OneHot and Where against index-mapping references.
#include <cmath>

#include "kernels/array_test_util.h"

namespace kiln {
namespace {

using namespace testing;  // NOLINT: test helpers

Tensor ReferenceTranspose(const Tensor& x, const std::vector<int>& perm) {
  Shape out_shape;
  for (int p : perm) out_shape.push_back(x.dim(p));
  std::vector<int64_t> src(NumElements(out_shape));
  for (int64_t o = 0; o < static_cast<int64_t>(src.size()); ++o) {
    const auto oi = Unravel(o, out_shape);
    std::vector<int64_t> ii(perm.size());
    for (size_t d = 0; d < perm.size(); ++d) ii[perm[d]] = oi[d];
    src[o] = Ravel(ii, x.shape());
  }
  return TakeFlat(x, out_shape, src);
}

Tensor PermTensor(const std::vector<int>& perm) {
  return I32({static_cast<int64_t>(perm.size())}, std::vector<int32_t>(perm.begin(), perm.end()));
}

TEST(TransposeTest, EveryPermutationAndDType) {
  uint64_t seed = 1;
  const std::vector<std::pair<Shape, std::vector<std::vector<int>>>> cases = {
      {{}, {{}}},
      {{5}, {{0}}},
      {{3, 70}, {{1, 0}, {0, 1}}},
      {{2, 3, 4}, {{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}}},
      {{2, 5, 1, 3}, {{0, 3, 1, 2}, {0, 2, 3, 1}, {3, 2, 1, 0}, {2, 0, 1, 3}}},
      // Channels first to last with 3 and 7 channels: the output's last dim narrower than a tile.
      {{4, 3, 10, 9}, {{0, 2, 3, 1}}},
      {{2, 7, 3, 11}, {{0, 2, 3, 1}, {2, 3, 0, 1}}},
      {{2, 3, 4, 5, 2}, {{4, 0, 3, 1, 2}, {0, 1, 4, 3, 2}}},
      {{2, 0, 3}, {{2, 1, 0}}},
  };
  for (DType dtype : MovementDTypes()) {
    for (const auto& [shape, perms] : cases) {
      const Tensor x = RandomAny(dtype, shape, ++seed);
      for (const auto& perm : perms) {
        EXPECT_TRUE(OpMatches("Transpose", {x, PermTensor(perm)}, {}, {ReferenceTranspose(x, perm)}))
            << DTypeName(dtype) << " " << ShapeToString(shape);
      }
    }
  }
  // NHWC <-> NCHW with odd sizes exercises the tiled path's edges.
  const Tensor img = RandomTensor(DType::kFloat32, {2, 33, 17, 35}, 5);
  EXPECT_TRUE(OpMatches("Transpose", {img, PermTensor({0, 3, 1, 2})}, {}, {ReferenceTranspose(img, {0, 3, 1, 2})}));
  EXPECT_TRUE(OpMatches("Transpose", {img, PermTensor({0, 2, 3, 1})}, {}, {ReferenceTranspose(img, {0, 2, 3, 1})}));
  EXPECT_TRUE(OpMatches("Transpose", {img, I64({4}, {3, 1, 2, 0})}, Attrs({{"Tperm", DType::kInt64}}),
                        {ReferenceTranspose(img, {3, 1, 2, 0})}));
}

TEST(TransposeTest, ShapeInferenceAndErrors) {
  EXPECT_EQ(InferredShape("Transpose", {Ph(DType::kFloat32, PS({-1, 3, 5})), Const(PermTensor({2, 0, 1}))}), "[5,?,3]");
  EXPECT_EQ(InferredShape("Transpose", {Ph(DType::kFloat32, PS({-1, 3})), Ph(DType::kInt32, PS({2}))}), "[?,?]");
  const Tensor x = RandomTensor(DType::kFloat32, {2, 3}, 1);
  // tf: "1 is missing from {0,0}."; "2 is out of range [0 .. 2)"; "transpose expects a vector of size 2".
  EXPECT_TRUE(OpFails("Transpose", {x, PermTensor({0, 0})}, {}, "perm [0,0] is not a permutation of [0, 2)"));
  EXPECT_TRUE(OpFails("Transpose", {x, PermTensor({0, 2})}, {}, "not a permutation"));
  EXPECT_TRUE(OpFails("Transpose", {x, PermTensor({0})}, {}, "perm"));
}

// Output index o reads input index (o mod in_dim) per dim: Tile and BroadcastTo.
Tensor ReferenceRepeat(const Tensor& x, const Shape& in_shape, const Shape& out_shape) {
  std::vector<int64_t> src(NumElements(out_shape));
  for (int64_t o = 0; o < static_cast<int64_t>(src.size()); ++o) {
    auto idx = Unravel(o, out_shape);
    for (size_t d = 0; d < idx.size(); ++d) idx[d] %= in_shape[d];
    src[o] = Ravel(idx, in_shape);
  }
  return TakeFlat(x, out_shape, src);
}

TEST(TileTest, EveryDTypeAndEdgeCases) {
  uint64_t seed = 50;
  for (DType dtype : MovementDTypes()) {
    const Tensor x = RandomAny(dtype, {2, 3, 4}, ++seed);
    for (const std::vector<int32_t>& m :
         std::vector<std::vector<int32_t>>{{1, 1, 1}, {2, 1, 3}, {1, 3, 1}, {3, 2, 2}, {1, 0, 2}}) {
      const Shape out = {2 * m[0], 3 * m[1], 4 * m[2]};
      EXPECT_TRUE(OpMatches("Tile", {x, I32s(m)}, {}, {ReferenceRepeat(x, x.shape(), out)})) << DTypeName(dtype);
    }
    const Tensor s = RandomAny(dtype, {}, ++seed);
    EXPECT_TRUE(OpMatches("Tile", {s, I32({0}, {})}, {}, {s}));
  }
  // tf.tile(["a","b"], [2]) == ["a","b","a","b"].
  EXPECT_TRUE(OpMatches("Tile", {Tensor::Strings({2}, {"a", "b"}), I32s({2})}, {},
                        {Tensor::Strings({4}, {"a", "b", "a", "b"})}));
  EXPECT_EQ(InferredShape("Tile", {Ph(DType::kFloat32, PS({-1, 3})), Const(I32s({2, 0}))}), "[?,0]");
  EXPECT_EQ(InferredShape("Tile", {Ph(DType::kFloat32, PS({2, 3})), Const(I32s({2, 4}))}), "[4,12]");
  const Tensor x = RandomTensor(DType::kFloat32, {3}, 1);
  // tf: "Expected multiples[0] >= 0, but got -1"; "Expected multiples argument to be a vector of length 1 but got
  // length 2".
  EXPECT_TRUE(OpFails("Tile", {x, I32s({-1})}, {}, "multiples[0] must be >= 0, got -1"));
  EXPECT_TRUE(OpFails("Tile", {x, I32s({1, 2})}, {}, "multiples"));
}

TEST(BroadcastToTest, EveryDTypeAndEdgeCases) {
  uint64_t seed = 70;
  for (DType dtype : MovementDTypes()) {
    const Tensor x = RandomAny(dtype, {3, 1}, ++seed);
    EXPECT_TRUE(OpMatches("BroadcastTo", {x, I32s({2, 3, 4})}, {},
                          {ReferenceRepeat(*x.Reshaped({1, 3, 1}), {1, 3, 1}, {2, 3, 4})}));
    EXPECT_TRUE(OpMatches("BroadcastTo", {x, I32s({3, 1})}, {}, {x}));
    const Tensor s = RandomAny(dtype, {}, ++seed);
    EXPECT_TRUE(
        OpMatches("BroadcastTo", {s, I32s({2, 2})}, {}, {ReferenceRepeat(*s.Reshaped({1, 1}), {1, 1}, {2, 2})}));
  }
  // tf.broadcast_to([[1],[2]], [2,2,3]) == [[[1,1,1],[2,2,2]],[[1,1,1],[2,2,2]]].
  EXPECT_TRUE(OpMatches("BroadcastTo", {I32({2, 1}, {1, 2}), I32s({2, 2, 3})}, {},
                        {I32({2, 2, 3}, {1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2})}));
  // tf.broadcast_to(tf.ones([1]), [0]) is empty; tf.ones([0,1]) -> [0,3] too.
  EXPECT_TRUE(OpMatches("BroadcastTo", {F32({1}, {1}), I32s({0})}, {}, {F32({0}, {})}));
  EXPECT_TRUE(
      OpMatches("BroadcastTo", {Tensor(DType::kFloat32, {0, 1}), I32s({0, 3})}, {}, {Tensor(DType::kFloat32, {0, 3})}));
  EXPECT_EQ(InferredShape("BroadcastTo", {Ph(DType::kFloat32, PS({-1})), Const(I32s({4, 5}))}), "[4,5]");
  EXPECT_EQ(InferredShape("BroadcastTo", {Ph(DType::kFloat32, PS({-1})), Ph(DType::kInt32, PS({2}))}), "[?,?]");
  // tf: "Incompatible shapes: [3] vs. [2,2]"; "Rank of input (2) must be no greater than rank of output shape (1)."
  EXPECT_TRUE(OpFails("BroadcastTo", {F32({3}, {1, 2, 3}), I32s({2, 2})}, {}, "cannot broadcast shape [3] to [2,2]"));
  EXPECT_TRUE(OpFails("BroadcastTo", {Tensor(DType::kFloat32, {2, 3}), I32s({3})}, {}, "lower-rank"));
  EXPECT_TRUE(
      OpFails("BroadcastTo", {Tensor(DType::kFloat32, {0}), I32s({1})}, {}, "cannot broadcast shape [0] to [1]"));
}

TEST(ReverseTest, EveryDTypeAndAxisSet) {
  uint64_t seed = 90;
  for (DType dtype : MovementDTypes()) {
    const Tensor x = RandomAny(dtype, {2, 3, 4}, ++seed);
    for (const std::vector<int32_t>& axes : std::vector<std::vector<int32_t>>{{}, {0}, {2}, {-1}, {0, 2}, {1, 0, 2}}) {
      std::vector<bool> rev(3, false);
      for (int a : axes) rev[a < 0 ? a + 3 : a] = true;
      std::vector<int64_t> src(x.num_elements());
      for (int64_t o = 0; o < x.num_elements(); ++o) {
        auto idx = Unravel(o, x.shape());
        for (int d = 0; d < 3; ++d)
          if (rev[d]) idx[d] = x.dim(d) - 1 - idx[d];
        src[o] = Ravel(idx, x.shape());
      }
      EXPECT_TRUE(OpMatches("ReverseV2", {x, I32({static_cast<int64_t>(axes.size())}, axes)}, {},
                            {TakeFlat(x, x.shape(), src)}))
          << DTypeName(dtype);
    }
  }
  // tf.reverse([[1,2,3],[4,5,6]], [-1]) == [[3,2,1],[6,5,4]]; tf: "axis 0 specified more than once."
  EXPECT_TRUE(
      OpMatches("ReverseV2", {I32({2, 3}, {1, 2, 3, 4, 5, 6}), I32s({-1})}, {}, {I32({2, 3}, {3, 2, 1, 6, 5, 4})}));
  EXPECT_TRUE(
      OpFails("ReverseV2", {Tensor(DType::kFloat32, {2, 3}), I32s({0, -2})}, {}, "axis 0 is given more than once"));
  EXPECT_TRUE(OpFails("ReverseV2", {Tensor(DType::kFloat32, {2, 3}), I32s({2})}, {}, "out of range"));
}

TEST(OneHotTest, MatchesTensorFlow) {
  // tf.raw_ops.OneHot(indices=[0,-1,3,1], depth=3, on_value=5., off_value=-1., axis=0).
  EXPECT_TRUE(OpMatches(
      "OneHot",
      {I64({4}, {0, -1, 3, 1}), Tensor::Scalar<int32_t>(3), Tensor::Scalar<float>(5), Tensor::Scalar<float>(-1)},
      Attrs({{"axis", int64_t{0}}}), {F32({3, 4}, {5, -1, -1, -1, -1, -1, -1, 5, -1, -1, -1, -1})}));
  // tf.raw_ops.OneHot(indices=[[0,2],[1,5]], depth=3, on_value=1, off_value=0, axis=1).
  EXPECT_TRUE(OpMatches(
      "OneHot",
      {I32({2, 2}, {0, 2, 1, 5}), Tensor::Scalar<int32_t>(3), Tensor::Scalar<int32_t>(1), Tensor::Scalar<int32_t>(0)},
      Attrs({{"axis", int64_t{1}}}), {I32({2, 3, 2}, {1, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0})}));
  // Default axis -1 on every value dtype, against a reference.
  uint64_t seed = 120;
  for (DType dtype : MovementDTypes()) {
    const Tensor idx = RandomTensor(DType::kInt64, {3, 4}, ++seed, -1, 6);
    const Tensor on = RandomAny(dtype, {}, ++seed), off = RandomAny(dtype, {}, ++seed);
    const Tensor both = [&] {  // [on, off]
      if (dtype == DType::kString) return Tensor::Strings({2}, {on.strings()[0], off.strings()[0]});
      Tensor t(dtype, {2});
      std::memcpy(t.raw_data(), on.raw_data(), DTypeSize(dtype));
      std::memcpy(static_cast<uint8_t*>(t.raw_data()) + DTypeSize(dtype), off.raw_data(), DTypeSize(dtype));
      return t;
    }();
    std::vector<int64_t> src;
    for (int64_t i = 0; i < 12; ++i)
      for (int64_t d = 0; d < 5; ++d) src.push_back(idx.data<int64_t>()[i] == d ? 0 : 1);
    EXPECT_TRUE(OpMatches("OneHot", {idx, Tensor::Scalar<int32_t>(5), on, off}, {}, {TakeFlat(both, {3, 4, 5}, src)}))
        << DTypeName(dtype);
  }
  EXPECT_EQ(InferredShape("OneHot", {Ph(DType::kInt64, PS({-1, 4})), Const(Tensor::Scalar<int32_t>(10)),
                                     Const(Tensor::Scalar<float>(1)), Const(Tensor::Scalar<float>(0))}),
            "[?,4,10]");
  const std::vector<Tensor> args = {I32s({0, 1}), Tensor::Scalar<int32_t>(3), Tensor::Scalar<float>(1),
                                    Tensor::Scalar<float>(0)};
  // tf: "Expected axis to be -1 or between [0, 2).  But received: -2"; "depth must be non-negative, got: -1".
  EXPECT_TRUE(OpFails("OneHot", args, Attrs({{"axis", int64_t{-2}}}), "axis must be -1 or in [0, 1], got -2"));
  EXPECT_TRUE(
      OpFails("OneHot", {args[0], Tensor::Scalar<int32_t>(-1), args[2], args[3]}, {}, "depth must be non-negative"));
  EXPECT_TRUE(OpFails("OneHot", {args[0], args[1], args[2], Tensor::Scalar<double>(0)}, {}, "one dtype"));
}

TEST(WhereTest, MatchesTensorFlow) {
  // tf.where([[True,False],[False,True]]) == [[0,0],[1,1]]; tf.where([0.,1.,-2.,nan]) == [[1],[2],[3]].
  Tensor b(DType::kBool, {2, 2});
  b.data<bool>()[0] = b.data<bool>()[3] = true;
  EXPECT_TRUE(OpMatches("Where", {b}, {}, {I64({2, 2}, {0, 0, 1, 1})}));
  EXPECT_TRUE(OpMatches("Where", {F32({4}, {0, 1, -2, NAN})}, {}, {I64({3, 1}, {1, 2, 3})}));
  EXPECT_TRUE(OpMatches("Where", {F32({3}, {-0.0f, 0, 0})}, {}, {I64({0, 1}, {})}));
  const Tensor x = RandomTensor(DType::kInt32, {3, 4, 5}, 3, -2, 2);
  std::vector<int64_t> coords;
  for (int64_t i = 0; i < x.num_elements(); ++i) {
    if (x.data<int32_t>()[i] == 0) continue;
    for (int64_t c : Unravel(i, x.shape())) coords.push_back(c);
  }
  EXPECT_TRUE(OpMatches("Where", {x}, {}, {I64({static_cast<int64_t>(coords.size()) / 3, 3}, coords)}));
  EXPECT_EQ(InferredShape("Where", {Ph(DType::kBool, PS({-1, 3}))}), "[?,2]");
  // tf: "WhereOp : Unhandled input dimensions: 0".
  EXPECT_TRUE(OpFails("Where", {Tensor::Scalar<bool>(true)}, {}, "rank >= 1"));
}

}  // namespace
}  // namespace kiln
