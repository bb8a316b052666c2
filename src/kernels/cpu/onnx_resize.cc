// OnnxResize: ONNX Resize (opset 19) over any subset of axes. Nearest moves elements (any dtype);
// linear and cubic are separable, one axis at a time in float64, with the tap placement and
// weights of ONNX's reference (antialias widens the filter by 1 / scale when downscaling), then
// rounded back to the input dtype (integers: round half to even, saturated).
#include <algorithm>
#include <cmath>
#include <limits>

#include "ir/ops/array_shape_util.h"
#include "ir/ops/onnx_window_rules.h"
#include "kernels/cpu/array_util.h"
#include "kernels/cpu/kernel_util.h"
#include "kernels/cpu/nn_util.h"
#include "runtime/kernel.h"

namespace kiln::kernels::cpu::nn {
namespace {

using ir::OnnxResizeSpec;
using ir::ResizeMode;
using runtime::KernelContext;

constexpr unsigned kAllInts = kInt32 | kInt64 | kSmallInts | kUnsignedWide;

StatusOr<std::vector<double>> ToDoubles(const Tensor& t) {
  if (IsHalfLike(t.dtype())) return ToDoubles(ToFloat32(t));
  std::vector<double> v(t.num_elements());
  KILN_RETURN_IF_ERROR(DispatchReal(t.dtype(), kAllInts, "OnnxResize", [&](auto tag) {
    using T = typename decltype(tag)::type;
    for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>(t.data<T>()[i]);
    return OkStatus();
  }));
  return v;
}

// Integers round half to even and saturate, as ONNX's reference casts Resize results.
StatusOr<Tensor> FromDoubles(DType dtype, const Shape& shape, const std::vector<double>& v) {
  if (IsHalfLike(dtype)) {
    Tensor f(DType::kFloat32, shape);
    for (size_t i = 0; i < v.size(); ++i) f.data<float>()[i] = static_cast<float>(v[i]);
    return FromFloat32(f, dtype);
  }
  Tensor out(dtype, shape);
  KILN_RETURN_IF_ERROR(DispatchReal(dtype, kAllInts, "OnnxResize", [&](auto tag) {
    using T = typename decltype(tag)::type;
    for (size_t i = 0; i < v.size(); ++i) {
      if constexpr (std::is_integral_v<T>) {
        const double lo = static_cast<double>(std::numeric_limits<T>::lowest());
        const double hi = static_cast<double>(std::numeric_limits<T>::max());
        out.data<T>()[i] = std::isnan(v[i]) ? T(0) : static_cast<T>(std::clamp(std::nearbyint(v[i]), lo, hi));
      } else {
        out.data<T>()[i] = static_cast<T>(v[i]);
      }
    }
    return OkStatus();
  }));
  return out;
}

// One resized axis: per output index, the source taps (clamped indices and weights; one tap of
// weight 1 for nearest) and whether it lies outside the crop (tf_crop_and_resize).
struct AxisPlan {
  int axis = 0;
  int64_t in = 0, out = 0, taps = 0;
  std::vector<int64_t> index;
  std::vector<double> weight;
  std::vector<bool> extrapolate;
};

// Output coordinate y mapped into the input. As ONNX's reference (and its conformance data),
// align_corners and tf_crop_and_resize divide by the fractional output width scale * in; for
// pytorch_half_pixel a single output maps to 0, as the spec says.
double SourceCoordinate(const OnnxResizeSpec& spec, double y, double scale, int64_t in, int64_t out, double roi_start,
                        double roi_end) {
  const std::string& m = spec.coordinate_mode;
  const double len_in = static_cast<double>(in), width = scale * len_in;
  if (m == "half_pixel") return (y + 0.5) / scale - 0.5;
  if (m == "half_pixel_symmetric") {
    const double adjustment = static_cast<double>(out) / width;
    return len_in / 2 * (1 - adjustment) + (y + 0.5) / scale - 0.5;
  }
  if (m == "pytorch_half_pixel") return out > 1 ? (y + 0.5) / scale - 0.5 : 0.0;
  if (m == "align_corners") return width == 1 ? 0.0 : y * (len_in - 1) / (width - 1);
  if (m == "asymmetric") return y / scale;
  // tf_crop_and_resize
  if (width == 1) return 0.5 * (roi_start + roi_end) * (len_in - 1);
  return roi_start * (len_in - 1) + y * (roi_end - roi_start) * (len_in - 1) / (width - 1);
}

int64_t NearestIndex(double x, const std::string& mode) {
  const double f = std::floor(x), r = x - f;
  const int64_t lo = static_cast<int64_t>(f);
  if (r == 0) return lo;
  if (mode == "round_prefer_floor") return r <= 0.5 ? lo : lo + 1;
  if (mode == "round_prefer_ceil") return r < 0.5 ? lo : lo + 1;
  return mode == "floor" ? lo : lo + 1;
}

double CubicKernel(double x, double a) {
  x = std::fabs(x);
  if (x <= 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
  return 0;
}

// Weights of taps base + start + i for a point `ratio` (in (0, 1]) past `base`.
std::vector<double> TapWeights(const OnnxResizeSpec& spec, double ratio, double scale, int64_t* start) {
  std::vector<double> w;
  const double a = spec.cubic_coeff_a;
  if (!spec.antialias) {
    if (spec.mode == ResizeMode::kLinear) {
      *start = 0;
      return {1 - ratio, ratio};
    }
    *start = -1;
    return {CubicKernel(ratio + 1, a), CubicKernel(ratio, a), CubicKernel(1 - ratio, a), CubicKernel(2 - ratio, a)};
  }
  const double s = std::min(scale, 1.0);
  const double support = spec.mode == ResizeMode::kLinear ? 1.0 : 2.0;
  *start = static_cast<int64_t>(std::floor(-support / s)) + 1;
  double sum = 0;
  for (int64_t i = *start; i < 2 - *start; ++i) {
    const double arg = s * (static_cast<double>(i) - ratio);
    w.push_back(spec.mode == ResizeMode::kLinear ? std::clamp(1 - std::fabs(arg), 0.0, 1.0) : CubicKernel(arg, a));
    sum += w.back();
  }
  for (double& x : w) x /= sum;
  return w;
}

AxisPlan PlanAxis(const OnnxResizeSpec& spec, int axis, int64_t in, int64_t out, double scale, double roi_start,
                  double roi_end) {
  AxisPlan p;
  p.axis = axis;
  p.in = in;
  p.out = out;
  p.extrapolate.assign(out, false);
  for (int64_t y = 0; y < out; ++y) {
    const double x = SourceCoordinate(spec, static_cast<double>(y), scale, in, out, roi_start, roi_end);
    if (spec.coordinate_mode == "tf_crop_and_resize" && (x < 0 || x > static_cast<double>(in - 1))) {
      p.extrapolate[y] = true;
    }
    if (spec.mode == ResizeMode::kNearest) {
      p.taps = 1;
      p.index.push_back(std::clamp<int64_t>(NearestIndex(x, spec.nearest_mode), 0, in - 1));
      p.weight.push_back(1.0);
      continue;
    }
    // As ONNX's reference: an exact integer counts as ratio 1 past the previous index.
    double base = std::floor(x), ratio = x - base;
    if (ratio == 0) {
      base -= 1;
      ratio = 1;
    }
    int64_t start = 0;
    std::vector<double> w = TapWeights(spec, ratio, scale, &start);
    p.taps = static_cast<int64_t>(w.size());
    std::vector<int64_t> idx(w.size());
    double sum = 0;
    for (size_t i = 0; i < w.size(); ++i) {
      idx[i] = static_cast<int64_t>(base) + start + static_cast<int64_t>(i);
      if (spec.exclude_outside && (idx[i] < 0 || idx[i] >= in)) w[i] = 0;
      sum += w[i];
    }
    for (size_t i = 0; i < w.size(); ++i) {
      p.index.push_back(std::clamp<int64_t>(idx[i], 0, in - 1));
      p.weight.push_back(spec.exclude_outside && sum != 0 ? w[i] / sum : w[i]);
    }
  }
  return p;
}

// Interpolates `src` (of `shape`) along plan.axis; `shape` is updated.
std::vector<double> ResizeAlong(const std::vector<double>& src, Shape& shape, const AxisPlan& p, double extrapolation) {
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < p.axis; ++d) outer *= shape[d];
  for (int d = p.axis + 1; d < static_cast<int>(shape.size()); ++d) inner *= shape[d];
  std::vector<double> dst(static_cast<size_t>(outer * p.out * inner), 0.0);
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t y = 0; y < p.out; ++y) {
      double* d = dst.data() + (o * p.out + y) * inner;
      if (p.extrapolate[y]) {
        std::fill(d, d + inner, extrapolation);
        continue;
      }
      for (int64_t t = 0; t < p.taps; ++t) {
        const double w = p.weight[y * p.taps + t];
        const double* s = src.data() + (o * p.in + p.index[y * p.taps + t]) * inner;
        for (int64_t i = 0; i < inner; ++i) d[i] += w * s[i];
      }
    }
  }
  shape[p.axis] = p.out;
  return dst;
}

StatusOr<std::vector<double>> DoubleValues(const Tensor& t, const char* what) {
  if (t.dtype() == DType::kFloat64) return std::vector<double>(t.data<double>(), t.data<double>() + t.num_elements());
  if (!IsFloating(t.dtype()))
    return InvalidArgument(std::string(what) + " must be floating point, got " + t.DebugString());
  const std::vector<float> f = t.ToFloatVector();
  return std::vector<double>(f.begin(), f.end());
}

Status OnnxResizeKernel(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(4, 4));
  const Tensor& x = ctx.input(0);
  for (int i = 1; i < 4; ++i) {
    if (ctx.input(i).rank() != 1) {
      return InvalidArgument(std::string(i == 1   ? "roi"
                                         : i == 2 ? "scales"
                                                  : "sizes") +
                             " must be a vector, got " + ctx.input(i).DebugString());
    }
  }
  KILN_ASSIGN_OR_RETURN(OnnxResizeSpec spec, ir::ParseOnnxResizeSpec(ctx.attrs(), x.rank()));
  const size_t n = spec.axes.size();
  std::vector<float> scales;
  std::vector<int64_t> sizes;
  if (ctx.input(2).num_elements() > 0) {
    KILN_ASSIGN_OR_RETURN(std::vector<double> s, DoubleValues(ctx.input(2), "scales"));
    scales.assign(s.begin(), s.end());
  }
  if (ctx.input(3).num_elements() > 0) {
    KILN_ASSIGN_OR_RETURN(sizes, InputInt64s(ctx, 3));
  }
  KILN_ASSIGN_OR_RETURN(
      ir::ResizeTarget target,
      ir::ResolveResizeTarget(spec, x.shape(), scales.empty() ? nullptr : &scales, sizes.empty() ? nullptr : &sizes));
  KILN_RETURN_IF_ERROR(ir::CheckedNumElements(target.out).status());
  const bool crop = spec.coordinate_mode == "tf_crop_and_resize";
  std::vector<double> roi(2 * n, 0.0);
  for (size_t i = 0; i < n; ++i) roi[n + i] = 1.0;
  if (crop) {
    if (static_cast<size_t>(ctx.input(1).num_elements()) != 2 * n) {
      return InvalidArgument("roi must have " + std::to_string(2 * n) + " entries for tf_crop_and_resize, got " +
                             ctx.input(1).DebugString());
    }
    KILN_ASSIGN_OR_RETURN(roi, DoubleValues(ctx.input(1), "roi"));
  }
  std::vector<AxisPlan> plans;
  for (size_t i = 0; i < n; ++i) {
    const int a = spec.axes[i];
    const bool identity_roi = !crop || (std::fabs(roi[i]) < 1e-9 && std::fabs(roi[n + i] - 1) < 1e-9);
    if (std::fabs(target.scale[a] - 1) <= 1e-9 && target.out[a] == x.dim(a) && identity_roi) continue;
    plans.push_back(PlanAxis(spec, a, x.dim(a), target.out[a], target.scale[a], roi[i], roi[n + i]));
  }
  if (spec.mode == ResizeMode::kNearest) {
    std::vector<std::vector<int64_t>> maps(x.rank());
    for (int d = 0; d < x.rank(); ++d)
      for (int64_t k = 0; k < x.dim(d); ++k) maps[d].push_back(k);
    bool any_fill = false;
    for (const AxisPlan& p : plans) {
      maps[p.axis] = p.index;
      for (int64_t y = 0; y < p.out; ++y) {
        if (p.extrapolate[y]) maps[p.axis][y] = -1;
        any_fill |= p.extrapolate[y];
      }
    }
    Tensor fill;
    if (any_fill) {
      KILN_ASSIGN_OR_RETURN(fill, FromDoubles(x.dtype(), {}, {spec.extrapolation_value}));
    }
    KILN_ASSIGN_OR_RETURN(Tensor out, CopyByAxisMapsOn(ctx, x, maps, any_fill ? &fill : nullptr));
    ctx.set_output(0, std::move(out));
    return OkStatus();
  }
  KILN_ASSIGN_OR_RETURN(std::vector<double> values, ToDoubles(x));
  Shape shape = x.shape();
  for (const AxisPlan& p : plans) values = ResizeAlong(values, shape, p, spec.extrapolation_value);
  KILN_ASSIGN_OR_RETURN(Tensor out, FromDoubles(x.dtype(), shape, values));
  ctx.set_output(0, std::move(out));
  return OkStatus();
}

}  // namespace

KILN_REGISTER_CPU_KERNEL("OnnxResize", OnnxResizeKernel);

}  // namespace kiln::kernels::cpu::nn
