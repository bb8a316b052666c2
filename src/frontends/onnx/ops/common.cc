#include "frontends/onnx/ops/common.h"

namespace kiln::onnx {

StatusOr<int> NormalizeAxis(int64_t axis, int rank, const std::string& what) {
  if (axis < -rank || axis >= rank) {
    return InvalidArgument(what + " " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank));
  }
  return static_cast<int>(axis < 0 ? axis + rank : axis);
}

StatusOr<int> KnownRank(const ConvertContext& ctx, ir::ValueRef v, const std::string& what) {
  const int r = ctx.rank(v);
  if (r < 0) return ctx.Unsupported(what + " of unknown rank");
  return r;
}

StatusOr<ir::ValueRef> CastTo(ConvertContext& ctx, ir::ValueRef x, DType dtype) {
  if (ctx.dtype(x) == dtype) return x;
  return ctx.Op("Cast", {x}, Attrs({{"SrcT", ctx.dtype(x)}, {"DstT", dtype}}));
}

StatusOr<ir::ValueRef> ShapeOf(ConvertContext& ctx, ir::ValueRef x) {
  return ctx.Op("Shape", {x}, Attrs({{"T", ctx.dtype(x)}, {"out_type", DType::kInt64}}));
}

StatusOr<ir::ValueRef> DimOf(ConvertContext& ctx, ir::ValueRef x, int axis) {
  KILN_ASSIGN_OR_RETURN(ir::ValueRef s, ShapeOf(ctx, x));
  return ctx.Op("GatherV2", {s, ctx.Int64Scalar(axis), ctx.Int64Scalar(0)},
                Attrs({{"Tparams", DType::kInt64}, {"Tindices", DType::kInt64}, {"Taxis", DType::kInt64}}));
}

StatusOr<ir::ValueRef> Iota(ConvertContext& ctx, ir::ValueRef n) {
  return ctx.Op("Range", {ctx.Int64Scalar(0), n, ctx.Int64Scalar(1)}, Attrs({{"Tidx", DType::kInt64}}));
}

StatusOr<ir::ValueRef> ExpandDims(ConvertContext& ctx, ir::ValueRef x, int64_t axis) {
  return ctx.Op("ExpandDims", {x, ctx.Int64Scalar(axis)}, Attrs({{"T", ctx.dtype(x)}, {"Tdim", DType::kInt64}}));
}

StatusOr<ir::ValueRef> Select(ConvertContext& ctx, ir::ValueRef cond, ir::ValueRef a, ir::ValueRef b) {
  return ctx.Op("SelectV2", {cond, a, b}, Attrs({{"T", ctx.dtype(a)}}));
}

StatusOr<ir::ValueRef> Concat(ConvertContext& ctx, std::vector<ir::ValueRef> parts, int64_t axis) {
  const int64_t n = static_cast<int64_t>(parts.size());
  const DType t = ctx.dtype(parts[0]);
  parts.push_back(ctx.Int64Scalar(axis));
  return ctx.Op("ConcatV2", parts, Attrs({{"T", t}, {"N", n}, {"Tidx", DType::kInt64}}));
}

StatusOr<ir::ValueRef> Binary(ConvertContext& ctx, const std::string& op, ir::ValueRef a, ir::ValueRef b) {
  return ctx.Op(op, {a, b}, Attrs({{"T", ctx.dtype(a)}}));
}

StatusOr<ir::ValueRef> Unary(ConvertContext& ctx, const std::string& op, ir::ValueRef x) {
  return ctx.Op(op, {x}, Attrs({{"T", ctx.dtype(x)}}));
}

StatusOr<ir::ValueRef> Reduce(ConvertContext& ctx, const std::string& op, ir::ValueRef x,
                              const std::vector<int64_t>& axes, bool keep_dims) {
  return ctx.Op(op, {x, ctx.Ints(axes)},
                Attrs({{"T", ctx.dtype(x)}, {"Tidx", DType::kInt64}, {"keep_dims", keep_dims}}));
}

StatusOr<ir::ValueRef> ChannelVector(ConvertContext& ctx, ir::ValueRef v, int rank) {
  std::vector<int64_t> shape(static_cast<size_t>(std::max(rank - 1, 1)), 1);
  shape[0] = -1;
  return ctx.Op("Reshape", {v, ctx.Ints(shape)}, Attrs({{"T", ctx.dtype(v)}, {"Tshape", DType::kInt64}}));
}

std::vector<int64_t> MoveAxisLastPerm(int axis, int rank) {
  std::vector<int64_t> perm;
  for (int i = 0; i < rank; ++i) {
    if (i != axis) perm.push_back(i);
  }
  perm.push_back(axis);
  return perm;
}

std::vector<int64_t> InversePerm(const std::vector<int64_t>& perm) {
  std::vector<int64_t> inv(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) inv[static_cast<size_t>(perm[i])] = static_cast<int64_t>(i);
  return inv;
}

StatusOr<ir::ValueRef> Transpose(ConvertContext& ctx, ir::ValueRef x, const std::vector<int64_t>& perm) {
  return ctx.Op("Transpose", {x, ctx.Ints(perm)}, Attrs({{"T", ctx.dtype(x)}, {"Tperm", DType::kInt64}}));
}

}  // namespace kiln::onnx
