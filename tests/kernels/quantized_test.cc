// KilnQuantize and KilnQuantizedMatMul against references computed here: rounding and saturation
// of both quantized types, and products with every epilogue input. Under KILN_TEST_DEVICE=cuda the
// GPU kernels are checked against these CPU kernels on the same inputs.
#include <cmath>
#include <limits>

#include "ir/ops/quantized_ops.h"
#include "kernels/array_test_util.h"

namespace kiln {
namespace {

using namespace testing;  // NOLINT: test helpers

TEST(FloatToFloat8, EveryCodeRoundTripsAndTiesGoToEven) {
  for (int c = 0; c < 256; ++c) {
    const float v = Float8E4M3ToFloat({static_cast<uint8_t>(c)});
    if (std::isnan(v)) continue;
    EXPECT_EQ(FloatToFloat8E4M3(v).bits, c) << c;
  }
  EXPECT_EQ(FloatToFloat8E4M3(1.0625f).bits, FloatToFloat8E4M3(1.0f).bits);    // between 1 and 1.125: even
  EXPECT_EQ(FloatToFloat8E4M3(1.1875f).bits, FloatToFloat8E4M3(1.25f).bits);   // between 1.125 and 1.25: even
  EXPECT_EQ(Float8E4M3ToFloat(FloatToFloat8E4M3(1e6f)), 448.0f);
  EXPECT_EQ(Float8E4M3ToFloat(FloatToFloat8E4M3(-std::numeric_limits<float>::infinity())), -448.0f);
  EXPECT_TRUE(std::isnan(Float8E4M3ToFloat(FloatToFloat8E4M3(std::nanf("")))));
  EXPECT_EQ(Float8E4M3ToFloat(FloatToFloat8E4M3(0x1p-10f)), 0.0f);  // half of the smallest subnormal: even
  EXPECT_EQ(Float8E4M3ToFloat(FloatToFloat8E4M3(0x1.8p-9f)), 0x1p-8f);
}

StatusOr<Tensor> Quantize(const Tensor& x, DType dtype, std::vector<float> scale, int64_t axis = -1) {
  KILN_ASSIGN_OR_RETURN(std::vector<Tensor> out,
                        RunOp("KilnQuantize", {x}, Attrs({{"dtype", dtype}, {"scale", scale}, {"axis", axis}})));
  return out[0];
}

TEST(QuantizeTest, Int8RoundsHalfToEvenAndSaturates) {
  const Tensor x = Tensor::FromVector<float>({8}, {0.5f, 1.5f, -2.5f, 0.26f, 300, -300, std::nanf(""), -0.1f});
  KILN_ASSERT_OK_AND_ASSIGN(Tensor q, Quantize(x, DType::kInt8, {0.5f}));
  EXPECT_EQ(q.dtype(), DType::kInt8);
  const std::vector<int8_t> want = {1, 3, -5, 1, 127, -128, 0, 0};
  for (int i = 0; i < 8; ++i) EXPECT_EQ(q.data<int8_t>()[i], want[i]) << i;
}

TEST(QuantizeTest, PerChannelScalesFollowTheAxis) {
  const Tensor x = RandomTensor(DType::kFloat32, {2, 3, 4}, 1, -3, 3);
  const std::vector<float> scales = {0.01f, 0.02f, 0.05f};
  KILN_ASSERT_OK_AND_ASSIGN(Tensor q, Quantize(x, DType::kInt8, scales, 1));
  for (int64_t i = 0; i < x.num_elements(); ++i) {
    EXPECT_EQ(q.data<int8_t>()[i], ir::QuantizeToInt8(x.data<float>()[i], scales[(i / 4) % 3])) << i;
  }
  KILN_ASSERT_OK_AND_ASSIGN(Tensor f, Quantize(x, DType::kFloat8E4M3FN, {0.5f, 1, 2, 4}, -1));
  EXPECT_EQ(f.dtype(), DType::kFloat8E4M3FN);
  const float scale4[] = {0.5f, 1, 2, 4};
  for (int64_t i = 0; i < x.num_elements(); ++i) {
    EXPECT_EQ(f.data<Float8E4M3>()[i].bits, FloatToFloat8E4M3(x.data<float>()[i] / scale4[i % 4]).bits) << i;
  }
  EXPECT_FALSE(Quantize(x, DType::kInt8, {1, 2}, 1).ok());        // 2 scales for 3 channels
  EXPECT_FALSE(Quantize(x, DType::kInt16, {1}).ok());             // not a quantized type
  EXPECT_FALSE(Quantize(x, DType::kInt8, {0}).ok());              // not a positive scale
}

// Random codes of `dtype`, finite for FP8.
Tensor RandomCodes(DType dtype, Shape shape, uint64_t seed) {
  const Tensor r = RandomTensor(DType::kFloat32, shape, seed, -1, 1);
  Tensor t(dtype, std::move(shape));
  for (int64_t i = 0; i < t.num_elements(); ++i) {
    const float v = r.data<float>()[i];
    if (dtype == DType::kInt8) {
      t.data<int8_t>()[i] = static_cast<int8_t>(std::lround(v * 127));
    } else {
      t.data<Float8E4M3>()[i] = FloatToFloat8E4M3(v * 448);
    }
  }
  return t;
}

float Value(const Tensor& t, int64_t i) {
  if (t.dtype() == DType::kInt8) return static_cast<float>(t.data<int8_t>()[i]);
  return Float8E4M3ToFloat(t.data<Float8E4M3>()[i]);
}

TEST(QuantizedMatMulTest, ProductsScaleAndEveryEpilogue) {
  for (DType dtype : {DType::kInt8, DType::kFloat8E4M3FN}) {
    for (bool transpose_b : {false, true}) {
      SCOPED_TRACE(std::string(DTypeName(dtype)) + (transpose_b ? " transposed" : ""));
      const int64_t k = 24, n = 5;
      const Tensor a = RandomCodes(dtype, {2, 3, k}, 2);
      const Tensor b = RandomCodes(dtype, transpose_b ? Shape{n, k} : Shape{k, n}, 3);
      const Tensor bias = RandomTensor(DType::kFloat32, {n}, 4, -50, 50);
      const Tensor residual = RandomTensor(DType::kFloat32, {2, 3, n}, 5, -50, 50);
      const std::vector<float> b_scales = {0.5f, 0.25f, 1, 2, 0.125f};
      const float a_scale = 0.01f;
      KILN_ASSERT_OK_AND_ASSIGN(
          std::vector<Tensor> out,
          RunOp("KilnQuantizedMatMul", {a, b, bias, residual},
                Attrs({{"transpose_b", transpose_b}, {"a_scale", a_scale}, {"b_scales", b_scales},
                       {"fused_ops", std::vector<std::string>{"BiasAdd", "Add", "Relu"}}}),
                /*as_placeholders=*/true));
      ASSERT_EQ(out[0].shape(), (Shape{2, 3, n}));
      for (int64_t m = 0; m < 6; ++m)
        for (int64_t j = 0; j < n; ++j) {
          double acc = 0;
          for (int64_t p = 0; p < k; ++p) {
            acc += double{Value(a, m * k + p)} * Value(b, transpose_b ? j * k + p : p * n + j);
          }
          const double want =
              std::max(acc * a_scale * b_scales[j] + bias.data<float>()[j] + residual.data<float>()[m * n + j], 0.0);
          EXPECT_NEAR(out[0].data<float>()[m * n + j], want, 1e-4 * std::fabs(want) + 1e-4) << m << "," << j;
        }
    }
  }
}

TEST(QuantizedMatMulTest, BadOperandsAreRefused) {
  const Tensor a = RandomCodes(DType::kInt8, {4, 8}, 6);
  const Tensor f = RandomCodes(DType::kFloat8E4M3FN, {8, 3}, 7);
  const ir::AttrMap attrs = Attrs({{"a_scale", 1.0f}, {"b_scales", std::vector<float>{1}}});
  auto mixed = RunOp("KilnQuantizedMatMul", {a, f}, attrs, true);
  ASSERT_FALSE(mixed.ok());
  EXPECT_NE(mixed.status().message().find("two int8 or two float8_e4m3fn"), std::string::npos)
      << mixed.status().ToString();
  auto scales = RunOp("KilnQuantizedMatMul", {a, RandomCodes(DType::kInt8, {8, 3}, 8)},
                      Attrs({{"a_scale", 1.0f}, {"b_scales", std::vector<float>{1, 2}}}), true);
  ASSERT_FALSE(scales.ok());
  EXPECT_NE(scales.status().message().find("b_scales has 2 values for 3 output channels"), std::string::npos)
      << scales.status().ToString();
  auto inner = RunOp("KilnQuantizedMatMul", {a, RandomCodes(DType::kInt8, {7, 3}, 9)}, attrs, true);
  EXPECT_FALSE(inner.ok());
}

}  // namespace
}  // namespace kiln
