#include "kernels/cuda/strided.h"

namespace kiln::cuda {

std::vector<int64_t> ContiguousStrides(const Shape& shape) {
  std::vector<int64_t> s(shape.size(), 1);
  for (int d = static_cast<int>(shape.size()) - 2; d >= 0; --d) s[d] = s[d + 1] * shape[d + 1];
  return s;
}

template <int N>
StatusOr<StridedMap<N>> MakeStridedMap(const Shape& dims, const std::vector<int64_t> (&strides)[N],
                                       const int64_t (&offsets)[N]) {
  std::vector<int64_t> kept_dims;
  std::vector<std::vector<int64_t>> kept(N);
  for (size_t d = 0; d < dims.size(); ++d) {
    if (dims[d] == 1) continue;
    bool merge = !kept_dims.empty();
    for (int k = 0; k < N && merge; ++k) merge = kept[k].back() == strides[k][d] * dims[d];
    if (merge) {
      kept_dims.back() *= dims[d];
      for (int k = 0; k < N; ++k) kept[k].back() = strides[k][d];
      continue;
    }
    kept_dims.push_back(dims[d]);
    for (int k = 0; k < N; ++k) kept[k].push_back(strides[k][d]);
  }
  if (kept_dims.size() > static_cast<size_t>(kMaxDims)) {
    return Unimplemented("the CUDA kernels index at most " + std::to_string(kMaxDims) + " dims; " +
                         ShapeToString(dims) + " needs " + std::to_string(kept_dims.size()));
  }
  StridedMap<N> m;
  m.rank = static_cast<int>(kept_dims.size());
  for (int d = 0; d < m.rank; ++d) {
    m.dims[d] = kept_dims[d];
    for (int k = 0; k < N; ++k) m.strides[k][d] = kept[k][d];
  }
  for (int k = 0; k < N; ++k) m.offsets[k] = offsets[k];
  m.index32 = m.size() > 0 && FitsIndex32(m);  // an empty map indexes nothing (and has a dim of 0)
  if (m.index32) {
    for (int d = 0; d < m.rank; ++d) m.divide[d] = FastDivmod(static_cast<uint32_t>(m.dims[d]));
  }
  return m;
}

template <int N>
bool FitsIndex32(const StridedMap<N>& map) {
  constexpr int64_t kLimit = int64_t{1} << 31;
  if (map.size() >= kLimit) return false;
  for (int k = 0; k < N; ++k) {
    int64_t low = map.offsets[k], high = map.offsets[k];
    for (int d = 0; d < map.rank; ++d) {
      const int64_t reach = map.strides[k][d] * (map.dims[d] - 1);
      (reach < 0 ? low : high) += reach;
    }
    if (low <= -kLimit || high >= kLimit) return false;
  }
  return true;
}

StatusOr<Shape> BroadcastShapes(const std::vector<Shape>& shapes) {
  size_t rank = 0;
  for (const Shape& s : shapes) rank = std::max(rank, s.size());
  Shape out(rank, 1);
  for (size_t i = 0; i < shapes.size(); ++i) {
    const Shape& s = shapes[i];
    for (size_t d = 0; d < s.size(); ++d) {
      const size_t o = rank - s.size() + d;
      if (s[d] == out[o] || s[d] == 1) continue;
      if (out[o] == 1) {
        out[o] = s[d];
        continue;
      }
      return InvalidArgument("shapes " + ShapeToString(shapes[0]) + " and " + ShapeToString(s) +
                             " are not broadcast-compatible");
    }
  }
  return out;
}

template <int N>
StatusOr<StridedMap<N>> BroadcastMap(const Shape& out, const std::vector<Shape>& inputs) {
  std::vector<int64_t> strides[N];
  int64_t offsets[N] = {};
  strides[0] = ContiguousStrides(out);
  for (int k = 1; k < N; ++k) {
    const Shape& in = inputs[k - 1];
    const std::vector<int64_t> own = ContiguousStrides(in);
    strides[k].assign(out.size(), 0);
    const size_t lead = out.size() - in.size();
    for (size_t d = 0; d < in.size(); ++d) {
      if (in[d] != 1) strides[k][lead + d] = own[d];
    }
  }
  return MakeStridedMap<N>(out, strides, offsets);
}

template StatusOr<StridedMap<2>> MakeStridedMap<2>(const Shape&, const std::vector<int64_t> (&)[2],
                                                   const int64_t (&)[2]);
template bool FitsIndex32<2>(const StridedMap<2>&);
template bool FitsIndex32<3>(const StridedMap<3>&);
template bool FitsIndex32<4>(const StridedMap<4>&);
template StatusOr<StridedMap<2>> BroadcastMap<2>(const Shape&, const std::vector<Shape>&);
template StatusOr<StridedMap<3>> BroadcastMap<3>(const Shape&, const std::vector<Shape>&);
template StatusOr<StridedMap<4>> BroadcastMap<4>(const Shape&, const std::vector<Shape>&);

}  // namespace kiln::cuda
