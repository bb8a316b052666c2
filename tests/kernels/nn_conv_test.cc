// Conv2D, Conv3D, Conv and DepthwiseConv2dNative against naive loops in double, plus values from
// TensorFlow where the padding split matters.
#include "kernels/nn_test_util.h"

namespace kiln {
namespace {

using nn_test::Attrs;
using nn_test::ConvAttrs;
using nn_test::ExpectOp;
using nn_test::ExpectOpError;
using nn_test::Geo;
using nn_test::Geometries;
using nn_test::List;
using nn_test::ToChannelsFirst;
using nn_test::Window;

// Naive grouped convolution: input [N, S..., C], filter [K..., C/groups, O].
Tensor RefConv(const Tensor& input, const Tensor& filter, const Window& w, DType dtype) {
  const int r = filter.rank() - 2;
  const Shape kernel(filter.shape().begin(), filter.shape().begin() + r);
  const std::vector<Geo> g = Geometries(input.shape(), kernel, w);
  const int64_t c_in = input.dim(r + 1), cg = filter.dim(r), c_out = filter.dim(r + 1);
  const int64_t groups = c_in / cg, og = c_out / groups;
  Shape out_shape = {input.dim(0)};
  for (const auto& x : g) out_shape.push_back(x.out);
  out_shape.push_back(c_out);
  const std::vector<double> in = nn_test::AsDoubles(input), f = nn_test::AsDoubles(filter);
  std::vector<double> out(NumElements(out_shape), 0.0);
  const int64_t positions = NumElements(Shape(out_shape.begin() + 1, out_shape.end() - 1));
  const int64_t taps = NumElements(kernel);
  for (int64_t n = 0; n < input.dim(0); ++n) {
    for (int64_t p = 0; p < positions; ++p) {
      List o(r);
      for (int i = r - 1, rem = static_cast<int>(p); i >= 0; --i) {
        o[i] = rem % g[i].out;
        rem /= static_cast<int>(g[i].out);
      }
      for (int64_t t = 0; t < taps; ++t) {
        List k(r);
        int64_t rem = t, in_off = 0;
        bool valid = true;
        for (int i = r - 1; i >= 0; --i) {
          k[i] = rem % kernel[i];
          rem /= kernel[i];
        }
        for (int i = 0; i < r; ++i) {
          const int64_t pos = o[i] * w.stride[i] - g[i].pad + k[i] * w.dilation[i];
          valid &= pos >= 0 && pos < input.dim(i + 1);
          in_off = in_off * input.dim(i + 1) + pos;
        }
        if (!valid) continue;
        for (int64_t co = 0; co < c_out; ++co) {
          const int64_t grp = co / og;
          double acc = 0;
          for (int64_t c = 0; c < cg; ++c) {
            acc += in[(n * NumElements(Shape(input.shape().begin() + 1, input.shape().end() - 1)) + in_off) * c_in +
                      grp * cg + c] *
                   f[(t * cg + c) * c_out + co];
          }
          out[(n * positions + p) * c_out + co] += acc;
        }
      }
    }
  }
  return nn_test::FromDoubles(dtype, out_shape, out);
}

struct ConvCase {
  Shape input, filter;
  Window window;
};

const std::vector<ConvCase>& Conv2DCases() {
  static const std::vector<ConvCase> cases = {
      {{1, 5, 5, 3}, {3, 3, 3, 4}, {{1, 1}, {1, 1}, "SAME"}},
      {{2, 7, 6, 3}, {3, 2, 3, 5}, {{2, 2}, {1, 1}, "VALID"}},
      {{2, 9, 8, 4}, {3, 3, 4, 6}, {{2, 2}, {1, 1}, "SAME"}},
      {{1, 9, 11, 2}, {3, 3, 2, 3}, {{1, 1}, {2, 2}, "SAME"}},
      {{2, 10, 9, 2}, {3, 3, 2, 3}, {{2, 1}, {2, 2}, "SAME"}},
      {{1, 6, 7, 3}, {2, 3, 3, 2}, {{1, 2}, {1, 1}, "EXPLICIT", {1, 2, 2, 0}}},
      {{3, 4, 5, 6}, {1, 1, 6, 7}, {{1, 1}, {1, 1}, "VALID"}},
      {{2, 5, 5, 6}, {1, 1, 6, 4}, {{2, 2}, {1, 1}, "SAME"}},
      {{2, 6, 5, 6}, {3, 3, 2, 6}, {{1, 1}, {1, 1}, "SAME"}},  // 3 groups
      {{1, 3, 3, 2}, {3, 3, 2, 2}, {{1, 1}, {1, 1}, "VALID"}},
      {{2, 1, 9, 3}, {1, 3, 3, 4}, {{1, 2}, {1, 1}, "SAME"}},  // Keras Conv1D after ExpandDims
  };
  return cases;
}

TEST(NnConvTest, Conv2DMatchesNaiveConvolution) {
  uint64_t seed = 1;
  for (DType dtype : {DType::kFloat32, DType::kFloat16, DType::kBFloat16, DType::kFloat64, DType::kInt32}) {
    for (const auto& c : Conv2DCases()) {
      const Tensor x = nn_test::Random(dtype, c.input, seed++);
      const Tensor f = nn_test::Random(dtype, c.filter, seed++);
      SCOPED_TRACE(std::string(DTypeName(dtype)) + " " + x.DebugString() + " * " + f.DebugString() + " " +
                   c.window.padding);
      ExpectOp("Conv2D", {x, f}, ConvAttrs(c.window), RefConv(x, f, c.window, dtype),
               dtype == DType::kBFloat16 ? 0.15 : nn_test::Tolerance(dtype) * 3, 2e-2);
    }
  }
}

TEST(NnConvTest, Conv2DNchwMatchesNhwc) {
  uint64_t seed = 50;
  for (const auto& c : Conv2DCases()) {
    const Tensor x = nn_test::Random(DType::kFloat32, c.input, seed++);
    const Tensor f = nn_test::Random(DType::kFloat32, c.filter, seed++);
    ExpectOp("Conv2D", {ToChannelsFirst(x), f}, ConvAttrs(c.window, "NCHW"),
             ToChannelsFirst(RefConv(x, f, c.window, DType::kFloat32)), 1e-4);
  }
}

TEST(NnConvTest, Conv2DMatchesTensorFlowForEvenKernelSamePadding) {
  // tf.raw_ops.Conv2D(input=pattern([1,6,6,2]), filter=pattern([4,4,2,3], 17, 53, 26), strides=[1,2,2,1],
  // padding='SAME'): TF pads 1 before and 2 after.
  const Tensor x = nn_test::Pattern({1, 6, 6, 2});
  const Tensor f = nn_test::Pattern({4, 4, 2, 3}, 17, 53, 26.0);
  const Tensor expected = Tensor::FromVector<float>(
      {1, 3, 3, 3}, {-0.96307689f, -1.27384615f, 0.290769219f, -0.170769215f, -1.11846149f,  2.01076937f, -1.20230758f,
                     0.863076866f, -1.14846146f, 0.333846092f, 0.803077042f,  -0.521538436f, 3.86615396f, 0.207692266f,
                     -2.18692303f, 1.07076907f,  -1.17615366f, -0.85461539f,  -0.491538465f, 1.05307698f, 1.04846144f,
                     -2.43076921f, 0.775384665f, 0.883076727f, 0.713846087f,  -0.722307801f, 0.20615387f});
  ExpectOp("Conv2D", {x, f}, Attrs({{"strides", List{1, 2, 2, 1}}, {"padding", std::string("SAME")}}), expected, 1e-4);
}

TEST(NnConvTest, Conv3DMatchesNaiveConvolution) {
  const std::vector<ConvCase> cases = {
      {{2, 4, 5, 6, 3}, {2, 3, 3, 3, 4}, {{1, 2, 1}, {1, 1, 1}, "SAME"}},
      {{1, 5, 4, 4, 2}, {3, 2, 2, 2, 3}, {{2, 1, 1}, {1, 1, 1}, "VALID"}},
  };
  uint64_t seed = 100;
  for (DType dtype : {DType::kFloat32, DType::kFloat16}) {
    for (const auto& c : cases) {
      const Tensor x = nn_test::Random(dtype, c.input, seed++);
      const Tensor f = nn_test::Random(dtype, c.filter, seed++);
      ExpectOp("Conv3D", {x, f}, ConvAttrs(c.window, "NDHWC"), RefConv(x, f, c.window, dtype),
               nn_test::Tolerance(dtype) * 3, 2e-2);
    }
  }
}

TEST(NnConvTest, GenericConvHandlesRanksBatchDimsGroupsAndLayouts) {
  uint64_t seed = 200;
  // 1-D, 2-D and 3-D.
  const std::vector<ConvCase> cases = {
      {{2, 9, 3}, {3, 3, 4}, {{2}, {1}, "SAME"}},
      {{2, 9, 3}, {3, 3, 4}, {{1}, {2}, "EXPLICIT", {2, 1}}},
      {{2, 7, 6, 3}, {3, 3, 3, 5}, {{2, 1}, {1, 2}, "SAME"}},
      {{1, 4, 5, 6, 2}, {2, 3, 2, 2, 3}, {{1, 1, 2}, {1, 1, 1}, "VALID"}},
  };
  for (const auto& c : cases) {
    const Tensor x = nn_test::Random(DType::kFloat32, c.input, seed++);
    const Tensor f = nn_test::Random(DType::kFloat32, c.filter, seed++);
    const Tensor expected = RefConv(x, f, c.window, DType::kFloat32);
    ir::AttrMap attrs = ConvAttrs(c.window, "CHANNELS_LAST");
    ExpectOp("Conv", {x, f}, attrs, expected, 1e-4);
    ExpectOp("Conv", {ToChannelsFirst(x), f}, ConvAttrs(c.window, "CHANNELS_FIRST"), ToChannelsFirst(expected), 1e-4);
  }
  // batch_dims = 2 folds [2,3] into one batch.
  const Tensor x = nn_test::Random(DType::kFloat32, {2, 3, 7, 5, 3}, seed++);
  const Tensor f = nn_test::Random(DType::kFloat32, {3, 3, 3, 4}, seed++);
  const Window w{{1, 1}, {1, 1}, "SAME"};
  KILN_ASSERT_OK_AND_ASSIGN(Tensor flat_x, x.Reshaped({6, 7, 5, 3}));
  KILN_ASSERT_OK_AND_ASSIGN(Tensor expected, RefConv(flat_x, f, w, DType::kFloat32).Reshaped({2, 3, 7, 5, 4}));
  ir::AttrMap attrs = ConvAttrs(w, "CHANNELS_LAST");
  attrs.Set("batch_dims", int64_t{2});
  ExpectOp("Conv", {x, f}, attrs, expected, 1e-4);
  // groups = 2.
  const Tensor xg = nn_test::Random(DType::kFloat32, {2, 6, 5, 6}, seed++);
  const Tensor fg = nn_test::Random(DType::kFloat32, {3, 3, 3, 4}, seed++);
  ir::AttrMap ga = ConvAttrs(w, "CHANNELS_LAST");
  ga.Set("groups", int64_t{2});
  ExpectOp("Conv", {xg, fg}, ga, RefConv(xg, fg, w, DType::kFloat32), 1e-4);
  ExpectOpError("Conv", {xg, fg}, ConvAttrs(w, "CHANNELS_LAST"), "times groups 1");
}

TEST(NnConvTest, RejectsBadConvolutions) {
  const Tensor x = nn_test::Random(DType::kFloat32, {1, 5, 5, 3}, 1);
  const Window same{{1, 1}, {1, 1}, "SAME"};
  ExpectOpError("Conv2D", {x, nn_test::Random(DType::kFloat32, {3, 3, 2, 4}, 2)}, ConvAttrs(same),
                "not a multiple of the filter's input depth");
  ExpectOpError("Conv2D", {x, nn_test::Random(DType::kFloat32, {7, 3, 3, 4}, 3)}, ConvAttrs({{1, 1}, {1, 1}, "VALID"}),
                "larger than the input");
  ExpectOpError("Conv2D",
                {nn_test::Random(DType::kFloat32, {5, 5, 3}, 4), nn_test::Random(DType::kFloat32, {3, 3, 3, 4}, 5)},
                ConvAttrs(same), "rank 4");
  ExpectOpError("Conv2D", {x, nn_test::Random(DType::kFloat32, {3, 3, 3}, 6)}, ConvAttrs(same), "rank 4");
  ExpectOpError("Conv2D", {x, nn_test::Random(DType::kFloat32, {3, 3, 3, 4}, 7)},
                Attrs({{"strides", List{2, 1, 1, 1}}, {"padding", std::string("SAME")}}), "batch and channel");
  ExpectOpError("Conv2D", {x, nn_test::Random(DType::kFloat32, {3, 3, 3, 4}, 8)},
                Attrs({{"strides", List{1, 1, 1}}, {"padding", std::string("SAME")}}), "strides must have 4 entries");
  ExpectOpError("Conv2D", {x, nn_test::Random(DType::kFloat32, {3, 3, 3, 4}, 9)},
                Attrs({{"strides", List{1, 1, 1, 1}}, {"padding", std::string("FULL")}}), "unknown padding");
  ExpectOpError("Conv2D", {x, nn_test::Random(DType::kFloat32, {3, 3, 3, 4}, 10)},
                Attrs({{"strides", List{1, 1, 1, 1}}, {"padding", std::string("EXPLICIT")}}), "explicit_paddings");
  ExpectOpError("Conv2D", {x, nn_test::Random(DType::kFloat16, {3, 3, 3, 4}, 11)}, ConvAttrs(same), "dtype");
  ExpectOpError(
      "Conv2D",
      {nn_test::Random(DType::kFloat32, {1, 5, 5, 4}, 12), nn_test::Random(DType::kFloat32, {3, 3, 2, 5}, 13)},
      ConvAttrs(same), "not a multiple of the group count");
}

}  // namespace
}  // namespace kiln
