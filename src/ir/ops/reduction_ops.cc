// Reductions over axes (Sum, Mean, ...), ArgMax/ArgMin and cumulative scans.
#include "ir/op_registry.h"
#include "ir/ops/array_shape_util.h"
#include "ir/shape_fns.h"

namespace kiln::ir {
namespace {

Status CheckAxisInput(const InferenceContext& ctx, int i, const char* what) {
  const DType d = ctx.input_dtype(i);
  if (d != DType::kInt32 && d != DType::kInt64) {
    return InvalidArgument(std::string(what) + " must be int32 or int64, got " + std::string(DTypeName(d)));
  }
  const PartialShape& s = ctx.input_shape(i);
  if (s.rank_known && s.rank() > 1) {
    return InvalidArgument(std::string(what) + " must be a scalar or vector, got shape " + s.ToString());
  }
  return OkStatus();
}

// Output dims of reducing `input` over `mask`.
PartialShape ReducedShape(const PartialShape& input, const std::vector<bool>& mask, bool keep_dims) {
  std::vector<int64_t> out;
  for (size_t d = 0; d < input.dims.size(); ++d) {
    if (!mask[d]) {
      out.push_back(input.dims[d]);
    } else if (keep_dims) {
      out.push_back(1);
    }
  }
  return PartialShape::Known(std::move(out));
}

Status ReductionShape(InferenceContext& ctx, bool bool_only) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  KILN_RETURN_IF_ERROR(CheckAxisInput(ctx, 1, "reduction_indices"));
  KILN_ASSIGN_OR_RETURN(bool keep_dims, ctx.Attr<bool>("keep_dims"));
  const DType dtype = ctx.input_dtype(0);
  if (bool_only != (dtype == DType::kBool)) {
    return InvalidArgument("cannot reduce a " + std::string(DTypeName(dtype)) + " tensor with " + ctx.node().op);
  }
  const PartialShape& in = ctx.input_shape(0);
  KILN_ASSIGN_OR_RETURN(auto axes, ConstantInt64s(ctx, 1));
  if (!in.rank_known) {
    ctx.set_output(0, dtype, PartialShape::Unknown());
    return OkStatus();
  }
  if (axes) {
    KILN_ASSIGN_OR_RETURN(std::vector<bool> mask, ReductionAxesMask(*axes, in.rank()));
    ctx.set_output(0, dtype, ReducedShape(in, mask, keep_dims));
    return OkStatus();
  }
  // Unknown axes: keep_dims keeps the rank; otherwise the rank drops by the (distinct) axis count.
  const PartialShape& axes_shape = ctx.input_shape(1);
  if (keep_dims) {
    ctx.set_output(0, dtype, PartialShape::Known(Shape(in.dims.size(), -1)));
  } else if (axes_shape.IsFullyDefined()) {
    const int64_t n = axes_shape.rank() == 0 ? 1 : axes_shape.dims[0];
    if (n > in.rank()) return InvalidArgument("more reduction axes than input dims in " + in.ToString());
    ctx.set_output(0, dtype, PartialShape::Known(Shape(static_cast<size_t>(in.rank() - n), -1)));
  } else {
    ctx.set_output(0, dtype, PartialShape::Unknown());
  }
  return OkStatus();
}

Status NumericReductionShape(InferenceContext& ctx) { return ReductionShape(ctx, false); }
Status BoolReductionShape(InferenceContext& ctx) { return ReductionShape(ctx, true); }

Status ArgReductionShape(InferenceContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  KILN_RETURN_IF_ERROR(CheckAxisInput(ctx, 1, "dimension"));
  KILN_ASSIGN_OR_RETURN(DType out_type, ctx.Attr<DType>("output_type"));
  if (out_type != DType::kInt32 && out_type != DType::kInt64) {
    return Unimplemented("output_type " + std::string(DTypeName(out_type)) + " is not supported (int32, int64)");
  }
  const PartialShape& in = ctx.input_shape(0);
  KILN_ASSIGN_OR_RETURN(auto axis, ConstantInt64s(ctx, 1));
  if (!in.rank_known) {
    ctx.set_output(0, out_type, PartialShape::Unknown());
    return OkStatus();
  }
  if (in.rank() == 0) return InvalidArgument(ctx.node().op + " needs an input of rank >= 1");
  if (!axis) {
    ctx.set_output(0, out_type, PartialShape::Known(Shape(static_cast<size_t>(in.rank() - 1), -1)));
    return OkStatus();
  }
  if (axis->size() != 1) return InvalidArgument("dimension must hold one value, got " + std::to_string(axis->size()));
  KILN_ASSIGN_OR_RETURN(int a, NormalizeAxis((*axis)[0], in.rank()));
  std::vector<int64_t> out = in.dims;
  if (out[a] == 0)
    return InvalidArgument("reduction axis " + std::to_string(a) + " is empty in shape " + in.ToString());
  out.erase(out.begin() + a);
  ctx.set_output(0, out_type, PartialShape::Known(std::move(out)));
  return OkStatus();
}

Status ScanShape(InferenceContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  KILN_RETURN_IF_ERROR(CheckAxisInput(ctx, 1, "axis"));
  const PartialShape& in = ctx.input_shape(0);
  KILN_ASSIGN_OR_RETURN(auto axis, ConstantInt64s(ctx, 1));
  if (axis && in.rank_known) {
    if (axis->size() != 1)
      return InvalidArgument("axis must be a scalar, got " + std::to_string(axis->size()) + " values");
    KILN_RETURN_IF_ERROR(NormalizeAxis((*axis)[0], in.rank()).status());
  }
  ctx.set_output(0, ctx.input_dtype(0), in);
  return OkStatus();
}

OpDefBuilder Reduction(const char* name, bool bool_only) {
  OpDefBuilder b(name);
  b.Attr("keep_dims", false);
  if (!bool_only) b.Attr("T", DType::kFloat32);
  b.Attr("Tidx", DType::kInt32).Output("output").Shape(bool_only ? BoolReductionShape : NumericReductionShape);
  return b;
}

OpDefBuilder ArgReduction(const char* name) {
  return std::move(OpDefBuilder(name)
                       .Attr("T", DType::kFloat32)
                       .Attr("Tidx", DType::kInt32)
                       .Attr("output_type", DType::kInt64)
                       .Output("output")
                       .Shape(ArgReductionShape));
}

OpDefBuilder Scan(const char* name) {
  return std::move(OpDefBuilder(name)
                       .Attr("exclusive", false)
                       .Attr("reverse", false)
                       .Attr("T", DType::kFloat32)
                       .Attr("Tidx", DType::kInt32)
                       .Output("out")
                       .Shape(ScanShape));
}

}  // namespace

KILN_REGISTER_OP(Reduction("Sum", false));
KILN_REGISTER_OP(Reduction("Mean", false));
KILN_REGISTER_OP(Reduction("Prod", false));
KILN_REGISTER_OP(Reduction("Max", false));
KILN_REGISTER_OP(Reduction("Min", false));
KILN_REGISTER_OP(Reduction("EuclideanNorm", false));
KILN_REGISTER_OP(Reduction("All", true));
KILN_REGISTER_OP(Reduction("Any", true));
KILN_REGISTER_OP(ArgReduction("ArgMax"));
KILN_REGISTER_OP(ArgReduction("ArgMin"));
KILN_REGISTER_OP(Scan("Cumsum"));
KILN_REGISTER_OP(Scan("Cumprod"));

}  // namespace kiln::ir
