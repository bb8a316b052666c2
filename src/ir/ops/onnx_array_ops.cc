// Ops with ONNX's semantics where no TensorFlow op has the same meaning (data movement):
// OnnxReshape, OnnxSlice, OnnxTopK, GatherElements, GatherND, ScatterND, ScatterElements.
// Optional ONNX inputs are always present; an absent one is an empty vector (shape [0]).
#include <optional>

#include "ir/op_registry.h"
#include "ir/ops/onnx_shape_rules.h"
#include "ir/shape_fns.h"

namespace kiln::ir {
namespace {

bool IsEmptyVector(const PartialShape& s) { return s.rank_known && s.rank() == 1 && s.dims[0] == 0; }

// Input i must be an int32/int64 vector (any dtype when it is empty: an absent input).
Status CheckIndexVector(const InferenceContext& ctx, int i, const char* what) {
  const PartialShape& s = ctx.input_shape(i);
  if (s.rank_known && s.rank() != 1)
    return InvalidArgument(std::string(what) + " must be a vector, got " + s.ToString());
  const DType d = ctx.input_dtype(i);
  if (!IsEmptyVector(s) && d != DType::kInt32 && d != DType::kInt64) {
    return InvalidArgument(std::string(what) + " must be int32 or int64, got " + std::string(DTypeName(d)));
  }
  return OkStatus();
}

Status CheckIndices(const InferenceContext& ctx, int i) {
  const DType d = ctx.input_dtype(i);
  if (d != DType::kInt32 && d != DType::kInt64) {
    return InvalidArgument("indices must be int32 or int64, got " + std::string(DTypeName(d)));
  }
  return OkStatus();
}

// A vector input's values: known when constant or empty.
StatusOr<std::optional<std::vector<int64_t>>> KnownVector(const InferenceContext& ctx, int i) {
  if (IsEmptyVector(ctx.input_shape(i))) return std::optional<std::vector<int64_t>>(std::vector<int64_t>{});
  return ConstantInt64s(ctx, i);
}

PartialShape UnknownDims(int64_t rank) {
  return rank < 0 ? PartialShape::Unknown() : PartialShape::Known(Shape(static_cast<size_t>(rank), -1));
}

Status OnnxReshapeShapeFn(InferenceContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  KILN_RETURN_IF_ERROR(CheckIndexVector(ctx, 1, "shape"));
  KILN_ASSIGN_OR_RETURN(int64_t allowzero, ctx.Attr<int64_t>("allowzero"));
  KILN_ASSIGN_OR_RETURN(auto sizes, ConstantInt64s(ctx, 1));
  if (sizes) {
    KILN_ASSIGN_OR_RETURN(PartialShape out, OnnxReshapeShape(ctx.input_shape(0), *sizes, allowzero != 0));
    ctx.set_output(0, ctx.input_dtype(0), std::move(out));
  } else {
    const PartialShape& s = ctx.input_shape(1);
    ctx.set_output(0, ctx.input_dtype(0), UnknownDims(s.rank_known ? s.dims[0] : -1));
  }
  return OkStatus();
}

Status OnnxSliceShapeFn(InferenceContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(5, 5));
  const char* names[] = {"starts", "ends", "axes", "steps"};
  for (int i = 1; i < 5; ++i) KILN_RETURN_IF_ERROR(CheckIndexVector(ctx, i, names[i - 1]));
  const PartialShape& in = ctx.input_shape(0);
  if (!in.rank_known) {
    ctx.set_output(0, ctx.input_dtype(0), PartialShape::Unknown());
    return OkStatus();
  }
  KILN_ASSIGN_OR_RETURN(auto starts, KnownVector(ctx, 1));
  KILN_ASSIGN_OR_RETURN(auto ends, KnownVector(ctx, 2));
  KILN_ASSIGN_OR_RETURN(auto axes, KnownVector(ctx, 3));
  KILN_ASSIGN_OR_RETURN(auto steps, KnownVector(ctx, 4));
  std::vector<int64_t> out(in.dims.size(), -1);
  if (starts && ends && axes && steps) {
    KILN_ASSIGN_OR_RETURN(std::vector<OnnxSliceDim> dims, ResolveOnnxSlice(in.dims, *starts, *ends, *axes, *steps));
    for (size_t d = 0; d < dims.size(); ++d) out[d] = dims[d].count;
  } else if (axes && (ctx.input_shape(1).IsFullyDefined() || !axes->empty())) {
    const int64_t n = axes->empty() ? ctx.input_shape(1).dims[0] : static_cast<int64_t>(axes->size());
    KILN_ASSIGN_OR_RETURN(std::vector<bool> sliced, OnnxSliceAxesMask(in.rank(), *axes, n));
    for (size_t d = 0; d < out.size(); ++d) out[d] = sliced[d] ? -1 : in.dims[d];
  }
  ctx.set_output(0, ctx.input_dtype(0), PartialShape::Known(std::move(out)));
  return OkStatus();
}

Status OnnxTopKShapeFn(InferenceContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  const PartialShape& k_shape = ctx.input_shape(1);
  if (ctx.input_dtype(1) != DType::kInt64 && ctx.input_dtype(1) != DType::kInt32) {
    return InvalidArgument("K must be int64 (or int32), got " + std::string(DTypeName(ctx.input_dtype(1))));
  }
  if (k_shape.rank_known && k_shape.rank() > 1)
    return InvalidArgument("K must be a 1-element vector, got " + k_shape.ToString());
  if (k_shape.IsFullyDefined() && NumElements(k_shape.dims) != 1) {
    return InvalidArgument("K must hold one value, got shape " + k_shape.ToString());
  }
  KILN_ASSIGN_OR_RETURN(int64_t axis, ctx.Attr<int64_t>("axis"));
  const PartialShape& in = ctx.input_shape(0);
  KILN_ASSIGN_OR_RETURN(auto k, ConstantInt64s(ctx, 1));
  PartialShape out = in;
  if (in.rank_known) {
    KILN_ASSIGN_OR_RETURN(int a, NormalizeAxis(axis, in.rank()));
    out.dims[a] = -1;
    if (k && k->size() == 1) {
      const int64_t dim = in.dims[a];
      if ((*k)[0] < 0 || (dim >= 0 && (*k)[0] > dim)) {
        return InvalidArgument("K = " + std::to_string((*k)[0]) + " is not in [0, " + std::to_string(dim) +
                               "] for axis " + std::to_string(a) + " of " + in.ToString());
      }
      out.dims[a] = (*k)[0];
    }
  }
  ctx.set_output(0, ctx.input_dtype(0), out);
  ctx.set_output(1, DType::kInt64, out);
  return OkStatus();
}

Status GatherElementsShapeFn(InferenceContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  KILN_RETURN_IF_ERROR(CheckIndices(ctx, 1));
  const PartialShape& data = ctx.input_shape(0);
  const PartialShape& indices = ctx.input_shape(1);
  KILN_ASSIGN_OR_RETURN(int64_t axis, ctx.Attr<int64_t>("axis"));
  PartialShape out = indices;
  if (data.rank_known) {
    if (data.rank() == 0) return InvalidArgument("data must have rank >= 1");
    KILN_ASSIGN_OR_RETURN(int a, NormalizeAxis(axis, data.rank()));
    KILN_RETURN_IF_ERROR(CheckElementsShapes(data, indices, a));
    if (!indices.rank_known) out = UnknownDims(data.rank());
  }
  ctx.set_output(0, ctx.input_dtype(0), std::move(out));
  return OkStatus();
}

Status GatherNDShapeFn(InferenceContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  KILN_RETURN_IF_ERROR(CheckIndices(ctx, 1));
  KILN_ASSIGN_OR_RETURN(int64_t batch_dims, ctx.Attr<int64_t>("batch_dims"));
  KILN_ASSIGN_OR_RETURN(PartialShape out, GatherNDShape(ctx.input_shape(0), ctx.input_shape(1), batch_dims));
  ctx.set_output(0, ctx.input_dtype(0), std::move(out));
  return OkStatus();
}

Status CheckReduction(const InferenceContext& ctx) {
  KILN_ASSIGN_OR_RETURN(std::string reduction, ctx.Attr<std::string>("reduction"));
  if (reduction != "none" && reduction != "add" && reduction != "mul" && reduction != "max" && reduction != "min") {
    return InvalidArgument("unknown reduction '" + reduction + "' (expected none, add, mul, max or min)");
  }
  if (ctx.input_dtype(2) != ctx.input_dtype(0)) {
    return InvalidArgument("updates has dtype " + std::string(DTypeName(ctx.input_dtype(2))) + " but data has " +
                           std::string(DTypeName(ctx.input_dtype(0))));
  }
  return OkStatus();
}

Status ScatterNDShapeFn(InferenceContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(3, 3));
  KILN_RETURN_IF_ERROR(CheckIndices(ctx, 1));
  KILN_RETURN_IF_ERROR(CheckReduction(ctx));
  KILN_RETURN_IF_ERROR(CheckScatterNDShapes(ctx.input_shape(0), ctx.input_shape(1), ctx.input_shape(2)));
  ctx.set_output(0, ctx.input_dtype(0), ctx.input_shape(0));
  return OkStatus();
}

Status ScatterElementsShapeFn(InferenceContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(3, 3));
  KILN_RETURN_IF_ERROR(CheckIndices(ctx, 1));
  KILN_RETURN_IF_ERROR(CheckReduction(ctx));
  const PartialShape& data = ctx.input_shape(0);
  const PartialShape& indices = ctx.input_shape(1);
  const PartialShape& updates = ctx.input_shape(2);
  if (indices.rank_known && updates.rank_known) {
    bool same = indices.rank() == updates.rank();
    for (int d = 0; same && d < indices.rank(); ++d) {
      same = indices.dims[d] < 0 || updates.dims[d] < 0 || indices.dims[d] == updates.dims[d];
    }
    if (!same) {
      return InvalidArgument("updates " + updates.ToString() + " must have the shape of indices " + indices.ToString());
    }
  }
  KILN_ASSIGN_OR_RETURN(int64_t axis, ctx.Attr<int64_t>("axis"));
  if (data.rank_known) {
    if (data.rank() == 0) return InvalidArgument("data must have rank >= 1");
    KILN_ASSIGN_OR_RETURN(int a, NormalizeAxis(axis, data.rank()));
    KILN_RETURN_IF_ERROR(CheckElementsShapes(data, indices, a));
  }
  ctx.set_output(0, ctx.input_dtype(0), data);
  return OkStatus();
}

}  // namespace

KILN_REGISTER_OP(
    OpDefBuilder("OnnxReshape").Attr("allowzero", int64_t{0}).Output("reshaped").Shape(OnnxReshapeShapeFn));
KILN_REGISTER_OP(OpDefBuilder("OnnxSlice").Output("output").Shape(OnnxSliceShapeFn));
KILN_REGISTER_OP(OpDefBuilder("OnnxTopK")
                     .Attr("axis", int64_t{-1})
                     .Attr("largest", int64_t{1})
                     .Attr("sorted", int64_t{1})
                     .Output("values")
                     .Output("indices")
                     .Shape(OnnxTopKShapeFn));
KILN_REGISTER_OP(OpDefBuilder("GatherElements").Attr("axis", int64_t{0}).Output("output").Shape(GatherElementsShapeFn));
KILN_REGISTER_OP(OpDefBuilder("GatherND").Attr("batch_dims", int64_t{0}).Output("output").Shape(GatherNDShapeFn));
KILN_REGISTER_OP(
    OpDefBuilder("ScatterND").Attr("reduction", std::string("none")).Output("output").Shape(ScatterNDShapeFn));
KILN_REGISTER_OP(OpDefBuilder("ScatterElements")
                     .Attr("axis", int64_t{0})
                     .Attr("reduction", std::string("none"))
                     .Output("output")
                     .Shape(ScatterElementsShapeFn));

}  // namespace kiln::ir
