#pragma once
// Strided views of a contiguous tensor: what the passes use to see through the ops that only move
// elements (reshapes, transposes, taking one index of an axis) to the tensor whose storage they read.
// Element (i0, ..., in-1) of a view is element offset + i0 * strides[0] + ... of the tensor's
// row-major storage. Sizes are known and positive.

#include <optional>
#include <utility>
#include <vector>

#include "kiln/tensor.h"

namespace kiln::passes {

struct StridedView {
  // A dim of the view as factors (size, stride), outermost first: index i of the dim is i's digits
  // in the mixed radix of the sizes, each digit stepping by its factor's stride (no factors: a dim
  // of 1). Reshapes that merge dims the storage does not walk as one keep them as factors, so a
  // later reshape or transpose may part them again.
  using Factors = std::vector<std::pair<int64_t, int64_t>>;
  int64_t offset = 0;
  std::vector<Factors> dims;

  // The whole of a tensor of `shape` (every dim known and positive), as stored.
  static StridedView Contiguous(const Shape& shape);
  Shape shape() const;
  // The view of Transpose(this, perm): output axis i is this view's axis perm[i].
  StridedView Transposed(const std::vector<int>& perm) const;
  // The view of this reshaped to `shape` (the same elements in row-major order), or nullopt where a
  // dim boundary of `shape` falls inside a factor it does not divide.
  std::optional<StridedView> Reshaped(const Shape& shape) const;
  // The view of this at `index` of `axis`, the axis dropped, or kept with size 1 (`keep_axis`).
  StridedView Picked(int axis, int64_t index, bool keep_axis) const;
  // Each dim's size and one stride, where every dim's factors walk it as one; else nullopt.
  std::optional<std::vector<std::pair<int64_t, int64_t>>> Strides() const;
};

// How a view lays out the tensor it reads: the tensor reshaped so that each of the view's dims
// (of more than one element) is one axis, and each stretch of storage the view steps over is an
// axis read at one index.
struct ViewAxes {
  Shape shape;                                 // the tensor's shape, so reshaped
  std::vector<int> axis_of_dim;                // view dim d -> its axis of `shape`
  std::vector<std::pair<int, int64_t>> fixed;  // (axis, index): the axes read at one index
};

// The axes of `view` over a tensor of `num_elements`, or nullopt where a dim is not one stride, or
// the dims overlap or do not tile the storage as axes do (a stride that is no multiple of the inner
// dims' extent).
std::optional<ViewAxes> AxesOf(const StridedView& view, int64_t num_elements);

}  // namespace kiln::passes
