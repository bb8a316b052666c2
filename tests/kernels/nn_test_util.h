#pragma once
// Helpers for the nn kernel tests: attribute maps, double views of tensors, deterministic patterns
// (the same formula the TensorFlow snippets used) and running an op with constant and placeholder
// inputs.

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "ir/attr.h"
#include "util/test_util.h"

namespace kiln::nn_test {

inline ir::AttrMap Attrs(std::initializer_list<std::pair<std::string, ir::AttrValue>> values) {
  ir::AttrMap m;
  for (const auto& [k, v] : values) m.Set(k, v);
  return m;
}

inline std::vector<double> AsDoubles(const Tensor& t) {
  if (t.dtype() == DType::kFloat64) return {t.data<double>(), t.data<double>() + t.num_elements()};
  if (t.dtype() == DType::kInt64) return {t.data<int64_t>(), t.data<int64_t>() + t.num_elements()};
  const std::vector<float> f = t.ToFloatVector();
  return {f.begin(), f.end()};
}

// A tensor of `dtype` holding `values` (rounded for integer dtypes).
inline Tensor FromDoubles(DType dtype, const Shape& shape, const std::vector<double>& values) {
  Tensor t(dtype, shape);
  for (int64_t i = 0; i < t.num_elements(); ++i) {
    const double v = values[i];
    switch (dtype) {
      case DType::kFloat32:
        t.data<float>()[i] = static_cast<float>(v);
        break;
      case DType::kFloat64:
        t.data<double>()[i] = v;
        break;
      case DType::kFloat16:
        t.data<Half>()[i] = FloatToHalf(static_cast<float>(v));
        break;
      case DType::kBFloat16:
        t.data<BFloat16>()[i] = FloatToBFloat16(static_cast<float>(v));
        break;
      case DType::kInt32:
        t.data<int32_t>()[i] = static_cast<int32_t>(std::llround(v));
        break;
      case DType::kInt64:
        t.data<int64_t>()[i] = std::llround(v);
        break;
      case DType::kInt8:
        t.data<int8_t>()[i] = static_cast<int8_t>(std::llround(v));
        break;
      case DType::kUInt8:
        t.data<uint8_t>()[i] = static_cast<uint8_t>(std::llround(v));
        break;
      case DType::kInt16:
        t.data<int16_t>()[i] = static_cast<int16_t>(std::llround(v));
        break;
      default:
        ADD_FAILURE() << "FromDoubles: unhandled dtype";
    }
  }
  return t;
}

// float32(((i * mul) % mod) / div - 1), as the TensorFlow snippets generated their inputs.
inline Tensor Pattern(const Shape& shape, int mul = 37, int mod = 101, double div = 50.0) {
  Tensor t(DType::kFloat32, shape);
  for (int64_t i = 0; i < t.num_elements(); ++i) t.data<float>()[i] = static_cast<float>(((i * mul) % mod) / div - 1.0);
  return t;
}

// Random values for `dtype`: small integers for integer types so products stay exact.
inline Tensor Random(DType dtype, const Shape& shape, uint64_t seed) {
  if (IsInteger(dtype)) return testing::RandomTensor(dtype, shape, seed, -4, 5);
  return testing::RandomTensor(dtype, shape, seed, -1, 1);
}

// Tolerances by dtype for results of sums of `terms` products of values in [-1, 1].
inline double Tolerance(DType dtype) {
  switch (dtype) {
    case DType::kFloat16:
      return 2e-2;
    case DType::kBFloat16:
      return 8e-2;
    case DType::kFloat64:
      return 1e-9;
    default:
      return IsInteger(dtype) ? 0 : 2e-5;
  }
}

// Runs `op` with constant inputs and again with placeholders; both must match `expected`.
inline void ExpectOp(const std::string& op, const std::vector<Tensor>& inputs, const ir::AttrMap& attrs,
                     const Tensor& expected, double atol, double rtol = 1e-5, int output = 0) {
  for (bool placeholders : {false, true}) {
    auto out = testing::RunOp(op, inputs, attrs, placeholders);
    ASSERT_TRUE(out.ok()) << op << (placeholders ? " (placeholders): " : ": ") << out.status().ToString();
    ASSERT_GT(out->size(), static_cast<size_t>(output));
    EXPECT_TRUE(testing::TensorsNear((*out)[output], expected, atol, rtol))
        << op << (placeholders ? " (placeholders)" : "");
  }
}

// Runs `op` both ways and expects an error whose message contains `needle` each time.
inline void ExpectOpError(const std::string& op, const std::vector<Tensor>& inputs, const ir::AttrMap& attrs,
                          const std::string& needle) {
  for (bool placeholders : {false, true}) {
    auto out = testing::RunOp(op, inputs, attrs, placeholders);
    ASSERT_FALSE(out.ok()) << op << " unexpectedly succeeded" << (placeholders ? " (placeholders)" : "");
    EXPECT_NE(out.status().message().find(needle), std::string::npos)
        << op << (placeholders ? " (placeholders)" : "") << ": " << out.status().ToString();
  }
}

using List = std::vector<int64_t>;

// Output size and leading pad of one dim, by TensorFlow's rules.
struct Geo {
  int64_t out, pad;
};
inline Geo Geometry(int64_t in, int64_t k, int64_t s, int64_t d, const std::string& padding, int64_t pb = 0,
                    int64_t pa = 0) {
  const int64_t eff = (k - 1) * d + 1;
  if (padding == "SAME") {
    const int64_t out = (in + s - 1) / s;
    return {out, std::max<int64_t>((out - 1) * s + eff - in, 0) / 2};
  }
  if (padding == "VALID") return {(in - eff) / s + 1, 0};
  return {(in + pb + pa - eff) / s + 1, pb};
}

// A window op over `r` spatial dims of a channels-last tensor.
struct Window {
  List stride, dilation;
  std::string padding = "VALID";
  List pads;  // before/after per spatial dim, EXPLICIT only
};

inline std::vector<Geo> Geometries(const Shape& in, const Shape& kernel, const Window& w) {
  std::vector<Geo> g;
  for (size_t i = 0; i < kernel.size(); ++i) {
    g.push_back(Geometry(in[i + 1], kernel[i], w.stride[i], w.dilation[i], w.padding,
                         w.pads.empty() ? 0 : w.pads[2 * i], w.pads.empty() ? 0 : w.pads[2 * i + 1]));
  }
  return g;
}

// [N, S..., C] <-> [N, C, S...] for tests of channels-first layouts.
inline Tensor ToChannelsFirst(const Tensor& t) {
  const int r = t.rank();
  Shape s = {t.dim(0), t.dim(r - 1)};
  for (int i = 1; i < r - 1; ++i) s.push_back(t.dim(i));
  const std::vector<double> v = nn_test::AsDoubles(t);
  std::vector<double> out(v.size());
  const int64_t n = t.dim(0), c = t.dim(r - 1), inner = t.num_elements() / std::max<int64_t>(n * c, 1);
  for (int64_t b = 0; b < n; ++b)
    for (int64_t i = 0; i < inner; ++i)
      for (int64_t ch = 0; ch < c; ++ch) out[(b * c + ch) * inner + i] = v[(b * inner + i) * c + ch];
  return nn_test::FromDoubles(t.dtype(), s, out);
}

inline List Full(const List& spatial, bool channels_first = false) {
  List l = {1};
  if (channels_first) l.push_back(1);
  l.insert(l.end(), spatial.begin(), spatial.end());
  if (!channels_first) l.push_back(1);
  return l;
}

inline ir::AttrMap ConvAttrs(const Window& w, const std::string& format = "NHWC") {
  const bool cf = format == "NCHW" || format == "NCDHW" || format == "CHANNELS_FIRST";
  ir::AttrMap a = Attrs({{"strides", Full(w.stride, cf)},
                         {"dilations", Full(w.dilation, cf)},
                         {"padding", w.padding},
                         {"data_format", format}});
  if (w.padding == "EXPLICIT") {
    List p = {0, 0};
    if (cf) p.insert(p.end(), {0, 0});
    p.insert(p.end(), w.pads.begin(), w.pads.end());
    if (!cf) p.insert(p.end(), {0, 0});
    a.Set("explicit_paddings", p);
  }
  return a;
}

}  // namespace kiln::nn_test
