#include "kernels/cpu/array_util.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "kernels/cpu/nn_util.h"

namespace kiln::kernels::cpu {

std::vector<int64_t> RowMajorStrides(const Shape& shape) {
  std::vector<int64_t> s(shape.size(), 1);
  for (int i = static_cast<int>(shape.size()) - 2; i >= 0; --i) s[i] = s[i + 1] * shape[i + 1];
  return s;
}

namespace {

// Drops size-1 dims and merges input dims that stay adjacent and in order, so that e.g.
// NHWC -> NCHW becomes the batched 2-D transpose [N, HW, C] -> [N, C, HW].
void SimplifyTranspose(const Shape& dims, const std::vector<int>& perm, Shape& out_dims, std::vector<int>& out_perm) {
  std::vector<int> new_index(dims.size(), -1);
  int kept = 0;
  for (size_t d = 0; d < dims.size(); ++d)
    if (dims[d] != 1) new_index[d] = kept++;
  std::vector<int> p;
  for (int d : perm)
    if (new_index[d] >= 0) p.push_back(new_index[d]);
  // Groups of consecutive input dims, in output order.
  std::vector<std::pair<int, int>> groups;  // [first, last] input dim
  for (int d : p) {
    if (!groups.empty() && groups.back().second + 1 == d) {
      groups.back().second = d;
    } else {
      groups.push_back({d, d});
    }
  }
  Shape compact;
  for (size_t d = 0; d < dims.size(); ++d)
    if (dims[d] != 1) compact.push_back(dims[d]);
  std::vector<int> order(groups.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int a, int b) { return groups[a].first < groups[b].first; });
  out_dims.clear();
  std::vector<int> rank_of(groups.size());
  for (size_t i = 0; i < order.size(); ++i) {
    const auto& g = groups[order[i]];
    int64_t size = 1;
    for (int d = g.first; d <= g.second; ++d) size *= compact[d];
    out_dims.push_back(size);
    rank_of[order[i]] = static_cast<int>(i);
  }
  out_perm.clear();
  for (size_t i = 0; i < groups.size(); ++i) out_perm.push_back(rank_of[i]);
}

template <typename T>
void BatchedTranspose2D(const T* in, T* out, int64_t batch, int64_t rows, int64_t cols) {
  constexpr int64_t kTile = 32;
  for (int64_t b = 0; b < batch; ++b) {
    const T* src = in + b * rows * cols;
    T* dst = out + b * rows * cols;
    for (int64_t i0 = 0; i0 < rows; i0 += kTile) {
      const int64_t i1 = std::min(rows, i0 + kTile);
      for (int64_t j0 = 0; j0 < cols; j0 += kTile) {
        const int64_t j1 = std::min(cols, j0 + kTile);
        for (int64_t i = i0; i < i1; ++i)
          for (int64_t j = j0; j < j1; ++j) dst[j * rows + i] = src[i * cols + j];
      }
    }
  }
}

template <typename T>
void TransposeImpl(const T* in, T* out, const Shape& dims, const std::vector<int>& perm) {
  const int r = static_cast<int>(dims.size());
  const int64_t total = NumElements(dims);
  if (r <= 1) {
    std::copy(in, in + total, out);
    return;
  }
  if (r == 2 || (r == 3 && perm[0] == 0 && perm[1] == 2 && perm[2] == 1)) {
    BatchedTranspose2D(in, out, r == 3 ? dims[0] : 1, dims[r - 2], dims[r - 1]);
    return;
  }
  const std::vector<int64_t> in_strides = RowMajorStrides(dims);
  Shape out_dims(r);
  std::vector<int64_t> stride_of_out(r);  // input stride of each output dim
  for (int i = 0; i < r; ++i) {
    out_dims[i] = dims[perm[i]];
    stride_of_out[i] = in_strides[perm[i]];
  }
  // The last output dim is walked in the inner loop: a block copy when it is the input's last.
  const bool contiguous_inner = perm[r - 1] == r - 1;
  const int64_t inner = out_dims[r - 1];
  const int64_t inner_stride = stride_of_out[r - 1];
  std::vector<int64_t> idx(r - 1, 0);
  int64_t src = 0;
  for (int64_t o = 0; o < total; o += inner) {
    if (contiguous_inner) {
      std::copy(in + src, in + src + inner, out + o);
    } else {
      for (int64_t k = 0; k < inner; ++k) out[o + k] = in[src + k * inner_stride];
    }
    for (int d = r - 2; d >= 0; --d) {
      src += stride_of_out[d];
      if (++idx[d] < out_dims[d]) break;
      src -= stride_of_out[d] * out_dims[d];
      idx[d] = 0;
    }
  }
}

// One run of an output row: `len` elements from src, src+step, ... or, when src < 0, the fill.
struct Segment {
  int64_t src;
  int64_t len;
  int64_t step;
};

std::vector<Segment> RowSegments(const std::vector<int64_t>& map) {
  std::vector<Segment> segs;
  for (size_t j = 0; j < map.size();) {
    Segment s{map[j], 1, 1};
    size_t k = j + 1;
    if (s.src < 0) {
      while (k < map.size() && map[k] < 0) ++k;
    } else if (k < map.size() && map[k] >= 0) {
      s.step = map[k] - map[j];
      while (k < map.size() && map[k] >= 0 && map[k] - map[k - 1] == s.step) ++k;
    }
    s.len = static_cast<int64_t>(k - j);
    segs.push_back(s);
    j = k;
  }
  return segs;
}

template <typename T>
struct AxisMapCopier {
  const T* in;
  const std::vector<std::vector<int64_t>>& maps;
  std::vector<int64_t> in_strides;
  std::vector<int64_t> out_strides;
  std::vector<Segment> row;
  T fill;

  void Copy(int d, int64_t in_base, T* dst) const {
    const int last = static_cast<int>(maps.size()) - 1;
    if (d == last) {
      for (const Segment& s : row) {
        if (s.src < 0) {
          std::fill(dst, dst + s.len, fill);
        } else if (s.step == 1) {
          std::copy(in + in_base + s.src, in + in_base + s.src + s.len, dst);
        } else {
          const T* p = in + in_base + s.src;
          for (int64_t k = 0; k < s.len; ++k) dst[k] = p[k * s.step];
        }
        dst += s.len;
      }
      return;
    }
    const std::vector<int64_t>& m = maps[d];
    for (size_t o = 0; o < m.size(); ++o) {
      T* block = dst + static_cast<int64_t>(o) * out_strides[d];
      if (m[o] < 0) {
        std::fill(block, block + out_strides[d], fill);
      } else {
        Copy(d + 1, in_base + m[o] * in_strides[d], block);
      }
    }
  }
};

}  // namespace

Tensor TransposeTensor(const Tensor& in, const std::vector<int>& perm) {
  Shape out_shape;
  for (int p : perm) out_shape.push_back(in.dim(p));
  Tensor out = Tensor::Empty(in.dtype(), out_shape);
  if (out.num_elements() == 0) return out;
  Shape dims;
  std::vector<int> simple_perm;
  SimplifyTranspose(in.shape(), perm, dims, simple_perm);
  (void)VisitByElementSize(in.dtype(), [&]<typename T>() {
    TransposeImpl<T>(Elements<T>(in), Elements<T>(out), dims, simple_perm);
    return OkStatus();
  });
  return out;
}

Tensor CopyByAxisMaps(const Tensor& in, const std::vector<std::vector<int64_t>>& maps, const Tensor* fill) {
  Shape out_shape;
  for (const auto& m : maps) out_shape.push_back(static_cast<int64_t>(m.size()));
  Tensor out = Tensor::Empty(in.dtype(), out_shape);
  if (out.num_elements() == 0) return out;
  (void)VisitByElementSize(in.dtype(), [&]<typename T>() {
    T* dst = Elements<T>(out);
    const T fill_value = fill != nullptr ? Elements<T>(*fill)[0] : T{};
    if (maps.empty()) {
      dst[0] = Elements<T>(in)[0];
      return OkStatus();
    }
    const AxisMapCopier<T> copier{.in = Elements<T>(in),
                                  .maps = maps,
                                  .in_strides = RowMajorStrides(in.shape()),
                                  .out_strides = RowMajorStrides(out_shape),
                                  .row = RowSegments(maps.back()),
                                  .fill = fill_value};
    copier.Copy(0, 0, dst);
    return OkStatus();
  });
  return out;
}

void ConcatInto(const std::vector<const Tensor*>& parts, int axis, Tensor& out) {
  int64_t outer = 1;
  for (int d = 0; d < axis; ++d) outer *= out.dim(d);
  if (outer == 0 || out.num_elements() == 0) return;
  const int64_t out_row = out.num_elements() / outer;
  (void)VisitByElementSize(out.dtype(), [&]<typename T>() {
    T* dst = Elements<T>(out);
    int64_t offset = 0;
    for (const Tensor* p : parts) {
      const int64_t row = p->num_elements() / outer;
      const T* src = Elements<T>(*p);
      for (int64_t o = 0; o < outer; ++o) std::copy(src + o * row, src + (o + 1) * row, dst + o * out_row + offset);
      offset += row;
    }
    return OkStatus();
  });
}

std::vector<Tensor> SplitAlong(const Tensor& in, int axis, const std::vector<int64_t>& sizes) {
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < axis; ++d) outer *= in.dim(d);
  for (int d = axis + 1; d < in.rank(); ++d) inner *= in.dim(d);
  const int64_t in_row = in.dim(axis) * inner;
  std::vector<Tensor> out;
  int64_t offset = 0;
  for (int64_t size : sizes) {
    Shape s = in.shape();
    s[axis] = size;
    Tensor piece = Tensor::Empty(in.dtype(), s);
    const int64_t row = size * inner;
    if (piece.num_elements() > 0) {
      (void)VisitByElementSize(in.dtype(), [&]<typename T>() {
        const T* src = Elements<T>(in);
        T* dst = Elements<T>(piece);
        for (int64_t o = 0; o < outer; ++o)
          std::copy(src + o * in_row + offset, src + o * in_row + offset + row, dst + o * row);
        return OkStatus();
      });
    }
    offset += row;
    out.push_back(std::move(piece));
  }
  return out;
}

Tensor GatherSlices(const Tensor& data, const std::vector<int64_t>& offsets, int64_t slice, const Shape& out_shape) {
  Tensor out = Tensor::Empty(data.dtype(), out_shape);
  (void)VisitByElementSize(data.dtype(), [&]<typename T>() {
    const T* src = Elements<T>(data);
    T* dst = Elements<T>(out);
    for (size_t t = 0; t < offsets.size(); ++t) std::copy(src + offsets[t], src + offsets[t] + slice, dst + t * slice);
    return OkStatus();
  });
  return out;
}

namespace {

template <typename T>
T Combine(runtime::ScatterReduction r, T a, T b) {
  using R = runtime::ScatterReduction;
  if constexpr (std::is_floating_point_v<T>) {
    if ((r == R::kMax || r == R::kMin) && (std::isnan(a) || std::isnan(b))) return a + b;
  }
  switch (r) {
    case R::kAdd: return static_cast<T>(a + b);
    case R::kMul: return static_cast<T>(a * b);
    case R::kMax: return a > b ? a : b;
    case R::kMin: return a < b ? a : b;
    default: return b;
  }
}

}  // namespace

StatusOr<Tensor> ScatterSlices(const Tensor& data, const std::vector<int64_t>& offsets, int64_t slice,
                               const Tensor& updates, runtime::ScatterReduction reduction) {
  Tensor out = data.Clone();
  if (reduction == runtime::ScatterReduction::kNone) {
    KILN_RETURN_IF_ERROR(VisitByElementSize(data.dtype(), [&]<typename T>() {
      const T* src = Elements<T>(updates);
      T* dst = Elements<T>(out);
      for (size_t u = 0; u < offsets.size(); ++u) std::copy(src + u * slice, src + (u + 1) * slice, dst + offsets[u]);
      return OkStatus();
    }));
    return out;
  }
  const unsigned ints = nn::kInt32 | nn::kInt64 | nn::kSmallInts | nn::kUnsignedWide;
  KILN_RETURN_IF_ERROR(nn::DispatchReal(data.dtype(), ints, "scatter", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* src = updates.data<T>();
    T* dst = out.data<T>();
    for (size_t u = 0; u < offsets.size(); ++u) {
      for (int64_t i = 0; i < slice; ++i) dst[offsets[u] + i] = Combine(reduction, dst[offsets[u] + i], src[u * slice + i]);
    }
    return OkStatus();
  }));
  return out;
}

StatusOr<Tensor> GatherSlicesOn(runtime::KernelContext& ctx, const Tensor& data, const std::vector<int64_t>& offsets,
                                int64_t slice, const Shape& out_shape) {
  if (ctx.device_context() != nullptr) return ctx.device_context()->GatherSlices(data, offsets, slice, out_shape);
  return GatherSlices(data, offsets, slice, out_shape);
}

StatusOr<Tensor> ScatterSlicesOn(runtime::KernelContext& ctx, const Tensor& data, const std::vector<int64_t>& offsets,
                                 int64_t slice, const Tensor& updates, runtime::ScatterReduction reduction) {
  if (ctx.device_context() != nullptr) {
    return ctx.device_context()->ScatterSlices(data, offsets, slice, updates, reduction);
  }
  return ScatterSlices(data, offsets, slice, updates, reduction);
}

StatusOr<Tensor> TransposeOn(runtime::KernelContext& ctx, const Tensor& in, const std::vector<int>& perm) {
  if (ctx.device_context() != nullptr) return ctx.device_context()->Transpose(in, perm);
  return TransposeTensor(in, perm);
}

StatusOr<Tensor> CopyByAxisMapsOn(runtime::KernelContext& ctx, const Tensor& in,
                                  const std::vector<std::vector<int64_t>>& maps, const Tensor* fill) {
  if (ctx.device_context() != nullptr) return ctx.device_context()->CopyByAxisMaps(in, maps, fill);
  return CopyByAxisMaps(in, maps, fill);
}

Status ConcatOn(runtime::KernelContext& ctx, const std::vector<const Tensor*>& parts, int axis, const Shape& out_shape) {
  KILN_ASSIGN_OR_RETURN(Tensor * out, ctx.AllocateOutput(0, parts[0]->dtype(), out_shape));
  if (ctx.device_context() != nullptr) return ctx.device_context()->ConcatInto(parts, axis, *out);
  ConcatInto(parts, axis, *out);
  return OkStatus();
}

StatusOr<std::vector<Tensor>> SplitOn(runtime::KernelContext& ctx, const Tensor& in, int axis,
                                      const std::vector<int64_t>& sizes) {
  if (ctx.device_context() != nullptr) return ctx.device_context()->SplitAlong(in, axis, sizes);
  return SplitAlong(in, axis, sizes);
}

}  // namespace kiln::kernels::cpu
