// ONNX reductions (Reduce*, axes as attribute before opset 18 and as input after, except
// ReduceSum whose axes became an input in 13) and ArgMax/ArgMin.
#include "frontends/onnx/ops/common.h"

namespace kiln::onnx {
namespace {

using ir::ValueRef;

enum class Pre { kNone, kAbs, kSquare, kExp };
enum class Post { kNone, kSqrt, kLog };

struct ReduceSpec {
  std::string op;  // the TensorFlow reduction
  Pre pre = Pre::kNone;
  Post post = Post::kNone;
};

StatusOr<ValueRef> ApplyReduce(ConvertContext& ctx, const ReduceSpec& spec, ValueRef x, ValueRef axes, bool keep_dims) {
  if (ctx.dtype(x) == DType::kBool && (spec.op == "Max" || spec.op == "Min") && spec.pre == Pre::kNone) {
    // The largest of bools is their disjunction, the smallest their conjunction.
    return ctx.Op(spec.op == "Max" ? "Any" : "All", {x, axes},
                  Attrs({{"Tidx", ctx.dtype(axes)}, {"keep_dims", keep_dims}}));
  }
  if (spec.pre != Pre::kNone) {
    KILN_ASSIGN_OR_RETURN(x, Unary(ctx,
                                   spec.pre == Pre::kAbs      ? "Abs"
                                   : spec.pre == Pre::kSquare ? "Square"
                                                              : "Exp",
                                   x));
  }
  KILN_ASSIGN_OR_RETURN(
      ValueRef y,
      ctx.Op(spec.op, {x, axes}, Attrs({{"T", ctx.dtype(x)}, {"Tidx", ctx.dtype(axes)}, {"keep_dims", keep_dims}})));
  if (spec.post != Post::kNone) {
    KILN_ASSIGN_OR_RETURN(y, Unary(ctx, spec.post == Post::kSqrt ? "Sqrt" : "Log", y));
  }
  return y;
}

// Axes known only at run time. TensorFlow's reductions treat empty axes as "reduce nothing",
// which is ONNX's noop_with_empty_axes=1; otherwise empty axes mean all of them, so
// range(rank * (size(axes) == 0)) is appended: empty unless the axes are.
StatusOr<ValueRef> RuntimeAxes(ConvertContext& ctx, ValueRef x, ValueRef axes, bool noop_empty) {
  KILN_ASSIGN_OR_RETURN(axes, CastTo(ctx, axes, DType::kInt64));
  if (noop_empty) return axes;
  KILN_ASSIGN_OR_RETURN(ValueRef n, ctx.Op("Size", {axes}, Attrs({{"T", DType::kInt64}, {"out_type", DType::kInt64}})));
  KILN_ASSIGN_OR_RETURN(ValueRef empty, Binary(ctx, "Equal", n, ctx.Int64Scalar(0)));
  KILN_ASSIGN_OR_RETURN(empty, CastTo(ctx, empty, DType::kInt64));
  KILN_ASSIGN_OR_RETURN(ValueRef rank, ctx.Op("Rank", {x}, Attrs({{"T", ctx.dtype(x)}})));
  KILN_ASSIGN_OR_RETURN(rank, CastTo(ctx, rank, DType::kInt64));
  KILN_ASSIGN_OR_RETURN(ValueRef limit, Binary(ctx, "Mul", rank, empty));
  KILN_ASSIGN_OR_RETURN(
      ValueRef all, ctx.Op("Range", {ctx.Int64Scalar(0), limit, ctx.Int64Scalar(1)}, Attrs({{"Tidx", DType::kInt64}})));
  return Concat(ctx, {axes, all}, 0);
}

OpConverter ReduceOp(ReduceSpec spec) {
  return [spec](ConvertContext& ctx) -> Status {
    KILN_ASSIGN_OR_RETURN(int64_t keepdims, ctx.Int("keepdims", 1));
    KILN_ASSIGN_OR_RETURN(int64_t noop_empty, ctx.Int("noop_with_empty_axes", 0));
    const bool axes_as_input = ctx.op_type() == "ReduceSum" || ctx.opset() >= 18;
    std::vector<int64_t> axes;
    if (axes_as_input && ctx.has_input(1) && ctx.constant(ctx.input(1)) == nullptr) {
      KILN_ASSIGN_OR_RETURN(ValueRef runtime_axes, RuntimeAxes(ctx, ctx.input(0), ctx.input(1), noop_empty != 0));
      KILN_ASSIGN_OR_RETURN(ValueRef y, ApplyReduce(ctx, spec, ctx.input(0), runtime_axes, keepdims != 0));
      ctx.SetOutput(0, y);
      return OkStatus();
    }
    if (axes_as_input) {
      if (ctx.has_input(1)) {
        KILN_ASSIGN_OR_RETURN(axes, ctx.ConstantInts(1, "axes"));
      }
    } else {
      KILN_ASSIGN_OR_RETURN(axes, ctx.Ints("axes", std::vector<int64_t>{}));
    }
    ValueRef x = ctx.input(0);
    if (axes.empty() && noop_empty) {
      KILN_ASSIGN_OR_RETURN(ValueRef y, Unary(ctx, "Identity", x));
      ctx.SetOutput(0, y);
      return OkStatus();
    }
    if (axes.empty()) {
      KILN_ASSIGN_OR_RETURN(int rank, KnownRank(ctx, x, "input"));
      for (int i = 0; i < rank; ++i) axes.push_back(i);
    }
    KILN_ASSIGN_OR_RETURN(ValueRef y, ApplyReduce(ctx, spec, x, ctx.Ints(axes), keepdims != 0));
    ctx.SetOutput(0, y);
    return OkStatus();
  };
}

OpConverter ArgOp(std::string op) {
  return [op](ConvertContext& ctx) -> Status {
    KILN_ASSIGN_OR_RETURN(int64_t axis_attr, ctx.Int("axis", 0));
    KILN_ASSIGN_OR_RETURN(int64_t keepdims, ctx.Int("keepdims", 1));
    KILN_ASSIGN_OR_RETURN(int64_t last, ctx.Int("select_last_index", 0));
    ValueRef x = ctx.input(0);
    KILN_ASSIGN_OR_RETURN(int rank, KnownRank(ctx, x, "input"));
    KILN_ASSIGN_OR_RETURN(int axis, NormalizeAxis(axis_attr, rank));
    const DType t = ctx.dtype(x);
    if (last) {
      // The last extreme is the first one of the reversed axis.
      KILN_ASSIGN_OR_RETURN(x, ctx.Op("ReverseV2", {x, ctx.Ints({axis})}, Attrs({{"T", t}, {"Tidx", DType::kInt64}})));
    }
    KILN_ASSIGN_OR_RETURN(ValueRef y,
                          ctx.Op(op, {x, ctx.Int64Scalar(axis)},
                                 Attrs({{"T", t}, {"Tidx", DType::kInt64}, {"output_type", DType::kInt64}})));
    if (last) {
      KILN_ASSIGN_OR_RETURN(ValueRef dim, DimOf(ctx, x, axis));
      KILN_ASSIGN_OR_RETURN(dim, Binary(ctx, "Sub", dim, ctx.Int64Scalar(1)));
      KILN_ASSIGN_OR_RETURN(y, Binary(ctx, "Sub", dim, y));
    }
    if (keepdims) {
      KILN_ASSIGN_OR_RETURN(y, ExpandDims(ctx, y, axis));
    }
    ctx.SetOutput(0, y);
    return OkStatus();
  };
}

}  // namespace

KILN_REGISTER_ONNX_OP("ReduceSum", ReduceOp({"Sum"}));
KILN_REGISTER_ONNX_OP("ReduceMean", ReduceOp({"Mean"}));
KILN_REGISTER_ONNX_OP("ReduceMax", ReduceOp({"Max"}));
KILN_REGISTER_ONNX_OP("ReduceMin", ReduceOp({"Min"}));
KILN_REGISTER_ONNX_OP("ReduceProd", ReduceOp({"Prod"}));
KILN_REGISTER_ONNX_OP("ReduceL1", ReduceOp({"Sum", Pre::kAbs}));
KILN_REGISTER_ONNX_OP("ReduceL2", ReduceOp({"Sum", Pre::kSquare, Post::kSqrt}));
KILN_REGISTER_ONNX_OP("ReduceSumSquare", ReduceOp({"Sum", Pre::kSquare}));
KILN_REGISTER_ONNX_OP("ReduceLogSum", ReduceOp({"Sum", Pre::kNone, Post::kLog}));
KILN_REGISTER_ONNX_OP("ReduceLogSumExp", ReduceOp({"Sum", Pre::kExp, Post::kLog}));
KILN_REGISTER_ONNX_OP("ArgMax", ArgOp("ArgMax"));
KILN_REGISTER_ONNX_OP("ArgMin", ArgOp("ArgMin"));

}  // namespace kiln::onnx
