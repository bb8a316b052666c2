// ResizeNearestNeighbor and ResizeBilinear: TensorFlow's coordinate mappings (legacy, align_corners,
// half_pixel_centers) checked against values TensorFlow produced, plus dtype handling.
#include "kernels/nn_test_util.h"

namespace kiln {
namespace {

using nn_test::Attrs;
using nn_test::ExpectOp;
using nn_test::ExpectOpError;

ir::AttrMap ResizeAttrs(bool align_corners, bool half_pixel) {
  return Attrs({{"align_corners", align_corners}, {"half_pixel_centers", half_pixel}});
}

Tensor Size(int32_t h, int32_t w) { return Tensor::FromVector<int32_t>({2}, {h, w}); }

TEST(NnResizeTest, MatchesTensorFlow) {
  // tf.raw_ops.<op>(images=pattern([1,3,4,2], 29, 97, 40), size=[5,7], align_corners=a,
  // half_pixel_centers=h) and the same for images=pattern([1,5,7,1], 29, 97, 40), size=[2,3].
  const Tensor images = nn_test::Pattern({1, 3, 4, 2}, 29, 97, 40.0);
  const Tensor images2 = nn_test::Pattern({1, 5, 7, 1}, 29, 97, 40.0);
  const Tensor size57 = Size(5, 7), size23 = Size(2, 3);
  ExpectOp(
      "ResizeBilinear", {images, size57}, ResizeAttrs(false, false),
      Tensor::FromVector<float>(
          {1, 5, 7, 2},
          {-1.0f,          -0.275000006f, -0.171428502f,  0.553571463f,  0.310714245f,   1.03571415f,   -0.246428668f,
           0.478571296f,   -0.110714108f, -0.0785715133f, 0.717857361f,  -0.635714352f,  0.925000012f,  -0.774999976f,
           -0.430000007f,  0.295000046f,  0.398571491f,   0.292142838f,  0.880714238f,   0.358571351f,  0.323571324f,
           0.632857203f,   0.0435714424f, 0.491428494f,   0.0407142639f, -0.0657143593f, 0.0399999619f, -0.204999983f,
           0.140000045f,   0.379999936f,  0.691428542f,   0.0999999717f, 1.03499985f,    0.0278572068f, 0.754999995f,
           0.5792858f,     0.336428493f,  0.714999914f,   -0.220714346f, 0.435000002f,   -0.359999955f, 0.365000039f,
           0.710000038f,   -0.505000055f, 0.429999948f,   0.0464286059f, 0.357857049f,   0.389999986f,  0.909285903f,
           0.109999895f,   0.906428456f,  0.245714307f,   0.349285662f,  0.797143042f,   0.210000098f,  0.935000062f,
           0.899999976f,   -0.800000012f, 0.342857122f,   0.0285714865f, 0.132142931f,   0.510714233f,  0.960714519f,
           -0.0464286804f, 1.09642839f,   0.0892858803f,  0.5392856f,    0.917857349f,   0.400000006f,  1.125f}),
      1e-5);
  ExpectOp(
      "ResizeNearestNeighbor", {images, size57}, ResizeAttrs(false, false),
      Tensor::FromVector<float>(
          {1, 5, 7, 2},
          {-1.0f,          -0.275000006f, -1.0f,          -0.275000006f, 0.449999988f,  1.17499995f,   0.449999988f,
           1.17499995f,    -0.524999976f, 0.200000003f,   -0.524999976f, 0.200000003f,  0.925000012f,  -0.774999976f,
           -1.0f,          -0.275000006f, -1.0f,          -0.275000006f, 0.449999988f,  1.17499995f,   0.449999988f,
           1.17499995f,    -0.524999976f, 0.200000003f,   -0.524999976f, 0.200000003f,  0.925000012f,  -0.774999976f,
           -0.0500000007f, 0.675000012f,  -0.0500000007f, 0.675000012f,  1.39999998f,   -0.300000012f, 1.39999998f,
           -0.300000012f,  0.425000012f,  1.14999998f,    0.425000012f,  1.14999998f,   -0.550000012f, 0.174999997f,
           -0.0500000007f, 0.675000012f,  -0.0500000007f, 0.675000012f,  1.39999998f,   -0.300000012f, 1.39999998f,
           -0.300000012f,  0.425000012f,  1.14999998f,    0.425000012f,  1.14999998f,   -0.550000012f, 0.174999997f,
           0.899999976f,   -0.800000012f, 0.899999976f,   -0.800000012f, -0.075000003f, 0.649999976f,  -0.075000003f,
           0.649999976f,   1.375f,        -0.324999988f,  1.375f,        -0.324999988f, 0.400000006f,  1.125f}),
      1e-5);
  ExpectOp("ResizeBilinear", {images2, size23}, ResizeAttrs(false, false),
           Tensor::FromVector<float>({1, 2, 3, 1},
                                     {-1.0f, 0.691666603f, -0.0416667759f, -0.4375f, 0.445833445f, 0.520833194f}),
           1e-5);
  ExpectOp("ResizeNearestNeighbor", {images2, size23}, ResizeAttrs(false, false),
           Tensor::FromVector<float>({1, 2, 3, 1},
                                     {-1.0f, 0.449999988f, -0.524999976f, -0.550000012f, 0.899999976f, -0.075000003f}),
           1e-5);
  ExpectOp(
      "ResizeBilinear", {images, size57}, ResizeAttrs(true, false),
      Tensor::FromVector<float>(
          {1, 5, 7, 2},
          {-1.0f,          -0.275000006f,  -0.274999976f, 0.449999958f,   0.449999988f,  1.17499995f,    -0.037499994f,
           0.6875f,        -0.524999976f,  0.200000003f,  0.200000048f,   -0.287499964f, 0.925000012f,   -0.774999976f,
           -0.524999976f,  0.200000018f,   0.199999988f,  0.318749964f,   0.924999952f,  0.4375f,        0.43750003f,
           0.556249976f,   -0.0499999821f, 0.675000012f,  0.0687500238f,  0.18750003f,   0.1875f,        -0.299999982f,
           -0.0500000007f, 0.675000012f,   0.674999952f,  0.1875f,        1.39999998f,   -0.300000012f,  0.912500024f,
           0.425000012f,   0.425000012f,   1.14999998f,   -0.0625f,       0.662500024f,  -0.550000012f,  0.174999997f,
           0.424999982f,   -0.0625f,       0.543749988f,  0.056250006f,   0.662499964f,  0.174999982f,   0.78125f,
           0.293749988f,   0.899999976f,   0.412500024f,  0.412499994f,   0.53125f,      -0.0749999881f, 0.649999976f,
           0.899999976f,   -0.800000012f,  0.412499994f,  -0.0749999881f, -0.075000003f, 0.649999976f,   0.650000036f,
           0.162499994f,   1.375f,         -0.324999988f, 0.887499988f,   0.400000036f,  0.400000006f,   1.125f}),
      1e-5);
  ExpectOp(
      "ResizeNearestNeighbor", {images, size57}, ResizeAttrs(true, false),
      Tensor::FromVector<float>(
          {1, 5, 7, 2},
          {-1.0f,          -0.275000006f, 0.449999988f,  1.17499995f,   0.449999988f,  1.17499995f,   -0.524999976f,
           0.200000003f,   -0.524999976f, 0.200000003f,  0.925000012f,  -0.774999976f, 0.925000012f,  -0.774999976f,
           -0.0500000007f, 0.675000012f,  1.39999998f,   -0.300000012f, 1.39999998f,   -0.300000012f, 0.425000012f,
           1.14999998f,    0.425000012f,  1.14999998f,   -0.550000012f, 0.174999997f,  -0.550000012f, 0.174999997f,
           -0.0500000007f, 0.675000012f,  1.39999998f,   -0.300000012f, 1.39999998f,   -0.300000012f, 0.425000012f,
           1.14999998f,    0.425000012f,  1.14999998f,   -0.550000012f, 0.174999997f,  -0.550000012f, 0.174999997f,
           0.899999976f,   -0.800000012f, -0.075000003f, 0.649999976f,  -0.075000003f, 0.649999976f,  1.375f,
           -0.324999988f,  1.375f,        -0.324999988f, 0.400000006f,  1.125f,        0.400000006f,  1.125f,
           0.899999976f,   -0.800000012f, -0.075000003f, 0.649999976f,  -0.075000003f, 0.649999976f,  1.375f,
           -0.324999988f,  1.375f,        -0.324999988f, 0.400000006f,  1.125f,        0.400000006f,  1.125f}),
      1e-5);
  ExpectOp("ResizeBilinear", {images2, size23}, ResizeAttrs(true, false),
           Tensor::FromVector<float>({1, 2, 3, 1},
                                     {-1.0f, 1.17499995f, 0.925000012f, -0.100000001f, -0.349999994f, -0.600000024f}),
           1e-5);
  ExpectOp("ResizeNearestNeighbor", {images2, size23}, ResizeAttrs(true, false),
           Tensor::FromVector<float>({1, 2, 3, 1},
                                     {-1.0f, 1.17499995f, 0.925000012f, -0.100000001f, -0.349999994f, -0.600000024f}),
           1e-5);
  ExpectOp(
      "ResizeBilinear", {images, size57}, ResizeAttrs(false, true),
      Tensor::FromVector<float>(
          {1, 5, 7, 2},
          {-1.0f,          -0.275000006f, -0.482142746f, 0.242857188f,   0.346428633f,    1.07142854f,   -0.037499994f,
           0.6875f,        -0.421428263f, 0.130356953f,  0.407143176f,   -0.426785886f,   0.925000012f,  -0.774999976f,
           -0.620000005f,  0.105000049f,  -0.102142751f, 0.27642858f,    0.726428628f,    0.550714195f,  0.342500061f,
           0.582499981f,   -0.110714138f, 0.510356963f,  0.163571537f,   -0.0467858613f,  0.334999979f,  -0.394999951f,
           -0.0500000007f, 0.675000012f,  0.467857182f,  0.326785654f,   1.29642856f,     -0.23035717f,  0.912500024f,
           0.425000012f,   0.355356961f,  1.08035696f,   -0.201785862f,  0.523214102f,    -0.550000012f, 0.174999997f,
           0.5200001f,     -0.210000217f, 0.518214285f,  -0.0385715067f, 0.515356958f,    0.235714406f,  0.754999995f,
           0.267499983f,   0.925357103f,  0.29928565f,   0.36821425f,    0.573571563f,    0.0200001597f, 0.745000124f,
           0.899999976f,   -0.800000012f, 0.551785648f,  -0.282142758f,  -0.00535714626f, 0.546428621f,  0.650000036f,
           0.162499994f,   1.30535698f,   -0.22142826f,  0.748214126f,   0.607143164f,    0.400000006f,  1.125f}),
      1e-5);
  ExpectOp(
      "ResizeNearestNeighbor", {images, size57}, ResizeAttrs(false, true),
      Tensor::FromVector<float>(
          {1, 5, 7, 2},
          {-1.0f,          -0.275000006f, -1.0f,          -0.275000006f, 0.449999988f,  1.17499995f,   -0.524999976f,
           0.200000003f,   -0.524999976f, 0.200000003f,   0.925000012f,  -0.774999976f, 0.925000012f,  -0.774999976f,
           -1.0f,          -0.275000006f, -1.0f,          -0.275000006f, 0.449999988f,  1.17499995f,   -0.524999976f,
           0.200000003f,   -0.524999976f, 0.200000003f,   0.925000012f,  -0.774999976f, 0.925000012f,  -0.774999976f,
           -0.0500000007f, 0.675000012f,  -0.0500000007f, 0.675000012f,  1.39999998f,   -0.300000012f, 0.425000012f,
           1.14999998f,    0.425000012f,  1.14999998f,    -0.550000012f, 0.174999997f,  -0.550000012f, 0.174999997f,
           0.899999976f,   -0.800000012f, 0.899999976f,   -0.800000012f, -0.075000003f, 0.649999976f,  1.375f,
           -0.324999988f,  1.375f,        -0.324999988f,  0.400000006f,  1.125f,        0.400000006f,  1.125f,
           0.899999976f,   -0.800000012f, 0.899999976f,   -0.800000012f, -0.075000003f, 0.649999976f,  1.375f,
           -0.324999988f,  1.375f,        -0.324999988f,  0.400000006f,  1.125f,        0.400000006f,  1.125f}),
      1e-5);
  ExpectOp("ResizeBilinear", {images2, size23}, ResizeAttrs(false, true),
           Tensor::FromVector<float>({1, 2, 3, 1},
                                     {-0.347916663f, 1.34375f, 0.610416412f, 0.214583337f, -0.518750012f, 0.36458388f}),
           1e-5);
  ExpectOp("ResizeNearestNeighbor", {images2, size23}, ResizeAttrs(false, true),
           Tensor::FromVector<float>({1, 2, 3, 1},
                                     {-0.0500000007f, 1.39999998f, 0.425000012f, 0.400000006f, -0.574999988f, 0.875f}),
           1e-5);
}

TEST(NnResizeTest, NearestCopiesEveryDtypeAndBilinearReturnsFloat) {
  uint64_t seed = 1;
  const Tensor f = nn_test::Random(DType::kFloat32, {2, 3, 4, 3}, seed++);
  KILN_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> ref,
                            testing::RunOp("ResizeNearestNeighbor", {f, Size(6, 9)}, ResizeAttrs(false, true)));
  KILN_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> ref_bilinear,
                            testing::RunOp("ResizeBilinear", {f, Size(6, 9)}, ResizeAttrs(false, true)));
  for (DType dtype :
       {DType::kFloat16, DType::kBFloat16, DType::kFloat64, DType::kInt32, DType::kUInt8, DType::kInt64}) {
    // Values exactly representable in every dtype, so the float32 results carry over.
    std::vector<double> v = nn_test::AsDoubles(testing::RandomTensor(DType::kInt32, {2, 3, 4, 3}, seed++, 0, 50));
    const Tensor x = nn_test::FromDoubles(dtype, {2, 3, 4, 3}, v);
    const Tensor xf = nn_test::FromDoubles(DType::kFloat32, {2, 3, 4, 3}, v);
    KILN_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> nearest_f,
                              testing::RunOp("ResizeNearestNeighbor", {xf, Size(6, 9)}, ResizeAttrs(false, true)));
    KILN_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> bilinear_f,
                              testing::RunOp("ResizeBilinear", {xf, Size(6, 9)}, ResizeAttrs(false, true)));
    SCOPED_TRACE(DTypeName(dtype));
    ExpectOp("ResizeNearestNeighbor", {x, Size(6, 9)}, Attrs({{"T", dtype}, {"half_pixel_centers", true}}),
             nn_test::FromDoubles(dtype, {2, 6, 9, 3}, nn_test::AsDoubles(nearest_f[0])), 0);
    ExpectOp("ResizeBilinear", {x, Size(6, 9)}, Attrs({{"T", dtype}, {"half_pixel_centers", true}}), bilinear_f[0],
             1e-5);
  }
  EXPECT_EQ(ref[0].DebugString(), "float32[2,6,9,3]");
  EXPECT_EQ(ref_bilinear[0].DebugString(), "float32[2,6,9,3]");
}

TEST(NnResizeTest, SameSizeIsIdentity) {
  const Tensor x = nn_test::Random(DType::kFloat32, {2, 5, 3, 4}, 7);
  for (bool ac : {false, true}) {
    for (bool hp : {false, true}) {
      if (ac && hp) continue;
      ExpectOp("ResizeBilinear", {x, Size(5, 3)}, ResizeAttrs(ac, hp), x, 1e-6);
      ExpectOp("ResizeNearestNeighbor", {x, Size(5, 3)}, ResizeAttrs(ac, hp), x, 0);
    }
  }
}

TEST(NnResizeTest, RejectsBadInputs) {
  const Tensor x = nn_test::Random(DType::kFloat32, {1, 3, 3, 2}, 1);
  ExpectOpError("ResizeBilinear", {x, Size(4, 4)}, ResizeAttrs(true, true), "cannot both be true");
  ExpectOpError("ResizeBilinear", {x, Size(0, 4)}, {}, "positive");
  ExpectOpError("ResizeNearestNeighbor", {x, Tensor::FromVector<int32_t>({3}, {4, 4, 4})}, {}, "size");
  ExpectOpError("ResizeNearestNeighbor", {nn_test::Random(DType::kFloat32, {3, 3, 2}, 2), Size(4, 4)}, {}, "rank 4");
  ExpectOpError("ResizeBilinear", {x, Tensor::FromVector<float>({2}, {4.0f, 4.0f})}, {}, "int32");
}

}  // namespace
}  // namespace kiln
