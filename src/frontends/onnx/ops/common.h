#pragma once
// Helpers shared by the ONNX op converters.

#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "frontends/onnx/convert_context.h"

namespace kiln::onnx {

inline ir::AttrMap Attrs(std::initializer_list<std::pair<const char*, ir::AttrValue>> values) {
  ir::AttrMap m;
  for (const auto& [k, v] : values) m.Set(k, v);
  return m;
}

// An axis in [-rank, rank) normalised to [0, rank); errors name the attribute.
StatusOr<int> NormalizeAxis(int64_t axis, int rank, const std::string& what = "axis");

// The rank of `v`, or an error saying the converter needs it known.
StatusOr<int> KnownRank(const ConvertContext& ctx, ir::ValueRef v, const std::string& what);

// x cast to `dtype` (x itself when it already has that dtype).
StatusOr<ir::ValueRef> CastTo(ConvertContext& ctx, ir::ValueRef x, DType dtype);

// The shape of `x` as an int64 vector value.
StatusOr<ir::ValueRef> ShapeOf(ConvertContext& ctx, ir::ValueRef x);

// Dimension `axis` of x as an int64 scalar value.
StatusOr<ir::ValueRef> DimOf(ConvertContext& ctx, ir::ValueRef x, int axis);
// 0, 1, ..., n - 1 (int64) for an int64 scalar n.
StatusOr<ir::ValueRef> Iota(ConvertContext& ctx, ir::ValueRef n);
// x with a new dim of size 1 at `axis`.
StatusOr<ir::ValueRef> ExpandDims(ConvertContext& ctx, ir::ValueRef x, int64_t axis);

// where(cond, a, b) with numpy broadcasting.
StatusOr<ir::ValueRef> Select(ConvertContext& ctx, ir::ValueRef cond, ir::ValueRef a, ir::ValueRef b);
// The values joined along `axis`.
StatusOr<ir::ValueRef> Concat(ConvertContext& ctx, std::vector<ir::ValueRef> parts, int64_t axis);

// Binary op helpers.
StatusOr<ir::ValueRef> Binary(ConvertContext& ctx, const std::string& op, ir::ValueRef a, ir::ValueRef b);
StatusOr<ir::ValueRef> Unary(ConvertContext& ctx, const std::string& op, ir::ValueRef x);

// Reduces `x` over constant `axes` with a TensorFlow reduction op (Sum, Mean, Max, ...).
StatusOr<ir::ValueRef> Reduce(ConvertContext& ctx, const std::string& op, ir::ValueRef x,
                              const std::vector<int64_t>& axes, bool keep_dims);

// A per-channel vector [C] reshaped to broadcast against an [N, C, spatial...] tensor of `rank`.
StatusOr<ir::ValueRef> ChannelVector(ConvertContext& ctx, ir::ValueRef v, int rank);

// Moves `axis` of a rank-`rank` tensor last (when it is not already) and back.
std::vector<int64_t> MoveAxisLastPerm(int axis, int rank);
std::vector<int64_t> InversePerm(const std::vector<int64_t>& perm);
StatusOr<ir::ValueRef> Transpose(ConvertContext& ctx, ir::ValueRef x, const std::vector<int64_t>& perm);

}  // namespace kiln::onnx
