// Ops with ONNX's semantics where no TensorFlow op has the same meaning (windows and resampling):
// OnnxPool (MaxPool/AveragePool/LpPool over [N, C, spatial...]) and OnnxResize (Resize, opset 19).
// Optional ONNX inputs are always present; an absent one is an empty vector (shape [0]).
#include "ir/op_registry.h"
#include "ir/ops/fused_ops.h"
#include "ir/ops/onnx_window_rules.h"
#include "ir/shape_fns.h"

namespace kiln::ir {
namespace {

Status OnnxPoolShapeFn(InferenceContext& ctx) {
  KILN_ASSIGN_OR_RETURN(OnnxPoolSpec spec, ParseOnnxPoolSpec(ctx.attrs()));
  if (spec.mode != OnnxPoolMode::kMax && ctx.attrs().Has("fused_ops")) {
    return InvalidArgument("only max pools take fused_ops");
  }
  const int spatial = static_cast<int>(spec.kernel.size());
  const PartialShape& in = ctx.input_shape(0);
  if (in.rank_known && in.rank() != spatial + 2) {
    return InvalidArgument("X must have rank " + std::to_string(spatial + 2) + " (" +
                           (spec.channels_last ? "[N, spatial..., C]" : "[N, C, spatial...]") + ") for kernel_shape " +
                           ShapeToString(spec.kernel) + ", got " + in.ToString());
  }
  KILN_RETURN_IF_ERROR(CheckPoolEpilogue(ctx, in.rank_known ? in.dims[spec.channel_axis()] : -1));
  std::vector<int64_t> out = in.rank_known ? in.dims : std::vector<int64_t>(spatial + 2, -1);
  for (int i = 0; i < spatial; ++i) {
    const int axis = spec.spatial_axis(i);
    KILN_ASSIGN_OR_RETURN(OnnxPoolDim w, ComputeOnnxPoolDim(spec, i, out[axis]));
    out[axis] = w.out;
  }
  ctx.set_output(0, ctx.input_dtype(0), PartialShape::Known(std::move(out)));
  return OkStatus();
}

// Length of vector input i: -1 when unknown.
StatusOr<int64_t> VectorLength(const InferenceContext& ctx, int i, const char* what) {
  const PartialShape& s = ctx.input_shape(i);
  if (!s.rank_known) return int64_t{-1};
  if (s.rank() != 1) return InvalidArgument(std::string(what) + " must be a vector, got shape " + s.ToString());
  return s.dims[0];
}

Status OnnxResizeShapeFn(InferenceContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(4, 4));
  KILN_ASSIGN_OR_RETURN(int64_t roi_len, VectorLength(ctx, 1, "roi"));
  KILN_ASSIGN_OR_RETURN(int64_t scales_len, VectorLength(ctx, 2, "scales"));
  KILN_ASSIGN_OR_RETURN(int64_t sizes_len, VectorLength(ctx, 3, "sizes"));
  if (scales_len > 0 && !IsFloating(ctx.input_dtype(2))) {
    return InvalidArgument("scales must be floating point, got " + std::string(DTypeName(ctx.input_dtype(2))));
  }
  if (sizes_len > 0 && ctx.input_dtype(3) != DType::kInt64 && ctx.input_dtype(3) != DType::kInt32) {
    return InvalidArgument("sizes must be int64, got " + std::string(DTypeName(ctx.input_dtype(3))));
  }
  if (scales_len == 0 && sizes_len == 0) return InvalidArgument("one of scales and sizes must be given (non-empty)");
  if (scales_len > 0 && sizes_len > 0) return InvalidArgument("scales and sizes cannot both be given");
  const PartialShape& in = ctx.input_shape(0);
  if (!in.rank_known) {
    ctx.set_output(0, ctx.input_dtype(0), PartialShape::Unknown());
    return OkStatus();
  }
  KILN_ASSIGN_OR_RETURN(OnnxResizeSpec spec, ParseOnnxResizeSpec(ctx.attrs(), in.rank()));
  const int64_t n = static_cast<int64_t>(spec.axes.size());
  if (spec.coordinate_mode == "tf_crop_and_resize" && roi_len >= 0 && roi_len != 2 * n) {
    return InvalidArgument("roi must have " + std::to_string(2 * n) + " entries for tf_crop_and_resize, got " +
                           std::to_string(roi_len));
  }
  for (int64_t len : {scales_len, sizes_len}) {
    if (len > 0 && len != n) {
      return InvalidArgument(std::string(len == scales_len ? "scales" : "sizes") + " must have " + std::to_string(n) +
                             " entries (one per resized axis), got " + std::to_string(len));
    }
  }
  std::vector<int64_t> out = in.dims;
  for (int a : spec.axes) out[a] = -1;
  const Tensor* scales = scales_len > 0 ? ctx.input_value(2) : nullptr;
  const Tensor* sizes = sizes_len > 0 ? ctx.input_value(3) : nullptr;
  if (scales != nullptr) {
    const std::vector<float> v = scales->ToFloatVector();
    KILN_ASSIGN_OR_RETURN(ResizeTarget t, ResolveResizeTarget(spec, in.dims, &v, nullptr));
    out = t.out;
  } else if (sizes != nullptr) {
    KILN_ASSIGN_OR_RETURN(std::vector<int64_t> v, sizes->ToInt64Vector());
    KILN_ASSIGN_OR_RETURN(ResizeTarget t, ResolveResizeTarget(spec, in.dims, nullptr, &v));
    out = t.out;
  }
  ctx.set_output(0, ctx.input_dtype(0), PartialShape::Known(std::move(out)));
  return OkStatus();
}

}  // namespace

KILN_REGISTER_OP(OpDefBuilder("OnnxPool")
                     .Attr("mode")
                     .Attr("kernel_shape")
                     .Attr("strides", std::vector<int64_t>{})
                     .Attr("pads", std::vector<int64_t>{})
                     .Attr("dilations", std::vector<int64_t>{})
                     .Attr("auto_pad", std::string("NOTSET"))
                     .Attr("ceil_mode", int64_t{0})
                     .Attr("count_include_pad", int64_t{0})
                     .Attr("p", int64_t{2})
                     .Attr("data_format", std::string("NCHW"))
                     .Output("Y")
                     .Shape(OnnxPoolShapeFn));
KILN_REGISTER_OP(OpDefBuilder("OnnxResize")
                     .Attr("mode", std::string("nearest"))
                     .Attr("coordinate_transformation_mode", std::string("half_pixel"))
                     .Attr("nearest_mode", std::string("round_prefer_floor"))
                     .Attr("cubic_coeff_a", -0.75f)
                     .Attr("exclude_outside", int64_t{0})
                     .Attr("extrapolation_value", 0.0f)
                     .Attr("antialias", int64_t{0})
                     .Attr("axes", std::vector<int64_t>{})
                     .Attr("keep_aspect_ratio_policy", std::string("stretch"))
                     .Output("Y")
                     .Shape(OnnxResizeShapeFn));

}  // namespace kiln::ir
