#pragma once
// Shape rules shared by the array/reduction shape functions and their CPU kernels, so that both
// compute the same shapes and reject the same inputs.

#include <optional>
#include <vector>

#include "kiln/status.h"
#include "kiln/tensor.h"

namespace kiln::ir {

// Element count of a shape; negative dims and int64 overflow are errors.
StatusOr<int64_t> CheckedNumElements(const Shape& shape);

// Reduction axes (scalar or list, possibly negative) as a per-dimension mask. Out-of-range and
// duplicate axes are errors, as in TensorFlow.
StatusOr<std::vector<bool>> ReductionAxesMask(const std::vector<int64_t>& axes, int rank);

// Reshape's target shape for a concrete input: at most one -1, the rest >= 0, element counts
// must match. A -1 next to a 0 size is resolved the way TensorFlow does.
StatusOr<Shape> ResolveReshape(const Shape& input, const std::vector<int64_t>& sizes);
// The same for a partly known input: a -1 stays unknown unless the input is fully known.
StatusOr<PartialShape> InferReshape(const PartialShape& input, const std::vector<int64_t>& sizes);

// Range's element count for scalar start/limit/delta of one numeric dtype, computed in that
// dtype as TensorFlow does; a zero delta or one pointing away from limit is an error.
StatusOr<int64_t> RangeSize(const Tensor& start, const Tensor& limit, const Tensor& delta);

struct StridedSliceMasks {
  int64_t begin = 0;
  int64_t end = 0;
  int64_t ellipsis = 0;
  int64_t new_axis = 0;
  int64_t shrink_axis = 0;
};

// StridedSlice resolved against the input's dims: per input dim, the canonical begin, end and
// stride, and the number of elements taken (processing_shape); final_shape adds new axes and
// drops shrunk ones. Dims may be -1 (unknown) and begin/end may be unknown (nullptr), for shape
// inference; the kernel passes everything known.
struct StridedSliceSpec {
  std::vector<int64_t> begin;
  std::vector<int64_t> end;
  std::vector<int64_t> strides;
  std::vector<int64_t> processing_shape;
  std::vector<int64_t> final_shape;
  bool is_identity = false;
};
StatusOr<StridedSliceSpec> ResolveStridedSlice(const std::vector<int64_t>& input_dims,
                                               const std::vector<int64_t>* begin, const std::vector<int64_t>* end,
                                               const std::vector<int64_t>& strides, const StridedSliceMasks& masks);

}  // namespace kiln::ir
