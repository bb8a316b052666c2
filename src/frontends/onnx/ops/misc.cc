// Assorted ONNX ops built from existing IR ops: CumSum, CumProd, Hardmax, Swish, SwiGLU, Shrink,
// EyeLike, NonZero, Compress, ReverseSequence.
#include "frontends/onnx/onnx_tensor.h"
#include "frontends/onnx/ops/common.h"

namespace kiln::onnx {
namespace {

using ir::ValueRef;

// CumSum / CumProd: TensorFlow's Cumsum / Cumprod have the same attributes.
OpConverter Cumulative(std::string op) {
  return [op](ConvertContext& ctx) -> Status {
    KILN_ASSIGN_OR_RETURN(int64_t exclusive, ctx.Int("exclusive", 0));
    KILN_ASSIGN_OR_RETURN(int64_t reverse, ctx.Int("reverse", 0));
    KILN_ASSIGN_OR_RETURN(ValueRef y, ctx.Op(op, {ctx.input(0), ctx.input(1)},
                                             Attrs({{"T", ctx.dtype(ctx.input(0))},
                                                    {"Tidx", ctx.dtype(ctx.input(1))},
                                                    {"exclusive", exclusive != 0},
                                                    {"reverse", reverse != 0}})));
    ctx.SetOutput(0, y);
    return OkStatus();
  };
}

// 1 at the first maximum along `axis`, 0 elsewhere: OneHot(ArgMax(x)).
Status Hardmax(ConvertContext& ctx) {
  KILN_ASSIGN_OR_RETURN(int64_t axis_attr, ctx.Int("axis", -1));
  const ValueRef x = ctx.input(0);
  const DType t = ctx.dtype(x);
  KILN_ASSIGN_OR_RETURN(int rank, KnownRank(ctx, x, "input"));
  if (rank == 0) return InvalidArgument("input must have rank >= 1");
  KILN_ASSIGN_OR_RETURN(int axis, NormalizeAxis(axis_attr, rank));
  KILN_ASSIGN_OR_RETURN(ValueRef idx,
                        ctx.Op("ArgMax", {x, ctx.Int64Scalar(axis)},
                               Attrs({{"T", t}, {"Tidx", DType::kInt64}, {"output_type", DType::kInt64}})));
  KILN_ASSIGN_OR_RETURN(ValueRef depth, DimOf(ctx, x, axis));
  KILN_ASSIGN_OR_RETURN(depth, CastTo(ctx, depth, DType::kInt32));
  KILN_ASSIGN_OR_RETURN(ValueRef y, ctx.Op("OneHot", {idx, depth, ctx.ScalarOf(t, 1), ctx.ScalarOf(t, 0)},
                                           Attrs({{"T", t}, {"TI", DType::kInt64}, {"axis", int64_t{axis}}})));
  ctx.SetOutput(0, y);
  return OkStatus();
}

// x * sigmoid(alpha * x)
StatusOr<ValueRef> SwishOf(ConvertContext& ctx, ValueRef x, float alpha) {
  ValueRef s = x;
  if (alpha != 1.0f) {
    KILN_ASSIGN_OR_RETURN(s, Binary(ctx, "Mul", x, ctx.ScalarOf(ctx.dtype(x), alpha)));
  }
  KILN_ASSIGN_OR_RETURN(s, Unary(ctx, "Sigmoid", s));
  return Binary(ctx, "Mul", x, s);
}

Status Swish(ConvertContext& ctx) {
  KILN_ASSIGN_OR_RETURN(float alpha, ctx.Float("alpha", 1.0f));
  KILN_ASSIGN_OR_RETURN(ValueRef y, SwishOf(ctx, ctx.input(0), alpha));
  ctx.SetOutput(0, y);
  return OkStatus();
}

// Swish(A) * B
Status SwiGLU(ConvertContext& ctx) {
  KILN_ASSIGN_OR_RETURN(float alpha, ctx.Float("alpha", 1.0f));
  KILN_ASSIGN_OR_RETURN(ValueRef y, SwishOf(ctx, ctx.input(0), alpha));
  KILN_ASSIGN_OR_RETURN(y, Binary(ctx, "Mul", y, ctx.input(1)));
  ctx.SetOutput(0, y);
  return OkStatus();
}

// x + bias where x < -lambd, x - bias where x > lambd, else 0.
Status Shrink(ConvertContext& ctx) {
  KILN_ASSIGN_OR_RETURN(float bias, ctx.Float("bias", 0.0f));
  KILN_ASSIGN_OR_RETURN(float lambd, ctx.Float("lambd", 0.5f));
  const ValueRef x = ctx.input(0);
  const DType t = ctx.dtype(x);
  KILN_ASSIGN_OR_RETURN(ValueRef low, Binary(ctx, "Less", x, ctx.ScalarOf(t, -lambd)));
  KILN_ASSIGN_OR_RETURN(ValueRef high, Binary(ctx, "Greater", x, ctx.ScalarOf(t, lambd)));
  KILN_ASSIGN_OR_RETURN(ValueRef plus, Binary(ctx, "AddV2", x, ctx.ScalarOf(t, bias)));
  KILN_ASSIGN_OR_RETURN(ValueRef minus, Binary(ctx, "Sub", x, ctx.ScalarOf(t, bias)));
  KILN_ASSIGN_OR_RETURN(ValueRef zeros, Unary(ctx, "ZerosLike", x));
  KILN_ASSIGN_OR_RETURN(ValueRef y, Select(ctx, high, minus, zeros));
  KILN_ASSIGN_OR_RETURN(y, Select(ctx, low, plus, y));
  ctx.SetOutput(0, y);
  return OkStatus();
}

// Ones where col - row == k on a 2-D input's shape.
Status EyeLike(ConvertContext& ctx) {
  KILN_ASSIGN_OR_RETURN(int64_t k, ctx.Int("k", 0));
  const ValueRef x = ctx.input(0);
  DType dst = ctx.dtype(x);
  if (ctx.has_attr("dtype")) {
    KILN_ASSIGN_OR_RETURN(int64_t d, ctx.Int("dtype"));
    KILN_ASSIGN_OR_RETURN(dst, DTypeFromOnnx(static_cast<int>(d)));
  }
  if (dst == DType::kString) return ctx.Unsupported("string output");
  KILN_ASSIGN_OR_RETURN(int rank, KnownRank(ctx, x, "input"));
  if (rank != 2) return InvalidArgument("input must have rank 2, got " + ctx.shape(x).ToString());
  KILN_ASSIGN_OR_RETURN(ValueRef rows, DimOf(ctx, x, 0));
  KILN_ASSIGN_OR_RETURN(ValueRef cols, DimOf(ctx, x, 1));
  KILN_ASSIGN_OR_RETURN(rows, Iota(ctx, rows));
  KILN_ASSIGN_OR_RETURN(cols, Iota(ctx, cols));
  KILN_ASSIGN_OR_RETURN(rows, ExpandDims(ctx, rows, 1));
  KILN_ASSIGN_OR_RETURN(ValueRef diag, Binary(ctx, "Sub", cols, rows));
  KILN_ASSIGN_OR_RETURN(ValueRef on, Binary(ctx, "Equal", diag, ctx.Int64Scalar(k)));
  KILN_ASSIGN_OR_RETURN(ValueRef y, CastTo(ctx, on, dst));
  ctx.SetOutput(0, y);
  return OkStatus();
}

// The [n, 1] coordinates of the true entries of a 1-D condition, flattened to [n].
StatusOr<ValueRef> TrueIndices1D(ConvertContext& ctx, ValueRef cond) {
  KILN_ASSIGN_OR_RETURN(ValueRef idx, ctx.Op("Where", {cond}, Attrs({{"T", ctx.dtype(cond)}})));
  return ctx.Op("Reshape", {idx, ctx.Ints({-1})}, Attrs({{"T", DType::kInt64}, {"Tshape", DType::kInt64}}));
}

// IR's Where gives [n, rank] coordinates; ONNX wants [rank, n].
Status NonZero(ConvertContext& ctx) {
  const ValueRef x = ctx.input(0);
  KILN_ASSIGN_OR_RETURN(int rank, KnownRank(ctx, x, "input"));
  if (rank == 0) return ctx.Unsupported("a scalar input");
  if (ctx.dtype(x) == DType::kString) return ctx.Unsupported("string tensors");
  KILN_ASSIGN_OR_RETURN(ValueRef idx, ctx.Op("Where", {x}, Attrs({{"T", ctx.dtype(x)}})));
  KILN_ASSIGN_OR_RETURN(ValueRef y, Transpose(ctx, idx, {1, 0}));
  ctx.SetOutput(0, y);
  return OkStatus();
}

// Gathers the slices along `axis` (of the flattened input without it) where condition is true.
Status Compress(ConvertContext& ctx) {
  ValueRef x = ctx.input(0);
  const ValueRef cond = ctx.input(1);
  if (ctx.rank(cond) > 1) return InvalidArgument("condition must be 1-D, got " + ctx.shape(cond).ToString());
  int axis = 0;
  if (ctx.has_attr("axis")) {
    KILN_ASSIGN_OR_RETURN(int64_t axis_attr, ctx.Int("axis"));
    KILN_ASSIGN_OR_RETURN(int rank, KnownRank(ctx, x, "input"));
    KILN_ASSIGN_OR_RETURN(axis, NormalizeAxis(axis_attr, rank));
  } else {
    KILN_ASSIGN_OR_RETURN(
        x, ctx.Op("Reshape", {x, ctx.Ints({-1})}, Attrs({{"T", ctx.dtype(x)}, {"Tshape", DType::kInt64}})));
  }
  KILN_ASSIGN_OR_RETURN(ValueRef idx, TrueIndices1D(ctx, cond));
  KILN_ASSIGN_OR_RETURN(
      ValueRef y, ctx.Op("GatherV2", {x, idx, ctx.Int64Scalar(axis)},
                         Attrs({{"Tparams", ctx.dtype(x)}, {"Tindices", DType::kInt64}, {"Taxis", DType::kInt64}})));
  ctx.SetOutput(0, y);
  return OkStatus();
}

// Along time_axis, index t < len[b] reads len[b] - 1 - t, other indices read themselves.
Status ReverseSequence(ConvertContext& ctx) {
  KILN_ASSIGN_OR_RETURN(int64_t batch_axis, ctx.Int("batch_axis", 1));
  KILN_ASSIGN_OR_RETURN(int64_t time_axis, ctx.Int("time_axis", 0));
  if (!((batch_axis == 0 && time_axis == 1) || (batch_axis == 1 && time_axis == 0))) {
    return InvalidArgument("batch_axis and time_axis must be 0 and 1 in some order");
  }
  const ValueRef x = ctx.input(0);
  KILN_ASSIGN_OR_RETURN(int rank, KnownRank(ctx, x, "input"));
  if (rank < 2) return InvalidArgument("input must have rank >= 2");
  KILN_ASSIGN_OR_RETURN(ValueRef lens, CastTo(ctx, ctx.input(1), DType::kInt64));
  KILN_ASSIGN_OR_RETURN(ValueRef steps, DimOf(ctx, x, static_cast<int>(time_axis)));
  KILN_ASSIGN_OR_RETURN(ValueRef t, Iota(ctx, steps));
  // Index grid laid out [time, batch] or [batch, time] as the input's first two dims.
  if (time_axis == 0) {
    KILN_ASSIGN_OR_RETURN(t, ExpandDims(ctx, t, 1));
  } else {
    KILN_ASSIGN_OR_RETURN(lens, ExpandDims(ctx, lens, 1));
  }
  KILN_ASSIGN_OR_RETURN(ValueRef inside, Binary(ctx, "Less", t, lens));
  KILN_ASSIGN_OR_RETURN(ValueRef rev, Binary(ctx, "Sub", lens, ctx.Int64Scalar(1)));
  KILN_ASSIGN_OR_RETURN(rev, Binary(ctx, "Sub", rev, t));
  KILN_ASSIGN_OR_RETURN(ValueRef grid, ShapeOf(ctx, rev));
  KILN_ASSIGN_OR_RETURN(ValueRef t_full,
                        ctx.Op("BroadcastTo", {t, grid}, Attrs({{"T", DType::kInt64}, {"Tidx", DType::kInt64}})));
  KILN_ASSIGN_OR_RETURN(ValueRef idx, Select(ctx, inside, rev, t_full));
  for (int i = 2; i < rank; ++i) {
    KILN_ASSIGN_OR_RETURN(idx, ExpandDims(ctx, idx, -1));
  }
  KILN_ASSIGN_OR_RETURN(ValueRef shape, ShapeOf(ctx, x));
  KILN_ASSIGN_OR_RETURN(idx,
                        ctx.Op("BroadcastTo", {idx, shape}, Attrs({{"T", DType::kInt64}, {"Tidx", DType::kInt64}})));
  KILN_ASSIGN_OR_RETURN(ValueRef y,
                        ctx.Op("GatherElements", {x, idx}, Attrs({{"T", ctx.dtype(x)}, {"axis", time_axis}})));
  ctx.SetOutput(0, y);
  return OkStatus();
}

}  // namespace

KILN_REGISTER_ONNX_OP("CumSum", Cumulative("Cumsum"));
KILN_REGISTER_ONNX_OP("CumProd", Cumulative("Cumprod"));
KILN_REGISTER_ONNX_OP("Hardmax", Hardmax);
KILN_REGISTER_ONNX_OP("Swish", Swish);
KILN_REGISTER_ONNX_OP("SwiGLU", SwiGLU);
KILN_REGISTER_ONNX_OP("Shrink", Shrink);
KILN_REGISTER_ONNX_OP("EyeLike", EyeLike);
KILN_REGISTER_ONNX_OP("NonZero", NonZero);
KILN_REGISTER_ONNX_OP("Compress", Compress);
KILN_REGISTER_ONNX_OP("ReverseSequence", ReverseSequence);

}  // namespace kiln::onnx
