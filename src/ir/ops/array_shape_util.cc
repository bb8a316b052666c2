#include "ir/ops/array_shape_util.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace kiln::ir {

StatusOr<int64_t> CheckedNumElements(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0)
      return InvalidArgument("dimension " + std::to_string(d) + " in shape " + ShapeToString(shape) + " must be >= 0");
    if (d != 0 && n > std::numeric_limits<int64_t>::max() / d) {
      return InvalidArgument("shape " + ShapeToString(shape) + " has too many elements");
    }
    n *= d;
  }
  return n;
}

StatusOr<std::vector<bool>> ReductionAxesMask(const std::vector<int64_t>& axes, int rank) {
  std::vector<bool> mask(static_cast<size_t>(rank), false);
  for (int64_t a : axes) {
    if (a < -rank || a >= rank) {
      return InvalidArgument("reduction axis " + std::to_string(a) + " is out of range for input of rank " +
                             std::to_string(rank));
    }
    const size_t d = static_cast<size_t>(a < 0 ? a + rank : a);
    if (mask[d]) return InvalidArgument("reduction axes contain dimension " + std::to_string(d) + " twice");
    mask[d] = true;
  }
  return mask;
}

namespace {

struct ReshapeSizes {
  int unknown_index = -1;
  int64_t known_product = 1;  // product of the sizes other than -1 and 0
  bool has_zero = false;
};

StatusOr<ReshapeSizes> ValidateReshapeSizes(const std::vector<int64_t>& sizes) {
  ReshapeSizes r;
  for (size_t i = 0; i < sizes.size(); ++i) {
    const int64_t s = sizes[i];
    if (s == -1) {
      if (r.unknown_index >= 0) {
        return InvalidArgument("reshape: only one size may be -1, not both " + std::to_string(r.unknown_index) +
                               " and " + std::to_string(i));
      }
      r.unknown_index = static_cast<int>(i);
    } else if (s < 0) {
      return InvalidArgument("reshape: size " + std::to_string(i) + " must be non-negative, not " + std::to_string(s));
    } else if (s == 0) {
      r.has_zero = true;
    } else {
      if (r.known_product > std::numeric_limits<int64_t>::max() / s) {
        return InvalidArgument("reshape: requested shape has too many elements");
      }
      r.known_product *= s;
    }
  }
  return r;
}

}  // namespace

StatusOr<Shape> ResolveReshape(const Shape& input, const std::vector<int64_t>& sizes) {
  KILN_ASSIGN_OR_RETURN(ReshapeSizes r, ValidateReshapeSizes(sizes));
  const int64_t count = NumElements(input);
  Shape out(sizes.begin(), sizes.end());
  if (r.unknown_index >= 0) {
    // Zero dims are left out of both products (when the target has one too), so that e.g.
    // [0,3] -> [-1,0] gives [3,0].
    int64_t in_count = 1;
    bool input_has_zero = false;
    for (int64_t d : input) {
      if (d > 0 || !r.has_zero) {
        in_count *= d;
      } else {
        input_has_zero = true;
      }
    }
    const int64_t missing = in_count / r.known_product;
    if (!input_has_zero && missing * r.known_product != in_count) {
      return InvalidArgument("input to reshape is a tensor with " + std::to_string(count) +
                             " values, but the requested shape " + ShapeToString(Shape(sizes.begin(), sizes.end())) +
                             " requires a multiple of " + std::to_string(r.known_product));
    }
    out[static_cast<size_t>(r.unknown_index)] = missing;
  }
  if (NumElements(out) != count) {
    return InvalidArgument("input to reshape is a tensor with " + std::to_string(count) +
                           " values, but the requested shape " + ShapeToString(out) + " has " +
                           std::to_string(NumElements(out)));
  }
  return out;
}

StatusOr<PartialShape> InferReshape(const PartialShape& input, const std::vector<int64_t>& sizes) {
  KILN_ASSIGN_OR_RETURN(ReshapeSizes r, ValidateReshapeSizes(sizes));
  if (input.IsFullyDefined()) {
    KILN_ASSIGN_OR_RETURN(Shape s, ResolveReshape(input.dims, sizes));
    return PartialShape::Known(std::move(s));
  }
  if (r.unknown_index < 0 && input.rank_known && !r.has_zero) {
    // The known input dims must divide the fixed target's element count.
    int64_t known_in = 1;
    for (int64_t d : input.dims)
      if (d > 0) known_in *= d;
    if (known_in > 0 && r.known_product % known_in != 0) {
      return InvalidArgument("cannot reshape a tensor of shape " + input.ToString() + " to " +
                             ShapeToString(Shape(sizes.begin(), sizes.end())));
    }
  }
  return PartialShape::Known(Shape(sizes.begin(), sizes.end()));
}

namespace {

template <typename T>
StatusOr<int64_t> RangeSizeOf(T start, T limit, T delta, T (*round)(T)) {
  if (delta == T(0)) return InvalidArgument("range: delta must not be 0");
  if (delta > T(0) && start > limit) {
    return InvalidArgument("range: start (" + std::to_string(start) + ") must be <= limit (" + std::to_string(limit) +
                           ") when delta > 0");
  }
  if (delta < T(0) && start < limit) {
    return InvalidArgument("range: start (" + std::to_string(start) + ") must be >= limit (" + std::to_string(limit) +
                           ") when delta < 0");
  }
  if constexpr (std::is_integral_v<T>) {
    // Unsigned arithmetic: |limit - start| may not fit in T.
    const uint64_t span = delta > 0 ? static_cast<uint64_t>(limit) - static_cast<uint64_t>(start)
                                    : static_cast<uint64_t>(start) - static_cast<uint64_t>(limit);
    const uint64_t step = delta > 0 ? static_cast<uint64_t>(delta) : uint64_t{0} - static_cast<uint64_t>(delta);
    const uint64_t size = span / step + (span % step != 0 ? 1 : 0);
    if (size > static_cast<uint64_t>(std::numeric_limits<int64_t>::max() / 16)) {
      return InvalidArgument("range: the result would have too many elements");
    }
    return static_cast<int64_t>(size);
  } else {
    const double size = std::ceil(std::abs(static_cast<double>(round(round(limit - start) / delta))));
    if (!(size <= static_cast<double>(std::numeric_limits<int64_t>::max() / 16))) {
      return InvalidArgument("range: the result would have too many elements");
    }
    return static_cast<int64_t>(size);
  }
}

template <typename T>
T Same(T x) {
  return x;
}
float RoundToHalf(float x) { return HalfToFloat(FloatToHalf(x)); }
float RoundToBFloat16(float x) { return BFloat16ToFloat(FloatToBFloat16(x)); }

}  // namespace

StatusOr<int64_t> RangeSize(const Tensor& start, const Tensor& limit, const Tensor& delta) {
  const DType dt = start.dtype();
  if (limit.dtype() != dt || delta.dtype() != dt) {
    return InvalidArgument("range: start, limit and delta must have one dtype, got " + start.DebugString() + ", " +
                           limit.DebugString() + " and " + delta.DebugString());
  }
  for (const Tensor* t : {&start, &limit, &delta}) {
    if (t->num_elements() != 1 || t->rank() > 1) {
      return InvalidArgument("range: start, limit and delta must be scalars, got " + t->DebugString());
    }
  }
  switch (dt) {
    case DType::kInt32:
      return RangeSizeOf<int64_t>(start.data<int32_t>()[0], limit.data<int32_t>()[0], delta.data<int32_t>()[0], Same);
    case DType::kInt64:
      return RangeSizeOf<int64_t>(start.data<int64_t>()[0], limit.data<int64_t>()[0], delta.data<int64_t>()[0], Same);
    case DType::kFloat32:
      return RangeSizeOf<float>(start.data<float>()[0], limit.data<float>()[0], delta.data<float>()[0], Same);
    case DType::kFloat64:
      return RangeSizeOf<double>(start.data<double>()[0], limit.data<double>()[0], delta.data<double>()[0], Same);
    case DType::kFloat16:
    case DType::kBFloat16: {
      const std::vector<float> v{start.ToFloatVector()[0], limit.ToFloatVector()[0], delta.ToFloatVector()[0]};
      return RangeSizeOf<float>(v[0], v[1], v[2], dt == DType::kFloat16 ? RoundToHalf : RoundToBFloat16);
    }
    default:
      return InvalidArgument("range: unsupported dtype " + std::string(DTypeName(dt)));
  }
}

namespace {

// The slice spec with the ellipsis expanded: one entry per input dim, plus where each output
// dim comes from (an input dim, a new axis, or nothing for a shrunk dim).
constexpr int64_t kNewAxis = -1;
constexpr int64_t kShrinkAxis = -2;

struct DenseSpec {
  std::vector<int64_t> begin, end, strides;
  int64_t begin_mask = 0, end_mask = 0, shrink_mask = 0;
  std::vector<int64_t> final_gather;  // input dim, kNewAxis or kShrinkAxis
};

bool Bit(int64_t mask, int64_t i) { return i < 63 && ((mask >> i) & 1) != 0; }

}  // namespace

StatusOr<StridedSliceSpec> ResolveStridedSlice(const std::vector<int64_t>& input_dims,
                                               const std::vector<int64_t>* begin, const std::vector<int64_t>* end,
                                               const std::vector<int64_t>& strides, const StridedSliceMasks& masks) {
  const int64_t sparse_dims = static_cast<int64_t>(strides.size());
  if ((begin && begin->size() != strides.size()) || (end && end->size() != strides.size())) {
    return InvalidArgument("strided slice: begin, end and strides must have the same length, got " +
                           std::to_string(begin ? begin->size() : strides.size()) + ", " +
                           std::to_string(end ? end->size() : strides.size()) + " and " +
                           std::to_string(strides.size()));
  }
  if (sparse_dims > 62) return InvalidArgument("strided slice: too many slice dimensions");
  if (masks.ellipsis != 0 && (masks.ellipsis & (masks.ellipsis - 1)) != 0) {
    return InvalidArgument("strided slice: multiple ellipses in slice spec are not allowed");
  }

  // Step 1: count new axes after the ellipsis; add an implicit ellipsis at the end if none.
  int64_t ellipsis_mask = masks.ellipsis;
  int64_t new_axes_after_ellipsis = 0;
  bool ellipsis_seen = false;
  for (int64_t i = 0; i < sparse_dims; ++i) {
    if (ellipsis_seen && Bit(masks.new_axis, i)) ++new_axes_after_ellipsis;
    if (Bit(ellipsis_mask, i)) ellipsis_seen = true;
  }
  int64_t spec_dims = sparse_dims;
  if (!ellipsis_seen) ellipsis_mask |= int64_t{1} << spec_dims++;

  // Step 2: expand to one entry per input dim.
  const int64_t rank = static_cast<int64_t>(input_dims.size());
  DenseSpec dense;
  dense.begin.assign(rank, 0);
  dense.end.assign(rank, 0);
  dense.strides.assign(rank, 1);
  int64_t full = 0;
  for (int64_t i = 0; i < spec_dims; ++i) {
    if (Bit(ellipsis_mask, i)) {
      const int64_t next = std::min(rank - (spec_dims - i) + 1 + new_axes_after_ellipsis, rank);
      for (; full < next; ++full) {
        dense.begin_mask |= int64_t{1} << full;
        dense.end_mask |= int64_t{1} << full;
        dense.final_gather.push_back(full);
      }
    } else if (Bit(masks.new_axis, i)) {
      dense.final_gather.push_back(kNewAxis);
    } else {
      if (full == rank) {
        return InvalidArgument("strided slice: index out of range using input dim " + std::to_string(full) +
                               "; input has only " + std::to_string(rank) + " dims");
      }
      if (begin) dense.begin[full] = (*begin)[i];
      if (end) dense.end[full] = (*end)[i];
      dense.strides[full] = strides[i];
      if (Bit(masks.begin, i)) dense.begin_mask |= int64_t{1} << full;
      if (Bit(masks.end, i)) dense.end_mask |= int64_t{1} << full;
      if (Bit(masks.shrink_axis, i)) {
        dense.final_gather.push_back(kShrinkAxis);
        dense.shrink_mask |= int64_t{1} << full;
      } else {
        dense.final_gather.push_back(full);
      }
      ++full;
    }
  }

  // Step 3: canonicalise and clamp each dim's range, and count the elements it takes.
  StridedSliceSpec spec;
  spec.is_identity = true;
  const bool bounds_known = begin != nullptr && end != nullptr;
  for (int64_t i = 0; i < rank; ++i) {
    int64_t& b = dense.begin[i];
    int64_t& e = dense.end[i];
    const int64_t s = dense.strides[i];
    const int64_t dim = input_dims[i];
    if (s == 0) return InvalidArgument("strided slice: strides[" + std::to_string(i) + "] must be non-zero");
    const bool shrink = Bit(dense.shrink_mask, i);
    if (shrink && s <= 0) return InvalidArgument("strided slice: only stride 1 is allowed on a shrunk (indexed) dim");
    const bool begin_masked = Bit(dense.begin_mask, i);
    const bool end_masked = Bit(dense.end_mask, i);
    if (dim < 0) {
      spec.processing_shape.push_back(shrink ? 1 : -1);
      spec.is_identity = false;
      continue;
    }
    const int64_t lo = s > 0 ? 0 : -1;
    const int64_t hi = s > 0 ? dim : dim - 1;
    auto canonical = [&](int64_t x, bool masked, bool is_end) {
      if (masked) return (s > 0) != is_end ? lo : hi;
      const int64_t fwd = x < 0 ? dim + x : x;
      return std::clamp(fwd, lo, hi);
    };
    if (bounds_known) {
      if (shrink) {
        // x[-1] arrives as begin=-1, end=0; the range is rebuilt as [b, b+1).
        const int64_t fwd = b < 0 ? dim + b : b;
        if (fwd < 0 || fwd >= dim) {
          return InvalidArgument("strided slice: index " + std::to_string(b) + " of dimension " + std::to_string(i) +
                                 " is out of bounds for size " + std::to_string(dim));
        }
        b = fwd;
        e = fwd + 1;
      } else {
        b = canonical(b, begin_masked, false);
        e = canonical(e, end_masked, true);
      }
      spec.is_identity &= s == 1 && b == 0 && e == dim;
    } else {
      spec.is_identity &= s == 1 && begin_masked && end_masked;
    }
    int64_t interval = 0;
    bool known = true;
    if (bounds_known) {
      interval = e - b;
    } else if (shrink) {
      interval = 1;
    } else if (begin_masked && end_masked) {
      interval = s < 0 ? -dim : dim;
    } else {
      known = false;
    }
    if (!known) {
      spec.processing_shape.push_back(-1);
    } else if (interval == 0 || ((interval < 0) != (s < 0))) {
      spec.processing_shape.push_back(0);
    } else {
      spec.processing_shape.push_back(interval / s + (interval % s != 0 ? 1 : 0));
    }
  }

  // Step 4: the final shape.
  for (int64_t g : dense.final_gather) {
    if (g >= 0) {
      spec.final_shape.push_back(spec.processing_shape[g]);
    } else if (g == kNewAxis) {
      spec.final_shape.push_back(1);
    }
  }
  spec.begin = std::move(dense.begin);
  spec.end = std::move(dense.end);
  spec.strides = std::move(dense.strides);
  return spec;
}

}  // namespace kiln::ir
