// MaxPool, MaxPoolV2 and AvgPool against naive loops, and AvgPool's SAME edge handling against TF.
#include <algorithm>
#include <limits>

#include "kernels/nn_test_util.h"

namespace kiln {
namespace {

using nn_test::Attrs;
using nn_test::ExpectOp;
using nn_test::ExpectOpError;
using nn_test::Geo;
using nn_test::List;
using nn_test::ToChannelsFirst;

// Pools an NHWC tensor; padding never counts (max ignores it, average divides by valid elements).
Tensor RefPool(const Tensor& input, List ksize, List strides, const std::string& padding, bool is_max, DType dtype) {
  const int64_t n_ = input.dim(0), h = input.dim(1), w = input.dim(2), c_ = input.dim(3);
  const Geo gh = nn_test::Geometry(h, ksize[0], strides[0], 1, padding);
  const Geo gw = nn_test::Geometry(w, ksize[1], strides[1], 1, padding);
  const Shape out_shape = {n_, gh.out, gw.out, c_};
  const std::vector<double> in = nn_test::AsDoubles(input);
  std::vector<double> out;
  for (int64_t n = 0; n < n_; ++n)
    for (int64_t oh = 0; oh < gh.out; ++oh)
      for (int64_t ow = 0; ow < gw.out; ++ow)
        for (int64_t c = 0; c < c_; ++c) {
          double acc = is_max ? -std::numeric_limits<double>::infinity() : 0.0;
          int count = 0;
          for (int64_t kh = 0; kh < ksize[0]; ++kh)
            for (int64_t kw = 0; kw < ksize[1]; ++kw) {
              const int64_t ih = oh * strides[0] - gh.pad + kh, iw = ow * strides[1] - gw.pad + kw;
              if (ih < 0 || ih >= h || iw < 0 || iw >= w) continue;
              const double v = in[((n * h + ih) * w + iw) * c_ + c];
              acc = is_max ? std::max(acc, v) : acc + v;
              ++count;
            }
          out.push_back(is_max ? acc : acc / count);
        }
  return nn_test::FromDoubles(dtype, out_shape, out);
}

ir::AttrMap PoolAttrs(const List& k, const List& s, const std::string& padding, const std::string& format = "NHWC") {
  const bool cf = format == "NCHW";
  const List ksize = cf ? List{1, 1, k[0], k[1]} : List{1, k[0], k[1], 1};
  const List strides = cf ? List{1, 1, s[0], s[1]} : List{1, s[0], s[1], 1};
  return Attrs({{"ksize", ksize}, {"strides", strides}, {"padding", padding}, {"data_format", format}});
}

struct PoolCase {
  Shape input;
  List ksize, strides;
  std::string padding;
};

const std::vector<PoolCase> kPoolCases = {
    {{1, 5, 5, 3}, {3, 3}, {2, 2}, "SAME"},  {{2, 7, 6, 4}, {2, 2}, {2, 2}, "VALID"},
    {{2, 7, 6, 4}, {2, 2}, {2, 2}, "SAME"},  {{1, 9, 8, 2}, {3, 2}, {1, 2}, "SAME"},
    {{3, 4, 4, 5}, {4, 4}, {1, 1}, "VALID"}, {{1, 6, 7, 1}, {1, 1}, {2, 3}, "VALID"},
    {{2, 3, 5, 3}, {3, 3}, {1, 1}, "SAME"},
};

TEST(NnPoolingTest, MaxPoolMatchesNaiveLoop) {
  uint64_t seed = 1;
  for (DType dtype : {DType::kFloat32, DType::kFloat16, DType::kBFloat16, DType::kFloat64, DType::kInt32, DType::kInt64,
                      DType::kUInt8, DType::kInt8}) {
    for (const auto& c : kPoolCases) {
      const Tensor x = dtype == DType::kUInt8 ? testing::RandomTensor(dtype, c.input, seed++, 0, 200)
                                              : nn_test::Random(dtype, c.input, seed++);
      SCOPED_TRACE(std::string(DTypeName(dtype)) + " " + x.DebugString() + " " + c.padding);
      const Tensor expected = RefPool(x, c.ksize, c.strides, c.padding, true, dtype);
      ExpectOp("MaxPool", {x}, PoolAttrs(c.ksize, c.strides, c.padding), expected, 0);
      if (dtype == DType::kFloat32) {
        ExpectOp("MaxPool", {ToChannelsFirst(x)}, PoolAttrs(c.ksize, c.strides, c.padding, "NCHW"),
                 ToChannelsFirst(expected), 0);
        const auto as_tensor = [](const List& l) {
          return Tensor::FromVector<int32_t>({4}, {1, static_cast<int32_t>(l[0]), static_cast<int32_t>(l[1]), 1});
        };
        ExpectOp("MaxPoolV2", {x, as_tensor(c.ksize), as_tensor(c.strides)}, Attrs({{"padding", c.padding}}), expected,
                 0);
      }
    }
  }
}

// A max pool's epilogue (moved there from the convolution before it): act(max + bias[channel]).
TEST(NnPoolingTest, MaxPoolEpilogueAddsTheBiasThenActivates) {
  uint64_t seed = 40;
  for (DType dtype : {DType::kFloat32, DType::kFloat16, DType::kBFloat16}) {
    for (const auto& c : kPoolCases) {
      const Tensor x = nn_test::Random(dtype, c.input, seed++);
      const int64_t channels = c.input[3];
      const Tensor bias = nn_test::Random(dtype, {channels}, seed++);
      SCOPED_TRACE(std::string(DTypeName(dtype)) + " " + x.DebugString() + " " + c.padding);
      const Tensor pooled = RefPool(x, c.ksize, c.strides, c.padding, true, DType::kFloat32);
      std::vector<double> want = nn_test::AsDoubles(pooled);
      const std::vector<double> b = nn_test::AsDoubles(bias);
      for (size_t i = 0; i < want.size(); ++i) want[i] = std::clamp(want[i] + b[i % channels], 0.0, 6.0);
      const Tensor expected = nn_test::FromDoubles(dtype, pooled.shape(), want);
      ir::AttrMap attrs = PoolAttrs(c.ksize, c.strides, c.padding);
      attrs.Set("fused_ops", std::vector<std::string>{"BiasAdd", "Relu6"});
      const double tol = dtype == DType::kFloat32 ? 1e-6 : dtype == DType::kFloat16 ? 1e-2 : 5e-2;
      ExpectOp("MaxPool", {x, bias}, attrs, expected, tol);
      if (dtype == DType::kFloat32) {
        ir::AttrMap nchw = PoolAttrs(c.ksize, c.strides, c.padding, "NCHW");
        nchw.Set("fused_ops", std::vector<std::string>{"BiasAdd", "Relu6"});
        ExpectOp("MaxPool", {ToChannelsFirst(x), bias}, nchw, ToChannelsFirst(expected), tol);
      }
    }
  }
}

TEST(NnPoolingTest, MaxPoolEpilogueRejectsBadBiasesAndDTypes) {
  const Tensor x = nn_test::Random(DType::kFloat32, {1, 5, 5, 3}, 1);
  ir::AttrMap bias_relu = PoolAttrs({2, 2}, {1, 1}, "VALID");
  bias_relu.Set("fused_ops", std::vector<std::string>{"BiasAdd", "Relu"});
  ExpectOpError("MaxPool", {x, nn_test::Random(DType::kFloat32, {4}, 2)}, bias_relu, "does not match");
  ExpectOpError("MaxPool", {x}, bias_relu, "expects 2 input(s)");
  ExpectOpError("MaxPool", {x, nn_test::Random(DType::kFloat16, {3}, 3)}, bias_relu, "the bias must be float32");
  ir::AttrMap residual = PoolAttrs({2, 2}, {1, 1}, "VALID");
  residual.Set("fused_ops", std::vector<std::string>{"Add"});
  ExpectOpError("MaxPool", {x, x}, residual, "not Add");
  ir::AttrMap relu = PoolAttrs({2, 2}, {1, 1}, "VALID");
  relu.Set("fused_ops", std::vector<std::string>{"Relu"});
  ExpectOpError("MaxPool", {nn_test::Random(DType::kInt32, {1, 5, 5, 3}, 4)}, relu, "not int32");
}

TEST(NnPoolingTest, AvgPoolDividesByValidElements) {
  uint64_t seed = 100;
  for (DType dtype : {DType::kFloat32, DType::kFloat16, DType::kFloat64}) {
    for (const auto& c : kPoolCases) {
      const Tensor x = nn_test::Random(dtype, c.input, seed++);
      SCOPED_TRACE(std::string(DTypeName(dtype)) + " " + x.DebugString() + " " + c.padding);
      const Tensor expected = RefPool(x, c.ksize, c.strides, c.padding, false, dtype);
      ExpectOp("AvgPool", {x}, PoolAttrs(c.ksize, c.strides, c.padding), expected, nn_test::Tolerance(dtype), 1e-2);
      if (dtype == DType::kFloat32) {
        ExpectOp("AvgPool", {ToChannelsFirst(x)}, PoolAttrs(c.ksize, c.strides, c.padding, "NCHW"),
                 ToChannelsFirst(expected), 1e-5);
      }
    }
  }
}

TEST(NnPoolingTest, MatchesTensorFlowSameEdges) {
  const Tensor x = nn_test::Pattern({1, 5, 5, 2});
  // tf.raw_ops.AvgPool(value=pattern([1,5,5,2]), ksize=[1,3,3,1], strides=[1,2,2,1], padding='SAME')
  ExpectOp("AvgPool", {x}, PoolAttrs({3, 3}, {2, 2}, "SAME"),
           Tensor::FromVector<float>(
               {1, 3, 3, 2}, {-0.0949999988f, -0.36500001f, -0.0633333549f, 0.00333333015f, 0.305000007f, 0.0349999964f,
                              0.0633333251f, -0.206666663f, -0.073333323f, -0.00666666124f, 0.126666665f, 0.193333343f,
                              0.389999986f, -0.38499999f, -0.0833333358f, -0.0166666657f, 0.285000026f, 0.0150000006f}),
           1e-6);
  // tf.raw_ops.AvgPool(value=pattern([1,5,5,2]), ksize=[1,2,2,1], strides=[1,2,2,1], padding='SAME')
  ExpectOp("AvgPool", {x}, PoolAttrs({2, 2}, {2, 2}, "SAME"),
           Tensor::FromVector<float>(
               {1, 3, 3, 2}, {-0.0949999988f, -0.36500001f, -0.165000021f, 0.0699999928f, 0.540000021f, 0.269999981f,
                              0.0599999949f, -0.210000008f, -0.00999999046f, 0.225000009f, 0.190000013f, -0.0799999982f,
                              0.049999997f, -0.219999999f, -0.0199999809f, -0.289999992f, 0.180000007f, 0.920000017f}),
           1e-6);
  // tf.raw_ops.MaxPool(input=pattern([1,5,5,2]), ksize=[1,2,2,1], strides=[1,2,2,1], padding='SAME')
  ExpectOp("MaxPool", {x}, PoolAttrs({2, 2}, {2, 2}, "SAME"),
           Tensor::FromVector<float>(
               {1, 3, 3, 2}, {0.479999989f, 0.540000021f, 0.74000001f, 0.680000007f, 0.879999995f, 0.939999998f, 1.0f,
                              0.400000006f, 0.600000024f, 0.800000012f, 0.860000014f, 0.25999999f, 0.319999993f,
                              0.519999981f, 0.720000029f, -0.0199999996f, 0.180000007f, 0.920000017f}),
           0);
}

TEST(NnPoolingTest, RejectsBadInputs) {
  const Tensor x = nn_test::Random(DType::kFloat32, {1, 5, 5, 3}, 1);
  ExpectOpError("MaxPool", {x}, PoolAttrs({6, 2}, {1, 1}, "VALID"), "larger than the input");
  ExpectOpError("AvgPool", {x}, PoolAttrs({6, 2}, {1, 1}, "VALID"), "larger than the input");
  ExpectOpError("MaxPool", {nn_test::Random(DType::kFloat32, {5, 5, 3}, 2)}, PoolAttrs({2, 2}, {1, 1}, "VALID"),
                "rank 4");
  ExpectOpError("MaxPool", {x},
                Attrs({{"ksize", List{1, 2, 2, 2}}, {"strides", List{1, 1, 1, 1}}, {"padding", std::string("VALID")}}),
                "batch and channel");
  ExpectOpError("MaxPool", {x},
                Attrs({{"ksize", List{1, 2, 2}}, {"strides", List{1, 1, 1, 1}}, {"padding", std::string("VALID")}}),
                "ksize must have 4 entries");
  ExpectOpError("AvgPool", {nn_test::Random(DType::kInt32, {1, 5, 5, 3}, 3)}, PoolAttrs({2, 2}, {1, 1}, "VALID"),
                "does not support dtype int32");
  ExpectOpError("MaxPoolV2",
                {x, Tensor::FromVector<int32_t>({3}, {1, 2, 2}), Tensor::FromVector<int32_t>({4}, {1, 1, 1, 1})},
                Attrs({{"padding", std::string("VALID")}}), "ksize must have 4 entries");
}

}  // namespace
}  // namespace kiln
