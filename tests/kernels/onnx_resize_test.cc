// OnnxResize (ONNX Resize, opset 19): ONNX's backend test cases, a naive N-linear reference on
// random inputs, nearest on every dtype, shape inference and bad inputs.
#include <cmath>

#include "kernels/array_test_util.h"
#include "kernels/nn_test_util.h"

namespace kiln {
namespace {

using namespace testing;  // NOLINT: test helpers
using List = std::vector<int64_t>;

Tensor Empty() { return Tensor(DType::kFloat32, {0}); }
Tensor Sizes(List v) { return I64({static_cast<int64_t>(v.size())}, v); }
Tensor Scales(std::vector<float> v) { return F32({static_cast<int64_t>(v.size())}, v); }

// 1, 2, ..., n as float32 of `shape`.
Tensor Iota1(const Shape& shape) {
  std::vector<float> v(NumElements(shape));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i + 1);
  return F32(shape, v);
}

ir::AttrMap ResizeAttrs(std::initializer_list<std::pair<const char*, ir::AttrValue>> kv) { return Attrs(kv); }

struct GoldenCase {
  const char* name;
  ir::AttrMap attrs;
  Shape x;  // holds 1, 2, 3, ...
  Tensor roi, scales, sizes;
  Shape y_shape;
  std::vector<float> y;
};

// Rows from onnx 1.23's onnx/backend/test/case/node/resize.py (the conformance data).
std::vector<GoldenCase> GoldenCases() {
  const std::string linear = "linear", cubic = "cubic";
  return {
      {"downsample_scales_linear",
       ResizeAttrs({{"mode", linear}}),
       {1, 1, 2, 4},
       Empty(),
       Scales({1, 1, 0.6f, 0.6f}),
       Empty(),
       {1, 1, 1, 2},
       {2.6666665f, 4.333333f}},
      {"downsample_scales_linear_align_corners",
       ResizeAttrs({{"mode", linear}, {"coordinate_transformation_mode", std::string("align_corners")}}),
       {1, 1, 2, 4},
       Empty(),
       Scales({1, 1, 0.6f, 0.6f}),
       Empty(),
       {1, 1, 1, 2},
       {1, 3.142857f}},
      {"downsample_scales_linear_half_pixel_symmetric",
       ResizeAttrs({{"mode", linear}, {"coordinate_transformation_mode", std::string("half_pixel_symmetric")}}),
       {1, 1, 1, 4},
       Empty(),
       Scales({1, 1, 1, 0.6f}),
       Empty(),
       {1, 1, 1, 2},
       {1.6666667f, 3.3333333f}},
      {"downsample_sizes_linear_pytorch_half_pixel",
       ResizeAttrs({{"mode", linear}, {"coordinate_transformation_mode", std::string("pytorch_half_pixel")}}),
       {1, 1, 4, 4},
       Empty(),
       Empty(),
       Sizes({1, 1, 3, 1}),
       {1, 1, 3, 1},
       {1.6666666f, 7, 12.333333f}},
      {"downsample_scales_cubic",
       ResizeAttrs({{"mode", cubic}}),
       {1, 1, 4, 4},
       Empty(),
       Scales({1, 1, 0.8f, 0.8f}),
       Empty(),
       {1, 1, 3, 3},
       {1.4711914f, 2.78125f, 4.0825195f, 6.711426f, 8.021484f, 9.322754f, 11.916504f, 13.2265625f, 14.527832f}},
      {"downsample_scales_cubic_A_n0p5_exclude_outside",
       ResizeAttrs({{"mode", cubic}, {"cubic_coeff_a", -0.5f}, {"exclude_outside", int64_t{1}}}),
       {1, 1, 4, 4},
       Empty(),
       Scales({1, 1, 0.8f, 0.8f}),
       Empty(),
       {1, 1, 3, 3},
       {1.3681267f, 2.6695013f, 4.0133367f, 6.573625f, 7.875f, 9.218835f, 11.948966f, 13.250341f, 14.594176f}},
      // Separable and linear in its input: the 2-D upsample_scales_cubic_asymmetric case reduces to this row.
      {"upsample_scales_cubic_asymmetric (1-D)",
       ResizeAttrs({{"mode", cubic}, {"coordinate_transformation_mode", std::string("asymmetric")}}),
       {4},
       Empty(),
       Scales({2}),
       Empty(),
       {8},
       {1, 1.40625f, 2, 2.5f, 3, 3.59375f, 4, 4.09375f}},
      {"downsample_scales_cubic_antialias",
       ResizeAttrs({{"mode", cubic}, {"antialias", int64_t{1}}}),
       {1, 1, 4, 4},
       Empty(),
       Scales({1, 1, 0.6f, 0.6f}),
       Empty(),
       {1, 1, 2, 2},
       {2.5180721f, 4.2858863f, 9.589329f, 11.357142f}},
      {"downsample_sizes_linear_antialias",
       ResizeAttrs({{"mode", linear}, {"antialias", int64_t{1}}}),
       {1, 1, 4, 4},
       Empty(),
       Empty(),
       Sizes({1, 1, 3, 3}),
       {1, 1, 3, 3},
       {2.3636363f, 3.590909f, 4.818182f, 7.2727275f, 8.5f, 9.727273f, 12.181818f, 13.409091f, 14.636364f}},
      {"tf_crop_and_resize",
       ResizeAttrs({{"mode", linear}, {"coordinate_transformation_mode", std::string("tf_crop_and_resize")}}),
       {1, 1, 4, 4},
       Scales({0, 0, 0.4f, 0.6f, 1, 1, 0.6f, 0.8f}),
       Empty(),
       Sizes({1, 1, 3, 3}),
       {1, 1, 3, 3},
       {7.6000004f, 7.9f, 8.2f, 8.8f, 9.1f, 9.400001f, 10, 10.3f, 10.6f}},
      {"tf_crop_and_resize_extrapolation_value",
       ResizeAttrs({{"mode", linear},
                    {"coordinate_transformation_mode", std::string("tf_crop_and_resize")},
                    {"extrapolation_value", 10.0f}}),
       {1, 1, 4, 4},
       Scales({0, 0, 0.4f, 0.6f, 1, 1, 1.2f, 1.7f}),
       Empty(),
       Sizes({1, 1, 3, 3}),
       {1, 1, 3, 3},
       {7.6000004f, 10, 10, 12.400001f, 10, 10, 10, 10, 10}},
      {"downsample_sizes_nearest_not_larger",
       ResizeAttrs({{"axes", List{2, 3}}, {"keep_aspect_ratio_policy", std::string("not_larger")}}),
       {1, 1, 2, 4},
       Empty(),
       Empty(),
       Sizes({1, 3}),
       {1, 1, 1, 2},
       {1, 3}},
      {"downsample_sizes_nearest_not_smaller",
       ResizeAttrs({{"axes", List{2, 3}}, {"keep_aspect_ratio_policy", std::string("not_smaller")}}),
       {1, 1, 2, 4},
       Empty(),
       Empty(),
       Sizes({1, 3}),
       {1, 1, 2, 3},
       {1, 2, 4, 5, 6, 8}},
  };
}

TEST(OnnxResizeTest, MatchesOnnxBackendCases) {
  for (const auto& c : GoldenCases()) {
    SCOPED_TRACE(c.name);
    EXPECT_TRUE(
        OpMatches("OnnxResize", {Iota1(c.x), c.roi, c.scales, c.sizes}, c.attrs, {F32(c.y_shape, c.y)}, 1e-5, 1e-5));
  }
}

// Nearest cases of the backend tests on 1, 2, ... of [1, 1, h, w]: output (r, c) takes input
// (rows[r], cols[c]).
struct NearestCase {
  const char* name;
  ir::AttrMap attrs;
  Shape x;
  Tensor scales, sizes;
  List rows, cols;
};

TEST(OnnxResizeTest, NearestMatchesOnnxBackendCases) {
  const std::string nearest = "nearest";
  const std::vector<NearestCase> cases = {
      {"upsample_scales_nearest",
       ResizeAttrs({}),
       {1, 1, 2, 2},
       Scales({1, 1, 2, 3}),
       Empty(),
       {0, 0, 1, 1},
       {0, 0, 0, 1, 1, 1}},
      {"upsample_sizes_nearest_axes_3_2",
       ResizeAttrs({{"axes", List{3, 2}}}),
       {1, 1, 2, 2},
       Empty(),
       Sizes({8, 7}),
       {0, 0, 0, 0, 1, 1, 1},
       {0, 0, 0, 0, 1, 1, 1, 1}},
      {"upsample_sizes_nearest_ceil_half_pixel",
       ResizeAttrs({{"nearest_mode", std::string("ceil")}}),
       {1, 1, 4, 4},
       Empty(),
       Sizes({1, 1, 8, 8}),
       {0, 1, 1, 2, 2, 3, 3, 3},
       {0, 1, 1, 2, 2, 3, 3, 3}},
      {"upsample_sizes_nearest_floor_align_corners",
       ResizeAttrs(
           {{"nearest_mode", std::string("floor")}, {"coordinate_transformation_mode", std::string("align_corners")}}),
       {1, 1, 4, 4},
       Empty(),
       Sizes({1, 1, 8, 8}),
       {0, 0, 0, 1, 1, 2, 2, 3},
       {0, 0, 0, 1, 1, 2, 2, 3}},
      {"upsample_sizes_nearest_round_prefer_ceil_asymmetric",
       ResizeAttrs({{"nearest_mode", std::string("round_prefer_ceil")},
                    {"coordinate_transformation_mode", std::string("asymmetric")}}),
       {1, 1, 4, 4},
       Empty(),
       Sizes({1, 1, 8, 8}),
       {0, 1, 1, 2, 2, 3, 3, 3},
       {0, 1, 1, 2, 2, 3, 3, 3}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    for (DType dtype : {DType::kFloat32, DType::kInt64, DType::kUInt8, DType::kFloat16, DType::kBool}) {
      const Tensor x = FromDoubles(dtype, c.x, ToDoubles(Iota1(c.x)));
      std::vector<double> y;
      for (int64_t r : c.rows)
        for (int64_t col : c.cols) y.push_back(static_cast<double>(r * c.x[3] + col + 1));
      const Shape ys = {1, 1, static_cast<int64_t>(c.rows.size()), static_cast<int64_t>(c.cols.size())};
      EXPECT_TRUE(OpMatches("OnnxResize", {x, Empty(), c.scales, c.sizes}, c.attrs, {FromDoubles(dtype, ys, y)}))
          << DTypeName(dtype);
    }
  }
}

// N-linear interpolation straight from the coordinate formulas, edge-clamped.
std::vector<double> RefLinear(const std::vector<double>& x, const Shape& xs, const Shape& ys,
                              const std::vector<double>& scale, const std::string& mode) {
  const size_t r = xs.size();
  std::vector<double> y;
  for (int64_t o = 0; o < NumElements(ys); ++o) {
    const List pos = Unravel(o, ys);
    std::vector<int64_t> lo(r), hi(r);
    std::vector<double> w(r);
    for (size_t d = 0; d < r; ++d) {
      const double yd = static_cast<double>(pos[d]);
      double src = mode == "asymmetric" ? yd / scale[d]
                   : mode == "align_corners"
                       ? (ys[d] == 1 ? 0 : yd * static_cast<double>(xs[d] - 1) / static_cast<double>(ys[d] - 1))
                       : (yd + 0.5) / scale[d] - 0.5;
      if (xs[d] == ys[d] && scale[d] == 1) src = yd;
      const double f = std::floor(src);
      lo[d] = std::clamp<int64_t>(static_cast<int64_t>(f), 0, xs[d] - 1);
      hi[d] = std::clamp<int64_t>(static_cast<int64_t>(f) + 1, 0, xs[d] - 1);
      w[d] = src - f;
    }
    double acc = 0;
    for (int corner = 0; corner < (1 << r); ++corner) {
      List p(r);
      double weight = 1;
      for (size_t d = 0; d < r; ++d) {
        const bool upper = (corner >> d) & 1;
        p[d] = upper ? hi[d] : lo[d];
        weight *= upper ? w[d] : 1 - w[d];
      }
      acc += weight * x[Ravel(p, xs)];
    }
    y.push_back(acc);
  }
  return y;
}

TEST(OnnxResizeTest, LinearMatchesNaiveReference) {
  struct Case {
    Shape x;
    List axes;
    std::vector<float> scales;
    std::string mode;
  };
  const std::vector<Case> cases = {
      {{2, 3, 5, 7}, {2, 3}, {1.7f, 0.6f}, "half_pixel"},
      {{2, 3, 5, 7}, {}, {1, 1, 0.5f, 2.5f}, "asymmetric"},
      {{1, 2, 4, 3, 5}, {-3, -1, -2}, {1.5f, 0.7f, 2}, "half_pixel"},
      {{3, 6}, {}, {2, 0.5f}, "align_corners"},
      {{9}, {}, {0.35f}, "half_pixel"},
  };
  uint64_t seed = 1;
  for (const auto& c : cases) {
    SCOPED_TRACE(ShapeToString(c.x) + " " + c.mode);
    std::vector<double> scale(c.x.size(), 1.0);
    Shape ys = c.x;
    for (size_t i = 0; i < c.scales.size(); ++i) {
      const int64_t a = c.axes.empty()
                            ? static_cast<int64_t>(i)
                            : (c.axes[i] + static_cast<int64_t>(c.x.size())) % static_cast<int64_t>(c.x.size());
      scale[a] = c.scales[i];
      ys[a] = static_cast<int64_t>(std::floor(static_cast<double>(c.x[a]) * c.scales[i]));
    }
    const ir::AttrMap attrs =
        ResizeAttrs({{"mode", std::string("linear")}, {"coordinate_transformation_mode", c.mode}, {"axes", c.axes}});
    for (DType dtype : {DType::kFloat32, DType::kFloat16, DType::kFloat64}) {
      const Tensor x = RandomTensor(dtype, c.x, seed++);
      const std::vector<double> y = RefLinear(ToDoubles(x), c.x, ys, scale, c.mode);
      const double tol = dtype == DType::kFloat16 ? 2e-3 : 1e-5;
      EXPECT_TRUE(OpMatches("OnnxResize", {x, Empty(), Scales(c.scales), Empty()}, attrs,
                            {nn_test::FromDoubles(dtype, ys, y)}, tol, tol))
          << DTypeName(dtype);
    }
    // Integer inputs compute like float64 and round half to even.
    for (DType dtype : {DType::kUInt8, DType::kInt32}) {
      const Tensor x = RandomTensor(dtype, c.x, seed++, 0, 200);
      auto wide = RunOp("OnnxResize",
                        {FromDoubles(DType::kFloat64, c.x, ToDoubles(x)), Empty(), Scales(c.scales), Empty()}, attrs);
      ASSERT_TRUE(wide.ok()) << wide.status().ToString();
      std::vector<double> y = ToDoubles((*wide)[0]);
      for (double& v : y) v = std::nearbyint(v);
      EXPECT_TRUE(OpMatches("OnnxResize", {x, Empty(), Scales(c.scales), Empty()}, attrs, {FromDoubles(dtype, ys, y)}))
          << DTypeName(dtype);
    }
  }
}

TEST(OnnxResizeTest, InfersShapes) {
  const auto in = Ph(DType::kFloat32, PS({1, 3, 4, 6}));
  const auto none = Const(Empty());
  EXPECT_EQ(InferredShape("OnnxResize", {in, none, Const(Scales({1, 1, 2, 0.5f})), none}), "[1,3,8,3]");
  EXPECT_EQ(InferredShape("OnnxResize", {in, none, none, Ph(DType::kInt64, PS({4}))}), "[?,?,?,?]");
  EXPECT_EQ(InferredShape("OnnxResize", {in, none, none, Ph(DType::kInt64, PS({2}))}, Attrs({{"axes", List{2, 3}}})),
            "[1,3,?,?]");
  EXPECT_EQ(InferredShape("OnnxResize", {in, none, none, Const(Sizes({3, 3}))},
                          Attrs({{"axes", List{-2, -1}}, {"keep_aspect_ratio_policy", std::string("not_larger")}})),
            "[1,3,2,3]");
  EXPECT_EQ(InferredShape("OnnxResize", {Ph(DType::kFloat32, PS({1, -1, 5})), none, Const(Scales({2, 2})), none},
                          Attrs({{"axes", List{1, 2}}})),
            "[1,?,10]");
}

TEST(OnnxResizeTest, RejectsBadInputs) {
  const Tensor x = Iota1({1, 1, 4, 4});
  const ir::AttrMap linear = Attrs({{"mode", std::string("linear")}});
  EXPECT_TRUE(OpFails("OnnxResize", {x, Empty(), Scales({1, 1, 2, 2}), Sizes({1, 1, 8, 8})}, linear, "cannot both"));
  EXPECT_TRUE(OpFails("OnnxResize", {x, Empty(), Empty(), Empty()}, linear, "one of scales and sizes"));
  EXPECT_TRUE(OpFails("OnnxResize", {x, Empty(), Scales({2, 2}), Empty()}, linear, "scales must have 4 entries"));
  EXPECT_TRUE(OpFails("OnnxResize", {x, Empty(), Scales({1, 1, -2, 2}), Empty()}, linear, "must be positive"));
  EXPECT_TRUE(OpFails("OnnxResize", {x, Empty(), Empty(), Sizes({1, 1, -8, 8})}, linear, "is negative"));
  EXPECT_TRUE(OpFails(
      "OnnxResize", {x, Scales({0, 0, 1, 1}), Empty(), Sizes({1, 1, 3, 3})},
      Attrs({{"mode", std::string("linear")}, {"coordinate_transformation_mode", std::string("tf_crop_and_resize")}}),
      "roi must have 8 entries"));
  EXPECT_TRUE(OpFails("OnnxResize", {x, Empty(), Scales({1, 1, 2, 2}), Empty()},
                      Attrs({{"mode", std::string("bilinear")}}), "unknown resize mode 'bilinear'"));
  EXPECT_TRUE(OpFails("OnnxResize", {x, Empty(), Scales({1, 1, 2, 2}), Empty()},
                      Attrs({{"coordinate_transformation_mode", std::string("tf_half_pixel_for_nn")}}),
                      "unknown coordinate_transformation_mode"));
  EXPECT_TRUE(OpFails("OnnxResize", {x, Empty(), Scales({2, 2}), Empty()}, Attrs({{"axes", List{2, -2}}}), "twice"));
  EXPECT_TRUE(
      OpFails("OnnxResize", {x, Empty(), Scales({2, 2}), Empty()}, Attrs({{"axes", List{2, 4}}}), "out of range"));
  EXPECT_TRUE(OpFails("OnnxResize", {x, Empty(), I32({4}, {1, 1, 2, 2}), Empty()}, linear, "floating point"));
  EXPECT_TRUE(OpFails("OnnxResize",
                      {FromDoubles(DType::kBool, {1, 1, 2, 2}, {1, 0, 0, 1}), Empty(), Scales({1, 1, 2, 2}), Empty()},
                      linear, "does not support dtype bool"));
  EXPECT_TRUE(OpFails("OnnxResize", {Tensor(DType::kFloat32, {1, 0, 4}), Empty(), Empty(), Sizes({1, 2, 4})}, linear,
                      "of size 0"));
  EXPECT_TRUE(OpFails("OnnxResize", {x, Empty(), Scales({1, 1, 1e30f, 1}), Empty()}, linear, "too large"));
  const int64_t big = int64_t{1} << 40;
  EXPECT_TRUE(OpFails("OnnxResize", {x, Empty(), Empty(), Sizes({big, big, 4, 4})}, linear, "too many elements"));
}

}  // namespace
}  // namespace kiln
