// Softmax, LogSoftmax and BiasAdd{,V1} against naive references.
#include <cmath>

#include "kernels/nn_test_util.h"

namespace kiln {
namespace {

using nn_test::Attrs;
using nn_test::ExpectOp;
using nn_test::ExpectOpError;

Tensor RefSoftmax(const Tensor& x, bool log, DType dtype) {
  const std::vector<double> v = nn_test::AsDoubles(x);
  const int64_t cols = x.dim(x.rank() - 1);
  std::vector<double> out(v.size());
  for (int64_t r = 0; cols > 0 && r < x.num_elements() / cols; ++r) {
    double sum = 0;
    for (int64_t j = 0; j < cols; ++j) sum += std::exp(v[r * cols + j]);
    for (int64_t j = 0; j < cols; ++j) {
      out[r * cols + j] = log ? v[r * cols + j] - std::log(sum) : std::exp(v[r * cols + j]) / sum;
    }
  }
  return nn_test::FromDoubles(dtype, x.shape(), out);
}

TEST(NnSoftmaxTest, MatchesNaiveReference) {
  uint64_t seed = 1;
  for (DType dtype : {DType::kFloat32, DType::kFloat16, DType::kBFloat16, DType::kFloat64}) {
    for (const Shape& shape : {Shape{7}, Shape{3, 5}, Shape{2, 3, 1}, Shape{2, 4, 33}, Shape{0, 3}}) {
      const Tensor x = testing::RandomTensor(dtype, shape, seed++, -8, 8);
      const double tol = dtype == DType::kFloat32 ? 1e-5 : dtype == DType::kFloat64 ? 1e-12 : 3e-2;
      SCOPED_TRACE(x.DebugString());
      ExpectOp("Softmax", {x}, Attrs({{"T", dtype}}), RefSoftmax(x, false, dtype), tol, 1e-2);
      ExpectOp("LogSoftmax", {x}, Attrs({{"T", dtype}}), RefSoftmax(x, true, dtype), tol * 4, 1e-2);
    }
  }
}

TEST(NnSoftmaxTest, IsStableForLargeLogits) {
  const Tensor x = Tensor::FromVector<float>({2, 3}, {1000.0f, 1001.0f, 1002.0f, -1000.0f, -1000.0f, -1000.0f});
  const double e1 = std::exp(-1.0), e2 = std::exp(-2.0), z = 1 + e1 + e2;
  ExpectOp("Softmax", {x}, {},
           Tensor::FromVector<float>({2, 3}, {static_cast<float>(e2 / z), static_cast<float>(e1 / z),
                                              static_cast<float>(1 / z), 1 / 3.0f, 1 / 3.0f, 1 / 3.0f}),
           1e-6);
  ExpectOp(
      "LogSoftmax", {x}, {},
      Tensor::FromVector<float>({2, 3}, {static_cast<float>(-2 - std::log(z)), static_cast<float>(-1 - std::log(z)),
                                         static_cast<float>(-std::log(z)), static_cast<float>(-std::log(3.0)),
                                         static_cast<float>(-std::log(3.0)), static_cast<float>(-std::log(3.0))}),
      1e-5);
}

TEST(NnSoftmaxTest, RejectsScalarsAndIntegers) {
  ExpectOpError("Softmax", {Tensor::Scalar<float>(1.0f)}, {}, "rank 1 or more");
  ExpectOpError("LogSoftmax", {Tensor::FromVector<int32_t>({2}, {1, 2})}, {}, "does not support dtype int32");
}

// value viewed as [outer, C, inner]; the bias is added along C.
Tensor RefBiasAdd(const Tensor& value, const Tensor& bias, int axis, DType dtype) {
  const std::vector<double> v = nn_test::AsDoubles(value), b = nn_test::AsDoubles(bias);
  int64_t inner = 1;
  for (int i = axis + 1; i < value.rank(); ++i) inner *= value.dim(i);
  std::vector<double> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = v[i] + b[(i / inner) % value.dim(axis)];
  return nn_test::FromDoubles(dtype, value.shape(), out);
}

TEST(NnBiasAddTest, AddsAlongTheChannelAxis) {
  uint64_t seed = 1;
  for (DType dtype : {DType::kFloat32, DType::kFloat16, DType::kBFloat16, DType::kFloat64, DType::kInt32, DType::kInt64,
                      DType::kInt8, DType::kUInt8}) {
    for (const Shape& shape : {Shape{3, 5}, Shape{2, 4, 3}, Shape{2, 3, 4, 5}, Shape{2, 3, 2, 2, 4}, Shape{0, 3}}) {
      const bool is_uint = dtype == DType::kUInt8;
      const Tensor value =
          is_uint ? testing::RandomTensor(dtype, shape, seed++, 0, 100) : nn_test::Random(dtype, shape, seed++);
      const Tensor bias = is_uint ? testing::RandomTensor(dtype, {shape.back()}, seed++, 0, 100)
                                  : nn_test::Random(dtype, {shape.back()}, seed++);
      SCOPED_TRACE(value.DebugString());
      const double tol = nn_test::Tolerance(dtype);
      const Tensor expected = RefBiasAdd(value, bias, value.rank() - 1, dtype);
      ExpectOp("BiasAdd", {value, bias}, Attrs({{"T", dtype}}), expected, tol);
      ExpectOp("BiasAddV1", {value, bias}, Attrs({{"T", dtype}}), expected, tol);
      if (shape.size() >= 3) {
        const Tensor nchw_bias = nn_test::Random(dtype, {shape[1]}, seed++);
        const Tensor b = is_uint ? testing::RandomTensor(dtype, {shape[1]}, seed++, 0, 100) : nchw_bias;
        ExpectOp("BiasAdd", {value, b}, Attrs({{"T", dtype}, {"data_format", std::string("NCHW")}}),
                 RefBiasAdd(value, b, 1, dtype), tol);
      }
    }
  }
}

TEST(NnBiasAddTest, RejectsMismatchedBias) {
  const Tensor v = nn_test::Random(DType::kFloat32, {2, 3, 4}, 1);
  ExpectOpError("BiasAdd", {v, nn_test::Random(DType::kFloat32, {3}, 2)}, {}, "channel dimension");
  ExpectOpError("BiasAdd", {v, nn_test::Random(DType::kFloat32, {4}, 3)}, Attrs({{"data_format", std::string("NCHW")}}),
                "channel dimension");
  ExpectOpError("BiasAdd", {v, nn_test::Random(DType::kFloat32, {2, 4}, 4)}, {}, "vector");
  ExpectOpError("BiasAdd", {nn_test::Random(DType::kFloat32, {4}, 5), nn_test::Random(DType::kFloat32, {4}, 6)}, {},
                "rank 2 or more");
  ExpectOpError("BiasAdd", {v, nn_test::Random(DType::kInt32, {4}, 7)}, {}, "dtype");
}

}  // namespace
}  // namespace kiln
