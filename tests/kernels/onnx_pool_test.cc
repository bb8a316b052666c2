// OnnxPool (ONNX MaxPool/AveragePool/LpPool): ONNX's backend test cases, a naive N-d reference on
// random inputs, shape inference and bad attributes.
#include <cmath>
#include <limits>

#include "kernels/array_test_util.h"
#include "kernels/cpu/array_util.h"
#include "kernels/nn_test_util.h"

namespace kiln {
namespace {

using namespace testing;  // NOLINT: test helpers
using List = std::vector<int64_t>;

Tensor Iota1(const Shape& shape) {
  std::vector<float> v(NumElements(shape));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i + 1);
  return F32(shape, v);
}

struct PoolCase {
  std::string mode;
  List kernel, strides = {}, pads = {}, dilations = {};
  std::string auto_pad = "NOTSET";
  int64_t ceil_mode = 0, count_include_pad = 0, p = 2;
};

ir::AttrMap PoolAttrs(const PoolCase& c) {
  return Attrs({{"mode", c.mode},
                {"kernel_shape", c.kernel},
                {"strides", c.strides},
                {"pads", c.pads},
                {"dilations", c.dilations},
                {"auto_pad", c.auto_pad},
                {"ceil_mode", c.ceil_mode},
                {"count_include_pad", c.count_include_pad},
                {"p", c.p}});
}

// Rows from onnx 1.23's onnx/backend/test/case/node/{maxpool,averagepool,lppool}.py (the
// conformance data); inputs are 1, 2, 3, ... unless given.
struct GoldenCase {
  const char* name;
  PoolCase pool;
  Shape x_shape;
  std::vector<float> x;  // empty: 1, 2, 3, ...
  Shape y_shape;
  std::vector<float> y;
};

const GoldenCase kGolden[] = {
    {"maxpool_2d_ceil", {"max", {3, 3}, {2, 2}, {}, {}, "NOTSET", 1}, {1, 1, 4, 4}, {}, {1, 1, 2, 2}, {11, 12, 15, 16}},
    {"maxpool_2d_ceil_output_size_reduce_by_one",
     {"max", {1, 1}, {2, 2}, {}, {}, "NOTSET", 1},
     {1, 1, 2, 2},
     {},
     {1, 1, 1, 1},
     {1}},
    {"maxpool_2d_dilations", {"max", {2, 2}, {1, 1}, {}, {2, 2}}, {1, 1, 4, 4}, {}, {1, 1, 2, 2}, {11, 12, 15, 16}},
    {"maxpool_2d_precomputed_same_upper",
     {"max", {3, 3}, {2, 2}, {}, {}, "SAME_UPPER"},
     {1, 1, 5, 5},
     {},
     {1, 1, 3, 3},
     {7, 9, 10, 17, 19, 20, 22, 24, 25}},
    {"maxpool_3d_dilations",
     {"max", {2, 2, 2}, {1, 1, 1}, {}, {2, 2, 2}},
     {1, 1, 4, 4, 4},
     {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
      1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},
     {1, 1, 2, 2, 2},
     {11, 12, 15, 16, 11, 12, 15, 16}},
    {"averagepool_2d_ceil",
     {"avg", {3, 3}, {2, 2}, {}, {}, "NOTSET", 1},
     {1, 1, 4, 4},
     {},
     {1, 1, 2, 2},
     {6, 7.5f, 12, 13.5f}},
    {"averagepool_2d_ceil_last_window_starts_on_pad",
     {"avg", {3, 3}, {3, 3}, {1, 1, 1, 1}, {}, "NOTSET", 1, 1},
     {1, 3, 2, 2},
     {0.858f, 0.0786f, 0.2692f, 0.1537f, 0.8816f, 0.4353f, 0.5772f, 0.6623f, 0.9067f, 0.9483f, 0.597f, 0.763f},
     {1, 3, 1, 1},
     {0.1511f, 0.2841f, 0.3572f}},
    {"averagepool_2d_dilations",
     {"avg", {2, 2}, {1, 1}, {}, {2, 2}, "NOTSET", 1},
     {1, 1, 4, 4},
     {},
     {1, 1, 2, 2},
     {6, 7, 10, 11}},
    {"averagepool_2d_precomputed_pads_count_include_pad",
     {"avg", {5, 5}, {}, {2, 2, 2, 2}, {}, "NOTSET", 0, 1},
     {1, 1, 5, 5},
     {},
     {1, 1, 5, 5},
     {2.52f, 3.6f, 4.8f,  4.08f, 3.24f, 4.56f,  6.4f,  8.4f,  7.04f, 5.52f, 7.2f,  10,   13,
      10.8f, 8.4f, 6.96f, 9.6f,  12.4f, 10.24f, 7.92f, 6.12f, 8.4f,  10.8f, 8.88f, 6.84f}},
    {"averagepool_2d_precomputed_same_upper",
     {"avg", {3, 3}, {2, 2}, {}, {}, "SAME_UPPER"},
     {1, 1, 5, 5},
     {},
     {1, 1, 3, 3},
     {4, 5.5f, 7, 11.5f, 13, 14.5f, 19, 20.5f, 22}},
    {"lppool_2d_dilations",
     {"lp", {2, 2}, {1, 1}, {}, {2, 2}},
     {1, 1, 4, 4},
     {},
     {1, 1, 2, 2},
     {14.56022f, 16.248077f, 21.633308f, 23.49468f}},
    // onnx.reference.ReferenceEvaluator, AveragePool(kernel [2,2], strides [2,2], auto_pad SAME_LOWER)
    {"averagepool_same_lower",
     {"avg", {2, 2}, {2, 2}, {}, {}, "SAME_LOWER"},
     {1, 1, 5, 5},
     {},
     {1, 1, 3, 3},
     {1, 2.5f, 4.5f, 8.5f, 10, 12, 18.5f, 20, 22}},
    // ReferenceEvaluator, AveragePool(kernel [3,3], strides [2,2], pads 1, count_include_pad 1, ceil_mode 1)
    {"averagepool_ceil_count_include_pad",
     {"avg", {3, 3}, {2, 2}, {1, 1, 1, 1}, {}, "NOTSET", 1, 1},
     {1, 1, 5, 5},
     {},
     {1, 1, 3, 3},
     {1.7777778f, 3.6666667f, 3.1111112f, 7.6666665f, 13, 9.666667f, 8.444445f, 13.666667f, 9.777778f}},
};

TEST(OnnxPoolTest, MatchesOnnxBackendCases) {
  for (const auto& c : kGolden) {
    SCOPED_TRACE(c.name);
    const Tensor x = c.x.empty() ? Iota1(c.x_shape) : F32(c.x_shape, c.x);
    EXPECT_TRUE(OpMatches("OnnxPool", {x}, PoolAttrs(c.pool), {F32(c.y_shape, c.y)}, 1e-4, 1e-5));
  }
  // maxpool_2d_uint8: kernel 5x5, pads 2 on a uint8 input.
  std::vector<uint8_t> x8(25);
  for (int i = 0; i < 25; ++i) x8[i] = static_cast<uint8_t>(i + 1);
  const std::vector<uint8_t> y8 = {13, 14, 15, 15, 15, 18, 19, 20, 20, 20, 23, 24, 25,
                                   25, 25, 23, 24, 25, 25, 25, 23, 24, 25, 25, 25};
  EXPECT_TRUE(OpMatches("OnnxPool", {Tensor::FromVector<uint8_t>({1, 1, 5, 5}, x8)},
                        PoolAttrs({"max", {5, 5}, {}, {2, 2, 2, 2}}), {Tensor::FromVector<uint8_t>({1, 1, 5, 5}, y8)}));
}

// Pools [N, C, spatial...] doubles straight from the spec: window o of a dim starts at
// o * stride - pad_begin; taps outside the input are skipped (or counted, for count_include_pad,
// when inside the padded input).
std::vector<double> RefPool(const std::vector<double>& x, const Shape& xs, const PoolCase& c, Shape* ys) {
  const size_t r = c.kernel.size();
  List in(xs.begin() + 2, xs.end()), out(r), pb(r), pe(r), s(r), d(r);
  for (size_t i = 0; i < r; ++i) {
    s[i] = c.strides.empty() ? 1 : c.strides[i];
    d[i] = c.dilations.empty() ? 1 : c.dilations[i];
    const int64_t eff = (c.kernel[i] - 1) * d[i] + 1;
    if (c.auto_pad == "SAME_UPPER" || c.auto_pad == "SAME_LOWER") {
      out[i] = (in[i] + s[i] - 1) / s[i];
      const int64_t total = std::max<int64_t>((out[i] - 1) * s[i] + eff - in[i], 0);
      pb[i] = c.auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      pe[i] = total - pb[i];
    } else {
      pb[i] = c.pads.empty() ? 0 : c.pads[i];
      pe[i] = c.pads.empty() ? 0 : c.pads[r + i];
      const double span = static_cast<double>(in[i] + pb[i] + pe[i] - eff) / static_cast<double>(s[i]);
      out[i] = static_cast<int64_t>(c.ceil_mode ? std::ceil(span) : std::floor(span)) + 1;
      if (c.ceil_mode && (out[i] - 1) * s[i] >= in[i] + pb[i]) --out[i];
    }
  }
  *ys = {xs[0], xs[1]};
  ys->insert(ys->end(), out.begin(), out.end());
  const int64_t planes = xs[0] * xs[1], in_size = NumElements(in), out_size = NumElements(out);
  std::vector<double> y;
  for (int64_t plane = 0; plane < planes; ++plane) {
    for (int64_t o = 0; o < out_size; ++o) {
      const List opos = Unravel(o, out);
      double acc = c.mode == "max" ? -INFINITY : 0;
      int64_t inside = 0, padded = 0;
      for (int64_t k = 0; k < NumElements(c.kernel); ++k) {
        const List kpos = Unravel(k, c.kernel);
        List pos(r);
        bool in_input = true, in_padded = true;
        for (size_t i = 0; i < r; ++i) {
          pos[i] = opos[i] * s[i] - pb[i] + kpos[i] * d[i];
          in_input &= pos[i] >= 0 && pos[i] < in[i];
          in_padded &= pos[i] >= -pb[i] && pos[i] < in[i] + pe[i];
        }
        padded += in_padded;
        if (!in_input) continue;
        ++inside;
        const double v = x[plane * in_size + Ravel(pos, in)];
        acc = c.mode == "max" ? std::max(acc, v) : c.mode == "avg" ? acc + v : acc + std::pow(std::fabs(v), c.p);
      }
      if (c.mode == "avg") acc /= static_cast<double>(c.count_include_pad ? padded : inside);
      if (c.mode == "lp") acc = std::pow(acc, 1.0 / static_cast<double>(c.p));
      y.push_back(acc);
    }
  }
  return y;
}

struct RandomCase {
  Shape x;
  PoolCase pool;
};

const RandomCase kRandom[] = {
    {{2, 3, 9}, {"max", {3}, {2}, {1, 1}}},
    {{1, 2, 10}, {"avg", {4}, {3}, {2, 1}, {}, "NOTSET", 1, 1}},
    {{1, 2, 11}, {"lp", {3}, {2}, {}, {2}, "NOTSET", 1, 0, 3}},
    {{2, 2, 7, 6}, {"max", {3, 2}, {2, 2}, {}, {}, "SAME_LOWER"}},
    {{2, 2, 7, 6}, {"avg", {3, 2}, {2, 3}, {}, {}, "SAME_UPPER"}},
    {{1, 3, 8, 7}, {"avg", {3, 3}, {3, 2}, {1, 0, 2, 1}, {1, 2}, "NOTSET", 1, 0}},
    {{1, 3, 8, 7}, {"avg", {3, 3}, {3, 2}, {1, 0, 2, 1}, {1, 2}, "NOTSET", 1, 1}},
    {{1, 2, 9, 9}, {"max", {2, 3}, {3, 3}, {0, 1, 1, 0}, {2, 1}, "NOTSET", 1}},
    {{1, 2, 6, 5}, {"lp", {2, 2}, {1, 2}, {1, 1, 1, 1}, {}, "NOTSET", 0, 0, 1}},
    {{1, 2, 6, 5}, {"lp", {2, 3}, {2, 1}, {}, {}, "VALID"}},
    {{1, 2, 5, 6, 4}, {"max", {2, 3, 2}, {2, 2, 1}, {1, 0, 0, 0, 1, 1}, {}, "NOTSET", 1}},
    {{2, 1, 4, 5, 6}, {"avg", {3, 2, 2}, {1, 2, 3}, {}, {1, 2, 1}, "SAME_UPPER"}},
};

TEST(OnnxPoolTest, MatchesNaiveReference) {
  uint64_t seed = 1;
  for (const auto& c : kRandom) {
    SCOPED_TRACE(c.pool.mode + " " + ShapeToString(c.x) + " kernel " + ShapeToString(c.pool.kernel) + " " +
                 c.pool.auto_pad);
    for (DType dtype : {DType::kFloat32, DType::kFloat16, DType::kFloat64, DType::kInt8, DType::kUInt8}) {
      if (c.pool.mode != "max" && IsInteger(dtype)) continue;
      const Tensor x = RandomTensor(dtype, c.x, seed++, IsInteger(dtype) ? 0 : -2, IsInteger(dtype) ? 100 : 2);
      Shape ys;
      const std::vector<double> y = RefPool(ToDoubles(x), c.x, c.pool, &ys);
      const double tol = dtype == DType::kFloat16 ? 1e-2 : 1e-5;
      EXPECT_TRUE(OpMatches("OnnxPool", {x}, PoolAttrs(c.pool), {nn_test::FromDoubles(dtype, ys, y)}, tol, tol))
          << DTypeName(dtype);
    }
  }
}

// data_format NHWC (the channels-last form engines use): the same pools over [N, spatial..., C].
TEST(OnnxPoolTest, ChannelsLastFormPoolsTheSameWindows) {
  uint64_t seed = 100;
  for (const auto& c : kRandom) {
    SCOPED_TRACE(c.pool.mode + " " + ShapeToString(c.x) + " kernel " + ShapeToString(c.pool.kernel));
    const int rank = static_cast<int>(c.x.size());
    std::vector<int> to_last = {0}, to_first = {0, rank - 1};
    for (int i = 2; i < rank; ++i) to_last.push_back(i);
    to_last.push_back(1);
    for (int i = 1; i < rank - 1; ++i) to_first.push_back(i);
    for (DType dtype : {DType::kFloat32, DType::kFloat16}) {
      const Tensor x = RandomTensor(dtype, c.x, seed++, -2, 2);
      Shape ys;
      const std::vector<double> y = RefPool(ToDoubles(x), c.x, c.pool, &ys);
      const Tensor want = kernels::cpu::TransposeTensor(nn_test::FromDoubles(dtype, ys, y), to_last);
      ir::AttrMap attrs = PoolAttrs(c.pool);
      attrs.Set("data_format", std::string("NHWC"));
      const double tol = dtype == DType::kFloat16 ? 1e-2 : 1e-5;
      EXPECT_TRUE(OpMatches("OnnxPool", {kernels::cpu::TransposeTensor(x, to_last)}, attrs, {want}, tol, tol))
          << DTypeName(dtype);
    }
  }
  ir::AttrMap a = PoolAttrs({"avg", {3, 3}, {2, 2}, {1, 1, 1, 1}, {}, "NOTSET", 1});
  a.Set("data_format", std::string("NHWC"));
  EXPECT_EQ(InferredShape("OnnxPool", {Ph(DType::kFloat32, PS({-1, -1, 8, 3}))}, a), "[?,?,5,3]");
  a.Set("data_format", std::string("NCWH"));
  EXPECT_TRUE(OpFails("OnnxPool", {RandomTensor(DType::kFloat32, {1, 5, 5, 2}, 7)}, a, "data_format"));
}

TEST(OnnxPoolTest, InfersShapes) {
  const ir::AttrMap a = PoolAttrs({"avg", {3, 3}, {2, 2}, {1, 1, 1, 1}, {}, "NOTSET", 1});
  EXPECT_EQ(InferredShape("OnnxPool", {Ph(DType::kFloat32, PS({-1, 3, -1, 8}))}, a), "[?,3,?,5]");
  EXPECT_EQ(InferredShape("OnnxPool", {Ph(DType::kFloat32, PartialShape::Unknown())}, a), "[?,?,?,?]");
  EXPECT_EQ(InferredShape("OnnxPool", {Ph(DType::kFloat32, PS({1, 3, 7}))},
                          PoolAttrs({"max", {2}, {3}, {}, {}, "SAME_LOWER"})),
            "[1,3,3]");
}

TEST(OnnxPoolTest, RejectsBadInputs) {
  const Tensor x = RandomTensor(DType::kFloat32, {1, 2, 5, 5}, 7);
  EXPECT_TRUE(OpFails("OnnxPool", {x}, PoolAttrs({"max", {2}}), "rank 3"));
  EXPECT_TRUE(OpFails("OnnxPool", {x}, PoolAttrs({"max", {}}), "kernel_shape must have 1 to 3 entries"));
  EXPECT_TRUE(OpFails("OnnxPool", {x}, PoolAttrs({"max", {2, 0}}), "must be positive"));
  EXPECT_TRUE(OpFails("OnnxPool", {x}, PoolAttrs({"max", {2, 2}, {1}}), "strides must have 2 entries"));
  EXPECT_TRUE(OpFails("OnnxPool", {x}, PoolAttrs({"max", {2, 2}, {}, {1, 1}}), "pads must have 4 entries"));
  EXPECT_TRUE(OpFails("OnnxPool", {x}, PoolAttrs({"max", {2, 2}, {}, {1, -1, 0, 0}}), "must be >= 0"));
  EXPECT_TRUE(OpFails("OnnxPool", {x}, PoolAttrs({"max", {2, 2}, {}, {}, {0, 1}}), "dilations"));
  EXPECT_TRUE(OpFails("OnnxPool", {x}, PoolAttrs({"sum", {2, 2}}), "unknown pooling mode 'sum'"));
  EXPECT_TRUE(OpFails("OnnxPool", {x}, PoolAttrs({"max", {2, 2}, {}, {}, {}, "SAME"}), "unknown auto_pad 'SAME'"));
  EXPECT_TRUE(OpFails("OnnxPool", {x}, PoolAttrs({"max", {2, 2}, {}, {1, 1, 1, 1}, {}, "SAME_UPPER"}),
                      "cannot be used with auto_pad"));
  EXPECT_TRUE(OpFails("OnnxPool", {x}, PoolAttrs({"avg", {6, 2}}), "larger than the padded input"));
  EXPECT_TRUE(OpFails("OnnxPool", {x}, PoolAttrs({"lp", {2, 2}, {}, {}, {}, "NOTSET", 0, 0, 0}), "p must be >= 1"));
  EXPECT_TRUE(OpFails("OnnxPool", {RandomTensor(DType::kInt32, {1, 2, 5, 5}, 8, 0, 9)}, PoolAttrs({"avg", {2, 2}}),
                      "does not support dtype int32"));
  EXPECT_TRUE(
      OpFails("OnnxPool", {x}, Attrs({{"mode", std::string("max")}}), "required attribute 'kernel_shape' is missing"));
}

}  // namespace
}  // namespace kiln
