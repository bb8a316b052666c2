// Shape queries and ops that rearrange or generate whole tensors: Shape, Reshape, Transpose,
// Fill, Range, Tile, BroadcastTo, OneHot, ReverseV2, Where, ...
#include <algorithm>

#include "ir/op_registry.h"
#include "ir/ops/array_shape_util.h"
#include "ir/shape_fns.h"

namespace kiln::ir {
namespace {

Status CheckIndexDType(const InferenceContext& ctx, int i, const char* what) {
  const DType d = ctx.input_dtype(i);
  if (d != DType::kInt32 && d != DType::kInt64) {
    return InvalidArgument(std::string(what) + " must be int32 or int64, got " + std::string(DTypeName(d)));
  }
  return OkStatus();
}

// Rank-1 input i (a shape-like vector): its length when known, else -1.
StatusOr<int64_t> VectorLength(const InferenceContext& ctx, int i, const char* what) {
  const PartialShape& s = ctx.input_shape(i);
  if (!s.rank_known) return int64_t{-1};
  if (s.rank() != 1) return InvalidArgument(std::string(what) + " must be a vector, got shape " + s.ToString());
  return s.dims[0];
}

PartialShape UnknownDims(int64_t rank) {
  return rank < 0 ? PartialShape::Unknown() : PartialShape::Known(Shape(static_cast<size_t>(rank), -1));
}

StatusOr<DType> ShapeOutType(const InferenceContext& ctx) {
  KILN_ASSIGN_OR_RETURN(DType t, ctx.Attr<DType>("out_type"));
  if (t != DType::kInt32 && t != DType::kInt64) {
    return InvalidArgument("out_type must be int32 or int64, got " + std::string(DTypeName(t)));
  }
  return t;
}

Status ShapeShape(InferenceContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(1, 1));
  KILN_ASSIGN_OR_RETURN(DType t, ShapeOutType(ctx));
  ctx.set_output(0, t, PartialShape::Known({ctx.input_shape(0).rank()}));
  return OkStatus();
}

Status ShapeNShape(InferenceContext& ctx) {
  KILN_ASSIGN_OR_RETURN(DType t, ShapeOutType(ctx));
  if (ctx.num_outputs() != ctx.num_inputs()) return InvalidArgument("ShapeN needs as many outputs as inputs");
  for (int i = 0; i < ctx.num_inputs(); ++i) ctx.set_output(i, t, PartialShape::Known({ctx.input_shape(i).rank()}));
  return OkStatus();
}

Status SizeShape(InferenceContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(1, 1));
  KILN_ASSIGN_OR_RETURN(DType t, ShapeOutType(ctx));
  ctx.set_output(0, t, PartialShape::Known({}));
  return OkStatus();
}

Status RankShape(InferenceContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(1, 1));
  ctx.set_output(0, DType::kInt32, PartialShape::Known({}));
  return OkStatus();
}

Status ReshapeShape(InferenceContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  KILN_RETURN_IF_ERROR(CheckIndexDType(ctx, 1, "shape"));
  const PartialShape& shape_shape = ctx.input_shape(1);
  if (shape_shape.rank_known && shape_shape.rank() > 1) {
    return InvalidArgument("shape must be a vector, got shape " + shape_shape.ToString());
  }
  KILN_ASSIGN_OR_RETURN(auto sizes, ConstantInt64s(ctx, 1));
  if (sizes) {
    KILN_ASSIGN_OR_RETURN(PartialShape out, InferReshape(ctx.input_shape(0), *sizes));
    ctx.set_output(0, ctx.input_dtype(0), std::move(out));
  } else {
    ctx.set_output(0, ctx.input_dtype(0),
                   UnknownDims(shape_shape.IsFullyDefined() ? NumElements(shape_shape.dims) : -1));
  }
  return OkStatus();
}

Status ExpandDimsShape(InferenceContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  KILN_RETURN_IF_ERROR(CheckIndexDType(ctx, 1, "dim"));
  const PartialShape& in = ctx.input_shape(0);
  KILN_ASSIGN_OR_RETURN(auto dim, ConstantInt64s(ctx, 1));
  if (!in.rank_known) {
    ctx.set_output(0, ctx.input_dtype(0), PartialShape::Unknown());
    return OkStatus();
  }
  if (!dim) {
    ctx.set_output(0, ctx.input_dtype(0), UnknownDims(in.rank() + 1));
    return OkStatus();
  }
  if (dim->size() != 1) return InvalidArgument("dim must hold a single value, got " + std::to_string(dim->size()));
  KILN_ASSIGN_OR_RETURN(int axis, NormalizeAxis((*dim)[0], in.rank() + 1));
  std::vector<int64_t> out = in.dims;
  out.insert(out.begin() + axis, 1);
  ctx.set_output(0, ctx.input_dtype(0), PartialShape::Known(std::move(out)));
  return OkStatus();
}

Status SqueezeShape(InferenceContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(1, 1));
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> squeeze, ctx.Attr<std::vector<int64_t>>("squeeze_dims"));
  const PartialShape& in = ctx.input_shape(0);
  if (!in.rank_known) {
    ctx.set_output(0, ctx.input_dtype(0), PartialShape::Unknown());
    return OkStatus();
  }
  std::vector<bool> drop(in.dims.size(), false);
  for (int64_t a : squeeze) {
    KILN_ASSIGN_OR_RETURN(int d, NormalizeAxis(a, in.rank()));
    if (in.dims[d] >= 0 && in.dims[d] != 1) {
      return InvalidArgument("cannot squeeze dim " + std::to_string(d) + " of shape " + in.ToString() +
                             ": its size is not 1");
    }
    drop[d] = true;
  }
  std::vector<int64_t> out;
  for (size_t d = 0; d < in.dims.size(); ++d) {
    if (squeeze.empty() && in.dims[d] < 0) {  // might be 1: the rank is unknown
      ctx.set_output(0, ctx.input_dtype(0), PartialShape::Unknown());
      return OkStatus();
    }
    if (!drop[d] && !(squeeze.empty() && in.dims[d] == 1)) out.push_back(in.dims[d]);
  }
  ctx.set_output(0, ctx.input_dtype(0), PartialShape::Known(std::move(out)));
  return OkStatus();
}

Status TransposeShape(InferenceContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  KILN_RETURN_IF_ERROR(CheckIndexDType(ctx, 1, "perm"));
  const PartialShape& in = ctx.input_shape(0);
  KILN_ASSIGN_OR_RETURN(int64_t n, VectorLength(ctx, 1, "perm"));
  if (in.rank_known && n >= 0 && n != in.rank()) {
    return InvalidArgument("perm has " + std::to_string(n) + " entries for an input of rank " +
                           std::to_string(in.rank()));
  }
  KILN_ASSIGN_OR_RETURN(auto perm, ConstantInt64s(ctx, 1));
  if (!perm) {
    ctx.set_output(0, ctx.input_dtype(0), UnknownDims(in.rank_known ? in.rank() : n));
    return OkStatus();
  }
  const int rank = static_cast<int>(perm->size());
  std::vector<bool> seen(rank, false);
  std::vector<int64_t> out(rank, -1);
  for (int i = 0; i < rank; ++i) {
    const int64_t p = (*perm)[i];
    if (p < 0 || p >= rank || seen[p]) {
      return InvalidArgument("perm " + ShapeToString(*perm) + " is not a permutation of [0, " + std::to_string(rank) +
                             ")");
    }
    seen[p] = true;
    if (in.rank_known) out[i] = in.dims[p];
  }
  ctx.set_output(0, ctx.input_dtype(0), PartialShape::Known(std::move(out)));
  return OkStatus();
}

Status FillShape(InferenceContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  KILN_RETURN_IF_ERROR(CheckIndexDType(ctx, 0, "dims"));
  const PartialShape& value = ctx.input_shape(1);
  if (value.rank_known && value.rank() != 0) return InvalidArgument("value must be a scalar, got " + value.ToString());
  KILN_ASSIGN_OR_RETURN(int64_t n, VectorLength(ctx, 0, "dims"));
  KILN_ASSIGN_OR_RETURN(auto dims, ConstantInt64s(ctx, 0));
  if (!dims) {
    ctx.set_output(0, ctx.input_dtype(1), UnknownDims(n));
    return OkStatus();
  }
  KILN_RETURN_IF_ERROR(CheckedNumElements(*dims).status());
  ctx.set_output(0, ctx.input_dtype(1), PartialShape::Known(*dims));
  return OkStatus();
}

Status RangeShape(InferenceContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(3, 3));
  const DType dt = ctx.input_dtype(0);
  for (int i = 0; i < 3; ++i) {
    const PartialShape& s = ctx.input_shape(i);
    if (s.rank_known && s.rank() > 0) {
      return InvalidArgument("range: start, limit and delta must be scalars, got shape " + s.ToString());
    }
    if (ctx.input_dtype(i) != dt) return InvalidArgument("range: start, limit and delta must have one dtype");
  }
  if (ctx.input_value(0) && ctx.input_value(1) && ctx.input_value(2)) {
    KILN_ASSIGN_OR_RETURN(int64_t n, RangeSize(*ctx.input_value(0), *ctx.input_value(1), *ctx.input_value(2)));
    ctx.set_output(0, dt, PartialShape::Known({n}));
  } else {
    ctx.set_output(0, dt, PartialShape::Known({-1}));
  }
  return OkStatus();
}

Status TileShape(InferenceContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  KILN_RETURN_IF_ERROR(CheckIndexDType(ctx, 1, "multiples"));
  const PartialShape& in = ctx.input_shape(0);
  KILN_ASSIGN_OR_RETURN(int64_t n, VectorLength(ctx, 1, "multiples"));
  if (in.rank_known && n >= 0 && n != in.rank()) {
    return InvalidArgument("multiples has " + std::to_string(n) + " entries for an input of rank " +
                           std::to_string(in.rank()));
  }
  KILN_ASSIGN_OR_RETURN(auto mult, ConstantInt64s(ctx, 1));
  if (!mult) {
    ctx.set_output(0, ctx.input_dtype(0), UnknownDims(in.rank_known ? in.rank() : n));
    return OkStatus();
  }
  std::vector<int64_t> out(mult->size(), -1);
  for (size_t i = 0; i < mult->size(); ++i) {
    const int64_t m = (*mult)[i];
    if (m < 0) return InvalidArgument("multiples[" + std::to_string(i) + "] must be >= 0, got " + std::to_string(m));
    if (m == 0) {
      out[i] = 0;
    } else if (in.rank_known && in.dims[i] >= 0) {
      out[i] = in.dims[i] * m;
    }
  }
  ctx.set_output(0, ctx.input_dtype(0), PartialShape::Known(std::move(out)));
  return OkStatus();
}

Status BroadcastToShape(InferenceContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  KILN_RETURN_IF_ERROR(CheckIndexDType(ctx, 1, "shape"));
  const PartialShape& in = ctx.input_shape(0);
  KILN_ASSIGN_OR_RETURN(int64_t n, VectorLength(ctx, 1, "shape"));
  KILN_ASSIGN_OR_RETURN(auto target, ConstantInt64s(ctx, 1));
  if (!target) {
    ctx.set_output(0, ctx.input_dtype(0), UnknownDims(n));
    return OkStatus();
  }
  KILN_RETURN_IF_ERROR(CheckedNumElements(*target).status());
  if (in.rank_known) {
    if (in.rank() > static_cast<int>(target->size())) {
      return InvalidArgument("cannot broadcast shape " + in.ToString() + " to lower-rank " + ShapeToString(*target));
    }
    const size_t off = target->size() - in.dims.size();
    for (size_t i = 0; i < in.dims.size(); ++i) {
      const int64_t d = in.dims[i];
      if (d >= 0 && d != 1 && d != (*target)[off + i]) {
        return InvalidArgument("cannot broadcast shape " + in.ToString() + " to " + ShapeToString(*target));
      }
    }
  }
  ctx.set_output(0, ctx.input_dtype(0), PartialShape::Known(*target));
  return OkStatus();
}

Status OneHotShape(InferenceContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(4, 4));
  KILN_ASSIGN_OR_RETURN(int64_t axis, ctx.Attr<int64_t>("axis"));
  const DType idx = ctx.input_dtype(0);
  if (idx != DType::kInt32 && idx != DType::kInt64 && idx != DType::kUInt8 && idx != DType::kInt8) {
    return InvalidArgument("indices must be uint8, int8, int32 or int64, got " + std::string(DTypeName(idx)));
  }
  if (ctx.input_dtype(2) != ctx.input_dtype(3)) return InvalidArgument("on_value and off_value must have one dtype");
  const PartialShape& in = ctx.input_shape(0);
  int64_t depth = -1;
  if (const Tensor* d = ctx.input_value(1)) {
    KILN_ASSIGN_OR_RETURN(std::vector<int64_t> v, d->ToInt64Vector());
    if (v.size() != 1) return InvalidArgument("depth must be a scalar");
    if (v[0] < 0) return InvalidArgument("depth must be non-negative, got " + std::to_string(v[0]));
    depth = v[0];
  }
  if (!in.rank_known) {
    ctx.set_output(0, ctx.input_dtype(2), PartialShape::Unknown());
    return OkStatus();
  }
  if (axis < -1 || axis > in.rank()) {
    return InvalidArgument("axis must be -1 or in [0, " + std::to_string(in.rank()) + "], got " + std::to_string(axis));
  }
  std::vector<int64_t> out = in.dims;
  out.insert(axis == -1 ? out.end() : out.begin() + axis, depth);
  ctx.set_output(0, ctx.input_dtype(2), PartialShape::Known(std::move(out)));
  return OkStatus();
}

Status ReverseShape(InferenceContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  KILN_RETURN_IF_ERROR(CheckIndexDType(ctx, 1, "axis"));
  const PartialShape& in = ctx.input_shape(0);
  KILN_ASSIGN_OR_RETURN(auto axes, ConstantInt64s(ctx, 1));
  if (axes && in.rank_known) {
    std::vector<bool> seen(in.dims.size(), false);
    for (int64_t a : *axes) {
      KILN_ASSIGN_OR_RETURN(int d, NormalizeAxis(a, in.rank()));
      if (seen[d]) return InvalidArgument("axis " + std::to_string(d) + " is given more than once");
      seen[d] = true;
    }
  }
  ctx.set_output(0, ctx.input_dtype(0), in);
  return OkStatus();
}

Status WhereShape(InferenceContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(1, 1));
  const PartialShape& in = ctx.input_shape(0);
  if (in.rank_known && in.rank() == 0) return InvalidArgument("Where needs an input of rank >= 1");
  ctx.set_output(0, DType::kInt64, PartialShape::Known({-1, in.rank_known ? in.rank() : -1}));
  return OkStatus();
}

}  // namespace

KILN_REGISTER_OP(OpDefBuilder("Shape")
                     .Attr("T", DType::kFloat32)
                     .Attr("out_type", DType::kInt32)
                     .Output("output")
                     .Shape(ShapeShape));
KILN_REGISTER_OP(OpDefBuilder("ShapeN")
                     .Attr("N")
                     .Attr("T", DType::kFloat32)
                     .Attr("out_type", DType::kInt32)
                     .OutputList("output", "N")
                     .Shape(ShapeNShape));
KILN_REGISTER_OP(
    OpDefBuilder("Size").Attr("T", DType::kFloat32).Attr("out_type", DType::kInt32).Output("output").Shape(SizeShape));
KILN_REGISTER_OP(OpDefBuilder("Rank").Attr("T", DType::kFloat32).Output("output").Shape(RankShape));
KILN_REGISTER_OP(OpDefBuilder("Reshape")
                     .Attr("T", DType::kFloat32)
                     .Attr("Tshape", DType::kInt32)
                     .Output("output")
                     .Shape(ReshapeShape));
KILN_REGISTER_OP(OpDefBuilder("ExpandDims")
                     .Attr("T", DType::kFloat32)
                     .Attr("Tdim", DType::kInt32)
                     .Output("output")
                     .Shape(ExpandDimsShape));
KILN_REGISTER_OP(OpDefBuilder("Squeeze")
                     .Attr("T", DType::kFloat32)
                     .Attr("squeeze_dims", std::vector<int64_t>{})
                     .Output("output")
                     .Shape(SqueezeShape));
KILN_REGISTER_OP(OpDefBuilder("Transpose")
                     .Attr("T", DType::kFloat32)
                     .Attr("Tperm", DType::kInt32)
                     .Output("y")
                     .Shape(TransposeShape));
KILN_REGISTER_OP(OpDefBuilder("Fill")
                     .Attr("T", DType::kFloat32)
                     .Attr("index_type", DType::kInt32)
                     .Output("output")
                     .Shape(FillShape));
KILN_REGISTER_OP(OpDefBuilder("Range").Attr("Tidx", DType::kInt32).Output("output").Shape(RangeShape));
KILN_REGISTER_OP(OpDefBuilder("Tile")
                     .Attr("T", DType::kFloat32)
                     .Attr("Tmultiples", DType::kInt32)
                     .Output("output")
                     .Shape(TileShape));
KILN_REGISTER_OP(OpDefBuilder("BroadcastTo")
                     .Attr("T", DType::kFloat32)
                     .Attr("Tidx", DType::kInt32)
                     .Output("output")
                     .Shape(BroadcastToShape));
KILN_REGISTER_OP(OpDefBuilder("OneHot")
                     .Attr("axis", int64_t{-1})
                     .Attr("T", DType::kFloat32)
                     .Attr("TI", DType::kInt64)
                     .Output("output")
                     .Shape(OneHotShape));
KILN_REGISTER_OP(OpDefBuilder("ReverseV2")
                     .Attr("Tidx", DType::kInt32)
                     .Attr("T", DType::kFloat32)
                     .Output("output")
                     .Shape(ReverseShape));
KILN_REGISTER_OP(OpDefBuilder("Where").Attr("T", DType::kBool).Output("index").Shape(WhereShape));

}  // namespace kiln::ir
