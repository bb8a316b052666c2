// Ops that select or pad regions of a tensor: StridedSlice, Slice, GatherV2/Gather, Pad, PadV2,
// MirrorPad.
#include "ir/op_registry.h"
#include "ir/ops/array_shape_util.h"
#include "ir/shape_fns.h"

namespace kiln::ir {
namespace {

Status CheckIndexVector(const InferenceContext& ctx, int i, const char* what) {
  const DType d = ctx.input_dtype(i);
  if (d != DType::kInt32 && d != DType::kInt64) {
    return InvalidArgument(std::string(what) + " must be int32 or int64, got " + std::string(DTypeName(d)));
  }
  const PartialShape& s = ctx.input_shape(i);
  if (s.rank_known && s.rank() != 1)
    return InvalidArgument(std::string(what) + " must be a vector, got " + s.ToString());
  return OkStatus();
}

PartialShape UnknownDims(int64_t rank) {
  return rank < 0 ? PartialShape::Unknown() : PartialShape::Known(Shape(static_cast<size_t>(rank), -1));
}

StatusOr<StridedSliceMasks> ReadMasks(const InferenceContext& ctx) {
  StridedSliceMasks m;
  KILN_ASSIGN_OR_RETURN(m.begin, ctx.Attr<int64_t>("begin_mask"));
  KILN_ASSIGN_OR_RETURN(m.end, ctx.Attr<int64_t>("end_mask"));
  KILN_ASSIGN_OR_RETURN(m.ellipsis, ctx.Attr<int64_t>("ellipsis_mask"));
  KILN_ASSIGN_OR_RETURN(m.new_axis, ctx.Attr<int64_t>("new_axis_mask"));
  KILN_ASSIGN_OR_RETURN(m.shrink_axis, ctx.Attr<int64_t>("shrink_axis_mask"));
  return m;
}

Status StridedSliceShape(InferenceContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(4, 4));
  for (int i = 1; i < 4; ++i)
    KILN_RETURN_IF_ERROR(CheckIndexVector(ctx, i, i == 1 ? "begin" : i == 2 ? "end" : "strides"));
  KILN_ASSIGN_OR_RETURN(StridedSliceMasks masks, ReadMasks(ctx));
  const PartialShape& in = ctx.input_shape(0);
  KILN_ASSIGN_OR_RETURN(auto strides, ConstantInt64s(ctx, 3));
  if (!in.rank_known || !strides) {
    ctx.set_output(0, ctx.input_dtype(0), PartialShape::Unknown());
    return OkStatus();
  }
  KILN_ASSIGN_OR_RETURN(auto begin, ConstantInt64s(ctx, 1));
  KILN_ASSIGN_OR_RETURN(auto end, ConstantInt64s(ctx, 2));
  KILN_ASSIGN_OR_RETURN(StridedSliceSpec spec, ResolveStridedSlice(in.dims, begin ? &*begin : nullptr,
                                                                   end ? &*end : nullptr, *strides, masks));
  ctx.set_output(0, ctx.input_dtype(0), PartialShape::Known(spec.final_shape));
  return OkStatus();
}

Status SliceShape(InferenceContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(3, 3));
  KILN_RETURN_IF_ERROR(CheckIndexVector(ctx, 1, "begin"));
  KILN_RETURN_IF_ERROR(CheckIndexVector(ctx, 2, "size"));
  const PartialShape& in = ctx.input_shape(0);
  KILN_ASSIGN_OR_RETURN(auto begin, ConstantInt64s(ctx, 1));
  KILN_ASSIGN_OR_RETURN(auto size, ConstantInt64s(ctx, 2));
  int64_t rank = in.rank();
  if (rank < 0 && size) rank = static_cast<int64_t>(size->size());
  if (rank < 0 && begin) rank = static_cast<int64_t>(begin->size());
  if (!size) {
    ctx.set_output(0, ctx.input_dtype(0), UnknownDims(rank));
    return OkStatus();
  }
  if ((begin && begin->size() != size->size()) || (in.rank_known && static_cast<int>(size->size()) != in.rank())) {
    return InvalidArgument("begin and size must have one entry per input dim of " + in.ToString());
  }
  std::vector<int64_t> out(size->size(), -1);
  for (size_t i = 0; i < size->size(); ++i) {
    const int64_t dim = in.rank_known ? in.dims[i] : -1;
    const int64_t b = begin ? (*begin)[i] : -1;
    const int64_t s = (*size)[i];
    if (begin && (b < 0 || (dim >= 0 && b > dim))) {
      return InvalidArgument("begin[" + std::to_string(i) + "] = " + std::to_string(b) + " is not in [0, " +
                             std::to_string(dim) + "]");
    }
    if (s < -1 || (s >= 0 && dim >= 0 && b >= 0 && b + s > dim)) {
      return InvalidArgument("size[" + std::to_string(i) + "] = " + std::to_string(s) + " does not fit dim " +
                             std::to_string(i) + " of " + in.ToString() + " from begin " + std::to_string(b));
    }
    if (s >= 0) {
      out[i] = s;
    } else if (dim >= 0 && b >= 0) {
      out[i] = dim - b;
    }
  }
  ctx.set_output(0, ctx.input_dtype(0), PartialShape::Known(std::move(out)));
  return OkStatus();
}

Status GatherShapeImpl(InferenceContext& ctx, std::optional<int64_t> axis_value, int64_t batch_dims) {
  const PartialShape& params = ctx.input_shape(0);
  const PartialShape& indices = ctx.input_shape(1);
  const DType idx = ctx.input_dtype(1);
  if (idx != DType::kInt32 && idx != DType::kInt64 && idx != DType::kInt16) {
    return InvalidArgument("indices must be int16, int32 or int64, got " + std::string(DTypeName(idx)));
  }
  if (!params.rank_known || !indices.rank_known) {
    ctx.set_output(0, ctx.input_dtype(0), PartialShape::Unknown());
    return OkStatus();
  }
  if (batch_dims < -indices.rank() || batch_dims > indices.rank()) {
    return InvalidArgument("batch_dims " + std::to_string(batch_dims) + " is not in [" +
                           std::to_string(-indices.rank()) + ", " + std::to_string(indices.rank()) + "]");
  }
  if (batch_dims < 0) batch_dims += indices.rank();
  if (batch_dims >= params.rank() && params.rank() > 0) {
    return InvalidArgument("batch_dims (" + std::to_string(batch_dims) + ") must be less than the rank of params " +
                           params.ToString());
  }
  if (!axis_value) {
    ctx.set_output(0, ctx.input_dtype(0), UnknownDims(params.rank() - 1 + indices.rank() - batch_dims));
    return OkStatus();
  }
  KILN_ASSIGN_OR_RETURN(int axis, NormalizeAxis(*axis_value, params.rank()));
  if (batch_dims > axis) {
    return InvalidArgument("batch_dims (" + std::to_string(batch_dims) + ") must be <= axis (" + std::to_string(axis) +
                           ")");
  }
  std::vector<int64_t> out;
  for (int64_t d = 0; d < batch_dims; ++d) {
    const int64_t p = params.dims[d], q = indices.dims[d];
    if (p >= 0 && q >= 0 && p != q) {
      return InvalidArgument("params dim " + std::to_string(d) + " (" + std::to_string(p) +
                             ") must equal indices dim " + std::to_string(d) + " (" + std::to_string(q) + ")");
    }
  }
  for (int d = 0; d < axis; ++d)
    out.push_back(params.dims[d] >= 0 || d >= batch_dims ? params.dims[d] : indices.dims[d]);
  for (int d = static_cast<int>(batch_dims); d < indices.rank(); ++d) out.push_back(indices.dims[d]);
  for (int d = axis + 1; d < params.rank(); ++d) out.push_back(params.dims[d]);
  ctx.set_output(0, ctx.input_dtype(0), PartialShape::Known(std::move(out)));
  return OkStatus();
}

Status GatherV2Shape(InferenceContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(3, 3));
  KILN_ASSIGN_OR_RETURN(int64_t batch_dims, ctx.Attr<int64_t>("batch_dims"));
  const PartialShape& axis_shape = ctx.input_shape(2);
  if (axis_shape.rank_known && axis_shape.rank() != 0) return InvalidArgument("axis must be a scalar");
  KILN_ASSIGN_OR_RETURN(auto axis, ConstantInt64s(ctx, 2));
  return GatherShapeImpl(ctx, axis ? std::optional<int64_t>((*axis)[0]) : std::nullopt, batch_dims);
}

Status GatherShape(InferenceContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  return GatherShapeImpl(ctx, 0, 0);
}

// Pad, PadV2 and MirrorPad: paddings is [rank, 2].
Status PadShape(InferenceContext& ctx) {
  const bool v2 = ctx.node().op == "PadV2";
  const bool mirror = ctx.node().op == "MirrorPad";
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(v2 ? 3 : 2, v2 ? 3 : 2));
  const PartialShape& in = ctx.input_shape(0);
  const PartialShape& pads_shape = ctx.input_shape(1);
  if (pads_shape.rank_known && (pads_shape.rank() != 2 || (pads_shape.dims[1] >= 0 && pads_shape.dims[1] != 2) ||
                                (in.rank_known && pads_shape.dims[0] >= 0 && pads_shape.dims[0] != in.rank()))) {
    return InvalidArgument("paddings must have shape [" + (in.rank_known ? std::to_string(in.rank()) : "rank") +
                           ", 2], got " + pads_shape.ToString());
  }
  if (v2) {
    if (ctx.input_dtype(2) != ctx.input_dtype(0)) return InvalidArgument("constant_values must have the input's dtype");
    const PartialShape& c = ctx.input_shape(2);
    if (c.rank_known && c.rank() != 0) return InvalidArgument("constant_values must be a scalar, got " + c.ToString());
  }
  std::string mode;
  if (mirror) {
    KILN_ASSIGN_OR_RETURN(mode, ctx.Attr<std::string>("mode"));
    if (mode != "REFLECT" && mode != "SYMMETRIC") {
      return InvalidArgument("mode must be REFLECT or SYMMETRIC, got '" + mode + "'");
    }
  }
  KILN_ASSIGN_OR_RETURN(auto pads, ConstantInt64s(ctx, 1));
  int64_t rank = in.rank();
  if (rank < 0 && pads_shape.rank_known) rank = pads_shape.dims[0];
  if (!pads) {
    ctx.set_output(0, ctx.input_dtype(0), UnknownDims(rank));
    return OkStatus();
  }
  rank = static_cast<int64_t>(pads->size() / 2);
  std::vector<int64_t> out(static_cast<size_t>(rank), -1);
  for (int64_t d = 0; d < rank; ++d) {
    const int64_t before = (*pads)[2 * d], after = (*pads)[2 * d + 1];
    if (before < 0 || after < 0) {
      return InvalidArgument("paddings must be non-negative, got " + std::to_string(before) + " and " +
                             std::to_string(after) + " for dim " + std::to_string(d));
    }
    const int64_t dim = in.rank_known ? in.dims[d] : -1;
    if (mirror && dim >= 0) {
      const int64_t limit = mode == "REFLECT" ? dim - 1 : dim;
      if (before > limit || after > limit) {
        return InvalidArgument("MirrorPad " + mode + " paddings for dim " + std::to_string(d) + " (" +
                               std::to_string(before) + ", " + std::to_string(after) +
                               ") must be <= " + std::to_string(limit) + " for size " + std::to_string(dim));
      }
    }
    if (dim >= 0) out[d] = dim + before + after;
  }
  ctx.set_output(0, ctx.input_dtype(0), PartialShape::Known(std::move(out)));
  return OkStatus();
}

}  // namespace

KILN_REGISTER_OP(OpDefBuilder("StridedSlice")
                     .Attr("T", DType::kFloat32)
                     .Attr("Index", DType::kInt32)
                     .Attr("begin_mask", int64_t{0})
                     .Attr("end_mask", int64_t{0})
                     .Attr("ellipsis_mask", int64_t{0})
                     .Attr("new_axis_mask", int64_t{0})
                     .Attr("shrink_axis_mask", int64_t{0})
                     .Output("output")
                     .Shape(StridedSliceShape));
KILN_REGISTER_OP(
    OpDefBuilder("Slice").Attr("T", DType::kFloat32).Attr("Index", DType::kInt32).Output("output").Shape(SliceShape));
KILN_REGISTER_OP(OpDefBuilder("GatherV2")
                     .Attr("batch_dims", int64_t{0})
                     .Attr("Tparams", DType::kFloat32)
                     .Attr("Tindices", DType::kInt32)
                     .Attr("Taxis", DType::kInt32)
                     .Output("output")
                     .Shape(GatherV2Shape));
KILN_REGISTER_OP(OpDefBuilder("Gather")
                     .Attr("validate_indices", true)
                     .Attr("Tparams", DType::kFloat32)
                     .Attr("Tindices", DType::kInt32)
                     .Output("output")
                     .Shape(GatherShape));
KILN_REGISTER_OP(
    OpDefBuilder("Pad").Attr("T", DType::kFloat32).Attr("Tpaddings", DType::kInt32).Output("output").Shape(PadShape));
KILN_REGISTER_OP(
    OpDefBuilder("PadV2").Attr("T", DType::kFloat32).Attr("Tpaddings", DType::kInt32).Output("output").Shape(PadShape));
KILN_REGISTER_OP(OpDefBuilder("MirrorPad")
                     .Attr("T", DType::kFloat32)
                     .Attr("Tpaddings", DType::kInt32)
                     .Attr("mode")
                     .Output("output")
                     .Shape(PadShape));

}  // namespace kiln::ir
