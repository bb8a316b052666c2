// Shape and data-movement ONNX ops: Shape, Size, Reshape, Flatten, Squeeze, Unsqueeze,
// Concat, Split, Transpose, Expand, Tile, Pad, Slice, Gather*, Scatter*, ConstantOfShape,
// Range, Trilu, DepthToSpace/SpaceToDepth, OneHot, TopK, Resize.
#include <algorithm>
#include <limits>

#include "frontends/onnx/ops/common.h"

namespace kiln::onnx {
namespace {

using ir::ValueRef;

constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();

Status Shape(ConvertContext& ctx) {
  KILN_ASSIGN_OR_RETURN(ValueRef s, ShapeOf(ctx, ctx.input(0)));
  if (ctx.has_attr("start") || ctx.has_attr("end")) {
    // start/end clamp exactly as Slice's do.
    KILN_ASSIGN_OR_RETURN(int64_t start, ctx.Int("start", 0));
    KILN_ASSIGN_OR_RETURN(int64_t end, ctx.Int("end", kInt64Max));
    KILN_ASSIGN_OR_RETURN(s, ctx.Op("OnnxSlice", {s, ctx.Ints({start}), ctx.Ints({end}), ctx.Ints({0}), ctx.Empty()},
                                    Attrs({{"T", DType::kInt64}})));
  }
  ctx.SetOutput(0, s);
  return OkStatus();
}

Status Size(ConvertContext& ctx) {
  KILN_ASSIGN_OR_RETURN(
      ValueRef s, ctx.Op("Size", {ctx.input(0)}, Attrs({{"T", ctx.dtype(ctx.input(0))}, {"out_type", DType::kInt64}})));
  ctx.SetOutput(0, s);
  return OkStatus();
}

Status Reshape(ConvertContext& ctx) {
  KILN_ASSIGN_OR_RETURN(int64_t allowzero, ctx.Int("allowzero", 0));
  KILN_ASSIGN_OR_RETURN(ValueRef y, ctx.Op("OnnxReshape", {ctx.input(0), ctx.input(1)},
                                           Attrs({{"T", ctx.dtype(ctx.input(0))}, {"allowzero", allowzero}})));
  ctx.SetOutput(0, y);
  return OkStatus();
}

StatusOr<ValueRef> SliceShape(ConvertContext& ctx, ValueRef shape, int64_t begin, int64_t end) {
  return ctx.Op("OnnxSlice", {shape, ctx.Ints({begin}), ctx.Ints({end}), ctx.Ints({0}), ctx.Empty()},
                Attrs({{"T", DType::kInt64}}));
}

// [prod(dims[:axis]), prod(dims[axis:])]
Status Flatten(ConvertContext& ctx) {
  KILN_ASSIGN_OR_RETURN(int64_t axis_attr, ctx.Int("axis", 1));
  const ValueRef x = ctx.input(0);
  KILN_ASSIGN_OR_RETURN(int rank, KnownRank(ctx, x, "input"));
  if (axis_attr < -rank || axis_attr > rank) {
    return InvalidArgument("axis " + std::to_string(axis_attr) + " is out of range for rank " + std::to_string(rank));
  }
  const int64_t axis = axis_attr < 0 ? axis_attr + rank : axis_attr;
  KILN_ASSIGN_OR_RETURN(ValueRef s, ShapeOf(ctx, x));
  KILN_ASSIGN_OR_RETURN(ValueRef outer, SliceShape(ctx, s, 0, axis));
  KILN_ASSIGN_OR_RETURN(ValueRef inner, SliceShape(ctx, s, axis, kInt64Max));
  KILN_ASSIGN_OR_RETURN(outer, Reduce(ctx, "Prod", outer, {0}, true));
  KILN_ASSIGN_OR_RETURN(inner, Reduce(ctx, "Prod", inner, {0}, true));
  KILN_ASSIGN_OR_RETURN(ValueRef shape, Concat(ctx, {outer, inner}, 0));
  KILN_ASSIGN_OR_RETURN(ValueRef y,
                        ctx.Op("Reshape", {x, shape}, Attrs({{"T", ctx.dtype(x)}, {"Tshape", DType::kInt64}})));
  ctx.SetOutput(0, y);
  return OkStatus();
}

// TensorFlow's limit on a tensor's dims; more axes than this is a damaged model, not a shape to build.
constexpr int64_t kMaxRank = 254;

// How many axes input 1 holds when its values are known only at run time.
StatusOr<int64_t> RuntimeAxesCount(const ConvertContext& ctx) {
  const PartialShape& axes_shape = ctx.shape(ctx.input(1));
  if (!axes_shape.rank_known || axes_shape.rank() != 1 || axes_shape.dims[0] < 0) {
    return ctx.Unsupported("axes (input 1) computed at run time, of unknown length");
  }
  if (axes_shape.dims[0] > kMaxRank) {
    return InvalidArgument("axes (input 1) holds " + std::to_string(axes_shape.dims[0]) +
                           " values; a tensor has at most " + std::to_string(kMaxRank) + " dims");
  }
  return axes_shape.dims[0];
}

// The [n, 1] positions of a rank `rank` shape that the run-time axes (input 1) do not name.
StatusOr<ValueRef> PositionsNotInAxes(ConvertContext& ctx, int64_t rank) {
  KILN_ASSIGN_OR_RETURN(int64_t count, RuntimeAxesCount(ctx));
  KILN_ASSIGN_OR_RETURN(ValueRef axes, CastTo(ctx, ctx.input(1), DType::kInt64));
  KILN_ASSIGN_OR_RETURN(ValueRef negative, Binary(ctx, "Less", axes, ctx.Int64Scalar(0)));
  KILN_ASSIGN_OR_RETURN(ValueRef wrapped, Binary(ctx, "AddV2", axes, ctx.Int64Scalar(rank)));
  KILN_ASSIGN_OR_RETURN(axes, Select(ctx, negative, wrapped, axes));
  KILN_ASSIGN_OR_RETURN(axes, ExpandDims(ctx, axes, 1));
  const ValueRef all_true = ctx.Const(Tensor::FromVector<bool>({rank}, std::vector<bool>(rank, true)));
  KILN_ASSIGN_OR_RETURN(ValueRef falses, ctx.Op("Fill", {ctx.Ints({count}), ctx.Const(Tensor::Scalar<bool>(false))},
                                                Attrs({{"T", DType::kBool}, {"index_type", DType::kInt64}})));
  KILN_ASSIGN_OR_RETURN(ValueRef kept, ctx.Op("ScatterND", {all_true, axes, falses},
                                              Attrs({{"T", DType::kBool}, {"reduction", std::string("none")}})));
  return ctx.Op("Where", {kept}, Attrs({{"T", DType::kBool}}));
}

StatusOr<ValueRef> ReshapeToValue(ConvertContext& ctx, ValueRef x, ValueRef shape) {
  return ctx.Op("Reshape", {x, shape}, Attrs({{"T", ctx.dtype(x)}, {"Tshape", DType::kInt64}}));
}

// Axes known only at run time: the input's dims the axes do not name.
Status SqueezeAtRunTime(ConvertContext& ctx, ValueRef x) {
  KILN_ASSIGN_OR_RETURN(int rank, KnownRank(ctx, x, "input"));
  KILN_ASSIGN_OR_RETURN(ValueRef kept, PositionsNotInAxes(ctx, rank));
  KILN_ASSIGN_OR_RETURN(ValueRef dims, ShapeOf(ctx, x));
  KILN_ASSIGN_OR_RETURN(ValueRef shape,
                        ctx.Op("GatherND", {dims, kept}, Attrs({{"T", DType::kInt64}, {"batch_dims", int64_t{0}}})));
  KILN_ASSIGN_OR_RETURN(ValueRef y, ReshapeToValue(ctx, x, shape));
  ctx.SetOutput(0, y);
  return OkStatus();
}

Status Squeeze(ConvertContext& ctx) {
  if (ctx.has_input(1) && ctx.constant(ctx.input(1)) == nullptr) return SqueezeAtRunTime(ctx, ctx.input(0));
  std::vector<int64_t> axes;
  if (ctx.has_input(1)) {
    KILN_ASSIGN_OR_RETURN(axes, ctx.ConstantInts(1, "axes"));
  }
  KILN_ASSIGN_OR_RETURN(
      ValueRef y, ctx.Op("Squeeze", {ctx.input(0)}, Attrs({{"T", ctx.dtype(ctx.input(0))}, {"squeeze_dims", axes}})));
  ctx.SetOutput(0, y);
  return OkStatus();
}

// Axes known only at run time: the output shape has 1 at the axes and the input's dims, in
// order, everywhere else.
Status UnsqueezeAtRunTime(ConvertContext& ctx, ValueRef x, int rank) {
  KILN_ASSIGN_OR_RETURN(int64_t count, RuntimeAxesCount(ctx));
  const int64_t out_rank = rank + count;
  KILN_ASSIGN_OR_RETURN(ValueRef kept, PositionsNotInAxes(ctx, out_rank));
  KILN_ASSIGN_OR_RETURN(ValueRef dims, ShapeOf(ctx, x));
  const ValueRef ones = ctx.Const(Tensor::FromVector<int64_t>({out_rank}, std::vector<int64_t>(out_rank, 1)));
  KILN_ASSIGN_OR_RETURN(ValueRef shape, ctx.Op("ScatterND", {ones, kept, dims},
                                               Attrs({{"T", DType::kInt64}, {"reduction", std::string("none")}})));
  KILN_ASSIGN_OR_RETURN(ValueRef y, ReshapeToValue(ctx, x, shape));
  ctx.SetOutput(0, y);
  return OkStatus();
}

Status Unsqueeze(ConvertContext& ctx) {
  const ValueRef x = ctx.input(0);
  KILN_ASSIGN_OR_RETURN(int rank, KnownRank(ctx, x, "input"));
  if (ctx.has_input(1) && ctx.constant(ctx.input(1)) == nullptr) return UnsqueezeAtRunTime(ctx, x, rank);
  KILN_ASSIGN_OR_RETURN(auto axes, ctx.ConstantInts(1, "axes"));
  const int out_rank = rank + static_cast<int>(axes.size());
  std::vector<int64_t> sorted;
  for (int64_t a : axes) {
    KILN_ASSIGN_OR_RETURN(int n, NormalizeAxis(a, out_rank, "axes entry"));
    for (int64_t s : sorted) {
      if (s == n) return InvalidArgument("axes has a repeated entry " + std::to_string(a));
    }
    sorted.push_back(n);
  }
  std::sort(sorted.begin(), sorted.end());
  ValueRef y = x;
  for (int64_t a : sorted) {
    KILN_ASSIGN_OR_RETURN(
        y, ctx.Op("ExpandDims", {y, ctx.Int64Scalar(a)}, Attrs({{"T", ctx.dtype(x)}, {"Tdim", DType::kInt64}})));
  }
  if (sorted.empty()) {
    KILN_ASSIGN_OR_RETURN(y, Unary(ctx, "Identity", x));
  }
  ctx.SetOutput(0, y);
  return OkStatus();
}

Status ConcatOp(ConvertContext& ctx) {
  KILN_ASSIGN_OR_RETURN(int64_t axis, ctx.Int("axis"));
  std::vector<ValueRef> inputs;
  for (int i = 0; i < ctx.num_inputs(); ++i) inputs.push_back(ctx.input(i));
  if (inputs.empty()) return InvalidArgument("Concat needs at least one input");
  KILN_ASSIGN_OR_RETURN(ValueRef y, Concat(ctx, inputs, axis));
  ctx.SetOutput(0, y);
  return OkStatus();
}

Status Split(ConvertContext& ctx) {
  KILN_ASSIGN_OR_RETURN(int64_t axis, ctx.Int("axis", 0));
  const ValueRef x = ctx.input(0);
  const int64_t outputs = ctx.num_outputs();
  std::vector<int64_t> sizes;
  if (ctx.has_input(1) && ctx.constant(ctx.input(1)) == nullptr) {
    // Split sizes known only at run time.
    KILN_ASSIGN_OR_RETURN(ValueRef split, CastTo(ctx, ctx.input(1), DType::kInt64));
    KILN_ASSIGN_OR_RETURN(auto parts,
                          ctx.OpN("SplitV", {x, split, ctx.Int64Scalar(axis)},
                                  Attrs({{"T", ctx.dtype(x)}, {"num_split", outputs}, {"Tlen", DType::kInt64}}),
                                  static_cast<int>(outputs)));
    for (int i = 0; i < static_cast<int>(parts.size()); ++i) ctx.SetOutput(i, parts[i]);
    return OkStatus();
  }
  if (ctx.has_input(1)) {
    KILN_ASSIGN_OR_RETURN(sizes, ctx.ConstantInts(1, "split"));
  } else {
    KILN_ASSIGN_OR_RETURN(int64_t num, ctx.Int("num_outputs", outputs));
    if (num != outputs) {
      return InvalidArgument("num_outputs is " + std::to_string(num) + " but the node has " + std::to_string(outputs) +
                             " outputs");
    }
    // Equal parts of ceil(dim / n), the last one smaller when the dim does not divide.
    const int rank = ctx.rank(x);
    const int64_t dim =
        rank > 0 && axis >= -rank && axis < rank ? ctx.shape(x).dims[axis < 0 ? axis + rank : axis] : -1;
    if (dim >= 0) {
      const int64_t part = (dim + num - 1) / num;
      for (int64_t i = 0, left = dim; i < num; ++i, left -= part)
        sizes.push_back(std::max<int64_t>(std::min(part, left), 0));
    }
  }
  std::vector<ValueRef> parts;
  if (sizes.empty()) {
    KILN_ASSIGN_OR_RETURN(
        parts, ctx.OpN("Split", {ctx.Int64Scalar(axis), x}, Attrs({{"T", ctx.dtype(x)}, {"num_split", outputs}}),
                       static_cast<int>(outputs)));
  } else {
    if (static_cast<int64_t>(sizes.size()) != outputs) {
      return InvalidArgument("split has " + std::to_string(sizes.size()) + " entries but the node has " +
                             std::to_string(outputs) + " outputs");
    }
    KILN_ASSIGN_OR_RETURN(parts, ctx.OpN("SplitV", {x, ctx.Ints(sizes), ctx.Int64Scalar(axis)},
                                         Attrs({{"T", ctx.dtype(x)}, {"num_split", outputs}, {"Tlen", DType::kInt64}}),
                                         static_cast<int>(outputs)));
  }
  for (int i = 0; i < static_cast<int>(parts.size()); ++i) ctx.SetOutput(i, parts[i]);
  return OkStatus();
}

Status TransposeOp(ConvertContext& ctx) {
  const ValueRef x = ctx.input(0);
  std::vector<int64_t> perm;
  if (ctx.has_attr("perm")) {
    KILN_ASSIGN_OR_RETURN(perm, ctx.Ints("perm"));
  } else {
    KILN_ASSIGN_OR_RETURN(int rank, KnownRank(ctx, x, "input"));
    for (int i = rank - 1; i >= 0; --i) perm.push_back(i);
  }
  KILN_ASSIGN_OR_RETURN(ValueRef y, Transpose(ctx, x, perm));
  ctx.SetOutput(0, y);
  return OkStatus();
}

// Bidirectional broadcast of x against `shape`: x broadcast to broadcast(shape(x), shape).
Status Expand(ConvertContext& ctx) {
  const ValueRef x = ctx.input(0);
  KILN_ASSIGN_OR_RETURN(ValueRef x_shape, ShapeOf(ctx, x));
  KILN_ASSIGN_OR_RETURN(ValueRef target, CastTo(ctx, ctx.input(1), DType::kInt64));
  // broadcast(a, b) of two shape vectors: the shape of zeros(a) + zeros(b).
  auto zeros = [&](ValueRef shape) {
    return ctx.Op("Fill", {shape, ctx.Const(Tensor::Scalar<int8_t>(0))},
                  Attrs({{"T", DType::kInt8}, {"index_type", DType::kInt64}}));
  };
  KILN_ASSIGN_OR_RETURN(ValueRef za, zeros(x_shape));
  KILN_ASSIGN_OR_RETURN(ValueRef zb, zeros(target));
  KILN_ASSIGN_OR_RETURN(ValueRef sum, Binary(ctx, "AddV2", za, zb));
  KILN_ASSIGN_OR_RETURN(ValueRef out_shape, ShapeOf(ctx, sum));
  KILN_ASSIGN_OR_RETURN(ValueRef y,
                        ctx.Op("BroadcastTo", {x, out_shape}, Attrs({{"T", ctx.dtype(x)}, {"Tidx", DType::kInt64}})));
  ctx.SetOutput(0, y);
  return OkStatus();
}

Status Tile(ConvertContext& ctx) {
  KILN_ASSIGN_OR_RETURN(ValueRef y,
                        ctx.Op("Tile", {ctx.input(0), ctx.input(1)},
                               Attrs({{"T", ctx.dtype(ctx.input(0))}, {"Tmultiples", ctx.dtype(ctx.input(1))}})));
  ctx.SetOutput(0, y);
  return OkStatus();
}

// Constant-mode padding with [rank, 2] paddings `p` and the node's constant_value (input 2).
Status PadWith(ConvertContext& ctx, ValueRef x, ValueRef p) {
  const DType t = ctx.dtype(x);
  ValueRef value = ctx.has_input(2) ? ctx.input(2) : ctx.ScalarOf(t, 0);
  if (ctx.rank(value) != 0) {
    KILN_ASSIGN_OR_RETURN(value,
                          ctx.Op("Reshape", {value, ctx.Ints({})}, Attrs({{"T", t}, {"Tshape", DType::kInt64}})));
  }
  KILN_ASSIGN_OR_RETURN(ValueRef y, ctx.Op("PadV2", {x, p, value}, Attrs({{"T", t}, {"Tpaddings", DType::kInt64}})));
  ctx.SetOutput(0, y);
  return OkStatus();
}

// [rank, 2] paddings ([begin, end] per dim) from ONNX's pads ([begins..., ends...] over `axes`).
// Constant pads give a constant; pads known only at run time are rearranged at run time, and
// scattered into the rows of `axes` when those are given.
StatusOr<ValueRef> Paddings(ConvertContext& ctx, int rank, const std::vector<int64_t>& axes) {
  const size_t n = axes.size();
  if (const Tensor* c = ctx.constant(ctx.input(1))) {
    KILN_ASSIGN_OR_RETURN(auto pads, c->ToInt64Vector());
    if (pads.size() != 2 * n) {
      return InvalidArgument("pads has " + std::to_string(pads.size()) + " entries; " + std::to_string(2 * n) +
                             " expected");
    }
    std::vector<int64_t> paddings(2 * static_cast<size_t>(rank), 0);
    for (size_t i = 0; i < n; ++i) {
      if (pads[i] < 0 || pads[n + i] < 0) return ctx.Unsupported("negative pads (cropping)");
      paddings[2 * axes[i]] = pads[i];
      paddings[2 * axes[i] + 1] = pads[n + i];
    }
    return ctx.Const(Tensor::FromVector<int64_t>({rank, 2}, paddings));
  }
  KILN_ASSIGN_OR_RETURN(ValueRef p, CastTo(ctx, ctx.input(1), DType::kInt64));
  KILN_ASSIGN_OR_RETURN(p, ctx.Op("Reshape", {p, ctx.Ints({2, static_cast<int64_t>(n)})},
                                  Attrs({{"T", DType::kInt64}, {"Tshape", DType::kInt64}})));
  KILN_ASSIGN_OR_RETURN(p, Transpose(ctx, p, {1, 0}));
  if (static_cast<int>(n) == rank && std::is_sorted(axes.begin(), axes.end())) return p;
  const ValueRef zeros = ctx.Const(Tensor(DType::kInt64, {rank, 2}));
  const ValueRef rows = ctx.Const(Tensor::FromVector<int64_t>({static_cast<int64_t>(n), 1}, axes));
  return ctx.Op("ScatterND", {zeros, rows, p}, Attrs({{"T", DType::kInt64}, {"reduction", std::string("none")}}));
}

Status Pad(ConvertContext& ctx) {
  KILN_ASSIGN_OR_RETURN(std::string mode, ctx.String("mode", "constant"));
  if (mode != "constant" && mode != "reflect") return ctx.Unsupported("mode '" + mode + "'");
  const ValueRef x = ctx.input(0);
  KILN_ASSIGN_OR_RETURN(int rank, KnownRank(ctx, x, "input"));
  std::vector<int64_t> axes;
  if (ctx.has_input(3)) {
    KILN_ASSIGN_OR_RETURN(auto given, ctx.ConstantInts(3, "axes"));
    for (int64_t a : given) {
      KILN_ASSIGN_OR_RETURN(int axis, NormalizeAxis(a, rank, "axes entry"));
      axes.push_back(axis);
    }
  } else {
    for (int i = 0; i < rank; ++i) axes.push_back(i);
  }
  KILN_ASSIGN_OR_RETURN(ValueRef p, Paddings(ctx, rank, axes));
  if (mode == "constant") return PadWith(ctx, x, p);
  KILN_ASSIGN_OR_RETURN(
      ValueRef y, ctx.Op("MirrorPad", {x, p},
                         Attrs({{"T", ctx.dtype(x)}, {"Tpaddings", DType::kInt64}, {"mode", std::string("REFLECT")}})));
  ctx.SetOutput(0, y);
  return OkStatus();
}

Status Slice(ConvertContext& ctx) {
  std::vector<ValueRef> inputs = {ctx.input(0), ctx.input(1), ctx.input(2)};
  for (int i = 3; i < 5; ++i) inputs.push_back(ctx.has_input(i) ? ctx.input(i) : ctx.Empty());
  KILN_ASSIGN_OR_RETURN(ValueRef y, ctx.Op("OnnxSlice", inputs, Attrs({{"T", ctx.dtype(ctx.input(0))}})));
  ctx.SetOutput(0, y);
  return OkStatus();
}

// Negative indices count from the end of `axis`.
StatusOr<ValueRef> WrapNegativeIndices(ConvertContext& ctx, ValueRef x, int axis, ValueRef indices) {
  const DType it = ctx.dtype(indices);
  if (const Tensor* c = ctx.constant(indices)) {
    const int64_t dim = ctx.rank(x) > axis ? ctx.shape(x).dims[axis] : -1;
    KILN_ASSIGN_OR_RETURN(auto values, c->ToInt64Vector());
    bool negative = false;
    for (int64_t v : values) negative |= v < 0;
    if (!negative) return indices;
    if (dim >= 0) {
      for (auto& v : values) v = v < 0 ? v + dim : v;
      return CastTo(ctx, ctx.Const(Tensor::FromVector<int64_t>(c->shape(), values)), it);
    }
  }
  KILN_ASSIGN_OR_RETURN(ValueRef dim, DimOf(ctx, x, axis));
  KILN_ASSIGN_OR_RETURN(dim, CastTo(ctx, dim, it));
  KILN_ASSIGN_OR_RETURN(ValueRef neg, Binary(ctx, "Less", indices, ctx.ScalarOf(it, 0)));
  KILN_ASSIGN_OR_RETURN(ValueRef shifted, Binary(ctx, "AddV2", indices, dim));
  return Select(ctx, neg, shifted, indices);
}

Status Gather(ConvertContext& ctx) {
  KILN_ASSIGN_OR_RETURN(int64_t axis_attr, ctx.Int("axis", 0));
  const ValueRef x = ctx.input(0);
  KILN_ASSIGN_OR_RETURN(int rank, KnownRank(ctx, x, "data"));
  KILN_ASSIGN_OR_RETURN(int axis, NormalizeAxis(axis_attr, rank));
  KILN_ASSIGN_OR_RETURN(ValueRef indices, WrapNegativeIndices(ctx, x, axis, ctx.input(1)));
  KILN_ASSIGN_OR_RETURN(
      ValueRef y,
      ctx.Op("GatherV2", {x, indices, ctx.Int64Scalar(axis)},
             Attrs({{"Tparams", ctx.dtype(x)}, {"Tindices", ctx.dtype(indices)}, {"Taxis", DType::kInt64}})));
  ctx.SetOutput(0, y);
  return OkStatus();
}

// Ops whose IR op has the ONNX name and attributes: inputs and attributes pass through.
OpConverter PassThrough(std::string op, std::vector<std::pair<std::string, ir::AttrValue>> attr_defaults,
                        int num_outputs = 1) {
  return [op, attr_defaults, num_outputs](ConvertContext& ctx) -> Status {
    ir::AttrMap attrs;
    attrs.Set("T", ctx.dtype(ctx.input(0)));
    for (const auto& [name, fallback] : attr_defaults) {
      if (std::holds_alternative<int64_t>(fallback)) {
        KILN_ASSIGN_OR_RETURN(int64_t v, ctx.Int(name, std::get<int64_t>(fallback)));
        attrs.Set(name, v);
      } else if (std::holds_alternative<std::string>(fallback)) {
        KILN_ASSIGN_OR_RETURN(std::string v, ctx.String(name, std::get<std::string>(fallback)));
        attrs.Set(name, v);
      } else if (std::holds_alternative<float>(fallback)) {
        KILN_ASSIGN_OR_RETURN(float v, ctx.Float(name, std::get<float>(fallback)));
        attrs.Set(name, v);
      } else if (std::holds_alternative<std::vector<int64_t>>(fallback)) {
        KILN_ASSIGN_OR_RETURN(auto v, ctx.Ints(name, std::get<std::vector<int64_t>>(fallback)));
        attrs.Set(name, v);
      }
    }
    std::vector<ValueRef> inputs;
    for (int i = 0; i < ctx.num_inputs(); ++i) inputs.push_back(ctx.has_input(i) ? ctx.input(i) : ctx.Empty());
    KILN_ASSIGN_OR_RETURN(auto outs, ctx.OpN(op, inputs, std::move(attrs), num_outputs));
    for (int i = 0; i < num_outputs; ++i) ctx.SetOutput(i, outs[i]);
    return OkStatus();
  };
}

Status ConstantOfShape(ConvertContext& ctx) {
  Tensor value = Tensor::Scalar<float>(0.0f);
  if (ctx.has_attr("value")) {
    KILN_ASSIGN_OR_RETURN(Tensor v, ctx.TensorAttr("value"));
    if (v.num_elements() != 1) return InvalidArgument("value must hold one element");
    KILN_ASSIGN_OR_RETURN(value, v.Reshaped({}));
  }
  const DType t = value.dtype();
  KILN_ASSIGN_OR_RETURN(ValueRef shape, CastTo(ctx, ctx.input(0), DType::kInt64));
  KILN_ASSIGN_OR_RETURN(ValueRef y, ctx.Op("Fill", {shape, ctx.Const(std::move(value))},
                                           Attrs({{"T", t}, {"index_type", DType::kInt64}})));
  ctx.SetOutput(0, y);
  return OkStatus();
}

Status Range(ConvertContext& ctx) {
  KILN_ASSIGN_OR_RETURN(ValueRef y, ctx.Op("Range", {ctx.input(0), ctx.input(1), ctx.input(2)},
                                           Attrs({{"Tidx", ctx.dtype(ctx.input(0))}})));
  ctx.SetOutput(0, y);
  return OkStatus();
}

// Keeps the elements on or above (upper) / on or below (lower) diagonal k of the last two dims.
Status Trilu(ConvertContext& ctx) {
  KILN_ASSIGN_OR_RETURN(int64_t upper, ctx.Int("upper", 1));
  const ValueRef x = ctx.input(0);
  KILN_ASSIGN_OR_RETURN(int rank, KnownRank(ctx, x, "input"));
  if (rank < 2) return InvalidArgument("input must have rank >= 2");
  ValueRef k = ctx.Int64Scalar(0);
  if (ctx.has_input(1)) {
    KILN_ASSIGN_OR_RETURN(k, CastTo(ctx, ctx.input(1), DType::kInt64));
  }
  KILN_ASSIGN_OR_RETURN(ValueRef rows_n, DimOf(ctx, x, rank - 2));
  KILN_ASSIGN_OR_RETURN(ValueRef cols_n, DimOf(ctx, x, rank - 1));
  KILN_ASSIGN_OR_RETURN(ValueRef rows, Iota(ctx, rows_n));
  KILN_ASSIGN_OR_RETURN(ValueRef cols, Iota(ctx, cols_n));
  KILN_ASSIGN_OR_RETURN(rows, ExpandDims(ctx, rows, 1));
  // col - row compared with k: >= k keeps the upper part, <= k the lower.
  KILN_ASSIGN_OR_RETURN(ValueRef diag, Binary(ctx, "Sub", cols, rows));
  KILN_ASSIGN_OR_RETURN(ValueRef keep, Binary(ctx, upper ? "GreaterEqual" : "LessEqual", diag, k));
  KILN_ASSIGN_OR_RETURN(ValueRef zeros, Unary(ctx, "ZerosLike", x));
  KILN_ASSIGN_OR_RETURN(ValueRef y, Select(ctx, keep, x, zeros));
  ctx.SetOutput(0, y);
  return OkStatus();
}

StatusOr<ValueRef> ReshapeTo(ConvertContext& ctx, ValueRef x, const std::vector<int64_t>& shape) {
  return ctx.Op("Reshape", {x, ctx.Ints(shape)}, Attrs({{"T", ctx.dtype(x)}, {"Tshape", DType::kInt64}}));
}

// DepthToSpace / SpaceToDepth on [N, C, H, W] as reshape-transpose-reshape.
OpConverter SpaceDepth(bool to_space) {
  return [to_space](ConvertContext& ctx) -> Status {
    KILN_ASSIGN_OR_RETURN(int64_t b, ctx.Int("blocksize"));
    KILN_ASSIGN_OR_RETURN(std::string mode, ctx.String("mode", "DCR"));
    const ValueRef x = ctx.input(0);
    const PartialShape& s = ctx.shape(x);
    if (!s.rank_known || s.rank() != 4) return InvalidArgument("input must have rank 4, got " + s.ToString());
    const int64_t c = s.dims[1], h = s.dims[2], w = s.dims[3];
    if (c < 0 || h < 0 || w < 0) return ctx.Unsupported("an input of unknown C, H or W");
    if (b <= 0) return InvalidArgument("blocksize must be positive");
    ValueRef y;
    if (to_space) {
      if (c % (b * b) != 0) return InvalidArgument("channels " + std::to_string(c) + " do not divide by blocksize^2");
      const int64_t cc = c / (b * b);
      std::vector<int64_t> split, perm;
      if (mode == "DCR") {
        split = {-1, b, b, cc, h, w};
        perm = {0, 3, 4, 1, 5, 2};
      } else if (mode == "CRD") {
        split = {-1, cc, b, b, h, w};
        perm = {0, 1, 4, 2, 5, 3};
      } else {
        return InvalidArgument("mode must be DCR or CRD, got '" + mode + "'");
      }
      KILN_ASSIGN_OR_RETURN(y, ReshapeTo(ctx, x, split));
      KILN_ASSIGN_OR_RETURN(y, Transpose(ctx, y, perm));
      KILN_ASSIGN_OR_RETURN(y, ReshapeTo(ctx, y, {-1, cc, h * b, w * b}));
    } else {
      if (h % b != 0 || w % b != 0) return InvalidArgument("H and W must divide by blocksize");
      if (mode != "DCR" && mode != "CRD") return InvalidArgument("mode must be DCR or CRD, got '" + mode + "'");
      // DCR orders output channels (block row, block col, channel); CRD (channel, block row, block col).
      const std::vector<int64_t> perm =
          mode == "DCR" ? std::vector<int64_t>{0, 3, 5, 1, 2, 4} : std::vector<int64_t>{0, 1, 3, 5, 2, 4};
      KILN_ASSIGN_OR_RETURN(y, ReshapeTo(ctx, x, {-1, c, h / b, b, w / b, b}));
      KILN_ASSIGN_OR_RETURN(y, Transpose(ctx, y, perm));
      KILN_ASSIGN_OR_RETURN(y, ReshapeTo(ctx, y, {-1, c * b * b, h / b, w / b}));
    }
    ctx.SetOutput(0, y);
    return OkStatus();
  };
}

Status OneHot(ConvertContext& ctx) {
  KILN_ASSIGN_OR_RETURN(int64_t axis, ctx.Int("axis", -1));
  if (axis < -1) {
    // ONNX counts negative axes from the end of the output (rank + 1 dims).
    KILN_ASSIGN_OR_RETURN(int rank, KnownRank(ctx, ctx.input(0), "indices"));
    KILN_ASSIGN_OR_RETURN(int a, NormalizeAxis(axis, rank + 1));
    axis = a;
  }
  KILN_ASSIGN_OR_RETURN(ValueRef indices, CastTo(ctx, ctx.input(0), DType::kInt64));
  KILN_ASSIGN_OR_RETURN(ValueRef depth, CastTo(ctx, ctx.input(1), DType::kInt64));
  if (ctx.rank(depth) != 0) {
    KILN_ASSIGN_OR_RETURN(
        depth, ctx.Op("Reshape", {depth, ctx.Ints({})}, Attrs({{"T", DType::kInt64}, {"Tshape", DType::kInt64}})));
  }
  // Negative indices count back from depth.
  KILN_ASSIGN_OR_RETURN(ValueRef neg, Binary(ctx, "Less", indices, ctx.Int64Scalar(0)));
  KILN_ASSIGN_OR_RETURN(ValueRef shifted, Binary(ctx, "AddV2", indices, depth));
  KILN_ASSIGN_OR_RETURN(indices, Select(ctx, neg, shifted, indices));
  KILN_ASSIGN_OR_RETURN(depth, CastTo(ctx, depth, DType::kInt32));
  const ValueRef values = ctx.input(2);
  const DType t = ctx.dtype(values);
  auto pick = [&](int64_t i) {
    return ctx.Op("GatherV2", {values, ctx.Int64Scalar(i), ctx.Int64Scalar(0)},
                  Attrs({{"Tparams", t}, {"Tindices", DType::kInt64}, {"Taxis", DType::kInt64}}));
  };
  KILN_ASSIGN_OR_RETURN(ValueRef off, pick(0));
  KILN_ASSIGN_OR_RETURN(ValueRef on, pick(1));
  KILN_ASSIGN_OR_RETURN(ValueRef y, ctx.Op("OneHot", {indices, depth, on, off},
                                           Attrs({{"T", t}, {"TI", DType::kInt64}, {"axis", axis}})));
  ctx.SetOutput(0, y);
  return OkStatus();
}

Status Resize(ConvertContext& ctx) {
  const ValueRef x = ctx.input(0);
  std::vector<ValueRef> inputs = {x};
  // roi and scales are float tensors, sizes int64; absent ones are empty.
  inputs.push_back(ctx.has_input(1) ? ctx.input(1) : ctx.Const(Tensor(DType::kFloat32, {0})));
  inputs.push_back(ctx.has_input(2) ? ctx.input(2) : ctx.Const(Tensor(DType::kFloat32, {0})));
  inputs.push_back(ctx.has_input(3) ? ctx.input(3) : ctx.Empty());
  ir::AttrMap attrs;
  attrs.Set("T", ctx.dtype(x));
  KILN_ASSIGN_OR_RETURN(std::string mode, ctx.String("mode", "nearest"));
  KILN_ASSIGN_OR_RETURN(std::string ctm, ctx.String("coordinate_transformation_mode", "half_pixel"));
  KILN_ASSIGN_OR_RETURN(std::string nearest, ctx.String("nearest_mode", "round_prefer_floor"));
  KILN_ASSIGN_OR_RETURN(float cubic, ctx.Float("cubic_coeff_a", -0.75f));
  KILN_ASSIGN_OR_RETURN(int64_t exclude, ctx.Int("exclude_outside", 0));
  KILN_ASSIGN_OR_RETURN(float extrapolation, ctx.Float("extrapolation_value", 0.0f));
  KILN_ASSIGN_OR_RETURN(int64_t antialias, ctx.Int("antialias", 0));
  KILN_ASSIGN_OR_RETURN(auto axes, ctx.Ints("axes", std::vector<int64_t>{}));
  KILN_ASSIGN_OR_RETURN(std::string policy, ctx.String("keep_aspect_ratio_policy", "stretch"));
  attrs.Set("mode", mode);
  attrs.Set("coordinate_transformation_mode", ctm);
  attrs.Set("nearest_mode", nearest);
  attrs.Set("cubic_coeff_a", cubic);
  attrs.Set("exclude_outside", exclude);
  attrs.Set("extrapolation_value", extrapolation);
  attrs.Set("antialias", antialias);
  attrs.Set("axes", axes);
  attrs.Set("keep_aspect_ratio_policy", policy);
  KILN_ASSIGN_OR_RETURN(ValueRef y, ctx.Op("OnnxResize", inputs, std::move(attrs)));
  ctx.SetOutput(0, y);
  return OkStatus();
}

}  // namespace

KILN_REGISTER_ONNX_OP("Shape", Shape);
KILN_REGISTER_ONNX_OP("Size", Size);
KILN_REGISTER_ONNX_OP("Reshape", Reshape);
KILN_REGISTER_ONNX_OP("Flatten", Flatten);
KILN_REGISTER_ONNX_OP("Squeeze", Squeeze);
KILN_REGISTER_ONNX_OP("Unsqueeze", Unsqueeze);
KILN_REGISTER_ONNX_OP("Concat", ConcatOp);
KILN_REGISTER_ONNX_OP("Split", Split);
KILN_REGISTER_ONNX_OP("Transpose", TransposeOp);
KILN_REGISTER_ONNX_OP("Expand", Expand);
KILN_REGISTER_ONNX_OP("Tile", Tile);
KILN_REGISTER_ONNX_OP("Pad", Pad);
KILN_REGISTER_ONNX_OP("Slice", Slice);
KILN_REGISTER_ONNX_OP("Gather", Gather);
KILN_REGISTER_ONNX_OP("GatherElements", PassThrough("GatherElements", {{"axis", int64_t{0}}}));
KILN_REGISTER_ONNX_OP("GatherND", PassThrough("GatherND", {{"batch_dims", int64_t{0}}}));
KILN_REGISTER_ONNX_OP("ScatterND", PassThrough("ScatterND", {{"reduction", std::string("none")}}));
KILN_REGISTER_ONNX_OP("ScatterElements",
                      PassThrough("ScatterElements", {{"axis", int64_t{0}}, {"reduction", std::string("none")}}));
KILN_REGISTER_ONNX_OP("TopK", PassThrough("OnnxTopK",
                                          {{"axis", int64_t{-1}}, {"largest", int64_t{1}}, {"sorted", int64_t{1}}}, 2));
KILN_REGISTER_ONNX_OP("ConstantOfShape", ConstantOfShape);
KILN_REGISTER_ONNX_OP("Range", Range);
KILN_REGISTER_ONNX_OP("Trilu", Trilu);
KILN_REGISTER_ONNX_OP("DepthToSpace", SpaceDepth(true));
KILN_REGISTER_ONNX_OP("SpaceToDepth", SpaceDepth(false));
KILN_REGISTER_ONNX_OP("OneHot", OneHot);
KILN_REGISTER_ONNX_OP("Resize", Resize);

}  // namespace kiln::onnx
