#pragma once
// numpy/TensorFlow broadcasting for elementwise kernels. A BroadcastPlan walks the output in
// rows; along a row every input advances by 1 (contiguous) or 0 (broadcast), so inner loops get
// the same-shape, scalar, row and column cases as plain loops without a special case for each.

#include <cstdint>
#include <vector>

#include "kiln/status.h"
#include "kiln/tensor.h"

namespace kiln::kernels::cpu {

// The broadcast of two shapes; "Incompatible shapes: [2,3] vs. [4]" when they do not broadcast.
StatusOr<Shape> BroadcastShape(const Shape& a, const Shape& b);

class BroadcastPlan {
 public:
  // A plan for inputs of the given shapes (any number); fails like BroadcastShape.
  static StatusOr<BroadcastPlan> Make(const std::vector<Shape>& inputs);

  const Shape& output_shape() const { return output_shape_; }
  int64_t num_elements() const { return num_elements_; }
  // Elements per row.
  int64_t row_length() const { return dims_.back(); }
  // True when input `i` advances along the row; false when it repeats one value.
  bool row_contiguous(int i) const { return strides_[i].back() != 0; }

  // Calls fn(out_offset, in_offsets) for each row in output order; in_offsets[i] is the element
  // offset of input i at the start of the row.
  template <typename Fn>
  void ForEachRow(Fn&& fn) const {
    if (num_elements_ == 0) return;
    const size_t k = strides_.size();
    const size_t outer = dims_.size() - 1;
    std::vector<int64_t> offsets(k, 0);
    std::vector<int64_t> index(outer, 0);
    const int64_t n = row_length();
    for (int64_t out = 0; out < num_elements_; out += n) {
      fn(out, offsets.data());
      // Odometer over the outer dims, innermost first.
      for (size_t d = outer; d-- > 0;) {
        for (size_t i = 0; i < k; ++i) offsets[i] += strides_[i][d];
        if (++index[d] < dims_[d]) break;
        for (size_t i = 0; i < k; ++i) offsets[i] -= strides_[i][d] * dims_[d];
        index[d] = 0;
      }
    }
  }

 private:
  Shape output_shape_;
  int64_t num_elements_ = 0;
  Shape dims_;                                 // collapsed output dims, outermost first; never empty
  std::vector<std::vector<int64_t>> strides_;  // [input][dim], in elements; 0 where broadcast
};

}  // namespace kiln::kernels::cpu
