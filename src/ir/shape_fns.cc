#include "ir/shape_fns.h"

namespace kiln::ir {

PartialShape MostSpecificCommonShape(const PartialShape& a, const PartialShape& b) {
  if (!a.rank_known || !b.rank_known || a.rank() != b.rank()) return PartialShape::Unknown();
  PartialShape out = a;
  for (size_t d = 0; d < a.dims.size(); ++d) {
    if (a.dims[d] != b.dims[d]) out.dims[d] = -1;
  }
  return out;
}

Status UnchangedShape(InferenceContext& ctx) {
  if (ctx.num_inputs() < 1) return InvalidArgument("expects at least 1 input");
  ctx.set_output(0, ctx.input_dtype(0), ctx.input_shape(0));
  return OkStatus();
}

StatusOr<PartialShape> BroadcastShapes(const PartialShape& a, const PartialShape& b) {
  if (!a.rank_known || !b.rank_known) return PartialShape::Unknown();
  const size_t rank = std::max(a.dims.size(), b.dims.size());
  std::vector<int64_t> out(rank);
  for (size_t i = 0; i < rank; ++i) {
    const int64_t da = i < rank - a.dims.size() ? 1 : a.dims[i - (rank - a.dims.size())];
    const int64_t db = i < rank - b.dims.size() ? 1 : b.dims[i - (rank - b.dims.size())];
    if (da == 1) {
      out[i] = db;
    } else if (db == 1) {
      out[i] = da;
    } else if (da < 0 || db < 0) {
      out[i] = da < 0 ? db : da;
    } else if (da == db) {
      out[i] = da;
    } else {
      return InvalidArgument("shapes " + a.ToString() + " and " + b.ToString() + " do not broadcast");
    }
  }
  return PartialShape::Known(std::move(out));
}

Status BroadcastBinaryShape(InferenceContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  KILN_ASSIGN_OR_RETURN(PartialShape s, BroadcastShapes(ctx.input_shape(0), ctx.input_shape(1)));
  ctx.set_output(0, ctx.input_dtype(0), std::move(s));
  return OkStatus();
}

Status BroadcastCompareShape(InferenceContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  KILN_ASSIGN_OR_RETURN(PartialShape s, BroadcastShapes(ctx.input_shape(0), ctx.input_shape(1)));
  ctx.set_output(0, DType::kBool, std::move(s));
  return OkStatus();
}

StatusOr<int> NormalizeAxis(int64_t axis, int rank) {
  if (axis < -rank || axis >= rank) {
    return InvalidArgument("axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank));
  }
  return static_cast<int>(axis < 0 ? axis + rank : axis);
}

StatusOr<std::optional<std::vector<int64_t>>> ConstantInt64s(const InferenceContext& ctx, int input) {
  const Tensor* t = ctx.input_value(input);
  if (t == nullptr) return std::optional<std::vector<int64_t>>();
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> v, t->ToInt64Vector());
  return std::optional<std::vector<int64_t>>(std::move(v));
}

}  // namespace kiln::ir
