// Normalization ONNX ops beyond those in nn.cc: LpNormalization, MeanVarianceNormalization,
// GroupNormalization, RMSNormalization and LRN, each a composite of reductions and elementwise ops.
#include <limits>

#include "frontends/onnx/ops/common.h"

namespace kiln::onnx {
namespace {

using ir::ValueRef;

Status LpNormalization(ConvertContext& ctx) {
  KILN_ASSIGN_OR_RETURN(int64_t axis_attr, ctx.Int("axis", -1));
  KILN_ASSIGN_OR_RETURN(int64_t p, ctx.Int("p", 2));
  const ValueRef x = ctx.input(0);
  KILN_ASSIGN_OR_RETURN(int rank, KnownRank(ctx, x, "input"));
  KILN_ASSIGN_OR_RETURN(int axis, NormalizeAxis(axis_attr, rank));
  ValueRef norm;
  if (p == 1) {
    KILN_ASSIGN_OR_RETURN(norm, Unary(ctx, "Abs", x));
    KILN_ASSIGN_OR_RETURN(norm, Reduce(ctx, "Sum", norm, {axis}, true));
  } else if (p == 2) {
    KILN_ASSIGN_OR_RETURN(norm, Binary(ctx, "Mul", x, x));
    KILN_ASSIGN_OR_RETURN(norm, Reduce(ctx, "Sum", norm, {axis}, true));
    KILN_ASSIGN_OR_RETURN(norm, Unary(ctx, "Sqrt", norm));
  } else {
    return InvalidArgument("p must be 1 or 2, got " + std::to_string(p));
  }
  // A zero norm gives 0, as ONNX's reference computes it.
  KILN_ASSIGN_OR_RETURN(ValueRef y, Binary(ctx, "DivNoNan", x, norm));
  ctx.SetOutput(0, y);
  return OkStatus();
}

// As ONNX's function body: (x - E[x]) / (sqrt(E[x^2] - E[x]^2) + 1e-9).
Status MeanVarianceNormalization(ConvertContext& ctx) {
  KILN_ASSIGN_OR_RETURN(auto axes_attr, ctx.Ints("axes", std::vector<int64_t>{0, 2, 3}));
  const ValueRef x = ctx.input(0);
  const DType t = ctx.dtype(x);
  KILN_ASSIGN_OR_RETURN(int rank, KnownRank(ctx, x, "input"));
  std::vector<int64_t> axes;
  for (int64_t a : axes_attr) {
    KILN_ASSIGN_OR_RETURN(int n, NormalizeAxis(a, rank, "axes entry"));
    axes.push_back(n);
  }
  KILN_ASSIGN_OR_RETURN(ValueRef mean, Reduce(ctx, "Mean", x, axes, true));
  KILN_ASSIGN_OR_RETURN(ValueRef mean_sq, Binary(ctx, "Mul", mean, mean));
  KILN_ASSIGN_OR_RETURN(ValueRef sq, Binary(ctx, "Mul", x, x));
  KILN_ASSIGN_OR_RETURN(sq, Reduce(ctx, "Mean", sq, axes, true));
  KILN_ASSIGN_OR_RETURN(ValueRef std_dev, Binary(ctx, "Sub", sq, mean_sq));
  KILN_ASSIGN_OR_RETURN(std_dev, Unary(ctx, "Sqrt", std_dev));
  KILN_ASSIGN_OR_RETURN(std_dev, Binary(ctx, "AddV2", std_dev, ctx.ScalarOf(t, 1e-9)));
  KILN_ASSIGN_OR_RETURN(ValueRef d, Binary(ctx, "Sub", x, mean));
  KILN_ASSIGN_OR_RETURN(ValueRef y, Binary(ctx, "RealDiv", d, std_dev));
  ctx.SetOutput(0, y);
  return OkStatus();
}

// (x - mean) / sqrt(var + eps) over `axes`.
StatusOr<ValueRef> Standardize(ConvertContext& ctx, ValueRef x, const std::vector<int64_t>& axes, float eps) {
  KILN_ASSIGN_OR_RETURN(ValueRef mean, Reduce(ctx, "Mean", x, axes, true));
  KILN_ASSIGN_OR_RETURN(ValueRef d, Binary(ctx, "Sub", x, mean));
  KILN_ASSIGN_OR_RETURN(ValueRef var, Binary(ctx, "Mul", d, d));
  KILN_ASSIGN_OR_RETURN(var, Reduce(ctx, "Mean", var, axes, true));
  KILN_ASSIGN_OR_RETURN(var, Binary(ctx, "AddV2", var, ctx.ScalarOf(ctx.dtype(x), eps)));
  KILN_ASSIGN_OR_RETURN(ValueRef inv_std, Unary(ctx, "Rsqrt", var));
  return Binary(ctx, "Mul", d, inv_std);
}

// x [N, C, ...] viewed as [N, G, C/G * ...] and standardized per group. Opset 21 applies scale and
// bias per channel; opset 18 per group.
Status GroupNormalization(ConvertContext& ctx) {
  KILN_ASSIGN_OR_RETURN(int64_t groups, ctx.Int("num_groups"));
  KILN_ASSIGN_OR_RETURN(float eps, ctx.Float("epsilon", 1e-5f));
  KILN_ASSIGN_OR_RETURN(int64_t stash, ctx.Int("stash_type", 1));
  const ValueRef x = ctx.input(0);
  const DType t = ctx.dtype(x);
  KILN_ASSIGN_OR_RETURN(int rank, KnownRank(ctx, x, "input"));
  if (rank < 2) return InvalidArgument("input must have rank >= 2");
  if (groups <= 0) return InvalidArgument("num_groups must be positive");
  const DType compute = stash == 1 ? DType::kFloat32 : t;
  KILN_ASSIGN_OR_RETURN(ValueRef xc, CastTo(ctx, x, compute));
  KILN_ASSIGN_OR_RETURN(ValueRef g, ctx.Op("OnnxReshape", {xc, ctx.Ints({0, groups, -1})},
                                           Attrs({{"T", compute}, {"allowzero", int64_t{0}}})));
  KILN_ASSIGN_OR_RETURN(g, Standardize(ctx, g, {2}, eps));
  KILN_ASSIGN_OR_RETURN(g, CastTo(ctx, g, t));
  const bool per_group = ctx.opset() < 21;
  if (per_group) {
    KILN_ASSIGN_OR_RETURN(ValueRef scale, ChannelVector(ctx, ctx.input(1), 3));
    KILN_ASSIGN_OR_RETURN(ValueRef bias, ChannelVector(ctx, ctx.input(2), 3));
    KILN_ASSIGN_OR_RETURN(g, Binary(ctx, "Mul", g, scale));
    KILN_ASSIGN_OR_RETURN(g, Binary(ctx, "AddV2", g, bias));
  }
  KILN_ASSIGN_OR_RETURN(ValueRef shape, ShapeOf(ctx, x));
  KILN_ASSIGN_OR_RETURN(ValueRef y, ctx.Op("Reshape", {g, shape}, Attrs({{"T", t}, {"Tshape", DType::kInt64}})));
  if (!per_group) {
    KILN_ASSIGN_OR_RETURN(ValueRef scale, ChannelVector(ctx, ctx.input(1), rank));
    KILN_ASSIGN_OR_RETURN(ValueRef bias, ChannelVector(ctx, ctx.input(2), rank));
    KILN_ASSIGN_OR_RETURN(y, Binary(ctx, "Mul", y, scale));
    KILN_ASSIGN_OR_RETURN(y, Binary(ctx, "AddV2", y, bias));
  }
  ctx.SetOutput(0, y);
  return OkStatus();
}

// x / sqrt(mean(x^2 over axis..) + eps) * scale; the output takes scale's dtype.
Status RMSNormalization(ConvertContext& ctx) {
  KILN_ASSIGN_OR_RETURN(int64_t axis_attr, ctx.Int("axis", -1));
  KILN_ASSIGN_OR_RETURN(float eps, ctx.Float("epsilon", 1e-5f));
  KILN_ASSIGN_OR_RETURN(int64_t stash, ctx.Int("stash_type", 1));
  const ValueRef x = ctx.input(0), scale = ctx.input(1);
  KILN_ASSIGN_OR_RETURN(int rank, KnownRank(ctx, x, "input"));
  KILN_ASSIGN_OR_RETURN(int axis, NormalizeAxis(axis_attr, rank));
  std::vector<int64_t> axes;
  for (int i = axis; i < rank; ++i) axes.push_back(i);
  const DType compute = stash == 1 ? DType::kFloat32 : ctx.dtype(x);
  KILN_ASSIGN_OR_RETURN(ValueRef xc, CastTo(ctx, x, compute));
  KILN_ASSIGN_OR_RETURN(ValueRef ms, Binary(ctx, "Mul", xc, xc));
  KILN_ASSIGN_OR_RETURN(ms, Reduce(ctx, "Mean", ms, axes, true));
  KILN_ASSIGN_OR_RETURN(ms, Binary(ctx, "AddV2", ms, ctx.ScalarOf(compute, eps)));
  KILN_ASSIGN_OR_RETURN(ms, Unary(ctx, "Sqrt", ms));
  KILN_ASSIGN_OR_RETURN(ValueRef y, Binary(ctx, "RealDiv", xc, ms));
  KILN_ASSIGN_OR_RETURN(y, CastTo(ctx, y, ctx.dtype(scale)));
  KILN_ASSIGN_OR_RETURN(y, Binary(ctx, "Mul", y, scale));
  ctx.SetOutput(0, y);
  return OkStatus();
}

// x / (bias + alpha / size * square_sum)^beta, square_sum over a window of `size` channels
// [c - floor((size-1)/2), c + ceil((size-1)/2)]: the sum of `size` shifted slices of padded x^2.
Status LRN(ConvertContext& ctx) {
  KILN_ASSIGN_OR_RETURN(float alpha, ctx.Float("alpha", 1e-4f));
  KILN_ASSIGN_OR_RETURN(float beta, ctx.Float("beta", 0.75f));
  KILN_ASSIGN_OR_RETURN(float bias, ctx.Float("bias", 1.0f));
  KILN_ASSIGN_OR_RETURN(int64_t size, ctx.Int("size"));
  const ValueRef x = ctx.input(0);
  const DType t = ctx.dtype(x);
  KILN_ASSIGN_OR_RETURN(int rank, KnownRank(ctx, x, "input"));
  if (rank < 3) return InvalidArgument("input must have rank >= 3");
  if (size <= 0) return InvalidArgument("size must be positive");
  // The window is summed as one slice per position: a size past any real model's is refused.
  constexpr int64_t kMaxSize = 4096;
  if (size > kMaxSize) return InvalidArgument("size " + std::to_string(size) + " is past kiln's bound of 4096");
  const int64_t before = (size - 1) / 2, after = size - 1 - before;
  std::vector<int64_t> paddings(2 * static_cast<size_t>(rank), 0);
  paddings[2] = before;
  paddings[3] = after;
  KILN_ASSIGN_OR_RETURN(ValueRef sq, Binary(ctx, "Mul", x, x));
  KILN_ASSIGN_OR_RETURN(
      sq, ctx.Op("PadV2", {sq, ctx.Const(Tensor::FromVector<int64_t>({rank, 2}, paddings)), ctx.ScalarOf(t, 0)},
                 Attrs({{"T", t}, {"Tpaddings", DType::kInt64}})));
  ValueRef sum;
  for (int64_t i = 0; i < size; ++i) {
    const int64_t end = i == size - 1 ? std::numeric_limits<int64_t>::max() : i - (size - 1);
    KILN_ASSIGN_OR_RETURN(
        ValueRef part,
        ctx.Op("OnnxSlice", {sq, ctx.Ints({i}), ctx.Ints({end}), ctx.Ints({1}), ctx.Empty()}, Attrs({{"T", t}})));
    if (i == 0) {
      sum = part;
    } else {
      KILN_ASSIGN_OR_RETURN(sum, Binary(ctx, "AddV2", sum, part));
    }
  }
  KILN_ASSIGN_OR_RETURN(ValueRef d, Binary(ctx, "Mul", sum, ctx.ScalarOf(t, static_cast<double>(alpha) / size)));
  KILN_ASSIGN_OR_RETURN(d, Binary(ctx, "AddV2", d, ctx.ScalarOf(t, bias)));
  KILN_ASSIGN_OR_RETURN(d, Binary(ctx, "Pow", d, ctx.ScalarOf(t, beta)));
  KILN_ASSIGN_OR_RETURN(ValueRef y, Binary(ctx, "RealDiv", x, d));
  ctx.SetOutput(0, y);
  return OkStatus();
}

}  // namespace

KILN_REGISTER_ONNX_OP("LpNormalization", LpNormalization);
KILN_REGISTER_ONNX_OP("MeanVarianceNormalization", MeanVarianceNormalization);
KILN_REGISTER_ONNX_OP("GroupNormalization", GroupNormalization);
KILN_REGISTER_ONNX_OP("RMSNormalization", RMSNormalization);
KILN_REGISTER_ONNX_OP("LRN", LRN);

}  // namespace kiln::onnx
