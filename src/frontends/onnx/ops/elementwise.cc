// Elementwise ONNX ops: math, activations, comparisons, logic, Where, Cast, Clip, variadic
// Sum/Mean/Max/Min, and the ops that are identities at inference (Identity, Dropout).
// ONNX broadcasting is numpy's, as kiln's binary ops implement it.
#include <cmath>

#include "frontends/onnx/onnx_tensor.h"
#include "frontends/onnx/ops/common.h"

namespace kiln::onnx {
namespace {

using ir::ValueRef;

OpConverter SameUnary(std::string op) {
  return [op](ConvertContext& ctx) -> Status {
    KILN_ASSIGN_OR_RETURN(ValueRef y, Unary(ctx, op, ctx.input(0)));
    ctx.SetOutput(0, y);
    return OkStatus();
  };
}

OpConverter SameBinary(std::string op) {
  return [op](ConvertContext& ctx) -> Status {
    KILN_ASSIGN_OR_RETURN(ValueRef y, Binary(ctx, op, ctx.input(0), ctx.input(1)));
    ctx.SetOutput(0, y);
    return OkStatus();
  };
}

Status Div(ConvertContext& ctx) {
  // Integer division truncates toward zero in ONNX (C semantics).
  const bool integer = IsInteger(ctx.dtype(ctx.input(0)));
  KILN_ASSIGN_OR_RETURN(ValueRef y, Binary(ctx, integer ? "TruncateDiv" : "RealDiv", ctx.input(0), ctx.input(1)));
  ctx.SetOutput(0, y);
  return OkStatus();
}

Status Mod(ConvertContext& ctx) {
  KILN_ASSIGN_OR_RETURN(int64_t fmod, ctx.Int("fmod", 0));
  // fmod=0: the result takes the divisor's sign (Python's %); fmod=1: the dividend's (C fmod).
  KILN_ASSIGN_OR_RETURN(ValueRef y, Binary(ctx, fmod ? "TruncateMod" : "FloorMod", ctx.input(0), ctx.input(1)));
  ctx.SetOutput(0, y);
  return OkStatus();
}

Status Pow(ConvertContext& ctx) {
  // The exponent may have another dtype; the result has the base's.
  KILN_ASSIGN_OR_RETURN(ValueRef e, CastTo(ctx, ctx.input(1), ctx.dtype(ctx.input(0))));
  KILN_ASSIGN_OR_RETURN(ValueRef y, Binary(ctx, "Pow", ctx.input(0), e));
  ctx.SetOutput(0, y);
  return OkStatus();
}

OpConverter Variadic(std::string op, bool mean = false) {
  return [op, mean](ConvertContext& ctx) -> Status {
    if (ctx.num_inputs() < 1) return InvalidArgument("needs at least one input");
    ValueRef acc = ctx.input(0);
    for (int i = 1; i < ctx.num_inputs(); ++i) {
      KILN_ASSIGN_OR_RETURN(acc, Binary(ctx, op, acc, ctx.input(i)));
    }
    if (ctx.num_inputs() == 1) {
      KILN_ASSIGN_OR_RETURN(acc, Unary(ctx, "Identity", acc));
    }
    if (mean && ctx.num_inputs() > 1) {
      KILN_ASSIGN_OR_RETURN(acc, Binary(ctx, "RealDiv", acc, ctx.ScalarOf(ctx.dtype(acc), ctx.num_inputs())));
    }
    ctx.SetOutput(0, acc);
    return OkStatus();
  };
}

Status Xor(ConvertContext& ctx) {
  KILN_ASSIGN_OR_RETURN(ValueRef y, ctx.Op("NotEqual", {ctx.input(0), ctx.input(1)},
                                           Attrs({{"T", DType::kBool}, {"incompatible_shape_error", true}})));
  ctx.SetOutput(0, y);
  return OkStatus();
}

Status Where(ConvertContext& ctx) {
  KILN_ASSIGN_OR_RETURN(ValueRef y, Select(ctx, ctx.input(0), ctx.input(1), ctx.input(2)));
  ctx.SetOutput(0, y);
  return OkStatus();
}

Status Identity(ConvertContext& ctx) {
  KILN_ASSIGN_OR_RETURN(ValueRef y, Unary(ctx, "Identity", ctx.input(0)));
  ctx.SetOutput(0, y);
  return OkStatus();
}

Status Dropout(ConvertContext& ctx) {
  if (ctx.has_input(2)) {
    const Tensor* training = ctx.constant(ctx.input(2));
    if (training == nullptr) return ctx.Unsupported("training_mode computed at run time");
    KILN_ASSIGN_OR_RETURN(auto mode, training->ToInt64Vector());
    if (!mode.empty() && mode[0] != 0) return ctx.Unsupported("training_mode true (kiln runs inference)");
  }
  KILN_RETURN_IF_ERROR(Identity(ctx));
  if (ctx.wants_output(1)) {
    KILN_ASSIGN_OR_RETURN(ValueRef shape, ShapeOf(ctx, ctx.input(0)));
    KILN_ASSIGN_OR_RETURN(ValueRef mask, ctx.Op("Fill", {shape, ctx.Const(Tensor::Scalar<bool>(true))},
                                                Attrs({{"T", DType::kBool}, {"index_type", DType::kInt64}})));
    ctx.SetOutput(1, mask);
  }
  return OkStatus();
}

// x converted to `dst` (an Identity when it already has that dtype, so the output is a new value).
Status ConvertTo(ConvertContext& ctx, DType dst) {
  if (dst == DType::kString || ctx.dtype(ctx.input(0)) == DType::kString) return ctx.Unsupported("string tensors");
  KILN_ASSIGN_OR_RETURN(ValueRef y, CastTo(ctx, ctx.input(0), dst));
  if (y == ctx.input(0)) {
    KILN_ASSIGN_OR_RETURN(y, Unary(ctx, "Identity", y));
  }
  ctx.SetOutput(0, y);
  return OkStatus();
}

Status Cast(ConvertContext& ctx) {
  KILN_ASSIGN_OR_RETURN(int64_t to, ctx.Int("to"));
  KILN_ASSIGN_OR_RETURN(DType dst, DTypeFromOnnx(static_cast<int>(to)));
  return ConvertTo(ctx, dst);
}

Status CastLike(ConvertContext& ctx) { return ConvertTo(ctx, ctx.dtype(ctx.input(1))); }

// Clip(x, min?, max?): max(x, min) then min(., max), as ONNX defines it.
Status Clip(ConvertContext& ctx) {
  ValueRef y = ctx.input(0);
  if (ctx.has_input(1)) {
    KILN_ASSIGN_OR_RETURN(y, Binary(ctx, "Maximum", y, ctx.input(1)));
  }
  if (ctx.has_input(2)) {
    KILN_ASSIGN_OR_RETURN(y, Binary(ctx, "Minimum", y, ctx.input(2)));
  }
  if (y == ctx.input(0)) {
    KILN_ASSIGN_OR_RETURN(y, Unary(ctx, "Identity", y));
  }
  ctx.SetOutput(0, y);
  return OkStatus();
}

// a * x + b for a scalar a, b of x's dtype.
StatusOr<ValueRef> Affine(ConvertContext& ctx, ValueRef x, double a, double b) {
  const DType t = ctx.dtype(x);
  KILN_ASSIGN_OR_RETURN(ValueRef y, Binary(ctx, "Mul", x, ctx.ScalarOf(t, a)));
  return Binary(ctx, "AddV2", y, ctx.ScalarOf(t, b));
}

// max(0, min(1, alpha * x + beta))
StatusOr<ValueRef> HardSigmoidOf(ConvertContext& ctx, ValueRef x, double alpha, double beta) {
  const DType t = ctx.dtype(x);
  KILN_ASSIGN_OR_RETURN(ValueRef y, Affine(ctx, x, alpha, beta));
  KILN_ASSIGN_OR_RETURN(y, Binary(ctx, "Minimum", y, ctx.ScalarOf(t, 1)));
  return Binary(ctx, "Maximum", y, ctx.ScalarOf(t, 0));
}

Status HardSigmoid(ConvertContext& ctx) {
  KILN_ASSIGN_OR_RETURN(float alpha, ctx.Float("alpha", 0.2f));
  KILN_ASSIGN_OR_RETURN(float beta, ctx.Float("beta", 0.5f));
  KILN_ASSIGN_OR_RETURN(ValueRef y, HardSigmoidOf(ctx, ctx.input(0), alpha, beta));
  ctx.SetOutput(0, y);
  return OkStatus();
}

Status HardSwish(ConvertContext& ctx) {
  KILN_ASSIGN_OR_RETURN(ValueRef g, HardSigmoidOf(ctx, ctx.input(0), 1.0 / 6.0, 0.5));
  KILN_ASSIGN_OR_RETURN(ValueRef y, Binary(ctx, "Mul", ctx.input(0), g));
  ctx.SetOutput(0, y);
  return OkStatus();
}

Status LeakyRelu(ConvertContext& ctx) {
  KILN_ASSIGN_OR_RETURN(float alpha, ctx.Float("alpha", 0.01f));
  KILN_ASSIGN_OR_RETURN(ValueRef y,
                        ctx.Op("LeakyRelu", {ctx.input(0)}, Attrs({{"T", ctx.dtype(ctx.input(0))}, {"alpha", alpha}})));
  ctx.SetOutput(0, y);
  return OkStatus();
}

// where(x < 0, slope * x, x), slope broadcasting to x.
Status PRelu(ConvertContext& ctx) {
  const ValueRef x = ctx.input(0);
  KILN_ASSIGN_OR_RETURN(ValueRef neg, Binary(ctx, "Less", x, ctx.ScalarOf(ctx.dtype(x), 0)));
  KILN_ASSIGN_OR_RETURN(ValueRef scaled, Binary(ctx, "Mul", x, ctx.input(1)));
  KILN_ASSIGN_OR_RETURN(ValueRef y, Select(ctx, neg, scaled, x));
  ctx.SetOutput(0, y);
  return OkStatus();
}

// alpha * (exp(x) - 1) for x < 0, else x (times gamma for Selu).
StatusOr<ValueRef> EluOf(ConvertContext& ctx, ValueRef x, double alpha) {
  const DType t = ctx.dtype(x);
  KILN_ASSIGN_OR_RETURN(ValueRef e, Unary(ctx, "Expm1", x));
  KILN_ASSIGN_OR_RETURN(e, Binary(ctx, "Mul", e, ctx.ScalarOf(t, alpha)));
  KILN_ASSIGN_OR_RETURN(ValueRef neg, Binary(ctx, "Less", x, ctx.ScalarOf(t, 0)));
  return Select(ctx, neg, e, x);
}

Status Elu(ConvertContext& ctx) {
  KILN_ASSIGN_OR_RETURN(float alpha, ctx.Float("alpha", 1.0f));
  KILN_ASSIGN_OR_RETURN(ValueRef y, EluOf(ctx, ctx.input(0), alpha));
  ctx.SetOutput(0, y);
  return OkStatus();
}

Status Selu(ConvertContext& ctx) {
  KILN_ASSIGN_OR_RETURN(float alpha, ctx.Float("alpha", 1.67326319217681884765625f));
  KILN_ASSIGN_OR_RETURN(float gamma, ctx.Float("gamma", 1.05070102214813232421875f));
  KILN_ASSIGN_OR_RETURN(ValueRef y, EluOf(ctx, ctx.input(0), alpha));
  KILN_ASSIGN_OR_RETURN(y, Binary(ctx, "Mul", y, ctx.ScalarOf(ctx.dtype(y), gamma)));
  ctx.SetOutput(0, y);
  return OkStatus();
}

// max(0, x) + min(0, alpha * (exp(x / alpha) - 1))
Status Celu(ConvertContext& ctx) {
  KILN_ASSIGN_OR_RETURN(float alpha, ctx.Float("alpha", 1.0f));
  const ValueRef x = ctx.input(0);
  const DType t = ctx.dtype(x);
  KILN_ASSIGN_OR_RETURN(ValueRef pos, Binary(ctx, "Maximum", x, ctx.ScalarOf(t, 0)));
  KILN_ASSIGN_OR_RETURN(ValueRef e, Binary(ctx, "RealDiv", x, ctx.ScalarOf(t, alpha)));
  KILN_ASSIGN_OR_RETURN(e, Unary(ctx, "Expm1", e));
  KILN_ASSIGN_OR_RETURN(e, Binary(ctx, "Mul", e, ctx.ScalarOf(t, alpha)));
  KILN_ASSIGN_OR_RETURN(e, Binary(ctx, "Minimum", e, ctx.ScalarOf(t, 0)));
  KILN_ASSIGN_OR_RETURN(ValueRef y, Binary(ctx, "AddV2", pos, e));
  ctx.SetOutput(0, y);
  return OkStatus();
}

Status ThresholdedRelu(ConvertContext& ctx) {
  KILN_ASSIGN_OR_RETURN(float alpha, ctx.Float("alpha", 1.0f));
  const ValueRef x = ctx.input(0);
  const DType t = ctx.dtype(x);
  KILN_ASSIGN_OR_RETURN(ValueRef keep, Binary(ctx, "Greater", x, ctx.ScalarOf(t, alpha)));
  KILN_ASSIGN_OR_RETURN(ValueRef zeros, Unary(ctx, "ZerosLike", x));
  KILN_ASSIGN_OR_RETURN(ValueRef y, Select(ctx, keep, x, zeros));
  ctx.SetOutput(0, y);
  return OkStatus();
}

// x * tanh(softplus(x))
Status Mish(ConvertContext& ctx) {
  KILN_ASSIGN_OR_RETURN(ValueRef s, Unary(ctx, "Softplus", ctx.input(0)));
  KILN_ASSIGN_OR_RETURN(s, Unary(ctx, "Tanh", s));
  KILN_ASSIGN_OR_RETURN(ValueRef y, Binary(ctx, "Mul", ctx.input(0), s));
  ctx.SetOutput(0, y);
  return OkStatus();
}

// approximate="none": x/2 * (1 + erf(x / sqrt 2)); "tanh": x/2 * (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
Status Gelu(ConvertContext& ctx) {
  KILN_ASSIGN_OR_RETURN(std::string approximate, ctx.String("approximate", "none"));
  const ValueRef x = ctx.input(0);
  const DType t = ctx.dtype(x);
  ValueRef inner;
  if (approximate == "none") {
    KILN_ASSIGN_OR_RETURN(inner, Binary(ctx, "Mul", x, ctx.ScalarOf(t, M_SQRT1_2)));
    KILN_ASSIGN_OR_RETURN(inner, Unary(ctx, "Erf", inner));
  } else if (approximate == "tanh") {
    KILN_ASSIGN_OR_RETURN(ValueRef cube, Binary(ctx, "Mul", x, x));
    KILN_ASSIGN_OR_RETURN(cube, Binary(ctx, "Mul", cube, x));
    KILN_ASSIGN_OR_RETURN(cube, Binary(ctx, "Mul", cube, ctx.ScalarOf(t, 0.044715)));
    KILN_ASSIGN_OR_RETURN(inner, Binary(ctx, "AddV2", x, cube));
    KILN_ASSIGN_OR_RETURN(inner, Binary(ctx, "Mul", inner, ctx.ScalarOf(t, std::sqrt(2.0 / M_PI))));
    KILN_ASSIGN_OR_RETURN(inner, Unary(ctx, "Tanh", inner));
  } else {
    return InvalidArgument("approximate must be 'none' or 'tanh', got '" + approximate + "'");
  }
  KILN_ASSIGN_OR_RETURN(inner, Binary(ctx, "AddV2", inner, ctx.ScalarOf(t, 1)));
  KILN_ASSIGN_OR_RETURN(ValueRef half, Binary(ctx, "Mul", x, ctx.ScalarOf(t, 0.5)));
  KILN_ASSIGN_OR_RETURN(ValueRef y, Binary(ctx, "Mul", half, inner));
  ctx.SetOutput(0, y);
  return OkStatus();
}

Status IsInf(ConvertContext& ctx) {
  KILN_ASSIGN_OR_RETURN(int64_t negative, ctx.Int("detect_negative", 1));
  KILN_ASSIGN_OR_RETURN(int64_t positive, ctx.Int("detect_positive", 1));
  const ValueRef x = ctx.input(0);
  KILN_ASSIGN_OR_RETURN(ValueRef y, Unary(ctx, "IsInf", x));
  if (!negative || !positive) {
    KILN_ASSIGN_OR_RETURN(ValueRef side, Binary(ctx, positive ? "Greater" : "Less", x, ctx.ScalarOf(ctx.dtype(x), 0)));
    if (!negative && !positive) {
      KILN_ASSIGN_OR_RETURN(side, Unary(ctx, "ZerosLike", side));
    }
    KILN_ASSIGN_OR_RETURN(y, ctx.Op("LogicalAnd", {y, side}));
  }
  ctx.SetOutput(0, y);
  return OkStatus();
}

Status Constant(ConvertContext& ctx) {
  if (ctx.node().attribute_size() != 1) return InvalidArgument("Constant needs exactly one value attribute");
  const std::string& name = ctx.node().attribute(0).name();
  Tensor value;
  if (name == "value") {
    KILN_ASSIGN_OR_RETURN(value, ctx.TensorAttr("value"));
  } else if (name == "value_float") {
    KILN_ASSIGN_OR_RETURN(float f, ctx.Float(name));
    value = Tensor::Scalar<float>(f);
  } else if (name == "value_floats") {
    KILN_ASSIGN_OR_RETURN(auto fs, ctx.Floats(name));
    value = Tensor::FromVector<float>({static_cast<int64_t>(fs.size())}, fs);
  } else if (name == "value_int") {
    KILN_ASSIGN_OR_RETURN(int64_t i, ctx.Int(name));
    value = Tensor::Scalar<int64_t>(i);
  } else if (name == "value_ints") {
    KILN_ASSIGN_OR_RETURN(auto is, ctx.Ints(name));
    value = Tensor::FromVector<int64_t>({static_cast<int64_t>(is.size())}, is);
  } else if (name == "value_string") {
    KILN_ASSIGN_OR_RETURN(std::string s, ctx.String(name));
    value = Tensor::Strings({}, {s});
  } else {
    return ctx.Unsupported("attribute '" + name + "'");
  }
  ctx.SetOutput(0, ctx.Const(std::move(value)));
  return OkStatus();
}

}  // namespace

KILN_REGISTER_ONNX_OP("Abs", SameUnary("Abs"));
KILN_REGISTER_ONNX_OP("Neg", SameUnary("Neg"));
KILN_REGISTER_ONNX_OP("Exp", SameUnary("Exp"));
KILN_REGISTER_ONNX_OP("Log", SameUnary("Log"));
KILN_REGISTER_ONNX_OP("Sqrt", SameUnary("Sqrt"));
KILN_REGISTER_ONNX_OP("Reciprocal", SameUnary("Reciprocal"));
KILN_REGISTER_ONNX_OP("Floor", SameUnary("Floor"));
KILN_REGISTER_ONNX_OP("Ceil", SameUnary("Ceil"));
KILN_REGISTER_ONNX_OP("Round", SameUnary("Round"));
KILN_REGISTER_ONNX_OP("Sign", SameUnary("Sign"));
KILN_REGISTER_ONNX_OP("Sin", SameUnary("Sin"));
KILN_REGISTER_ONNX_OP("Cos", SameUnary("Cos"));
KILN_REGISTER_ONNX_OP("Tan", SameUnary("Tan"));
KILN_REGISTER_ONNX_OP("Asin", SameUnary("Asin"));
KILN_REGISTER_ONNX_OP("Acos", SameUnary("Acos"));
KILN_REGISTER_ONNX_OP("Atan", SameUnary("Atan"));
KILN_REGISTER_ONNX_OP("Sinh", SameUnary("Sinh"));
KILN_REGISTER_ONNX_OP("Cosh", SameUnary("Cosh"));
KILN_REGISTER_ONNX_OP("Asinh", SameUnary("Asinh"));
KILN_REGISTER_ONNX_OP("Acosh", SameUnary("Acosh"));
KILN_REGISTER_ONNX_OP("Atanh", SameUnary("Atanh"));
KILN_REGISTER_ONNX_OP("Tanh", SameUnary("Tanh"));
KILN_REGISTER_ONNX_OP("Sigmoid", SameUnary("Sigmoid"));
KILN_REGISTER_ONNX_OP("Erf", SameUnary("Erf"));
KILN_REGISTER_ONNX_OP("Relu", SameUnary("Relu"));
KILN_REGISTER_ONNX_OP("Softplus", SameUnary("Softplus"));
KILN_REGISTER_ONNX_OP("Softsign", SameUnary("Softsign"));
KILN_REGISTER_ONNX_OP("IsNaN", SameUnary("IsNan"));
KILN_REGISTER_ONNX_OP("Not", SameUnary("LogicalNot"));
KILN_REGISTER_ONNX_OP("IsInf", IsInf);

KILN_REGISTER_ONNX_OP("Add", SameBinary("AddV2"));
KILN_REGISTER_ONNX_OP("Sub", SameBinary("Sub"));
KILN_REGISTER_ONNX_OP("Mul", SameBinary("Mul"));
KILN_REGISTER_ONNX_OP("Div", Div);
KILN_REGISTER_ONNX_OP("Mod", Mod);
KILN_REGISTER_ONNX_OP("Pow", Pow);
KILN_REGISTER_ONNX_OP("Equal", SameBinary("Equal"));
KILN_REGISTER_ONNX_OP("Less", SameBinary("Less"));
KILN_REGISTER_ONNX_OP("LessOrEqual", SameBinary("LessEqual"));
KILN_REGISTER_ONNX_OP("Greater", SameBinary("Greater"));
KILN_REGISTER_ONNX_OP("GreaterOrEqual", SameBinary("GreaterEqual"));
KILN_REGISTER_ONNX_OP("And", SameBinary("LogicalAnd"));
KILN_REGISTER_ONNX_OP("Or", SameBinary("LogicalOr"));
KILN_REGISTER_ONNX_OP("Xor", Xor);
KILN_REGISTER_ONNX_OP("Sum", Variadic("AddV2"));
KILN_REGISTER_ONNX_OP("Mean", Variadic("AddV2", true));
KILN_REGISTER_ONNX_OP("Max", Variadic("Maximum"));
KILN_REGISTER_ONNX_OP("Min", Variadic("Minimum"));
KILN_REGISTER_ONNX_OP("Where", Where);

KILN_REGISTER_ONNX_OP("Identity", Identity);
KILN_REGISTER_ONNX_OP("Dropout", Dropout);
KILN_REGISTER_ONNX_OP("Cast", Cast);
KILN_REGISTER_ONNX_OP("CastLike", CastLike);
KILN_REGISTER_ONNX_OP("Clip", Clip);
KILN_REGISTER_ONNX_OP("Constant", Constant);

KILN_REGISTER_ONNX_OP("HardSigmoid", HardSigmoid);
KILN_REGISTER_ONNX_OP("HardSwish", HardSwish);
KILN_REGISTER_ONNX_OP("LeakyRelu", LeakyRelu);
KILN_REGISTER_ONNX_OP("PRelu", PRelu);
KILN_REGISTER_ONNX_OP("Elu", Elu);
KILN_REGISTER_ONNX_OP("Selu", Selu);
KILN_REGISTER_ONNX_OP("Celu", Celu);
KILN_REGISTER_ONNX_OP("ThresholdedRelu", ThresholdedRelu);
KILN_REGISTER_ONNX_OP("Mish", Mish);
KILN_REGISTER_ONNX_OP("Gelu", Gelu);

}  // namespace kiln::onnx
