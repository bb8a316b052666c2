// Ops with ONNX's semantics where no TensorFlow op has the same meaning (linear quantization):
// QuantizeLinear and DequantizeLinear, per tensor, per axis or blocked.
// An absent ONNX zero point is an empty vector (shape [0]) and means zero.
#include "ir/op_registry.h"
#include "ir/ops/onnx_shape_rules.h"
#include "ir/shape_fns.h"

namespace kiln::ir {
namespace {

bool IsQuantizedType(DType d) {
  return d == DType::kInt8 || d == DType::kUInt8 || d == DType::kInt16 || d == DType::kUInt16;
}

bool IsEmptyVector(const PartialShape& s) { return s.rank_known && s.rank() == 1 && s.dims[0] == 0; }

// Checks scale and (when present) zero point against x; they must have one shape.
Status CheckScaleAndZeroPoint(const InferenceContext& ctx, const char* scale_name, const char* zp_name) {
  KILN_ASSIGN_OR_RETURN(int64_t axis, ctx.Attr<int64_t>("axis"));
  KILN_ASSIGN_OR_RETURN(int64_t block_size, ctx.Attr<int64_t>("block_size"));
  const PartialShape& x = ctx.input_shape(0);
  const PartialShape& scale = ctx.input_shape(1);
  const PartialShape& zp = ctx.input_shape(2);
  if (!IsFloating(ctx.input_dtype(1))) {
    return InvalidArgument(std::string(scale_name) + " must be floating point, got " +
                           std::string(DTypeName(ctx.input_dtype(1))));
  }
  KILN_RETURN_IF_ERROR(CheckQuantParam(x, scale, axis, block_size, scale_name).status());
  if (IsEmptyVector(zp)) return OkStatus();
  KILN_RETURN_IF_ERROR(CheckQuantParam(x, zp, axis, block_size, zp_name).status());
  if (scale.rank_known && zp.rank_known) {
    bool same = scale.rank() == zp.rank();
    for (int d = 0; same && d < scale.rank(); ++d)
      same = scale.dims[d] < 0 || zp.dims[d] < 0 || scale.dims[d] == zp.dims[d];
    if (!same) {
      return InvalidArgument(std::string(zp_name) + " " + zp.ToString() + " must have the shape of " + scale_name +
                             " " + scale.ToString());
    }
  }
  return OkStatus();
}

Status QuantizeLinearShape(InferenceContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(3, 3));
  const DType x = ctx.input_dtype(0);
  if (!IsFloating(x) && x != DType::kInt32) {
    return InvalidArgument("x must be floating point or int32, got " + std::string(DTypeName(x)));
  }
  KILN_RETURN_IF_ERROR(CheckScaleAndZeroPoint(ctx, "y_scale", "y_zero_point"));
  KILN_ASSIGN_OR_RETURN(DType out, ctx.Attr<DType>("output_dtype"));
  if (!IsEmptyVector(ctx.input_shape(2))) {
    const DType zp = ctx.input_dtype(2);
    if (out != DType::kInvalid && out != zp) {
      return InvalidArgument("output_dtype " + std::string(DTypeName(out)) + " differs from y_zero_point's dtype " +
                             std::string(DTypeName(zp)));
    }
    out = zp;
  } else if (out == DType::kInvalid) {
    out = DType::kUInt8;
  }
  if (!IsQuantizedType(out)) {
    return Unimplemented("QuantizeLinear to " + std::string(DTypeName(out)) +
                         " is not supported (int8, uint8, int16 or uint16)");
  }
  ctx.set_output(0, out, ctx.input_shape(0));
  return OkStatus();
}

Status DequantizeLinearShape(InferenceContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(3, 3));
  const DType x = ctx.input_dtype(0);
  if (!IsQuantizedType(x) && x != DType::kInt32) {
    return Unimplemented("DequantizeLinear of " + std::string(DTypeName(x)) +
                         " is not supported (int8, uint8, int16, uint16 or int32)");
  }
  if (!IsEmptyVector(ctx.input_shape(2)) && ctx.input_dtype(2) != x) {
    return InvalidArgument("x_zero_point has dtype " + std::string(DTypeName(ctx.input_dtype(2))) + " but x has " +
                           std::string(DTypeName(x)));
  }
  KILN_RETURN_IF_ERROR(CheckScaleAndZeroPoint(ctx, "x_scale", "x_zero_point"));
  KILN_ASSIGN_OR_RETURN(DType out, ctx.Attr<DType>("output_dtype"));
  if (out == DType::kInvalid) out = ctx.input_dtype(1);
  if (!IsFloating(out))
    return InvalidArgument("output_dtype must be floating point, got " + std::string(DTypeName(out)));
  ctx.set_output(0, out, ctx.input_shape(0));
  return OkStatus();
}

}  // namespace

KILN_REGISTER_OP(OpDefBuilder("QuantizeLinear")
                     .Attr("axis", int64_t{1})
                     .Attr("saturate", int64_t{1})
                     .Attr("block_size", int64_t{0})
                     .Attr("output_dtype", DType::kInvalid)
                     .Output("y")
                     .Shape(QuantizeLinearShape));
KILN_REGISTER_OP(OpDefBuilder("DequantizeLinear")
                     .Attr("axis", int64_t{1})
                     .Attr("block_size", int64_t{0})
                     .Attr("output_dtype", DType::kInvalid)
                     .Output("y")
                     .Shape(DequantizeLinearShape));

}  // namespace kiln::ir
