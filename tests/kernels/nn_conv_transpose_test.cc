// Conv2DBackpropInput (Keras Conv2DTranspose) against a naive scatter in double, and against
// TensorFlow for SAME padding with stride 2.
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

// dx[n, ih, iw, ci] += dy[n, oh, ow, co] * filter[kh, kw, ci, co] for every tap that reads (ih, iw).
Tensor RefConvTranspose(const Shape& in_shape, const Tensor& filter, const Tensor& dy, const Window& w, DType dtype) {
  const std::vector<Geo> g = nn_test::Geometries(in_shape, {filter.dim(0), filter.dim(1)}, w);
  const int64_t h = in_shape[1], wd = in_shape[2], ci_ = in_shape[3], co_ = filter.dim(3);
  const std::vector<double> f = nn_test::AsDoubles(filter), d = nn_test::AsDoubles(dy);
  std::vector<double> dx(NumElements(in_shape), 0.0);
  for (int64_t n = 0; n < in_shape[0]; ++n)
    for (int64_t oh = 0; oh < g[0].out; ++oh)
      for (int64_t ow = 0; ow < g[1].out; ++ow)
        for (int64_t kh = 0; kh < filter.dim(0); ++kh)
          for (int64_t kw = 0; kw < filter.dim(1); ++kw) {
            const int64_t ih = oh * w.stride[0] - g[0].pad + kh * w.dilation[0];
            const int64_t iw = ow * w.stride[1] - g[1].pad + kw * w.dilation[1];
            if (ih < 0 || ih >= h || iw < 0 || iw >= wd) continue;
            for (int64_t ci = 0; ci < ci_; ++ci)
              for (int64_t co = 0; co < co_; ++co)
                dx[((n * h + ih) * wd + iw) * ci_ + ci] += d[((n * g[0].out + oh) * g[1].out + ow) * co_ + co] *
                                                           f[((kh * filter.dim(1) + kw) * ci_ + ci) * co_ + co];
          }
  return nn_test::FromDoubles(dtype, in_shape, dx);
}

Tensor Sizes(const Shape& s) {
  std::vector<int32_t> v(s.begin(), s.end());
  return Tensor::FromVector<int32_t>({static_cast<int64_t>(v.size())}, v);
}

struct TransposeCase {
  Shape input, filter;
  Window window;
};

TEST(NnConvTransposeTest, MatchesNaiveScatter) {
  const std::vector<TransposeCase> cases = {
      {{2, 10, 10, 3}, {3, 3, 3, 4}, {{2, 2}, {1, 1}, "SAME"}},  // Conv2DTranspose(strides=2, padding="same")
      {{1, 9, 9, 2}, {3, 3, 2, 3}, {{2, 2}, {1, 1}, "SAME"}},
      {{2, 11, 7, 3}, {3, 3, 3, 2}, {{2, 2}, {1, 1}, "VALID"}},
      {{1, 7, 6, 2}, {2, 3, 2, 5}, {{1, 1}, {2, 1}, "SAME"}},
      {{2, 6, 7, 3}, {3, 2, 3, 2}, {{1, 2}, {1, 1}, "EXPLICIT", {1, 2, 0, 1}}},
      {{2, 4, 5, 6}, {1, 1, 6, 4}, {{1, 1}, {1, 1}, "VALID"}},
      {{1, 1, 12, 3}, {1, 3, 3, 2}, {{1, 2}, {1, 1}, "VALID"}},  // Keras Conv1DTranspose after ExpandDims
  };
  uint64_t seed = 1;
  for (DType dtype : {DType::kFloat32, DType::kFloat16, DType::kFloat64, DType::kInt32}) {
    for (const auto& c : cases) {
      const std::vector<Geo> g = nn_test::Geometries(c.input, {c.filter[0], c.filter[1]}, c.window);
      const Tensor f = nn_test::Random(dtype, c.filter, seed++);
      const Tensor dy = nn_test::Random(dtype, {c.input[0], g[0].out, g[1].out, c.filter[3]}, seed++);
      SCOPED_TRACE(std::string(DTypeName(dtype)) + " input " + ShapeToString(c.input) + " " + c.window.padding);
      const Tensor expected = RefConvTranspose(c.input, f, dy, c.window, dtype);
      ExpectOp("Conv2DBackpropInput", {Sizes(c.input), f, dy}, ConvAttrs(c.window), expected,
               nn_test::Tolerance(dtype) * 3, 2e-2);
      if (dtype == DType::kFloat32) {
        // Spatial-only input_sizes, and NCHW.
        ExpectOp("Conv2DBackpropInput", {Sizes({c.input[1], c.input[2]}), f, dy}, ConvAttrs(c.window), expected, 1e-5);
        ExpectOp("Conv2DBackpropInput",
                 {Sizes({c.input[0], c.input[3], c.input[1], c.input[2]}), f, ToChannelsFirst(dy)},
                 ConvAttrs(c.window, "NCHW"), ToChannelsFirst(expected), 1e-5);
      }
    }
  }
}

TEST(NnConvTransposeTest, MatchesTensorFlowSameStride2) {
  // tf.raw_ops.Conv2DBackpropInput(input_sizes=s, filter=pattern([3,3,2,3], 17, 53, 26),
  // out_backprop=pattern([1,3,3,3], 11, 41, 20), strides=[1,2,2,1], padding='SAME') for s = [1,5,5,2]
  // and [1,6,6,2]: both have a 3x3 out_backprop but pad differently.
  const Tensor f = nn_test::Pattern({3, 3, 2, 3}, 17, 53, 26.0);
  const Tensor dy = nn_test::Pattern({1, 3, 3, 3}, 11, 41, 20.0);
  const ir::AttrMap attrs = Attrs({{"strides", List{1, 2, 2, 1}}, {"padding", std::string("SAME")}});
  const Tensor expected5 = Tensor::FromVector<float>(
      {1, 5, 5, 2},
      {-0.0211538766f, -0.834615409f, 0.376923144f,  0.519230723f,  1.18461537f,   -0.509615362f, -0.865384638f,
       -0.853846192f,  -0.448076874f, 1.15576923f,   -0.501923084f, -0.490384609f, -0.153846264f, -1.2249999f,
       -0.719230831f,  -0.680769205f, 1.56730783f,   -0.265384525f, 0.403846264f,  0.469230831f,  -0.740384638f,
       -0.0173076782f, -0.511538446f, -0.603846192f, -0.40192309f,  -0.40192309f,  -0.650000036f, -0.557692289f,
       -0.0634615645f, -0.786538482f, 0.501922965f,  0.436538517f,  -0.824999988f, -0.317307711f, -0.661538482f,
       -0.700000048f,  -0.996153831f, -1.25f,        -0.484615386f, -0.496153861f, 1.14230776f,   -0.461538434f,
       -0.84807694f,   -0.859615445f, -0.490384638f, 1.20384622f,   0.590384662f,  0.448076963f,  -0.782692313f,
       0.0307691991f});
  ExpectOp("Conv2DBackpropInput", {Sizes({1, 5, 5, 2}), f, dy}, attrs, expected5, 1e-5);
  const Tensor expected6 = Tensor::FromVector<float>(
      {1, 6, 6, 2},
      {1.18653846f,    -0.748076856f, -0.644230783f, -0.540384591f, -0.884615302f,  0.582692206f,  0.953846157f,
       0.992307603f,   0.288461566f,  0.809615254f,  -0.286538482f, -0.313461542f,  -0.228846163f, -0.12500003f,
       -0.0211538766f, -0.834615409f, 0.376923144f,  0.519230723f,  1.18461537f,    -0.509615362f, -0.865384638f,
       -0.853846192f,  -0.448076874f, 1.15576923f,   -0.219230801f, -0.51346153f,   -0.501923084f, -0.490384609f,
       -0.153846264f,  -1.2249999f,   -0.719230831f, -0.680769205f, 1.56730783f,    -0.265384525f, 0.403846264f,
       0.469230831f,   -0.555769265f, -0.648076892f, -0.740384638f, -0.0173076782f, -0.511538446f, -0.603846192f,
       -0.40192309f,   -0.40192309f,  -0.650000036f, -0.557692289f, -0.0634615645f, -0.786538482f, -0.794230759f,
       0.567307651f,   0.501922965f,  0.436538517f,  -0.824999988f, -0.317307711f,  -0.661538482f, -0.700000048f,
       -0.996153831f,  -1.25f,        -0.484615386f, -0.496153861f, 1.08846152f,    1.11538458f,   1.14230776f,
       -0.461538434f,  -0.84807694f,  -0.859615445f, -0.490384638f, 1.20384622f,    0.590384662f,  0.448076963f,
       -0.782692313f,  0.0307691991f});
  ExpectOp("Conv2DBackpropInput", {Sizes({1, 6, 6, 2}), f, dy}, attrs, expected6, 1e-5);
}

TEST(NnConvTransposeTest, RejectsBadInputs) {
  const Tensor f = nn_test::Random(DType::kFloat32, {3, 3, 2, 4}, 1);
  const Tensor dy = nn_test::Random(DType::kFloat32, {1, 3, 3, 4}, 2);
  const ir::AttrMap attrs = ConvAttrs({{2, 2}, {1, 1}, "SAME"});
  ExpectOpError("Conv2DBackpropInput", {Sizes({1, 9, 9, 2}), f, dy}, attrs, "does not match the convolution");
  ExpectOpError("Conv2DBackpropInput", {Sizes({1, 6, 6, 3}), f, dy}, attrs, "input depth");
  ExpectOpError("Conv2DBackpropInput", {Sizes({1, 6, 6, 2}), f, nn_test::Random(DType::kFloat32, {1, 3, 3, 5}, 3)},
                attrs, "out_backprop depth");
  ExpectOpError("Conv2DBackpropInput", {Sizes({1, 6, 6}), f, dy}, attrs, "2 or 4 elements");
  ExpectOpError("Conv2DBackpropInput", {Sizes({1, 6, 6, 2}), f, nn_test::Random(DType::kFloat32, {3, 3, 4}, 4)}, attrs,
                "rank 4");
  ExpectOpError("Conv2DBackpropInput", {Sizes({1, 2, 2, 2}), f, dy}, ConvAttrs({{1, 1}, {1, 1}, "VALID"}),
                "larger than the input");
  ExpectOpError("Conv2DBackpropInput", {Sizes({1, 6, 6, 2}), f, nn_test::Random(DType::kFloat16, {1, 3, 3, 4}, 5)},
                attrs, "dtype");
}

}  // namespace
}  // namespace kiln
