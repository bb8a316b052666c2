#include "passes/views.h"

#include <algorithm>
#include <numeric>

namespace kiln::passes {
namespace {

int64_t SizeOf(const StridedView::Factors& factors) {
  int64_t n = 1;
  for (const auto& [size, stride] : factors) n *= size;
  return n;
}

}  // namespace

StridedView StridedView::Contiguous(const Shape& shape) {
  StridedView v;
  v.dims.resize(shape.size());
  int64_t step = 1;
  for (int d = static_cast<int>(shape.size()) - 1; d >= 0; --d) {
    if (shape[d] != 1) v.dims[d] = {{shape[d], step}};
    step *= shape[d];
  }
  return v;
}

Shape StridedView::shape() const {
  Shape s;
  for (const Factors& f : dims) s.push_back(SizeOf(f));
  return s;
}

StridedView StridedView::Transposed(const std::vector<int>& perm) const {
  StridedView v;
  v.offset = offset;
  for (int axis : perm) v.dims.push_back(dims[axis]);
  return v;
}

std::optional<StridedView> StridedView::Reshaped(const Shape& new_shape) const {
  const Shape old_shape = shape();
  auto product = [](const Shape& s) { return std::accumulate(s.begin(), s.end(), int64_t{1}, std::multiplies<>()); };
  if (product(new_shape) != product(old_shape) || std::count(new_shape.begin(), new_shape.end(), 0) > 0) {
    return std::nullopt;
  }
  Factors flat;  // every factor, outermost first
  for (const Factors& f : dims) flat.insert(flat.end(), f.begin(), f.end());
  StridedView v;
  v.offset = offset;
  v.dims.resize(new_shape.size());
  for (int d = static_cast<int>(new_shape.size()) - 1; d >= 0; --d) {
    Factors taken;  // innermost first
    for (int64_t need = new_shape[d]; need > 1;) {
      if (flat.empty()) return std::nullopt;
      auto& [size, stride] = flat.back();
      if (need % size == 0) {
        taken.push_back(flat.back());
        need /= size;
        flat.pop_back();
      } else if (size % need == 0) {  // the dim ends inside this factor: split it
        taken.push_back({need, stride});
        size /= need;
        stride *= need;
        need = 1;
      } else {
        return std::nullopt;
      }
    }
    v.dims[d].assign(taken.rbegin(), taken.rend());
  }
  if (!flat.empty()) return std::nullopt;
  return v;
}

StridedView StridedView::Picked(int axis, int64_t index, bool keep_axis) const {
  StridedView v = *this;
  const Factors& factors = dims[axis];
  for (auto it = factors.rbegin(); it != factors.rend(); ++it) {
    v.offset += index % it->first * it->second;
    index /= it->first;
  }
  if (keep_axis) {
    v.dims[axis].clear();
  } else {
    v.dims.erase(v.dims.begin() + axis);
  }
  return v;
}

std::optional<std::vector<std::pair<int64_t, int64_t>>> StridedView::Strides() const {
  std::vector<std::pair<int64_t, int64_t>> out;
  for (const Factors& f : dims) {
    if (f.empty()) {
      out.push_back({1, 0});
      continue;
    }
    for (size_t i = 0; i + 1 < f.size(); ++i) {
      if (f[i].second != f[i + 1].second * f[i + 1].first) return std::nullopt;
    }
    out.push_back({SizeOf(f), f.back().second});
  }
  return out;
}

std::optional<ViewAxes> AxesOf(const StridedView& view, int64_t num_elements) {
  const auto strides = view.Strides();
  if (!strides) return std::nullopt;
  // Innermost first: the view's dims by stride, and between them the stretches they step over.
  struct Axis {
    int64_t size;
    int dim;  // -1: read at one index
    int64_t index = 0;
  };
  std::vector<int> order;
  for (int d = 0; d < static_cast<int>(strides->size()); ++d) {
    if ((*strides)[d].first > 1) order.push_back(d);
  }
  std::sort(order.begin(), order.end(), [&](int a, int b) { return (*strides)[a].second < (*strides)[b].second; });
  std::vector<Axis> axes;
  int64_t extent = 1, rebuilt = 0;
  auto step_over = [&](int64_t stride) {  // an axis at one index up to `stride`
    if (stride < extent || stride % extent != 0) return false;
    if (const int64_t size = stride / extent; size > 1) {
      const int64_t index = view.offset / extent % size;
      axes.push_back({size, -1, index});
      rebuilt += index * extent;
      extent = stride;
    }
    return true;
  };
  for (int d : order) {
    if (!step_over((*strides)[d].second)) return std::nullopt;
    axes.push_back({(*strides)[d].first, d});
    extent *= (*strides)[d].first;
  }
  if (!step_over(num_elements) || extent != num_elements || rebuilt != view.offset) return std::nullopt;
  for (int d = 0; d < static_cast<int>(strides->size()); ++d) {
    if ((*strides)[d].first == 1) axes.push_back({1, d});
  }
  ViewAxes out;
  out.axis_of_dim.assign(strides->size(), -1);
  for (auto it = axes.rbegin(); it != axes.rend(); ++it) {
    const int a = static_cast<int>(out.shape.size());
    out.shape.push_back(it->size);
    if (it->dim >= 0) {
      out.axis_of_dim[it->dim] = a;
    } else {
      out.fixed.push_back({a, it->index});
    }
  }
  return out;
}

}  // namespace kiln::passes
