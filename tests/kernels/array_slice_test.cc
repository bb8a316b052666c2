// StridedSlice (cases checked against TensorFlow), Slice, GatherV2/Gather, Pad, PadV2, MirrorPad.
#include "kernels/array_test_util.h"

namespace kiln {
namespace {

using namespace testing;  // NOLINT: test helpers

// 0, 1, 2, ... of `shape` in `dtype` ("s0", "s1", ... for strings).
Tensor Iota(DType dtype, const Shape& shape) {
  std::vector<double> v(NumElements(shape));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>(i);
  return Values(dtype, shape, v);
}

struct StridedSliceCase {
  Shape shape;
  std::vector<int32_t> begin, end, strides;
  int64_t begin_mask, end_mask, ellipsis_mask, new_axis_mask, shrink_axis_mask;
  Shape want_shape;
  std::vector<double> want;  // values of Iota(shape) picked
  const char* error;         // non-null: expected error text
};

// Each row was produced by
//   x = tf.reshape(tf.range(prod(shape)), shape)
//   tf.raw_ops.StridedSlice(input=x, begin=..., end=..., strides=..., begin_mask=..., ...)
// on TensorFlow 2.21, pasting its output shape and values (or its error).
const StridedSliceCase kTfCases[] = {
    // x[1:, ::-1, -3:-1]
    {{2, 3, 4},
     {1, 0, -3},
     {0, 0, -1},
     {1, -1, 1},
     0b010,
     0b011,
     0,
     0,
     0,
     {1, 3, 2},
     {21, 22, 17, 18, 13, 14},
     nullptr},
    // x[..., 1]
    {{2, 3, 4}, {0, 1}, {0, 2}, {1, 1}, 0, 0, 0b01, 0, 0b10, {2, 3}, {1, 5, 9, 13, 17, 21}, nullptr},
    // x[:, tf.newaxis, 2:0:-1]
    {{2, 3, 4},
     {0, 0, 2},
     {0, 0, 0},
     {1, 1, -1},
     0b001,
     0b001,
     0,
     0b010,
     0,
     {2, 1, 2, 4},
     {8, 9, 10, 11, 4, 5, 6, 7, 20, 21, 22, 23, 16, 17, 18, 19},
     nullptr},
    // x[-1, ..., ::2]
    {{2, 3, 4},
     {-1, 0, 0},
     {0, 0, 0},
     {1, 1, 2},
     0b100,
     0b100,
     0b010,
     0,
     0b001,
     {3, 2},
     {12, 14, 16, 18, 20, 22},
     nullptr},
    // x[5:10]: clamped to an empty range
    {{2, 3, 4}, {5}, {10}, {1}, 0, 0, 0, 0, 0, {0, 3, 4}, {}, nullptr},
    // x[::-1]
    {{2, 3, 4},
     {0},
     {0},
     {-1},
     1,
     1,
     0,
     0,
     0,
     {2, 3, 4},
     {12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11},
     nullptr},
    // x[-100:100, 1:-1:2]
    {{2, 3, 4}, {-100, 1}, {100, -1}, {1, 2}, 0, 0, 0, 0, 0, {2, 1, 4}, {4, 5, 6, 7, 16, 17, 18, 19}, nullptr},
    // x[..., tf.newaxis]
    {{2, 3, 4},
     {0, 0},
     {0, 0},
     {1, 1},
     0,
     0,
     0b01,
     0b10,
     0,
     {2, 3, 4, 1},
     {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23},
     nullptr},
    // x[1, -1, -1]
    {{2, 3, 4}, {1, -1, -1}, {2, 0, 0}, {1, 1, 1}, 0, 0, 0, 0, 0b111, {}, {23}, nullptr},
    // masked begin/end ignore their values: v[7:-9:-1] with both masks = v[::-1]
    {{6}, {7}, {-9}, {-1}, 1, 1, 0, 0, 0, {6}, {5, 4, 3, 2, 1, 0}, nullptr},
    // v[2:-5:-1]
    {{6}, {2}, {-5}, {-1}, 0, 0, 0, 0, 0, {1}, {2}, nullptr},
    // x[tf.newaxis, ..., 0, tf.newaxis]
    {{2, 3, 4},
     {0, 0, 0, 0},
     {0, 0, 0, 0},
     {1, 1, 1, 1},
     0,
     0,
     0b0010,
     0b1001,
     0b0100,
     {1, 2, 3, 1},
     {0, 4, 8, 12, 16, 20},
     nullptr},
    // v[-2::-3]
    {{10}, {-2}, {0}, {-3}, 0, 1, 0, 0, 0, {3}, {8, 5, 2}, nullptr},
    // v[-20:20:-1]: empty
    {{10}, {-20}, {20}, {-1}, 0, 0, 0, 0, 0, {0}, {}, nullptr},
    // v[20:-20:-4]
    {{10}, {20}, {-20}, {-4}, 0, 0, 0, 0, 0, {3}, {9, 5, 1}, nullptr},
    // fewer specs than dims: x[1:2]
    {{3, 4}, {1}, {2}, {1}, 0, 0, 0, 0, 0, {1, 4}, {4, 5, 6, 7}, nullptr},
    // x[..., 0, -2]
    {{2, 3, 4}, {0, 0, -2}, {0, 0, -1}, {1, 1, 1}, 0, 0, 0b001, 0, 0b110, {2}, {2, 14}, nullptr},
    // scalar[tf.newaxis]
    {{}, {0}, {0}, {1}, 0, 0, 0, 0b1, 0, {1}, {0}, nullptr},
    // tf: "slice index 2 of dimension 0 out of bounds."
    {{2, 3, 4}, {2}, {3}, {1}, 0, 0, 0, 0, 1, {}, {}, "index 2 of dimension 0 is out of bounds"},
    // tf: "strides[0] must be non-zero"
    {{2, 3, 4}, {0}, {1}, {0}, 0, 0, 0, 0, 0, {}, {}, "strides[0] must be non-zero"},
    // tf: "Multiple ellipses in slice spec not allowed"
    {{2, 3, 4}, {0, 0}, {1, 1}, {1, 1}, 0, 0, 0b11, 0, 0, {}, {}, "multiple ellipses"},
    // tf: "Index out of range using input dim 3; input has only 3 dims"
    {{2, 3, 4}, {0, 0, 0, 0}, {1, 1, 1, 1}, {1, 1, 1, 1}, 0, 0, 0, 0, 0, {}, {}, "input has only 3 dims"},
};

ir::AttrMap SliceMasks(const StridedSliceCase& c) {
  return Attrs({{"begin_mask", c.begin_mask},
                {"end_mask", c.end_mask},
                {"ellipsis_mask", c.ellipsis_mask},
                {"new_axis_mask", c.new_axis_mask},
                {"shrink_axis_mask", c.shrink_axis_mask}});
}

TEST(StridedSliceTest, MatchesTensorFlowOnTrickyCases) {
  for (DType dtype : MovementDTypes()) {
    if (dtype == DType::kBool) continue;  // the iota values must stay distinct
    for (const StridedSliceCase& c : kTfCases) {
      const std::vector<Tensor> inputs = {Iota(dtype, c.shape), I32s(c.begin), I32s(c.end), I32s(c.strides)};
      if (c.error != nullptr) {
        EXPECT_TRUE(OpFails("StridedSlice", inputs, SliceMasks(c), c.error));
      } else {
        EXPECT_TRUE(OpMatches("StridedSlice", inputs, SliceMasks(c), {Values(dtype, c.want_shape, c.want)}))
            << DTypeName(dtype) << " begin " << ShapeToString({c.begin.begin(), c.begin.end()});
      }
    }
  }
}

TEST(StridedSliceTest, ShapeInference) {
  auto infer = [](PartialShape in, std::vector<int32_t> b, std::vector<int32_t> e, std::vector<int32_t> s,
                  ir::AttrMap masks, bool bounds_known = true) {
    std::vector<OpInput> inputs = {Ph(DType::kFloat32, std::move(in))};
    const int64_t n = static_cast<int64_t>(s.size());
    inputs.push_back(bounds_known ? Const(I32s(b)) : Ph(DType::kInt32, PS({n})));
    inputs.push_back(bounds_known ? Const(I32s(e)) : Ph(DType::kInt32, PS({n})));
    inputs.push_back(Const(I32s(s)));
    return InferredShape("StridedSlice", inputs, std::move(masks));
  };
  // x[:, 0] on [?, 5]; x[1:3] on [?, 5]; x[:, 1:4] with unknown begin/end values.
  EXPECT_EQ(infer(PS({-1, 5}), {0, 0}, {0, 1}, {1, 1},
                  Attrs({{"begin_mask", int64_t{1}}, {"end_mask", int64_t{1}}, {"shrink_axis_mask", int64_t{2}}})),
            "[?]");
  EXPECT_EQ(infer(PS({-1, 5}), {1}, {3}, {1}, {}), "[?,5]");
  EXPECT_EQ(infer(PS({8, 5}), {1, 1}, {3, 4}, {1, 1}, {}), "[2,3]");
  EXPECT_EQ(
      infer(PS({8, 5}), {0, 1}, {0, 4}, {1, 1}, Attrs({{"begin_mask", int64_t{1}}, {"end_mask", int64_t{1}}}), false),
      "[8,?]");
  EXPECT_EQ(InferredShape("StridedSlice", {Ph(DType::kFloat32, PS({8})), Const(I32s({0})), Const(I32s({1})),
                                           Ph(DType::kInt32, PS({1}))}),
            "<unknown>");
}

TEST(SliceTest, EveryDTypeAgainstReference) {
  uint64_t seed = 1;
  for (DType dtype : MovementDTypes()) {
    const Tensor x = RandomAny(dtype, {4, 5, 6}, ++seed);
    const std::vector<std::pair<std::vector<int32_t>, std::vector<int32_t>>> cases = {{{0, 0, 0}, {4, 5, 6}},
                                                                                      {{1, 2, 3}, {2, 2, 2}},
                                                                                      {{0, 4, 0}, {-1, -1, 6}},
                                                                                      {{3, 0, 5}, {1, 5, 1}},
                                                                                      {{4, 0, 0}, {0, -1, -1}}};
    for (const auto& [begin, size] : cases) {
      Shape out;
      for (int d = 0; d < 3; ++d) out.push_back(size[d] == -1 ? x.dim(d) - begin[d] : size[d]);
      std::vector<int64_t> src(NumElements(out));
      for (int64_t o = 0; o < static_cast<int64_t>(src.size()); ++o) {
        auto idx = Unravel(o, out);
        for (int d = 0; d < 3; ++d) idx[d] += begin[d];
        src[o] = Ravel(idx, x.shape());
      }
      EXPECT_TRUE(OpMatches("Slice", {x, I32s(begin), I32s(size)}, {}, {TakeFlat(x, out, src)})) << DTypeName(dtype);
    }
  }
  // tf.slice(tf.reshape(tf.range(12), [3,4]), [1,1], [1,-1]) == [[5,6,7]].
  EXPECT_TRUE(
      OpMatches("Slice", {Iota(DType::kInt32, {3, 4}), I32s({1, 1}), I32s({1, -1})}, {}, {I32({1, 3}, {5, 6, 7})}));
  EXPECT_EQ(InferredShape("Slice", {Ph(DType::kFloat32, PS({-1, 10})), Const(I32s({0, 2})), Const(I32s({-1, -1}))}),
            "[?,8]");
  EXPECT_EQ(
      InferredShape("Slice", {Ph(DType::kFloat32, PS({-1, 10})), Ph(DType::kInt32, PS({2})), Const(I32s({3, -1}))}),
      "[3,?]");
  const Tensor x = Tensor(DType::kFloat32, {4, 5});
  // tf: "Expected size[0] in [0, 3], but got -2"; "Expected begin[0] in [0, 4], but got -1"; "... in [0, 2], but got
  // 3".
  EXPECT_TRUE(OpFails("Slice", {x, I32s({1, 2}), I32s({-2, 1})}, {}, "size[0] = -2"));
  EXPECT_TRUE(OpFails("Slice", {x, I32s({-1, 2}), I32s({1, 1})}, {}, "begin[0] = -1 is not in [0, 4]"));
  EXPECT_TRUE(OpFails("Slice", {x, I32s({1, 2}), I32s({3, 4})}, {}, "size[1] = 4"));
  EXPECT_TRUE(OpFails("Slice", {x, I32s({1}), I32s({3})}, {}, "one entry per input dim"));
}

Tensor ReferenceGather(const Tensor& params, const Tensor& indices, int axis, int batch_dims) {
  const std::vector<double> idx = ToDoubles(indices);
  Shape out(params.shape().begin(), params.shape().begin() + axis);
  out.insert(out.end(), indices.shape().begin() + batch_dims, indices.shape().end());
  out.insert(out.end(), params.shape().begin() + axis + 1, params.shape().end());
  const int ir = indices.rank() - batch_dims;
  std::vector<int64_t> src(NumElements(out));
  for (int64_t o = 0; o < static_cast<int64_t>(src.size()); ++o) {
    const auto oi = Unravel(o, out);
    std::vector<int64_t> ii(oi.begin(), oi.begin() + batch_dims);  // batch coordinates
    ii.insert(ii.end(), oi.begin() + axis, oi.begin() + axis + ir);
    std::vector<int64_t> pi(oi.begin(), oi.begin() + axis);
    pi.push_back(static_cast<int64_t>(idx[Ravel(ii, indices.shape())]));
    pi.insert(pi.end(), oi.begin() + axis + ir, oi.end());
    src[o] = Ravel(pi, params.shape());
  }
  return TakeFlat(params, out, src);
}

TEST(GatherTest, EveryDTypeAxisAndBatchDims) {
  uint64_t seed = 40;
  for (DType dtype : MovementDTypes()) {
    const Tensor params = RandomAny(dtype, {3, 4, 5}, ++seed);
    for (int axis : {0, 1, 2}) {
      for (int batch_dims : {0, 1}) {
        if (batch_dims > axis) continue;
        for (DType idt : {DType::kInt32, DType::kInt64}) {
          const Shape ishape = batch_dims ? Shape{3, 2, 2} : Shape{2, 3};
          const Tensor indices = RandomTensor(idt, ishape, ++seed, 0, static_cast<double>(params.dim(axis)));
          const Tensor want = ReferenceGather(params, indices, axis, batch_dims);
          EXPECT_TRUE(OpMatches("GatherV2", {params, indices, Tensor::Scalar<int32_t>(axis - (axis == 2 ? 3 : 0))},
                                Attrs({{"batch_dims", int64_t{batch_dims}}}), {want}))
              << DTypeName(dtype) << " axis " << axis << " batch_dims " << batch_dims;
        }
      }
    }
    // Scalar indices drop the axis; Gather (v1) is axis 0.
    EXPECT_TRUE(OpMatches("GatherV2", {params, Tensor::Scalar<int32_t>(2), Tensor::Scalar<int32_t>(1)}, {},
                          {ReferenceGather(params, Tensor::Scalar<int32_t>(2), 1, 0)}));
    const Tensor idx = I32s({2, 0, 2});
    EXPECT_TRUE(OpMatches("Gather", {params, idx}, {}, {ReferenceGather(params, idx, 0, 0)}));
  }
  // tf.gather(tf.reshape(tf.range(24), [2,3,4]), [[1,0],[2,2]], axis=-1, batch_dims=-1).
  EXPECT_TRUE(
      OpMatches("GatherV2", {Iota(DType::kInt32, {2, 3, 4}), I32({2, 2}, {1, 0, 2, 2}), Tensor::Scalar<int32_t>(-1)},
                Attrs({{"batch_dims", int64_t{-1}}}), {I32({2, 3, 2}, {1, 0, 5, 4, 9, 8, 14, 14, 18, 18, 22, 22})}));
  EXPECT_EQ(InferredShape("GatherV2", {Ph(DType::kFloat32, PS({-1, 7, 5})), Ph(DType::kInt32, PS({4, 3})),
                                       Const(Tensor::Scalar<int32_t>(1))}),
            "[?,4,3,5]");
  EXPECT_EQ(InferredShape("GatherV2",
                          {Ph(DType::kFloat32, PS({-1, 7, 5})), Ph(DType::kInt32, PS({4})), Ph(DType::kInt32, PS({}))}),
            "[?,?,?]");
}

TEST(GatherTest, BadInputsGiveClearErrors) {
  const Tensor params = Tensor(DType::kFloat32, {5, 2});
  const Tensor axis0 = Tensor::Scalar<int32_t>(0);
  // tf: "indices[1,1] = 7 is not in [0, 5)"; "indices[0] = -1 is not in [0, 5)".
  EXPECT_TRUE(OpFails("GatherV2", {params, I32({2, 2}, {0, 1, 2, 7}), axis0}, {}, "indices[1,1] = 7 is not in [0, 5)"));
  EXPECT_TRUE(OpFails("GatherV2", {params, I32s({-1}), axis0}, {}, "indices[0] = -1 is not in [0, 5)"));
  EXPECT_TRUE(OpFails("Gather", {params, I64({1}, {5})}, {}, "indices[0] = 5 is not in [0, 5)"));
  EXPECT_TRUE(OpFails("GatherV2", {params, I32s({0}), Tensor::Scalar<int32_t>(2)}, {}, "axis 2 is out of range"));
  // tf: "batch_dims (1) must be less than or equal to axis (0)."; "params.shape[0]: 2 should be equal to
  // indices.shape[0]: 3".
  EXPECT_TRUE(OpFails("GatherV2", {Tensor(DType::kFloat32, {2, 3}), I32({2, 1}, {0, 0}), axis0},
                      Attrs({{"batch_dims", int64_t{1}}}), "batch_dims (1) must be <= axis (0)"));
  EXPECT_TRUE(OpFails("GatherV2", {Tensor(DType::kFloat32, {2, 3}), I32({3, 1}, {0, 0, 0}), Tensor::Scalar<int32_t>(1)},
                      Attrs({{"batch_dims", int64_t{1}}}), "params dim 0 (2) must equal indices dim 0 (3)"));
  EXPECT_TRUE(OpFails("GatherV2", {params, F32({1}, {0}), axis0}, {}, "indices must be"));
}

// Pad reference: out index i maps to in index i - before, or to the mirror of it.
Tensor ReferencePad(const Tensor& x, const std::vector<int32_t>& pads, const std::string& mode) {
  Shape out;
  for (int d = 0; d < x.rank(); ++d) out.push_back(x.dim(d) + pads[2 * d] + pads[2 * d + 1]);
  std::vector<int64_t> src(NumElements(out));
  for (int64_t o = 0; o < static_cast<int64_t>(src.size()); ++o) {
    auto idx = Unravel(o, out);
    bool inside = true;
    for (int d = 0; d < x.rank(); ++d) {
      int64_t i = idx[d] - pads[2 * d];
      const int64_t n = x.dim(d);
      if (mode == "REFLECT") {
        i = i < 0 ? -i : i >= n ? 2 * (n - 1) - i : i;
      } else if (mode == "SYMMETRIC") {
        i = i < 0 ? -i - 1 : i >= n ? 2 * n - 1 - i : i;
      }
      inside &= i >= 0 && i < n;
      idx[d] = i;
    }
    src[o] = inside ? Ravel(idx, x.shape()) : -1;
  }
  return TakeFlat(x, out, src);
}

TEST(PadTest, EveryDTypeAndMode) {
  uint64_t seed = 80;
  const std::vector<std::vector<int32_t>> pad_sets = {{0, 0, 0, 0, 0, 0}, {1, 2, 0, 1, 2, 0}, {2, 2, 3, 3, 1, 1}};
  for (DType dtype : MovementDTypes()) {
    const Tensor x = RandomAny(dtype, {3, 4, 2}, ++seed);
    for (const auto& pads : pad_sets) {
      const Tensor p = I32({3, 2}, pads);
      EXPECT_TRUE(OpMatches("Pad", {x, p}, {}, {ReferencePad(x, pads, "CONSTANT")})) << DTypeName(dtype);
      for (const char* mode : {"REFLECT", "SYMMETRIC"}) {
        if (std::string(mode) == "REFLECT" && (pads[4] > 1 || pads[5] > 1)) continue;  // dim 2 has size 2
        EXPECT_TRUE(OpMatches("MirrorPad", {x, p}, Attrs({{"mode", std::string(mode)}}), {ReferencePad(x, pads, mode)}))
            << DTypeName(dtype) << " " << mode;
      }
    }
  }
  // tf.raw_ops.PadV2(input=[[1,2]], paddings=[[1,0],[0,2]], constant_values=7).
  EXPECT_TRUE(OpMatches("PadV2", {I32({1, 2}, {1, 2}), I32({2, 2}, {1, 0, 0, 2}), Tensor::Scalar<int32_t>(7)}, {},
                        {I32({2, 4}, {7, 7, 7, 7, 1, 2, 7, 7})}));
  EXPECT_TRUE(OpMatches("PadV2", {Tensor::Strings({1}, {"a"}), I32({1, 2}, {1, 1}), Tensor::Strings({}, {"z"})}, {},
                        {Tensor::Strings({3}, {"z", "a", "z"})}));
  // tf.raw_ops.MirrorPad(input=[1,2,3], paddings=[[3,2]], mode="SYMMETRIC") == [3,2,1,1,2,3,3,2].
  EXPECT_TRUE(OpMatches("MirrorPad", {F32({3}, {1, 2, 3}), I32({1, 2}, {3, 2})},
                        Attrs({{"mode", std::string("SYMMETRIC")}}), {F32({8}, {3, 2, 1, 1, 2, 3, 3, 2})}));
  // tf.raw_ops.MirrorPad(input=[[1,2,3],[4,5,6]], paddings=[[1,1],[2,2]], mode="REFLECT").
  EXPECT_TRUE(
      OpMatches("MirrorPad", {F32({2, 3}, {1, 2, 3, 4, 5, 6}), I32({2, 2}, {1, 1, 2, 2})},
                Attrs({{"mode", std::string("REFLECT")}}),
                {F32({4, 7}, {6, 5, 4, 5, 6, 5, 4, 3, 2, 1, 2, 3, 2, 1, 6, 5, 4, 5, 6, 5, 4, 3, 2, 1, 2, 3, 2, 1})}));
  // Rank 0 with [0,2] paddings is the identity.
  EXPECT_TRUE(OpMatches("Pad", {Tensor::Scalar<float>(1), I32({0, 2}, {})}, {}, {Tensor::Scalar<float>(1)}));
  EXPECT_EQ(InferredShape("Pad", {Ph(DType::kFloat32, PS({-1, 3})), Const(I32({2, 2}, {1, 1, 2, 0}))}), "[?,5]");
  EXPECT_EQ(InferredShape("Pad", {Ph(DType::kFloat32, PS({-1, 3})), Ph(DType::kInt32, PS({2, 2}))}), "[?,?]");

  // tf: "Paddings must be non-negative: -1 0"; "The first dimension of paddings must be the rank of inputs[2,2] [3]";
  // "paddings must be less than the dimension size: 3, 0 not less than 3".
  EXPECT_TRUE(OpFails("Pad", {F32({3}, {1, 2, 3}), I32({1, 2}, {-1, 0})}, {}, "paddings must be non-negative, got -1"));
  EXPECT_TRUE(OpFails("Pad", {F32({3}, {1, 2, 3}), I32({2, 2}, {1, 0, 0, 1})}, {}, "paddings must have shape [1"));
  EXPECT_TRUE(OpFails("MirrorPad", {F32({3}, {1, 2, 3}), I32({1, 2}, {3, 0})},
                      Attrs({{"mode", std::string("REFLECT")}}), "must be <= 2"));
  EXPECT_TRUE(OpFails("MirrorPad", {F32({3}, {1, 2, 3}), I32({1, 2}, {4, 0})},
                      Attrs({{"mode", std::string("SYMMETRIC")}}), "must be <= 3"));
  EXPECT_TRUE(OpFails("MirrorPad", {F32({3}, {1, 2, 3}), I32({1, 2}, {1, 0})}, Attrs({{"mode", std::string("EDGE")}}),
                      "mode must be REFLECT or SYMMETRIC"));
  EXPECT_TRUE(
      OpFails("PadV2", {F32({3}, {1, 2, 3}), I32({1, 2}, {1, 0}), Tensor::Scalar<int32_t>(0)}, {}, "constant_values"));
}

}  // namespace
}  // namespace kiln
