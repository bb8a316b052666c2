// Joining and splitting along an axis: Pack, Unpack, ConcatV2, Concat, Split, SplitV.
#include "ir/op_registry.h"
#include "ir/shape_fns.h"

namespace kiln::ir {
namespace {

PartialShape UnknownDims(int64_t rank) {
  return rank < 0 ? PartialShape::Unknown() : PartialShape::Known(Shape(static_cast<size_t>(rank), -1));
}

// Merges two partial shapes that must describe the same tensor shape; `what` names them.
StatusOr<PartialShape> MergeShapes(const PartialShape& a, const PartialShape& b, const std::string& what) {
  if (!a.rank_known) return b;
  if (!b.rank_known) return a;
  if (a.rank() != b.rank()) {
    return InvalidArgument(what + ": shapes " + a.ToString() + " and " + b.ToString() + " have different ranks");
  }
  PartialShape out = a;
  for (size_t i = 0; i < a.dims.size(); ++i) {
    if (a.dims[i] >= 0 && b.dims[i] >= 0 && a.dims[i] != b.dims[i]) {
      return InvalidArgument(what + ": shapes " + a.ToString() + " and " + b.ToString() + " differ in dim " +
                             std::to_string(i));
    }
    if (out.dims[i] < 0) out.dims[i] = b.dims[i];
  }
  return out;
}

Status PackShape(InferenceContext& ctx) {
  if (ctx.num_inputs() < 1) return InvalidArgument("Pack needs at least one input");
  KILN_ASSIGN_OR_RETURN(int64_t axis, ctx.Attr<int64_t>("axis"));
  PartialShape merged = ctx.input_shape(0);
  for (int i = 1; i < ctx.num_inputs(); ++i) {
    if (ctx.input_dtype(i) != ctx.input_dtype(0)) return InvalidArgument("all Pack inputs must have one dtype");
    KILN_ASSIGN_OR_RETURN(merged, MergeShapes(merged, ctx.input_shape(i),
                                              "Pack inputs 0 and " + std::to_string(i) + " must have one shape"));
  }
  if (!merged.rank_known) {
    ctx.set_output(0, ctx.input_dtype(0), PartialShape::Unknown());
    return OkStatus();
  }
  KILN_ASSIGN_OR_RETURN(int a, NormalizeAxis(axis, merged.rank() + 1));
  merged.dims.insert(merged.dims.begin() + a, ctx.num_inputs());
  ctx.set_output(0, ctx.input_dtype(0), std::move(merged));
  return OkStatus();
}

Status UnpackShape(InferenceContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(1, 1));
  KILN_ASSIGN_OR_RETURN(int64_t axis, ctx.Attr<int64_t>("axis"));
  PartialShape out = ctx.input_shape(0);
  if (out.rank_known) {
    KILN_ASSIGN_OR_RETURN(int a, NormalizeAxis(axis, out.rank()));
    if (out.dims[a] >= 0 && out.dims[a] != ctx.num_outputs()) {
      return InvalidArgument("Unpack of " + std::to_string(ctx.num_outputs()) + " values needs dim " +
                             std::to_string(a) + " of " + out.ToString() + " to be " +
                             std::to_string(ctx.num_outputs()));
    }
    out.dims.erase(out.dims.begin() + a);
  }
  for (int i = 0; i < ctx.num_outputs(); ++i) ctx.set_output(i, ctx.input_dtype(0), out);
  return OkStatus();
}

// values are inputs [first, first + n); the axis is input `axis_input`.
Status ConcatShapeImpl(InferenceContext& ctx, int first, int n, int axis_input) {
  if (n < 1) return InvalidArgument("concat needs at least one value");
  const DType dtype = ctx.input_dtype(first);
  int64_t rank = -1;
  for (int i = first; i < first + n; ++i) {
    if (ctx.input_dtype(i) != dtype) return InvalidArgument("all concat values must have one dtype");
    const PartialShape& s = ctx.input_shape(i);
    if (!s.rank_known) continue;
    if (s.rank() == 0) return InvalidArgument("cannot concatenate scalars (use Pack instead)");
    if (rank >= 0 && s.rank() != rank) {
      return InvalidArgument("all concat values must have one rank, got " + ctx.input_shape(first).ToString() +
                             " and " + s.ToString());
    }
    rank = s.rank();
  }
  const DType axis_dtype = ctx.input_dtype(axis_input);
  if (axis_dtype != DType::kInt32 && axis_dtype != DType::kInt64) return InvalidArgument("axis must be int32 or int64");
  const Tensor* axis_value = ctx.input_value(axis_input);
  if (rank < 0 || axis_value == nullptr) {
    ctx.set_output(0, dtype, UnknownDims(rank));
    return OkStatus();
  }
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> av, axis_value->ToInt64Vector());
  if (av.size() != 1) return InvalidArgument("axis must be a scalar");
  KILN_ASSIGN_OR_RETURN(int axis, NormalizeAxis(av[0], static_cast<int>(rank)));
  PartialShape out = PartialShape::Known(Shape(static_cast<size_t>(rank), -1));
  int64_t total = 0;
  bool have_first = false;
  for (int i = first; i < first + n; ++i) {
    const PartialShape& s = ctx.input_shape(i);
    if (!s.rank_known) {
      total = -1;
      continue;
    }
    if (total >= 0) total = s.dims[axis] < 0 ? -1 : total + s.dims[axis];
    PartialShape other = s;
    other.dims[axis] = -1;
    if (!have_first) {
      out = other;
      have_first = true;
    } else {
      KILN_ASSIGN_OR_RETURN(out, MergeShapes(out, other, "concat values must agree outside the concat axis"));
    }
  }
  out.dims[axis] = total;
  ctx.set_output(0, dtype, std::move(out));
  return OkStatus();
}

Status ConcatV2Shape(InferenceContext& ctx) {
  return ConcatShapeImpl(ctx, 0, ctx.num_inputs() - 1, ctx.num_inputs() - 1);
}
Status ConcatShape(InferenceContext& ctx) { return ConcatShapeImpl(ctx, 1, ctx.num_inputs() - 1, 0); }

// Output dims of a split into `sizes` along the axis given by input `axis_input`.
Status SplitShapeImpl(InferenceContext& ctx, int value_input, int axis_input,
                      const std::optional<std::vector<int64_t>>& sizes) {
  const PartialShape& in = ctx.input_shape(value_input);
  const DType dtype = ctx.input_dtype(value_input);
  const Tensor* axis_value = ctx.input_value(axis_input);
  if (!in.rank_known || axis_value == nullptr) {
    for (int i = 0; i < ctx.num_outputs(); ++i) ctx.set_output(i, dtype, UnknownDims(in.rank()));
    return OkStatus();
  }
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> av, axis_value->ToInt64Vector());
  if (av.size() != 1) return InvalidArgument("split_dim must be a scalar");
  KILN_ASSIGN_OR_RETURN(int axis, NormalizeAxis(av[0], in.rank()));
  const int64_t dim = in.dims[axis];
  const int n = ctx.num_outputs();
  std::vector<int64_t> out_sizes(n, -1);
  if (!sizes) {  // Split: even pieces
    if (dim >= 0) {
      if (n == 0 || dim % n != 0) {
        return InvalidArgument("cannot split dim " + std::to_string(axis) + " of size " + std::to_string(dim) +
                               " evenly into " + std::to_string(n) + " pieces");
      }
      out_sizes.assign(n, dim / n);
    }
  } else {
    if (static_cast<int>(sizes->size()) != n) {
      return InvalidArgument("size_splits has " + std::to_string(sizes->size()) + " entries but num_split is " +
                             std::to_string(n));
    }
    int unknown = -1;
    int64_t sum = 0;
    for (int i = 0; i < n; ++i) {
      const int64_t s = (*sizes)[i];
      if (s == -1) {
        if (unknown >= 0) return InvalidArgument("size_splits may contain only one -1");
        unknown = i;
      } else if (s < 0) {
        return InvalidArgument("size_splits[" + std::to_string(i) + "] must be >= 0, got " + std::to_string(s));
      } else if (s > (int64_t{1} << 62) - sum) {
        return InvalidArgument("size_splits " + ShapeToString(*sizes) + " are too large");
      } else {
        sum += s;
      }
      out_sizes[i] = s;
    }
    if (dim >= 0) {
      if ((unknown < 0 && sum != dim) || (unknown >= 0 && sum > dim)) {
        return InvalidArgument("size_splits " + ShapeToString(*sizes) + " do not add up to dim " +
                               std::to_string(axis) + " of size " + std::to_string(dim));
      }
      if (unknown >= 0) out_sizes[unknown] = dim - sum;
    }
  }
  for (int i = 0; i < n; ++i) {
    PartialShape s = in;
    s.dims[axis] = out_sizes[i];
    ctx.set_output(i, dtype, std::move(s));
  }
  return OkStatus();
}

Status SplitShape(InferenceContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  return SplitShapeImpl(ctx, 1, 0, std::nullopt);
}

Status SplitVShape(InferenceContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(3, 3));
  KILN_ASSIGN_OR_RETURN(auto sizes, ConstantInt64s(ctx, 1));
  if (!sizes) {
    for (int i = 0; i < ctx.num_outputs(); ++i)
      ctx.set_output(i, ctx.input_dtype(0), UnknownDims(ctx.input_shape(0).rank()));
    return OkStatus();
  }
  return SplitShapeImpl(ctx, 0, 2, sizes);
}

}  // namespace

KILN_REGISTER_OP(OpDefBuilder("Pack")
                     .Attr("N")
                     .Attr("T", DType::kFloat32)
                     .Attr("axis", int64_t{0})
                     .Output("output")
                     .Shape(PackShape));
KILN_REGISTER_OP(OpDefBuilder("Unpack")
                     .Attr("num")
                     .Attr("T", DType::kFloat32)
                     .Attr("axis", int64_t{0})
                     .OutputList("output", "num")
                     .Shape(UnpackShape));
KILN_REGISTER_OP(OpDefBuilder("ConcatV2")
                     .Attr("N")
                     .Attr("T", DType::kFloat32)
                     .Attr("Tidx", DType::kInt32)
                     .Output("output")
                     .Shape(ConcatV2Shape));
KILN_REGISTER_OP(OpDefBuilder("Concat").Attr("N").Attr("T", DType::kFloat32).Output("output").Shape(ConcatShape));
KILN_REGISTER_OP(OpDefBuilder("Split")
                     .Attr("num_split")
                     .Attr("T", DType::kFloat32)
                     .OutputList("output", "num_split")
                     .Shape(SplitShape));
KILN_REGISTER_OP(OpDefBuilder("SplitV")
                     .Attr("num_split")
                     .Attr("T", DType::kFloat32)
                     .Attr("Tlen", DType::kInt64)
                     .OutputList("output", "num_split")
                     .Shape(SplitVShape));

}  // namespace kiln::ir
