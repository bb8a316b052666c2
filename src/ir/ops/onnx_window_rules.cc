#include "ir/ops/onnx_window_rules.h"

#include <algorithm>
#include <cmath>

#include "ir/shape_fns.h"

namespace kiln::ir {

namespace {

// A per-spatial-dim list attribute: empty means `fallback` everywhere; otherwise `count` entries
// that are all >= `min`.
StatusOr<std::vector<int64_t>> SpatialList(const AttrMap& attrs, const std::string& name, size_t count,
                                           int64_t fallback, int64_t min) {
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> v, attrs.GetOr<std::vector<int64_t>>(name, {}));
  if (v.empty()) return std::vector<int64_t>(count, fallback);
  if (v.size() != count) {
    return InvalidArgument(name + " must have " + std::to_string(count) + " entries, got " + ShapeToString(v));
  }
  for (int64_t x : v) {
    if (x < min) return InvalidArgument(name + " " + ShapeToString(v) + " must be >= " + std::to_string(min));
  }
  return v;
}

Status ExpectOneOf(const std::string& name, const std::string& value, const std::vector<std::string>& allowed) {
  if (std::find(allowed.begin(), allowed.end(), value) != allowed.end()) return OkStatus();
  std::string list;
  for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
  return InvalidArgument("unknown " + name + " '" + value + "' (expected one of " + list + ")");
}

}  // namespace

StatusOr<OnnxPoolSpec> ParseOnnxPoolSpec(const AttrMap& attrs) {
  OnnxPoolSpec spec;
  KILN_ASSIGN_OR_RETURN(std::string mode, attrs.Get<std::string>("mode"));
  KILN_RETURN_IF_ERROR(ExpectOneOf("pooling mode", mode, {"max", "avg", "lp"}));
  spec.mode = mode == "max" ? OnnxPoolMode::kMax : mode == "avg" ? OnnxPoolMode::kAvg : OnnxPoolMode::kLp;
  KILN_ASSIGN_OR_RETURN(spec.kernel, attrs.Get<std::vector<int64_t>>("kernel_shape"));
  const size_t r = spec.kernel.size();
  if (r < 1 || r > 3) {
    return InvalidArgument("kernel_shape must have 1 to 3 entries, got " + ShapeToString(spec.kernel));
  }
  for (int64_t k : spec.kernel) {
    if (k < 1) return InvalidArgument("kernel_shape " + ShapeToString(spec.kernel) + " must be positive");
  }
  KILN_ASSIGN_OR_RETURN(spec.strides, SpatialList(attrs, "strides", r, 1, 1));
  KILN_ASSIGN_OR_RETURN(spec.dilations, SpatialList(attrs, "dilations", r, 1, 1));
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> pads, SpatialList(attrs, "pads", 2 * r, 0, 0));
  spec.pads_begin.assign(pads.begin(), pads.begin() + r);
  spec.pads_end.assign(pads.begin() + r, pads.end());
  KILN_ASSIGN_OR_RETURN(spec.auto_pad, attrs.GetOr<std::string>("auto_pad", "NOTSET"));
  if (spec.auto_pad.empty()) spec.auto_pad = "NOTSET";
  KILN_RETURN_IF_ERROR(ExpectOneOf("auto_pad", spec.auto_pad, {"NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"}));
  if (spec.auto_pad != "NOTSET" && std::any_of(pads.begin(), pads.end(), [](int64_t p) { return p != 0; })) {
    return InvalidArgument("pads " + ShapeToString(pads) + " cannot be used with auto_pad " + spec.auto_pad);
  }
  KILN_ASSIGN_OR_RETURN(int64_t ceil_mode, attrs.GetOr<int64_t>("ceil_mode", 0));
  KILN_ASSIGN_OR_RETURN(int64_t count_include_pad, attrs.GetOr<int64_t>("count_include_pad", 0));
  spec.ceil_mode = ceil_mode != 0;
  spec.count_include_pad = count_include_pad != 0;
  KILN_ASSIGN_OR_RETURN(std::string format, attrs.GetOr<std::string>("data_format", "NCHW"));
  KILN_RETURN_IF_ERROR(ExpectOneOf("data_format", format, {"NCHW", "NHWC"}));
  spec.channels_last = format == "NHWC";
  KILN_ASSIGN_OR_RETURN(spec.p, attrs.GetOr<int64_t>("p", 2));
  if (spec.mode == OnnxPoolMode::kLp && spec.p < 1) {
    return InvalidArgument("p must be >= 1 for lp pooling, got " + std::to_string(spec.p));
  }
  return spec;
}

StatusOr<OnnxPoolDim> ComputeOnnxPoolDim(const OnnxPoolSpec& spec, int dim, int64_t in) {
  OnnxPoolDim w;
  const int64_t s = spec.strides[dim];
  const int64_t effective = (spec.kernel[dim] - 1) * spec.dilations[dim] + 1;
  if (spec.auto_pad == "NOTSET") {
    w.pad_begin = spec.pads_begin[dim];
    w.pad_end = spec.pads_end[dim];
  }
  if (in < 0) return w;
  if (spec.auto_pad == "SAME_UPPER" || spec.auto_pad == "SAME_LOWER") {
    w.out = (in + s - 1) / s;
    const int64_t total = std::max<int64_t>((w.out - 1) * s + effective - in, 0);
    const int64_t small = total / 2;
    w.pad_begin = spec.auto_pad == "SAME_UPPER" ? small : total - small;
    w.pad_end = total - w.pad_begin;
    return w;
  }
  const int64_t padded = in + w.pad_begin + w.pad_end;
  if (padded < effective) {
    return InvalidArgument("pooling window of size " + std::to_string(effective) + " (kernel " +
                           std::to_string(spec.kernel[dim]) + ", dilation " + std::to_string(spec.dilations[dim]) +
                           ") is larger than the padded input size " + std::to_string(padded) +
                           " in spatial dimension " + std::to_string(dim));
  }
  const int64_t span = padded - effective;
  const bool ceil = spec.ceil_mode && spec.auto_pad == "NOTSET";
  w.out = (ceil ? (span + s - 1) / s : span / s) + 1;
  // As in PyTorch and ONNX's reference: the last window must start inside the input or the
  // leading padding.
  if (ceil && (w.out - 1) * s >= in + w.pad_begin) --w.out;
  return w;
}

StatusOr<OnnxResizeSpec> ParseOnnxResizeSpec(const AttrMap& attrs, int rank) {
  OnnxResizeSpec spec;
  KILN_ASSIGN_OR_RETURN(std::string mode, attrs.GetOr<std::string>("mode", "nearest"));
  KILN_RETURN_IF_ERROR(ExpectOneOf("resize mode", mode, {"nearest", "linear", "cubic"}));
  spec.mode = mode == "nearest" ? ResizeMode::kNearest : mode == "linear" ? ResizeMode::kLinear : ResizeMode::kCubic;
  KILN_ASSIGN_OR_RETURN(spec.coordinate_mode, attrs.GetOr<std::string>("coordinate_transformation_mode", "half_pixel"));
  KILN_RETURN_IF_ERROR(ExpectOneOf("coordinate_transformation_mode", spec.coordinate_mode,
                                   {"half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners",
                                    "asymmetric", "tf_crop_and_resize"}));
  KILN_ASSIGN_OR_RETURN(spec.nearest_mode, attrs.GetOr<std::string>("nearest_mode", "round_prefer_floor"));
  KILN_RETURN_IF_ERROR(
      ExpectOneOf("nearest_mode", spec.nearest_mode, {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"}));
  KILN_ASSIGN_OR_RETURN(float a, attrs.GetOr<float>("cubic_coeff_a", -0.75f));
  KILN_ASSIGN_OR_RETURN(float extrapolation, attrs.GetOr<float>("extrapolation_value", 0.0f));
  spec.cubic_coeff_a = a;
  spec.extrapolation_value = extrapolation;
  KILN_ASSIGN_OR_RETURN(int64_t exclude_outside, attrs.GetOr<int64_t>("exclude_outside", 0));
  KILN_ASSIGN_OR_RETURN(int64_t antialias, attrs.GetOr<int64_t>("antialias", 0));
  spec.exclude_outside = exclude_outside != 0;
  spec.antialias = antialias != 0;
  KILN_ASSIGN_OR_RETURN(spec.keep_aspect_ratio_policy, attrs.GetOr<std::string>("keep_aspect_ratio_policy", "stretch"));
  KILN_RETURN_IF_ERROR(
      ExpectOneOf("keep_aspect_ratio_policy", spec.keep_aspect_ratio_policy, {"stretch", "not_larger", "not_smaller"}));
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> axes, attrs.GetOr<std::vector<int64_t>>("axes", {}));
  if (axes.empty()) {
    for (int d = 0; d < rank; ++d) spec.axes.push_back(d);
  } else {
    std::vector<bool> seen(static_cast<size_t>(rank), false);
    for (int64_t axis : axes) {
      KILN_ASSIGN_OR_RETURN(int d, NormalizeAxis(axis, rank));
      if (seen[d])
        return InvalidArgument("axes " + ShapeToString(axes) + " name dimension " + std::to_string(d) + " twice");
      seen[d] = true;
      spec.axes.push_back(d);
    }
  }
  return spec;
}

StatusOr<ResizeTarget> ResolveResizeTarget(const OnnxResizeSpec& spec, const std::vector<int64_t>& in,
                                           const std::vector<float>* scales, const std::vector<int64_t>* sizes) {
  const size_t n = spec.axes.size();
  ResizeTarget t{in, std::vector<double>(in.size(), 1.0)};
  if ((scales == nullptr) == (sizes == nullptr)) {
    return InvalidArgument("exactly one of scales and sizes must be given (non-empty)");
  }
  const size_t given = scales ? scales->size() : sizes->size();
  if (given != n) {
    return InvalidArgument(std::string(scales ? "scales" : "sizes") + " must have " + std::to_string(n) +
                           " entries (one per resized axis), got " + std::to_string(given));
  }
  if (scales) {
    for (size_t i = 0; i < n; ++i) {
      const double s = (*scales)[i];
      if (!(s > 0) || !std::isfinite(s)) {
        return InvalidArgument("scales[" + std::to_string(i) + "] = " + std::to_string(s) + " must be positive");
      }
      const int a = spec.axes[i];
      const double out = std::floor(static_cast<double>(in[a]) * s);
      if (out > static_cast<double>(int64_t{1} << 53)) {
        return InvalidArgument("scales[" + std::to_string(i) + "] = " + std::to_string(s) + " makes dimension " +
                               std::to_string(a) + " too large");
      }
      t.scale[a] = s;
      t.out[a] = in[a] < 0 ? -1 : static_cast<int64_t>(out);
    }
    return t;
  }
  for (size_t i = 0; i < n; ++i) {
    const int64_t size = (*sizes)[i];
    const int a = spec.axes[i];
    if (size < 0) return InvalidArgument("sizes[" + std::to_string(i) + "] = " + std::to_string(size) + " is negative");
    if (in[a] == 0 && (size > 0 || spec.keep_aspect_ratio_policy != "stretch")) {
      return InvalidArgument("cannot resize dimension " + std::to_string(a) + " of size 0 to " + std::to_string(size));
    }
  }
  if (spec.keep_aspect_ratio_policy == "stretch") {
    for (size_t i = 0; i < n; ++i) {
      const int a = spec.axes[i];
      t.out[a] = (*sizes)[i];
      t.scale[a] = in[a] > 0 ? static_cast<double>((*sizes)[i]) / static_cast<double>(in[a]) : 1.0;
    }
    return t;
  }
  const bool known = std::all_of(spec.axes.begin(), spec.axes.end(), [&](int a) { return in[a] >= 0; });
  double scale = spec.keep_aspect_ratio_policy == "not_larger" ? HUGE_VAL : 0.0;
  for (size_t i = 0; known && i < n; ++i) {
    const double r = static_cast<double>((*sizes)[i]) / static_cast<double>(in[spec.axes[i]]);
    scale = spec.keep_aspect_ratio_policy == "not_larger" ? std::min(scale, r) : std::max(scale, r);
  }
  for (int a : spec.axes) {
    t.out[a] = known ? static_cast<int64_t>(scale * static_cast<double>(in[a]) + 0.5) : -1;
    t.scale[a] = known ? scale : 1.0;
  }
  return t;
}

}  // namespace kiln::ir
