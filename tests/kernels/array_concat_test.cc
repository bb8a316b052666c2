// ConcatV2, Concat, Pack, Unpack, Split and SplitV against index-mapping references.
#include "kernels/array_test_util.h"

namespace kiln {
namespace {

using namespace testing;  // NOLINT: test helpers

// All elements of `parts`, one after another, as one flat tensor.
Tensor Flatten(const std::vector<Tensor>& parts) {
  int64_t n = 0;
  for (const Tensor& p : parts) n += p.num_elements();
  Tensor all(parts[0].dtype(), {n});
  int64_t offset = 0;
  for (const Tensor& p : parts) {
    if (p.dtype() == DType::kString) {
      std::copy(p.strings().begin(), p.strings().end(), all.strings().begin() + offset);
    } else if (p.num_elements() > 0) {
      const size_t es = DTypeSize(p.dtype());
      std::memcpy(static_cast<uint8_t*>(all.raw_data()) + offset * es, p.raw_data(), p.num_elements() * es);
    }
    offset += p.num_elements();
  }
  return all;
}

// Concatenation of `parts` along `axis`, element by element.
Tensor ReferenceConcat(const std::vector<Tensor>& parts, int axis) {
  Shape out = parts[0].shape();
  out[axis] = 0;
  std::vector<int64_t> base;
  int64_t offset = 0;
  for (const Tensor& p : parts) {
    out[axis] += p.dim(axis);
    base.push_back(offset);
    offset += p.num_elements();
  }
  std::vector<int64_t> src(NumElements(out));
  for (int64_t o = 0; o < static_cast<int64_t>(src.size()); ++o) {
    auto idx = Unravel(o, out);
    size_t k = 0;
    while (idx[axis] >= parts[k].dim(axis)) idx[axis] -= parts[k++].dim(axis);
    src[o] = base[k] + Ravel(idx, parts[k].shape());
  }
  return TakeFlat(Flatten(parts), out, src);
}

TEST(ConcatTest, EveryDTypeAndAxis) {
  uint64_t seed = 1;
  for (DType dtype : MovementDTypes()) {
    for (int axis : {0, 1, 2, -1}) {
      const int a = axis < 0 ? axis + 3 : axis;
      std::vector<Tensor> parts;
      for (int64_t extent : {2, 1, 3, 0}) {
        Shape s = {2, 3, 4};
        s[a] = extent;
        parts.push_back(RandomAny(dtype, s, ++seed));
      }
      const Tensor want = ReferenceConcat(parts, a);
      std::vector<Tensor> v2 = parts;
      v2.push_back(Tensor::Scalar<int32_t>(axis));
      EXPECT_TRUE(OpMatches("ConcatV2", v2, Attrs({{"N", int64_t{4}}}), {want}))
          << DTypeName(dtype) << " axis " << axis;
      std::vector<Tensor> v1 = {Tensor::Scalar<int32_t>(axis)};
      v1.insert(v1.end(), parts.begin(), parts.end());
      EXPECT_TRUE(OpMatches("Concat", v1, Attrs({{"N", int64_t{4}}}), {want})) << DTypeName(dtype);
    }
  }
  // tf.concat([tf.ones([2,3]), tf.ones([2,1])], axis=-1) has shape [2,4]; a single value passes through.
  EXPECT_TRUE(OpMatches("ConcatV2", {F32({1, 1}, {1}), F32({1, 2}, {2, 3}), I64({}, {-1})},
                        Attrs({{"N", int64_t{2}}, {"Tidx", DType::kInt64}}), {F32({1, 3}, {1, 2, 3})}));
  EXPECT_TRUE(OpMatches("ConcatV2", {F32({2}, {1, 2}), Tensor::Scalar<int32_t>(0)}, Attrs({{"N", int64_t{1}}}),
                        {F32({2}, {1, 2})}));
  EXPECT_EQ(InferredShape(
                "ConcatV2",
                {Ph(DType::kFloat32, PS({-1, 3})), Ph(DType::kFloat32, PS({4, -1})), Const(Tensor::Scalar<int32_t>(1))},
                Attrs({{"N", int64_t{2}}})),
            "[4,?]");
  EXPECT_EQ(InferredShape(
                "ConcatV2",
                {Ph(DType::kFloat32, PS({2, 3})), Ph(DType::kFloat32, PS({4, 3})), Const(Tensor::Scalar<int32_t>(0))},
                Attrs({{"N", int64_t{2}}})),
            "[6,3]");
  EXPECT_EQ(InferredShape("ConcatV2",
                          {Ph(DType::kFloat32, PS({2, 3})), Ph(DType::kFloat32, PS({4, 3})), Ph(DType::kInt32, PS({}))},
                          Attrs({{"N", int64_t{2}}})),
            "[?,?]");

  const ir::AttrMap n2 = Attrs({{"N", int64_t{2}}});
  // tf: "ConcatOp : Dimension 1 in both shapes must be equal: shape[0] = [2,3] vs. shape[1] = [2,4]".
  EXPECT_TRUE(OpFails("ConcatV2",
                      {Tensor(DType::kFloat32, {2, 3}), Tensor(DType::kFloat32, {2, 4}), Tensor::Scalar<int32_t>(0)},
                      n2, "differ in dim 1"));
  // tf: "Expected concatenating dimensions in the range [-2, 2), but got 2"; "Can't concatenate scalars".
  EXPECT_TRUE(OpFails("ConcatV2",
                      {Tensor(DType::kFloat32, {2, 3}), Tensor(DType::kFloat32, {2, 1}), Tensor::Scalar<int32_t>(2)},
                      n2, "axis 2 is out of range for rank 2"));
  EXPECT_TRUE(OpFails("ConcatV2", {Tensor::Scalar<float>(1), Tensor::Scalar<float>(2), Tensor::Scalar<int32_t>(0)}, n2,
                      "cannot concatenate scalars"));
  // tf: "Ranks of all input tensors should match".
  EXPECT_TRUE(OpFails("ConcatV2",
                      {Tensor(DType::kFloat32, {2, 3}), Tensor(DType::kFloat32, {2}), Tensor::Scalar<int32_t>(0)}, n2,
                      "rank"));
  EXPECT_TRUE(OpFails(
      "ConcatV2", {Tensor(DType::kFloat32, {2}), Tensor(DType::kInt32, {2}), Tensor::Scalar<int32_t>(0)}, n2, "dtype"));
}

TEST(PackUnpackTest, EveryDTypeAndAxis) {
  uint64_t seed = 40;
  for (DType dtype : MovementDTypes()) {
    std::vector<Tensor> values;
    for (int i = 0; i < 3; ++i) values.push_back(RandomAny(dtype, {2, 4}, ++seed));
    for (int axis : {0, 1, 2, -1, -3}) {
      const int a = axis < 0 ? axis + 3 : axis;
      Shape piece = {2, 4};
      piece.insert(piece.begin() + a, 1);
      std::vector<Tensor> pieces;
      for (const Tensor& v : values) pieces.push_back(*v.Reshaped(piece));
      const Tensor want = ReferenceConcat(pieces, a);
      EXPECT_TRUE(OpMatches("Pack", values, Attrs({{"N", int64_t{3}}, {"axis", int64_t{axis}}}), {want}))
          << DTypeName(dtype) << " axis " << axis;
      EXPECT_TRUE(OpMatches("Unpack", {want}, Attrs({{"num", int64_t{3}}, {"axis", int64_t{axis}}}), values))
          << DTypeName(dtype) << " axis " << axis;
    }
  }
  // tf.stack([1, 2]) == [1, 2].
  EXPECT_TRUE(OpMatches("Pack", {Tensor::Scalar<int32_t>(1), Tensor::Scalar<int32_t>(2)}, Attrs({{"N", int64_t{2}}}),
                        {I32s({1, 2})}));
  EXPECT_EQ(InferredShape("Pack", {Ph(DType::kFloat32, PS({-1, 3})), Ph(DType::kFloat32, PS({5, -1}))},
                          Attrs({{"N", int64_t{2}}, {"axis", int64_t{1}}})),
            "[5,2,3]");
  auto unpacked =
      InferOp("Unpack", {Ph(DType::kFloat32, PS({-1, 3}))}, Attrs({{"num", int64_t{3}}, {"axis", int64_t{-1}}}));
  ASSERT_TRUE(unpacked.ok());
  ASSERT_EQ(unpacked->size(), 3u);
  EXPECT_EQ((*unpacked)[2].shape.ToString(), "[?]");

  // tf: "Shapes of all inputs must match: values[0].shape = [2] != values[1].shape = [3]"; "axis = 2 not in [-2, 2)".
  EXPECT_TRUE(OpFails("Pack", {Tensor(DType::kFloat32, {2}), Tensor(DType::kFloat32, {3})}, Attrs({{"N", int64_t{2}}}),
                      "shape"));
  EXPECT_TRUE(OpFails("Pack", {Tensor(DType::kFloat32, {2}), Tensor(DType::kFloat32, {2})},
                      Attrs({{"N", int64_t{2}}, {"axis", int64_t{2}}}), "axis 2 is out of range for rank 2"));
  // tf: "Input shape axis 0 must equal 3, got shape [2,3]".
  EXPECT_TRUE(OpFails("Unpack", {Tensor(DType::kFloat32, {2, 3})}, Attrs({{"num", int64_t{3}}}),
                      "Unpack of 3 values needs dim 0 of [2,3] to be 3"));
}

TEST(SplitTest, EveryDTypeAxisAndSizes) {
  uint64_t seed = 80;
  for (DType dtype : MovementDTypes()) {
    for (int axis : {0, 1, 2, -2}) {
      const int a = axis < 0 ? axis + 3 : axis;
      Shape shape = {4, 6, 2};
      std::vector<Tensor> pieces;
      const std::vector<int64_t> sizes = a == 2 ? std::vector<int64_t>{1, 0, 1} : std::vector<int64_t>{1, 0, 3};
      for (int64_t s : sizes) {
        Shape ps = shape;
        ps[a] = s;
        pieces.push_back(RandomAny(dtype, ps, ++seed));
      }
      const Tensor whole = ReferenceConcat(pieces, a);
      // SplitV with explicit sizes and with a -1.
      for (bool minus_one : {false, true}) {
        std::vector<int64_t> sv = sizes;
        if (minus_one) sv[2] = -1;
        EXPECT_TRUE(OpMatches("SplitV", {whole, I64({3}, sv), Tensor::Scalar<int32_t>(axis)},
                              Attrs({{"num_split", int64_t{3}}}), pieces))
            << DTypeName(dtype) << " axis " << axis;
      }
      // Split into equal parts: compare against SplitV's pieces via the reference concat.
      std::vector<Tensor> halves;
      for (int k = 0; k < 2; ++k) {
        Shape hs = whole.shape();
        hs[a] /= 2;
        std::vector<int64_t> src(NumElements(hs));
        for (int64_t o = 0; o < static_cast<int64_t>(src.size()); ++o) {
          auto idx = Unravel(o, hs);
          idx[a] += k * hs[a];
          src[o] = Ravel(idx, whole.shape());
        }
        halves.push_back(TakeFlat(whole, hs, src));
      }
      if (whole.dim(a) % 2 == 0) {
        EXPECT_TRUE(
            OpMatches("Split", {Tensor::Scalar<int32_t>(axis), whole}, Attrs({{"num_split", int64_t{2}}}), halves))
            << DTypeName(dtype) << " axis " << axis;
      }
    }
  }
  const Tensor x = RandomTensor(DType::kFloat32, {5}, 1);
  EXPECT_TRUE(OpMatches("Split", {Tensor::Scalar<int32_t>(0), x}, Attrs({{"num_split", int64_t{1}}}), {x}));
  auto split = InferOp("Split", {Const(Tensor::Scalar<int32_t>(1)), Ph(DType::kFloat32, PS({-1, 6}))},
                       Attrs({{"num_split", int64_t{3}}}));
  ASSERT_TRUE(split.ok());
  EXPECT_EQ((*split)[1].shape.ToString(), "[?,2]");
  auto splitv =
      InferOp("SplitV", {Ph(DType::kFloat32, PS({-1, 6})), Const(I32s({1, -1})), Const(Tensor::Scalar<int32_t>(1))},
              Attrs({{"num_split", int64_t{2}}}));
  ASSERT_TRUE(splitv.ok());
  EXPECT_EQ((*splitv)[1].shape.ToString(), "[?,5]");

  const ir::AttrMap two = Attrs({{"num_split", int64_t{2}}}), three = Attrs({{"num_split", int64_t{3}}});
  // tf: "Number of ways to split should evenly divide the split dimension, but got split_dim 0 (size = 5) and num_split
  // 2".
  EXPECT_TRUE(
      OpFails("Split", {Tensor::Scalar<int32_t>(0), x}, two, "cannot split dim 0 of size 5 evenly into 2 pieces"));
  EXPECT_TRUE(OpFails("Split", {Tensor::Scalar<int32_t>(1), x}, two, "axis 1 is out of range"));
  // tf: "There can only be one -1 in the input."; "Split size at index 1 must be >= 0. Got: -2";
  // "Determined shape must either match input shape along split_dim exactly ... Got: 3".
  EXPECT_TRUE(OpFails("SplitV", {x, I32s({1, -1, -1}), Tensor::Scalar<int32_t>(0)}, three, "only one -1"));
  EXPECT_TRUE(
      OpFails("SplitV", {x, I32s({1, -2, 7}), Tensor::Scalar<int32_t>(0)}, three, "size_splits[1] must be >= 0"));
  EXPECT_TRUE(
      OpFails("SplitV", {x, I32s({1, 2}), Tensor::Scalar<int32_t>(0)}, two, "do not add up to dim 0 of size 5"));
  EXPECT_TRUE(OpFails("SplitV", {x, I32s({4, -1, 3}), Tensor::Scalar<int32_t>(0)}, three, "do not add up"));
  EXPECT_TRUE(OpFails("SplitV", {x, I32s({5}), Tensor::Scalar<int32_t>(0)}, two, "num_split is 2"));
}

}  // namespace
}  // namespace kiln
