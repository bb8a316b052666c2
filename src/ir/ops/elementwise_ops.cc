// Elementwise ops: unary math and activations, broadcasting binary ops, comparisons, logical
// ops, AddN, ClipByValue, Select/SelectV2, Cast and ZerosLike/OnesLike.
// TensorFlow gives "T" no default; kiln's float32 default only matters for hand-built graphs,
// since the shape functions take dtypes from the inputs.
#include "ir/op_registry.h"
#include "ir/shape_fns.h"

namespace kiln::ir {
namespace {

std::string Name(DType dtype) { return std::string(DTypeName(dtype)); }

// Inputs first..last must share one dtype (TensorFlow's single type attr "T").
Status CheckSameDTypes(const InferenceContext& ctx, int first, int last) {
  for (int i = first + 1; i <= last; ++i) {
    if (ctx.input_dtype(i) != ctx.input_dtype(first)) {
      return InvalidArgument("input " + std::to_string(i) + " has dtype " + Name(ctx.input_dtype(i)) + " but input " +
                             std::to_string(first) + " has " + Name(ctx.input_dtype(first)));
    }
  }
  return OkStatus();
}

Status CheckBool(const InferenceContext& ctx, int i, const std::string& what) {
  if (ctx.input_dtype(i) != DType::kBool) {
    return InvalidArgument(what + " must be bool, got " + Name(ctx.input_dtype(i)));
  }
  return OkStatus();
}

// Two partial shapes that must describe the same shape; an error names both.
StatusOr<PartialShape> MergeShapes(const PartialShape& a, const PartialShape& b) {
  if (!a.rank_known) return b;
  if (!b.rank_known) return a;
  const std::string mismatch = "shapes " + a.ToString() + " and " + b.ToString() + " must be equal";
  if (a.dims.size() != b.dims.size()) return InvalidArgument(mismatch);
  PartialShape out = a;
  for (size_t i = 0; i < a.dims.size(); ++i) {
    if (a.dims[i] < 0) {
      out.dims[i] = b.dims[i];
    } else if (b.dims[i] >= 0 && a.dims[i] != b.dims[i]) {
      return InvalidArgument(mismatch);
    }
  }
  return out;
}

Status UnaryToBoolShape(InferenceContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(1, 1));
  ctx.set_output(0, DType::kBool, ctx.input_shape(0));
  return OkStatus();
}

Status LogicalNotShape(InferenceContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(1, 1));
  KILN_RETURN_IF_ERROR(CheckBool(ctx, 0, "the input"));
  return UnaryToBoolShape(ctx);
}

Status BinaryShape(InferenceContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  KILN_RETURN_IF_ERROR(CheckSameDTypes(ctx, 0, 1));
  return BroadcastBinaryShape(ctx);
}

Status CompareShape(InferenceContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  KILN_RETURN_IF_ERROR(CheckSameDTypes(ctx, 0, 1));
  return BroadcastCompareShape(ctx);
}

// With incompatible_shape_error=false, shapes that do not broadcast give a scalar; unless both
// shapes are known, the output shape is then unknown.
Status EqualityShape(InferenceContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  KILN_RETURN_IF_ERROR(CheckSameDTypes(ctx, 0, 1));
  KILN_ASSIGN_OR_RETURN(bool strict, ctx.Attr<bool>("incompatible_shape_error"));
  if (strict) return BroadcastCompareShape(ctx);
  const PartialShape& a = ctx.input_shape(0);
  const PartialShape& b = ctx.input_shape(1);
  PartialShape out = PartialShape::Unknown();
  if (a.IsFullyDefined() && b.IsFullyDefined()) {
    StatusOr<PartialShape> s = BroadcastShapes(a, b);
    out = s.ok() ? *s : PartialShape::Known({});
  }
  ctx.set_output(0, DType::kBool, out);
  return OkStatus();
}

Status LogicalBinaryShape(InferenceContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  KILN_RETURN_IF_ERROR(CheckBool(ctx, 0, "input 0"));
  KILN_RETURN_IF_ERROR(CheckBool(ctx, 1, "input 1"));
  return BroadcastCompareShape(ctx);
}

Status AddNShape(InferenceContext& ctx) {
  KILN_ASSIGN_OR_RETURN(int64_t n, ctx.Attr<int64_t>("N"));
  if (n < 1 || n != ctx.num_inputs()) {
    return InvalidArgument("N is " + std::to_string(n) + " but the op has " + std::to_string(ctx.num_inputs()) +
                           " inputs");
  }
  KILN_RETURN_IF_ERROR(CheckSameDTypes(ctx, 0, ctx.num_inputs() - 1));
  PartialShape shape = ctx.input_shape(0);
  for (int i = 1; i < ctx.num_inputs(); ++i) {
    KILN_ASSIGN_OR_RETURN(shape, MergeShapes(shape, ctx.input_shape(i)));
  }
  ctx.set_output(0, ctx.input_dtype(0), shape);
  return OkStatus();
}

// clip_value_min/max: scalars or the shape of t.
Status ClipByValueShape(InferenceContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(3, 3));
  KILN_RETURN_IF_ERROR(CheckSameDTypes(ctx, 0, 2));
  for (int i = 1; i <= 2; ++i) {
    const PartialShape& bound = ctx.input_shape(i);
    if (bound.rank() == 0) continue;
    if (!MergeShapes(bound, ctx.input_shape(0)).ok()) {
      return InvalidArgument(std::string(i == 1 ? "clip_value_min" : "clip_value_max") + " has shape " +
                             bound.ToString() + "; it must be a scalar or the input's shape " +
                             ctx.input_shape(0).ToString());
    }
  }
  ctx.set_output(0, ctx.input_dtype(0), ctx.input_shape(0));
  return OkStatus();
}

// The condition is a scalar, the shape of t, or (for t of rank > 1) a vector over t's first dim.
Status SelectShape(InferenceContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(3, 3));
  KILN_RETURN_IF_ERROR(CheckBool(ctx, 0, "condition"));
  KILN_RETURN_IF_ERROR(CheckSameDTypes(ctx, 1, 2));
  KILN_ASSIGN_OR_RETURN(PartialShape shape, MergeShapes(ctx.input_shape(1), ctx.input_shape(2)));
  const PartialShape& cond = ctx.input_shape(0);
  if (cond.rank_known && shape.rank_known && cond.rank() != 0) {
    const bool rows = cond.rank() == 1 && shape.rank() > 1;
    const std::string bad = "condition " + cond.ToString() + " must be a scalar, the shape of 'then' " +
                            shape.ToString() + ", or a vector over its first dimension";
    if (rows) {
      if (cond.dims[0] >= 0 && shape.dims[0] >= 0 && cond.dims[0] != shape.dims[0]) return InvalidArgument(bad);
      if (shape.dims[0] < 0) shape.dims[0] = cond.dims[0];
    } else {
      StatusOr<PartialShape> merged = MergeShapes(cond, shape);
      if (!merged.ok()) return InvalidArgument(bad);
      shape = *merged;
    }
  }
  ctx.set_output(0, ctx.input_dtype(1), shape);
  return OkStatus();
}

Status SelectV2Shape(InferenceContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(3, 3));
  KILN_RETURN_IF_ERROR(CheckBool(ctx, 0, "condition"));
  KILN_RETURN_IF_ERROR(CheckSameDTypes(ctx, 1, 2));
  KILN_ASSIGN_OR_RETURN(PartialShape s, BroadcastShapes(ctx.input_shape(1), ctx.input_shape(2)));
  KILN_ASSIGN_OR_RETURN(s, BroadcastShapes(ctx.input_shape(0), s));
  ctx.set_output(0, ctx.input_dtype(1), s);
  return OkStatus();
}

Status CastShape(InferenceContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(1, 1));
  KILN_ASSIGN_OR_RETURN(DType dst, ctx.Attr<DType>("DstT"));
  ctx.set_output(0, dst, ctx.input_shape(0));
  return OkStatus();
}

OpDefBuilder Unary(std::string name, std::string output = "y") {
  return std::move(
      OpDefBuilder(std::move(name)).Attr("T", DType::kFloat32).Output(std::move(output)).Shape(UnchangedShape));
}
OpDefBuilder Activation(std::string name) { return Unary(std::move(name), "activations"); }
OpDefBuilder UnaryPredicate(std::string name) {
  return std::move(OpDefBuilder(std::move(name)).Attr("T", DType::kFloat32).Output("y").Shape(UnaryToBoolShape));
}
OpDefBuilder Binary(std::string name, ShapeFn shape = BinaryShape) {
  return std::move(OpDefBuilder(std::move(name)).Attr("T", DType::kFloat32).Output("z").Shape(std::move(shape)));
}

}  // namespace

KILN_REGISTER_OP(Activation("Relu"));
KILN_REGISTER_OP(Activation("Relu6"));
KILN_REGISTER_OP(Activation("Elu"));
KILN_REGISTER_OP(Activation("Selu"));
KILN_REGISTER_OP(Activation("LeakyRelu").Attr("alpha", 0.2f));
KILN_REGISTER_OP(Activation("Softplus"));
KILN_REGISTER_OP(Activation("Softsign"));
KILN_REGISTER_OP(Unary("Sigmoid"));
KILN_REGISTER_OP(Unary("Tanh"));
KILN_REGISTER_OP(Unary("Erf"));
KILN_REGISTER_OP(Unary("Erfc"));
KILN_REGISTER_OP(Unary("Exp"));
KILN_REGISTER_OP(Unary("Expm1"));
KILN_REGISTER_OP(Unary("Log"));
KILN_REGISTER_OP(Unary("Log1p"));
KILN_REGISTER_OP(Unary("Sqrt"));
KILN_REGISTER_OP(Unary("Rsqrt"));
KILN_REGISTER_OP(Unary("Reciprocal"));
KILN_REGISTER_OP(Unary("Inv"));
KILN_REGISTER_OP(Unary("Floor"));
KILN_REGISTER_OP(Unary("Ceil"));
KILN_REGISTER_OP(Unary("Round"));
KILN_REGISTER_OP(Unary("Rint"));
KILN_REGISTER_OP(Unary("Sin"));
KILN_REGISTER_OP(Unary("Cos"));
KILN_REGISTER_OP(Unary("Tan"));
KILN_REGISTER_OP(Unary("Asin"));
KILN_REGISTER_OP(Unary("Acos"));
KILN_REGISTER_OP(Unary("Atan"));
KILN_REGISTER_OP(Unary("Sinh"));
KILN_REGISTER_OP(Unary("Cosh"));
KILN_REGISTER_OP(Unary("Asinh"));
KILN_REGISTER_OP(Unary("Acosh"));
KILN_REGISTER_OP(Unary("Atanh"));
KILN_REGISTER_OP(Unary("Neg"));
KILN_REGISTER_OP(Unary("Abs"));
KILN_REGISTER_OP(Unary("Sign"));
KILN_REGISTER_OP(Unary("Square"));
KILN_REGISTER_OP(UnaryPredicate("IsNan"));
KILN_REGISTER_OP(UnaryPredicate("IsInf"));
KILN_REGISTER_OP(UnaryPredicate("IsFinite"));
KILN_REGISTER_OP(OpDefBuilder("LogicalNot").Output("y").Shape(LogicalNotShape));

KILN_REGISTER_OP(Binary("Add"));
KILN_REGISTER_OP(Binary("AddV2"));
KILN_REGISTER_OP(Binary("Sub"));
KILN_REGISTER_OP(Binary("Mul"));
KILN_REGISTER_OP(Binary("MulNoNan"));
KILN_REGISTER_OP(Binary("Div"));
KILN_REGISTER_OP(Binary("RealDiv"));
KILN_REGISTER_OP(Binary("DivNoNan"));
KILN_REGISTER_OP(Binary("FloorDiv"));
KILN_REGISTER_OP(Binary("FloorMod"));
KILN_REGISTER_OP(Binary("TruncateDiv"));
KILN_REGISTER_OP(Binary("TruncateMod"));
KILN_REGISTER_OP(Binary("Mod"));
KILN_REGISTER_OP(Binary("Maximum"));
KILN_REGISTER_OP(Binary("Minimum"));
KILN_REGISTER_OP(Binary("Pow"));
KILN_REGISTER_OP(Binary("SquaredDifference"));
KILN_REGISTER_OP(Binary("Atan2"));
KILN_REGISTER_OP(Binary("Xlogy"));
KILN_REGISTER_OP(Binary("Xdivy"));
KILN_REGISTER_OP(Binary("Greater", CompareShape));
KILN_REGISTER_OP(Binary("GreaterEqual", CompareShape));
KILN_REGISTER_OP(Binary("Less", CompareShape));
KILN_REGISTER_OP(Binary("LessEqual", CompareShape));
KILN_REGISTER_OP(Binary("Equal", EqualityShape).Attr("incompatible_shape_error", true));
KILN_REGISTER_OP(Binary("NotEqual", EqualityShape).Attr("incompatible_shape_error", true));
KILN_REGISTER_OP(OpDefBuilder("LogicalAnd").Output("z").Shape(LogicalBinaryShape));
KILN_REGISTER_OP(OpDefBuilder("LogicalOr").Output("z").Shape(LogicalBinaryShape));

KILN_REGISTER_OP(OpDefBuilder("AddN").Attr("N").Attr("T", DType::kFloat32).Output("sum").Shape(AddNShape));
KILN_REGISTER_OP(OpDefBuilder("ClipByValue").Attr("T", DType::kFloat32).Output("output").Shape(ClipByValueShape));
KILN_REGISTER_OP(OpDefBuilder("Select").Attr("T", DType::kFloat32).Output("output").Shape(SelectShape));
KILN_REGISTER_OP(OpDefBuilder("SelectV2").Attr("T", DType::kFloat32).Output("output").Shape(SelectV2Shape));
KILN_REGISTER_OP(OpDefBuilder("Cast")
                     .Attr("SrcT", DType::kFloat32)
                     .Attr("DstT", DType::kFloat32)
                     .Attr("Truncate", false)
                     .Output("y")
                     .Shape(CastShape));
KILN_REGISTER_OP(OpDefBuilder("ZerosLike").Attr("T", DType::kFloat32).Output("y").Shape(UnchangedShape));
KILN_REGISTER_OP(OpDefBuilder("OnesLike").Attr("T", DType::kFloat32).Output("y").Shape(UnchangedShape));

}  // namespace kiln::ir
