// KilnFakeQuant: reduced-precision emulation inserted by passes::InsertPrecisionEmulation.
// float32 in, float32 out of the same shape; attrs `mode` ("fp16" | "bf16" | "int8" | "fp8_e4m3"),
// `scale` (empty for fp16 and bf16; one value per tensor or one per channel along `axis`) and `axis`.
#include "ir/op_registry.h"
#include "ir/ops/quantized_ops.h"
#include "ir/shape_fns.h"

namespace kiln::ir {
namespace {

Status KilnFakeQuantShape(InferenceContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(1, 1));
  if (ctx.input_dtype(0) != DType::kFloat32) {
    return InvalidArgument("KilnFakeQuant takes float32, got " + std::string(DTypeName(ctx.input_dtype(0))));
  }
  KILN_ASSIGN_OR_RETURN(std::string mode, ctx.Attr<std::string>("mode"));
  KILN_ASSIGN_OR_RETURN(std::vector<float> scale, ctx.Attr<std::vector<float>>("scale"));
  KILN_ASSIGN_OR_RETURN(int64_t axis, ctx.Attr<int64_t>("axis"));
  if (mode == "fp16" || mode == "bf16") {
    if (!scale.empty()) return InvalidArgument("mode " + mode + " takes no scale");
  } else if (mode == "int8" || mode == "fp8_e4m3") {
    if (scale.empty()) return InvalidArgument("mode " + mode + " needs a scale");
    KILN_RETURN_IF_ERROR(CheckQuantizationScales(scale, axis, ctx.input_shape(0)));
  } else {
    return InvalidArgument("mode must be fp16, bf16, int8 or fp8_e4m3, got '" + mode + "'");
  }
  ctx.set_output(0, DType::kFloat32, ctx.input_shape(0));
  return OkStatus();
}

}  // namespace

KILN_REGISTER_OP(OpDefBuilder("KilnFakeQuant")
                     .Attr("mode")
                     .Attr("scale", std::vector<float>{})
                     .Attr("axis", int64_t{-1})
                     .Output("output")
                     .Shape(KilnFakeQuantShape));

}  // namespace kiln::ir
