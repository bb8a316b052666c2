// QuantizeLinear and DequantizeLinear: ONNX's backend test cases, per-axis and blocked layouts on
// random inputs against the formula, dtypes, shape inference and mismatched parameters.
#include <cmath>

#include "kernels/array_test_util.h"

namespace kiln {
namespace {

using namespace testing;  // NOLINT: test helpers
using List = std::vector<int64_t>;

template <typename T>
Tensor T1(Shape shape, std::vector<T> v) {
  return Tensor::FromVector<T>(std::move(shape), v);
}
Tensor Absent() { return Tensor(DType::kUInt8, {0}); }
Tensor Int8s(const Shape& shape, const std::vector<double>& v) {
  std::vector<int8_t> q(v.begin(), v.end());
  return Tensor::FromVector<int8_t>(shape, q);
}

// Rows from onnx 1.23's onnx/backend/test/case/node/{quantizelinear,dequantizelinear}.py.
TEST(OnnxQuantizeLinearTest, MatchesOnnxBackendCases) {
  EXPECT_TRUE(
      OpMatches("QuantizeLinear",
                {F32({6}, {0, 2, 3, 1000, -254, -1000}), Tensor::Scalar<float>(2), Tensor::Scalar<uint8_t>(128)}, {},
                {T1<uint8_t>({6}, {128, 129, 130, 255, 1, 0})}));
  EXPECT_TRUE(OpMatches(
      "QuantizeLinear",
      {F32({1, 3, 3, 2}, {-162, 10, -100, 232, -20, -50, -76, 0, 0, 252, 32, -44, 245, -485, -960, -270, -375, -470}),
       F32({3}, {2, 4, 5}), T1<uint8_t>({3}, {84, 24, 196})},
      {}, {T1<uint8_t>({1, 3, 3, 2}, {3, 89, 34, 200, 74, 59, 5, 24, 24, 87, 32, 13, 245, 99, 4, 142, 121, 102})}));
  const Tensor blocked_x = F32({3, 4}, {6, 12, 50, 5, 1, 8, 4, 5, 0, 20, 10, 4});
  const Tensor blocked_scale = F32({3, 2}, {1.5f, 2.5f, 3, 4.9f, 5.1f, 6.9f});
  const ir::AttrMap blocked = Attrs({{"axis", int64_t{1}}, {"block_size", int64_t{2}}});
  EXPECT_TRUE(OpMatches("QuantizeLinear", {blocked_x, blocked_scale, T1<uint8_t>({3, 2}, {0, 1, 1, 0, 2, 3})}, blocked,
                        {T1<uint8_t>({3, 4}, {4, 8, 21, 3, 1, 4, 1, 1, 2, 6, 4, 4})}));
  // blocked_symmetric: no zero point, output_dtype int16.
  ir::AttrMap blocked_int16 = blocked;
  blocked_int16.Set("output_dtype", DType::kInt16);
  EXPECT_TRUE(OpMatches("QuantizeLinear",
                        {F32({3, 4}, {6, -8, -10, 5, 1, 8, 4, 5, 0, 20, 10, 4}), blocked_scale, Absent()},
                        blocked_int16, {T1<int16_t>({3, 4}, {4, -5, -4, 2, 0, 3, 1, 1, 0, 4, 1, 1})}));
  EXPECT_TRUE(OpMatches("QuantizeLinear",
                        {F32({16}, {0, -514, 3, -3, 2.9f, -2.9f, 3.1f, -3.1f, 65022, -66046, 65023, -66047, 65024,
                                    -66048, 70000, -70000}),
                         Tensor::Scalar<float>(2), Tensor::Scalar<int16_t>(256)},
                        {},
                        {T1<int16_t>({16}, {256, -1, 258, 254, 257, 255, 258, 254, 32767, -32767, 32767, -32768, 32767,
                                            -32768, 32767, -32768})}));
  EXPECT_TRUE(OpMatches(
      "QuantizeLinear",
      {F32({12}, {0, -128, 3, -3, 2.9f, -2.9f, 3.1f, -3.1f, 65536, -65534, 70000, -70000}), Tensor::Scalar<float>(2),
       Tensor::Scalar<uint16_t>(32767)},
      {}, {T1<uint16_t>({12}, {32767, 32703, 32769, 32765, 32768, 32766, 32769, 32765, 65535, 0, 65535, 0})}));
}

TEST(OnnxDequantizeLinearTest, MatchesOnnxBackendCases) {
  EXPECT_TRUE(OpMatches("DequantizeLinear",
                        {T1<uint8_t>({4}, {0, 3, 128, 255}), Tensor::Scalar<float>(2), Tensor::Scalar<uint8_t>(128)},
                        {}, {F32({4}, {-256, -250, 0, 254})}));
  EXPECT_TRUE(
      OpMatches("DequantizeLinear",
                {T1<uint8_t>({1, 3, 3, 2}, {3, 89, 34, 200, 74, 59, 5, 24, 24, 87, 32, 13, 245, 99, 4, 142, 121, 102}),
                 F32({3}, {2, 4, 5}), T1<uint8_t>({3}, {84, 24, 196})},
                {},
                {F32({1, 3, 3, 2},
                     {-162, 10, -100, 232, -20, -50, -76, 0, 0, 252, 32, -44, 245, -485, -960, -270, -375, -470})}));
  EXPECT_TRUE(OpMatches("DequantizeLinear",
                        {T1<uint8_t>({1, 4, 3, 2}, {3, 89, 34, 200, 74, 59, 5,   24, 24, 87,  32,  13,
                                                    5, 12, 12, 33,  65, 42, 245, 99, 4,  142, 121, 102}),
                         F32({1, 2, 3, 2}, {3, 2, 4, 1, 2, 2, 5, 2, 4, 3, 5, 2}),
                         T1<uint8_t>({1, 2, 3, 2}, {1, 0, 0, 1, 2, 20, 3, 2, 4, 3, 15, 2})},
                        Attrs({{"axis", int64_t{1}}, {"block_size", int64_t{2}}}),
                        {F32({1, 4, 3, 2}, {6,  178, 136, 199, 144, 78, 12,   48,  96, 86,  60,  -14,
                                            10, 20,  32,  90,  250, 80, 1210, 194, 0,  417, 530, 200})}));
  EXPECT_TRUE(
      OpMatches("DequantizeLinear",
                {T1<int16_t>({4}, {-300, -30, -1025, 1270}), Tensor::Scalar<float>(2), Tensor::Scalar<int16_t>(-1024)},
                {}, {F32({4}, {1448, 1988, -2, 4588})}));
}

TEST(OnnxQuantizeLinearTest, RoundsHalfToEvenInEveryInputType) {
  const std::vector<float> v = {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 126.5f, 300};
  const Tensor want = T1<int8_t>({8}, {0, 2, 2, 0, -2, -2, 126, 127});
  EXPECT_TRUE(
      OpMatches("QuantizeLinear", {F32({8}, v), Tensor::Scalar<float>(1), Tensor::Scalar<int8_t>(0)}, {}, {want}));
  EXPECT_TRUE(OpMatches("QuantizeLinear",
                        {FromDoubles(DType::kFloat16, {8}, {v.begin(), v.end()}), FromDoubles(DType::kFloat16, {}, {1}),
                         Tensor::Scalar<int8_t>(0)},
                        {}, {want}));
  // int32 x: 1000 / 2, -3 / 2 = -1.5 -> -2, 7 / 2 = 3.5 -> 4; absent zero point and output_dtype -> uint8.
  EXPECT_TRUE(OpMatches("QuantizeLinear", {I32({3}, {1000, -3, 7}), Tensor::Scalar<float>(2), Absent()}, {},
                        {T1<uint8_t>({3}, {255, 0, 4})}));
}

TEST(OnnxDequantizeLinearTest, OutputTakesTheScaleDType) {
  EXPECT_TRUE(
      OpMatches("DequantizeLinear",
                {T1<int8_t>({3}, {-128, 0, 127}), FromDoubles(DType::kFloat16, {}, {0.5}), Tensor::Scalar<int8_t>(-1)},
                {}, {FromDoubles(DType::kFloat16, {3}, {-63.5, 0.5, 64})}));
  EXPECT_TRUE(OpMatches("DequantizeLinear",
                        {I32({3}, {-1000, 0, 123456}), Tensor::Scalar<float>(0.25f), Tensor::Scalar<int32_t>(4)}, {},
                        {F32({3}, {-251, -1, 30863})}));
  EXPECT_TRUE(OpMatches("DequantizeLinear", {T1<uint16_t>({2}, {0, 65535}), Tensor::Scalar<float>(1), Absent()},
                        Attrs({{"output_dtype", DType::kFloat64}}), {FromDoubles(DType::kFloat64, {2}, {0, 65535})}));
}

// Per-axis and blocked layouts against y = clamp(rint(x / s) + z) and x' = (y - z) * s, element by
// element through multi-indices.
TEST(OnnxQuantizeLinearTest, LayoutsMatchFormula) {
  const Shape xs = {2, 5, 3};
  const Tensor x = RandomTensor(DType::kFloat32, xs, 11, -300, 300);
  struct Layout {
    int64_t axis, block_size;
    Shape param;
  };
  for (const Layout& l : {Layout{1, 0, {5}}, Layout{-1, 0, {3}}, Layout{1, 2, {2, 3, 3}}, Layout{0, 1, {2, 5, 3}},
                          Layout{2, 2, {2, 5, 2}}, Layout{0, 0, {}}}) {
    SCOPED_TRACE(std::to_string(l.axis) + " block " + std::to_string(l.block_size));
    const Tensor scale = RandomTensor(DType::kFloat32, l.param, 12, 0.5, 4);
    const Tensor zp = RandomTensor(DType::kInt8, l.param, 13, -20, 20);
    const int axis = static_cast<int>((l.axis + 3) % 3);
    std::vector<double> q, dq;
    const std::vector<double> xv = ToDoubles(x), sv = ToDoubles(scale), zv = ToDoubles(zp);
    for (int64_t i = 0; i < x.num_elements(); ++i) {
      List pos = Unravel(i, xs);
      int64_t p = 0;
      if (l.param.size() == 1) p = pos[axis];
      if (l.param.size() == 3) {
        pos[axis] /= std::max<int64_t>(l.block_size, 1);
        p = Ravel(pos, l.param);
      }
      const double y =
          std::clamp(std::nearbyint(static_cast<float>(xv[i]) / static_cast<float>(sv[p])) + zv[p], -128.0, 127.0);
      q.push_back(y);
      dq.push_back(static_cast<float>((y - zv[p]) * sv[p]));
    }
    const ir::AttrMap attrs = Attrs({{"axis", l.axis}, {"block_size", l.block_size}});
    const Tensor qt = Int8s(xs, q);
    EXPECT_TRUE(OpMatches("QuantizeLinear", {x, scale, zp}, attrs, {qt}));
    EXPECT_TRUE(OpMatches("DequantizeLinear", {qt, scale, zp}, attrs, {FromDoubles(DType::kFloat32, xs, dq)}));
  }
}

TEST(OnnxQuantizeLinearTest, InfersDTypesAndShapes) {
  const auto x = Ph(DType::kFloat32, PS({-1, 4}));
  const auto scale = Ph(DType::kFloat32, PS({}));
  auto out = InferOp("QuantizeLinear", {x, scale, Ph(DType::kInt8, PS({}))});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ((*out)[0].dtype, DType::kInt8);
  EXPECT_EQ((*out)[0].shape.ToString(), "[?,4]");
  out = InferOp("QuantizeLinear", {x, scale, Const(Absent())});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ((*out)[0].dtype, DType::kUInt8);
  out = InferOp("QuantizeLinear", {x, scale, Const(Absent())}, Attrs({{"output_dtype", DType::kUInt16}}));
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ((*out)[0].dtype, DType::kUInt16);
  out = InferOp("DequantizeLinear",
                {Ph(DType::kInt8, PS({2, -1})), Ph(DType::kFloat16, PS({2})), Ph(DType::kInt8, PS({2}))},
                Attrs({{"axis", int64_t{0}}}));
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ((*out)[0].dtype, DType::kFloat16);
  EXPECT_EQ((*out)[0].shape.ToString(), "[2,?]");
}

TEST(OnnxQuantizeLinearTest, RejectsBadInputs) {
  const Tensor x = RandomTensor(DType::kFloat32, {2, 3}, 1);
  const Tensor s3 = F32({3}, {1, 2, 3});
  EXPECT_TRUE(OpFails("QuantizeLinear", {x, s3, T1<uint8_t>({2}, {0, 0})}, Attrs({{"axis", int64_t{1}}}),
                      "y_zero_point has 2 entries"));
  EXPECT_TRUE(OpFails("QuantizeLinear", {x, s3, T1<uint8_t>({3}, {0, 0, 0})}, Attrs({{"axis", int64_t{0}}}),
                      "y_scale has 3 entries but x"));
  EXPECT_TRUE(OpFails("QuantizeLinear", {x, s3, Tensor::Scalar<uint8_t>(0)}, Attrs({{"axis", int64_t{1}}}),
                      "must have the shape of y_scale"));
  EXPECT_TRUE(OpFails("QuantizeLinear", {x, F32({2, 3}, {1, 1, 1, 1, 1, 1}), Absent()}, {},
                      "must be a scalar or a vector when block_size is 0"));
  EXPECT_TRUE(OpFails("QuantizeLinear", {x, F32({2, 1}, {1, 1}), Absent()},
                      Attrs({{"axis", int64_t{1}}, {"block_size", int64_t{2}}}), "does not fit blocked quantization"));
  EXPECT_TRUE(
      OpFails("QuantizeLinear", {x, s3, T1<uint8_t>({3}, {0, 0, 0})}, Attrs({{"axis", int64_t{2}}}), "out of range"));
  EXPECT_TRUE(OpFails("QuantizeLinear", {x, Tensor::Scalar<float>(1), Tensor::Scalar<uint8_t>(0)},
                      Attrs({{"output_dtype", DType::kInt8}}), "differs from y_zero_point's dtype"));
  EXPECT_TRUE(OpFails("QuantizeLinear", {x, Tensor::Scalar<float>(1), Absent()},
                      Attrs({{"output_dtype", DType::kInt32}}), "QuantizeLinear to int32 is not supported"));
  EXPECT_TRUE(
      OpFails("QuantizeLinear", {x, Tensor::Scalar<int32_t>(1), Absent()}, {}, "y_scale must be floating point"));
  EXPECT_TRUE(OpFails("QuantizeLinear", {x, Tensor::Scalar<float>(1), Absent()}, Attrs({{"block_size", int64_t{-1}}}),
                      "block_size must be >= 0"));
  EXPECT_TRUE(OpFails("DequantizeLinear",
                      {T1<int8_t>({2}, {1, 2}), Tensor::Scalar<float>(1), Tensor::Scalar<uint8_t>(0)}, {},
                      "x_zero_point has dtype uint8 but x has int8"));
  EXPECT_TRUE(OpFails("DequantizeLinear", {x, Tensor::Scalar<float>(1), Absent()}, {},
                      "DequantizeLinear of float32 is not supported"));
}

}  // namespace
}  // namespace kiln
