// QuantizeLinear / DequantizeLinear: explicit quantization in the model. The IR ops always take
// a zero point; an absent one is a zero of the quantized dtype.
#include "frontends/onnx/onnx_tensor.h"
#include "frontends/onnx/ops/common.h"

namespace kiln::onnx {
namespace {

using ir::ValueRef;

StatusOr<DType> OutputDType(const ConvertContext& ctx) {
  KILN_ASSIGN_OR_RETURN(int64_t output_dtype, ctx.Int("output_dtype", 0));
  if (output_dtype == 0) return DType::kInvalid;
  return DTypeFromOnnx(static_cast<int>(output_dtype));
}

Status QuantizeLinear(ConvertContext& ctx) {
  KILN_ASSIGN_OR_RETURN(int64_t axis, ctx.Int("axis", 1));
  KILN_ASSIGN_OR_RETURN(int64_t saturate, ctx.Int("saturate", 1));
  KILN_ASSIGN_OR_RETURN(int64_t block_size, ctx.Int("block_size", 0));
  KILN_ASSIGN_OR_RETURN(DType out, OutputDType(ctx));
  ValueRef zero_point;
  if (ctx.has_input(2)) {
    zero_point = ctx.input(2);
  } else {
    zero_point = ctx.ScalarOf(out == DType::kInvalid ? DType::kUInt8 : out, 0);
  }
  KILN_ASSIGN_OR_RETURN(ValueRef y, ctx.Op("QuantizeLinear", {ctx.input(0), ctx.input(1), zero_point},
                                           Attrs({{"T", ctx.dtype(ctx.input(0))},
                                                  {"axis", axis},
                                                  {"saturate", saturate},
                                                  {"block_size", block_size},
                                                  {"output_dtype", out}})));
  ctx.SetOutput(0, y);
  return OkStatus();
}

Status DequantizeLinear(ConvertContext& ctx) {
  KILN_ASSIGN_OR_RETURN(int64_t axis, ctx.Int("axis", 1));
  KILN_ASSIGN_OR_RETURN(int64_t block_size, ctx.Int("block_size", 0));
  KILN_ASSIGN_OR_RETURN(DType out, OutputDType(ctx));
  if (out != DType::kInvalid && out != ctx.dtype(ctx.input(1))) {
    return ctx.Unsupported("output_dtype other than the scale's dtype");
  }
  const ValueRef zero_point = ctx.has_input(2) ? ctx.input(2) : ctx.ScalarOf(ctx.dtype(ctx.input(0)), 0);
  KILN_ASSIGN_OR_RETURN(ValueRef y,
                        ctx.Op("DequantizeLinear", {ctx.input(0), ctx.input(1), zero_point},
                               Attrs({{"T", ctx.dtype(ctx.input(0))}, {"axis", axis}, {"block_size", block_size}})));
  ctx.SetOutput(0, y);
  return OkStatus();
}

}  // namespace

KILN_REGISTER_ONNX_OP("QuantizeLinear", QuantizeLinear);
KILN_REGISTER_ONNX_OP("DequantizeLinear", DequantizeLinear);

}  // namespace kiln::onnx
