// DepthwiseConv2dNative against a naive loop in double, and against TensorFlow for SAME stride 2.
#include "kernels/nn_test_util.h"

namespace kiln {
namespace {

using nn_test::Attrs;
using nn_test::ConvAttrs;
using nn_test::ExpectOp;
using nn_test::ExpectOpError;
using nn_test::Geo;
using nn_test::List;
using nn_test::ToChannelsFirst;
using nn_test::Window;

// out[n, oh, ow, c * M + m] = sum in[n, ih, iw, c] * filter[kh, kw, c, m]
Tensor RefDepthwise(const Tensor& input, const Tensor& filter, const Window& w, DType dtype) {
  const std::vector<Geo> g = nn_test::Geometries(input.shape(), {filter.dim(0), filter.dim(1)}, w);
  const int64_t n_ = input.dim(0), h = input.dim(1), wd = input.dim(2), c_ = input.dim(3), m_ = filter.dim(3);
  const Shape out_shape = {n_, g[0].out, g[1].out, c_ * m_};
  const std::vector<double> in = nn_test::AsDoubles(input), f = nn_test::AsDoubles(filter);
  std::vector<double> out(NumElements(out_shape), 0.0);
  for (int64_t n = 0; n < n_; ++n)
    for (int64_t oh = 0; oh < g[0].out; ++oh)
      for (int64_t ow = 0; ow < g[1].out; ++ow)
        for (int64_t kh = 0; kh < filter.dim(0); ++kh)
          for (int64_t kw = 0; kw < filter.dim(1); ++kw) {
            const int64_t ih = oh * w.stride[0] - g[0].pad + kh * w.dilation[0];
            const int64_t iw = ow * w.stride[1] - g[1].pad + kw * w.dilation[1];
            if (ih < 0 || ih >= h || iw < 0 || iw >= wd) continue;
            for (int64_t c = 0; c < c_; ++c)
              for (int64_t m = 0; m < m_; ++m)
                out[((n * g[0].out + oh) * g[1].out + ow) * c_ * m_ + c * m_ + m] +=
                    in[((n * h + ih) * wd + iw) * c_ + c] * f[((kh * filter.dim(1) + kw) * c_ + c) * m_ + m];
          }
  return nn_test::FromDoubles(dtype, out_shape, out);
}

struct DepthwiseCase {
  Shape input, filter;
  Window window;
};

TEST(NnDepthwiseConvTest, MatchesNaiveLoop) {
  const std::vector<DepthwiseCase> cases = {
      {{1, 5, 5, 3}, {3, 3, 3, 1}, {{1, 1}, {1, 1}, "SAME"}},
      {{2, 7, 8, 4}, {3, 3, 4, 2}, {{2, 2}, {1, 1}, "SAME"}},
      {{2, 9, 7, 3}, {3, 2, 3, 1}, {{1, 1}, {2, 2}, "SAME"}},
      {{1, 8, 9, 2}, {3, 3, 2, 3}, {{2, 1}, {1, 1}, "VALID"}},
      {{2, 6, 5, 5}, {2, 3, 5, 1}, {{1, 2}, {1, 1}, "EXPLICIT", {1, 0, 2, 1}}},
      {{1, 3, 3, 1}, {3, 3, 1, 1}, {{1, 1}, {1, 1}, "VALID"}},
  };
  uint64_t seed = 1;
  for (DType dtype : {DType::kFloat32, DType::kFloat16, DType::kFloat64}) {
    for (const auto& c : cases) {
      const Tensor x = nn_test::Random(dtype, c.input, seed++);
      const Tensor f = nn_test::Random(dtype, c.filter, seed++);
      SCOPED_TRACE(std::string(DTypeName(dtype)) + " " + x.DebugString() + " * " + f.DebugString());
      const Tensor expected = RefDepthwise(x, f, c.window, dtype);
      ExpectOp("DepthwiseConv2dNative", {x, f}, ConvAttrs(c.window), expected, nn_test::Tolerance(dtype) * 2, 1e-2);
      if (dtype == DType::kFloat32) {
        ExpectOp("DepthwiseConv2dNative", {ToChannelsFirst(x), f}, ConvAttrs(c.window, "NCHW"),
                 ToChannelsFirst(expected), 1e-5);
      }
    }
  }
}

TEST(NnDepthwiseConvTest, MatchesTensorFlowSameStride2) {
  // tf.raw_ops.DepthwiseConv2dNative(input=pattern([1,6,6,2]), filter=pattern([3,3,2,2], 17, 53, 26),
  // strides=[1,2,2,1], padding='SAME')
  const Tensor x = nn_test::Pattern({1, 6, 6, 2});
  const Tensor f = nn_test::Pattern({3, 3, 2, 2}, 17, 53, 26.0);
  const Tensor expected = Tensor::FromVector<float>(
      {1, 3, 3, 4}, {1.60384607f,    0.273846179f,  -0.057692349f, 1.04307687f,   1.48076916f,   0.0892307684f,
                     -0.0969231129f, -0.37846151f,  -0.514615357f, -0.347692281f, -0.605384469f, 0.785384655f,
                     -1.69846165f,   -0.290000021f, 0.639230728f,  0.360769272f,  0.819999993f,  0.846153855f,
                     1.14384604f,    -1.83769226f,  -1.99076927f,  0.417692244f,  -0.166923106f, -0.187692225f,
                     0.243846178f,   -1.59692299f,  -0.339230746f, 1.01692295f,   0.926153898f,  1.01230764f,
                     -0.671538472f,  0.695384622f,  0.566153824f,  -0.701538503f, -0.113076955f, 1.13384604f});
  ExpectOp("DepthwiseConv2dNative", {x, f}, Attrs({{"strides", List{1, 2, 2, 1}}, {"padding", std::string("SAME")}}),
           expected, 1e-5);
}

TEST(NnDepthwiseConvTest, RejectsBadInputs) {
  const Tensor x = nn_test::Random(DType::kFloat32, {1, 5, 5, 3}, 1);
  const Window same{{1, 1}, {1, 1}, "SAME"};
  ExpectOpError("DepthwiseConv2dNative", {x, nn_test::Random(DType::kFloat32, {3, 3, 2, 1}, 2)}, ConvAttrs(same),
                "does not match the filter's depth");
  ExpectOpError("DepthwiseConv2dNative", {x, nn_test::Random(DType::kFloat32, {6, 3, 3, 1}, 3)},
                ConvAttrs({{1, 1}, {1, 1}, "VALID"}), "larger than the input");
  ExpectOpError("DepthwiseConv2dNative", {x, nn_test::Random(DType::kFloat32, {3, 3, 3}, 4)}, ConvAttrs(same),
                "rank 4");
  ExpectOpError("DepthwiseConv2dNative", {x, nn_test::Random(DType::kFloat32, {3, 3, 3, 1}, 5)},
                Attrs({{"strides", List{1, 1, 1, 2}}, {"padding", std::string("SAME")}}), "batch and channel");
  ExpectOpError("DepthwiseConv2dNative",
                {nn_test::Random(DType::kInt32, {1, 5, 5, 3}, 6), nn_test::Random(DType::kInt32, {3, 3, 3, 1}, 7)},
                ConvAttrs(same), "does not support dtype int32");
}

}  // namespace
}  // namespace kiln
