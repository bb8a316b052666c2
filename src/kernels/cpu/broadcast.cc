#include "kernels/cpu/broadcast.h"

#include <algorithm>

namespace kiln::kernels::cpu {

namespace {

Status IncompatibleShapes(const std::vector<Shape>& inputs) {
  std::string msg = "Incompatible shapes: ";
  for (size_t i = 0; i < inputs.size(); ++i) msg += (i ? " vs. " : "") + ShapeToString(inputs[i]);
  return InvalidArgument(msg);
}

}  // namespace

StatusOr<Shape> BroadcastShape(const Shape& a, const Shape& b) {
  KILN_ASSIGN_OR_RETURN(BroadcastPlan plan, BroadcastPlan::Make({a, b}));
  return plan.output_shape();
}

StatusOr<BroadcastPlan> BroadcastPlan::Make(const std::vector<Shape>& inputs) {
  size_t rank = 0;
  for (const Shape& s : inputs) rank = std::max(rank, s.size());
  // Dim d of input i, with the input's shape right-aligned against the output's.
  auto dim = [&](size_t i, size_t d) -> int64_t {
    const size_t pad = rank - inputs[i].size();
    return d < pad ? 1 : inputs[i][d - pad];
  };

  BroadcastPlan plan;
  plan.output_shape_.assign(rank, 1);
  for (size_t i = 0; i < inputs.size(); ++i) {
    for (size_t d = 0; d < rank; ++d) {
      const int64_t v = dim(i, d);
      if (v < 0) return InvalidArgument("negative dimension in shape " + ShapeToString(inputs[i]));
      if (v == 1) continue;
      int64_t& out = plan.output_shape_[d];
      if (out == 1) {
        out = v;
      } else if (out != v) {
        return IncompatibleShapes(inputs);
      }
    }
  }
  plan.num_elements_ = NumElements(plan.output_shape_);
  plan.strides_.assign(inputs.size(), {});
  if (plan.num_elements_ == 0) {
    plan.dims_ = {1};
    for (auto& s : plan.strides_) s = {0};
    return plan;
  }

  // Drop size-1 output dims and merge neighbours that every input broadcasts the same way.
  std::vector<int64_t> sizes;
  std::vector<std::vector<bool>> broadcast;  // [dim][input]
  for (size_t d = 0; d < rank; ++d) {
    const int64_t n = plan.output_shape_[d];
    if (n == 1) continue;
    std::vector<bool> flags(inputs.size());
    for (size_t i = 0; i < inputs.size(); ++i) flags[i] = dim(i, d) == 1;
    if (!sizes.empty() && broadcast.back() == flags) {
      sizes.back() *= n;
    } else {
      sizes.push_back(n);
      broadcast.push_back(std::move(flags));
    }
  }
  if (sizes.empty()) {
    plan.dims_ = {1};
    for (auto& s : plan.strides_) s = {0};
    return plan;
  }
  plan.dims_ = sizes;
  for (size_t i = 0; i < inputs.size(); ++i) {
    std::vector<int64_t>& strides = plan.strides_[i];
    strides.assign(sizes.size(), 0);
    int64_t step = 1;
    for (size_t d = sizes.size(); d-- > 0;) {
      if (broadcast[d][i]) continue;
      strides[d] = step;
      step *= sizes[d];
    }
  }
  return plan;
}

}  // namespace kiln::kernels::cpu
