// Graph sources and pass-through ops.
#include "ir/op_registry.h"
#include "ir/shape_fns.h"

namespace kiln::ir {
namespace {

Status ConstShape(InferenceContext& ctx) {
  KILN_ASSIGN_OR_RETURN(Tensor value, ctx.Attr<Tensor>("value"));
  ctx.set_output(0, value.dtype(), PartialShape::Known(value.shape()));
  return OkStatus();
}

Status PlaceholderShape(InferenceContext& ctx) {
  KILN_ASSIGN_OR_RETURN(DType dtype, ctx.Attr<DType>("dtype"));
  KILN_ASSIGN_OR_RETURN(PartialShape shape, ctx.Attr<PartialShape>("shape"));
  ctx.set_output(0, dtype, shape);
  return OkStatus();
}

Status IdentityNShape(InferenceContext& ctx) {
  if (ctx.num_outputs() != ctx.num_inputs()) {
    return InvalidArgument("IdentityN has " + std::to_string(ctx.num_inputs()) + " inputs but " +
                           std::to_string(ctx.num_outputs()) + " outputs");
  }
  for (int i = 0; i < ctx.num_inputs(); ++i) ctx.set_output(i, ctx.input_dtype(i), ctx.input_shape(i));
  return OkStatus();
}

}  // namespace

KILN_REGISTER_OP(OpDefBuilder("Const").Attr("value").Attr("dtype").Output("output").Shape(ConstShape));
KILN_REGISTER_OP(OpDefBuilder("Placeholder")
                     .Attr("dtype")
                     .Attr("shape", PartialShape::Unknown())
                     .Output("output")
                     .Shape(PlaceholderShape));
KILN_REGISTER_OP(OpDefBuilder("Identity").Attr("T", DType::kFloat32).Output("output").Shape(UnchangedShape));
KILN_REGISTER_OP(OpDefBuilder("StopGradient").Attr("T", DType::kFloat32).Output("output").Shape(UnchangedShape));
KILN_REGISTER_OP(OpDefBuilder("PreventGradient")
                     .Attr("T", DType::kFloat32)
                     .Attr("message", std::string())
                     .Output("output")
                     .Shape(UnchangedShape));
KILN_REGISTER_OP(OpDefBuilder("Snapshot").Attr("T", DType::kFloat32).Output("output").Shape(UnchangedShape));
KILN_REGISTER_OP(OpDefBuilder("EnsureShape")
                     .Attr("T", DType::kFloat32)
                     .Attr("shape", PartialShape::Unknown())
                     .Output("output")
                     .Shape(UnchangedShape));
KILN_REGISTER_OP(OpDefBuilder("IdentityN").Attr("T", std::vector<DType>{}).OutputTypeList("output", "T").Shape(IdentityNShape));

}  // namespace kiln::ir
