// FusedBatchNorm{,V2,V3} against a naive reference (inference and training statistics) and against
// TensorFlow's training-mode outputs.
#include <cmath>

#include "kernels/nn_test_util.h"

namespace kiln {
namespace {

using nn_test::Attrs;
using nn_test::ExpectOp;
using nn_test::ExpectOpError;

struct BatchNormRef {
  Tensor y, mean, variance, reserve_mean, reserve_variance;
};

// x as [outer, C, inner] (NHWC: inner = 1; NCHW: outer = N).
BatchNormRef RefBatchNorm(const Tensor& x, bool channels_first, const std::vector<double>& scale,
                          const std::vector<double>& offset, const std::vector<double>& mean_in,
                          const std::vector<double>& var_in, double eps, bool training, double factor, DType t) {
  const int64_t c_ = channels_first ? x.dim(1) : x.dim(x.rank() - 1);
  const int64_t outer = channels_first ? x.dim(0) : x.num_elements() / c_;
  const int64_t inner = x.num_elements() / (outer * c_);
  const std::vector<double> v = nn_test::AsDoubles(x);
  std::vector<double> mean(c_, 0.0), var(c_, 0.0);
  const double count = static_cast<double>(outer * inner);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t c = 0; c < c_; ++c)
      for (int64_t i = 0; i < inner; ++i) mean[c] += v[(o * c_ + c) * inner + i] / count;
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t c = 0; c < c_; ++c)
      for (int64_t i = 0; i < inner; ++i) var[c] += std::pow(v[(o * c_ + c) * inner + i] - mean[c], 2) / count;
  const std::vector<double>& m = training ? mean : mean_in;
  const std::vector<double>& s2 = training ? var : var_in;
  std::vector<double> y(v.size());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t c = 0; c < c_; ++c)
      for (int64_t i = 0; i < inner; ++i) {
        const int64_t k = (o * c_ + c) * inner + i;
        y[k] = (v[k] - m[c]) / std::sqrt(s2[c] + eps) * scale[c] + offset[c];
      }
  BatchNormRef r;
  r.y = nn_test::FromDoubles(t, x.shape(), y);
  if (training) {
    std::vector<double> running_mean(c_), running_var(c_);
    for (int64_t c = 0; c < c_; ++c) {
      const double unbiased = var[c] * (count > 1 ? count / (count - 1) : 1.0);
      running_mean[c] = factor == 1.0 ? mean[c] : (1 - factor) * mean_in[c] + factor * mean[c];
      running_var[c] = factor == 1.0 ? unbiased : (1 - factor) * var_in[c] + factor * unbiased;
    }
    r.mean = nn_test::FromDoubles(DType::kFloat32, {c_}, running_mean);
    r.variance = nn_test::FromDoubles(DType::kFloat32, {c_}, running_var);
    r.reserve_mean = nn_test::FromDoubles(DType::kFloat32, {c_}, mean);
    r.reserve_variance = nn_test::FromDoubles(DType::kFloat32, {c_}, var);
  } else {
    r.mean = nn_test::FromDoubles(DType::kFloat32, {c_}, mean_in);
    r.variance = nn_test::FromDoubles(DType::kFloat32, {c_}, var_in);
  }
  return r;
}

Tensor Vec(const std::vector<double>& v) {
  return nn_test::FromDoubles(DType::kFloat32, {static_cast<int64_t>(v.size())}, v);
}

TEST(NnBatchNormTest, MatchesNaiveReferenceInEveryMode) {
  const std::vector<Shape> shapes = {{2, 3, 4, 5}, {1, 1, 1, 3}, {3, 5, 2, 1}, {2, 3, 2, 2, 4}};
  uint64_t seed = 1;
  for (const std::string op : {"FusedBatchNorm", "FusedBatchNormV2", "FusedBatchNormV3"}) {
    for (DType t : {DType::kFloat32, DType::kFloat16, DType::kBFloat16}) {
      if (op == "FusedBatchNorm" && t != DType::kFloat32) continue;
      for (const Shape& shape : shapes) {
        if (shape.size() == 5 && op != "FusedBatchNormV3") continue;
        for (bool channels_first : {false, true}) {
          for (bool training : {false, true}) {
            for (double factor : {1.0, 0.3}) {
              if (!training && factor != 1.0) continue;
              const Tensor x = testing::RandomTensor(t, shape, seed++, -2, 3);
              const int64_t c = channels_first ? shape[1] : shape.back();
              auto rnd = [&](double lo, double hi) {
                return nn_test::AsDoubles(testing::RandomTensor(DType::kFloat32, {c}, seed++, lo, hi));
              };
              const std::vector<double> scale = rnd(0.5, 2), offset = rnd(-1, 1), mean = rnd(-1, 1), var = rnd(0.2, 3);
              const std::string format =
                  shape.size() == 5 ? (channels_first ? "NCDHW" : "NDHWC") : (channels_first ? "NCHW" : "NHWC");
              const BatchNormRef ref =
                  RefBatchNorm(x, channels_first, scale, offset, mean, var, 0.001, training, factor, t);
              // In training with factor 1 the running statistics are not read and may be empty.
              const bool empty_stats = training && factor == 1.0;
              const std::vector<Tensor> inputs = {x, Vec(scale), Vec(offset), empty_stats ? Vec({}) : Vec(mean),
                                                  empty_stats ? Vec({}) : Vec(var)};
              const ir::AttrMap attrs = Attrs({{"epsilon", 0.001f},
                                               {"is_training", training},
                                               {"exponential_avg_factor", static_cast<float>(factor)},
                                               {"data_format", format},
                                               {"T", t}});
              SCOPED_TRACE(op + " " + x.DebugString() + " " + format + " training=" + std::to_string(training) +
                           " factor=" + std::to_string(factor));
              const double tol = t == DType::kFloat32 ? 1e-4 : t == DType::kFloat16 ? 1e-2 : 5e-2;
              ExpectOp(op, inputs, attrs, ref.y, tol, tol);
              ExpectOp(op, inputs, attrs, ref.mean, 1e-5, 1e-4, 1);
              ExpectOp(op, inputs, attrs, ref.variance, 1e-5, 1e-4, 2);
              if (training) {
                ExpectOp(op, inputs, attrs, ref.reserve_mean, 1e-5, 1e-4, 3);
                ExpectOp(op, inputs, attrs, ref.reserve_variance, 1e-5, 1e-4, 4);
              }
            }
          }
        }
      }
    }
  }
}

TEST(NnBatchNormTest, OutputsHaveTensorFlowsShapesAndTypes) {
  const Tensor x = testing::RandomTensor(DType::kFloat16, {2, 3, 3, 4}, 1);
  const Tensor p = testing::RandomTensor(DType::kFloat32, {4}, 2, 0.5, 1);
  for (bool training : {false, true}) {
    KILN_ASSERT_OK_AND_ASSIGN(
        std::vector<Tensor> out,
        testing::RunOp("FusedBatchNormV3", {x, p, p, p, p},
                       Attrs({{"is_training", training}, {"T", DType::kFloat16}, {"U", DType::kFloat32}})));
    ASSERT_EQ(out.size(), 6u);
    EXPECT_EQ(out[0].DebugString(), "float16[2,3,3,4]");
    for (int i = 1; i < 5; ++i) EXPECT_EQ(out[i].DebugString(), "float32[4]") << i;
    EXPECT_EQ(out[5].DebugString(), "float32[]");
  }
}

TEST(NnBatchNormTest, TrainingMatchesTensorFlow) {
  // tf.raw_ops.FusedBatchNormV3(x=pattern([2,2,2,3], 13, 31, 8), scale=[1.5,0.5,-1], offset=[0.1,-0.2,0.3],
  // mean=[], variance=[], epsilon=0.001, is_training=True), then with mean=[0.2,0.1,-0.1],
  // variance=[1,2,0.5] and exponential_avg_factor=0.25.
  const Tensor x = nn_test::Pattern({2, 2, 2, 3}, 13, 31, 8.0);
  const Tensor scale = Tensor::FromVector<float>({3}, {1.5f, 0.5f, -1.0f});
  const Tensor offset = Tensor::FromVector<float>({3}, {0.1f, -0.2f, 0.3f});
  const Tensor empty(DType::kFloat32, {0});
  const ir::AttrMap attrs = Attrs({{"epsilon", 0.001f}});
  const std::vector<Tensor> inputs = {x, scale, offset, empty, empty};
  ExpectOp(
      "FusedBatchNormV3", inputs, attrs,
      Tensor::FromVector<float>(
          {2, 2, 2, 3}, {-1.9922117f,  -0.47515732f,  -0.945449054f, -0.653196216f, -0.0117344558f, 1.71923256f,
                         0.685819268f, 0.451688468f,  0.79238683f,   2.02483463f,   -0.880652368f,  -0.134458959f,
                         -1.8248347f,  -0.417229474f, -1.06130481f,  -0.48581925f,  0.046193406f,   1.60337687f,
                         0.853196263f, 0.509616315f,  0.676531076f,  2.19221163f,   -0.822724521f,  -0.250314653f}),
      1e-5, 1e-5, 0);
  ExpectOp("FusedBatchNormV3", inputs, attrs, Tensor::FromVector<float>({3}, {0.5625f, 1.21875f, 0.90625f}), 1e-6, 1e-5,
           1);
  ExpectOp("FusedBatchNormV3", inputs, attrs, Tensor::FromVector<float>({3}, {1.43303573f, 1.32924116f, 1.32924116f}),
           1e-6, 1e-5, 2);
  ExpectOp("FusedBatchNormV3", inputs, attrs, Tensor::FromVector<float>({3}, {0.5625f, 1.21875f, 0.90625f}), 1e-6, 1e-5,
           3);
  ExpectOp("FusedBatchNormV3", inputs, attrs, Tensor::FromVector<float>({3}, {1.25390625f, 1.16308594f, 1.16308594f}),
           1e-6, 1e-5, 4);
  const std::vector<Tensor> with_stats = {x, scale, offset, Tensor::FromVector<float>({3}, {0.2f, 0.1f, -0.1f}),
                                          Tensor::FromVector<float>({3}, {1.0f, 2.0f, 0.5f})};
  const ir::AttrMap avg = Attrs({{"epsilon", 0.001f}, {"exponential_avg_factor", 0.25f}});
  ExpectOp("FusedBatchNormV3", with_stats, avg,
           Tensor::FromVector<float>({3}, {0.290625006f, 0.379687488f, 0.151562497f}), 1e-6, 1e-5, 1);
  ExpectOp("FusedBatchNormV3", with_stats, avg,
           Tensor::FromVector<float>({3}, {1.10825896f, 1.83231032f, 0.707310319f}), 1e-6, 1e-5, 2);
}

TEST(NnBatchNormTest, RejectsBadInputs) {
  const Tensor x = testing::RandomTensor(DType::kFloat32, {2, 3, 3, 4}, 1);
  const Tensor p4 = testing::RandomTensor(DType::kFloat32, {4}, 2, 0.5, 1);
  const Tensor p3 = testing::RandomTensor(DType::kFloat32, {3}, 3, 0.5, 1);
  const ir::AttrMap inference = Attrs({{"is_training", false}});
  ExpectOpError("FusedBatchNormV3", {x, p3, p4, p4, p4}, inference, "scale");
  ExpectOpError("FusedBatchNormV3", {x, p4, p4, Tensor(DType::kFloat32, {0}), p4}, inference, "mean");
  ExpectOpError("FusedBatchNormV3", {testing::RandomTensor(DType::kFloat32, {3, 4}, 4), p4, p4, p4, p4}, inference,
                "rank 4");
  ExpectOpError("FusedBatchNormV3", {x, testing::RandomTensor(DType::kFloat32, {2, 2}, 5), p4, p4, p4}, inference,
                "vector");
  ExpectOpError("FusedBatchNormV3", {x, p4, p4, p4, p4}, Attrs({{"data_format", std::string("NWC")}}), "data_format");
  ExpectOpError("FusedBatchNormV2", {testing::RandomTensor(DType::kFloat32, {2, 3, 3, 3, 4}, 6), p4, p4, p4, p4},
                Attrs({{"data_format", std::string("NDHWC")}}), "data_format");
}

}  // namespace
}  // namespace kiln
