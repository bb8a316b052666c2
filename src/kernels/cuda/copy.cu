#include "kernels/cuda/common.cuh"
#include "kernels/cuda/copy.h"

#include <algorithm>

namespace kiln::cuda {
namespace {

template <typename T>
__global__ void StridedCopyKernel(const T* __restrict__ in, T* __restrict__ out, StridedMap<2> map, int64_t n) {
  KILN_GRID_STRIDE_LOOP(i, n) {
    int64_t off[2];
    map.Locate(i, off);
    out[off[0]] = in[off[1]];
  }
}

// A 16-byte element, for copies whose contiguous runs allow it.
struct alignas(16) Bytes16 {
  uint4 bits;
};

// Transposes that move the input's contiguous dim `j` to a non-last output dim: each block stages a
// 32x32 tile of (dim j, last dim) in shared memory, reading along j and writing along the last dim,
// so both sides coalesce. The remaining dims are `batches` tiles deep, walked by blockIdx.z.
template <typename T>
__global__ void TileTransposeKernel(const T* __restrict__ in, T* __restrict__ out, StridedMap<2> map, int j,
                                    int64_t batches) {
  __shared__ T tile[32][33];
  const int last = map.rank - 1;
  const int64_t nl = map.dims[last], nj = map.dims[j];
  const int64_t l0 = blockIdx.x * int64_t{32}, j0 = blockIdx.y * int64_t{32};
  for (int64_t b = blockIdx.z; b < batches; b += gridDim.z) {
    int64_t rest = b, out_at = map.offsets[0], in_at = map.offsets[1];
    for (int d = last - 1; d >= 0; --d) {
      if (d == j) continue;
      const int64_t c = rest % map.dims[d];
      rest /= map.dims[d];
      out_at += c * map.strides[0][d];
      in_at += c * map.strides[1][d];
    }
    for (int k = threadIdx.y; k < 32; k += blockDim.y) {
      const int64_t jj = j0 + threadIdx.x, ll = l0 + k;
      if (jj < nj && ll < nl) tile[k][threadIdx.x] = in[in_at + jj * map.strides[1][j] + ll * map.strides[1][last]];
    }
    __syncthreads();
    for (int k = threadIdx.y; k < 32; k += blockDim.y) {
      const int64_t ll = l0 + threadIdx.x, jj = j0 + k;
      if (jj < nj && ll < nl) out[out_at + ll * map.strides[0][last] + jj * map.strides[0][j]] = tile[threadIdx.x][k];
    }
    __syncthreads();
  }
}

// Transposes whose output's last dim is narrow and whose input walks the dim before it
// contiguously (NCHW to NHWC with few channels): one thread per output row of the narrow dim,
// `rows` locating each row's first element and `in_step` the input's step along the row, so
// neighbouring threads read neighbouring elements of each input plane.
template <typename T>
__global__ void NarrowTransposeKernel(const T* __restrict__ in, T* __restrict__ out, StridedMap<2> rows,
                                      int64_t width, int64_t in_step, int64_t n) {
  KILN_GRID_STRIDE_LOOP(r, n) {
    int64_t off[2];
    rows.Locate(r, off);
    for (int64_t c = 0; c < width; ++c) out[off[0] + c] = in[off[1] + c * in_step];
  }
}

// The widest element (up to 16 bytes) in which `map` moves whole elements: every offset, every
// stride but the last dim's (1 on both sides) and the last dim's size divisible by the widening,
// and both pointers aligned to it. Returns the widened map's element size.
size_t WidenElements(StridedMap<2>& map, size_t size, const void* in, void* out) {
  const int last = map.rank - 1;
  if (last < 0 || map.strides[0][last] != 1 || map.strides[1][last] != 1) return size;
  for (size_t wide = 16; wide > size; wide /= 2) {
    const int64_t w = static_cast<int64_t>(wide / size);
    bool fits = reinterpret_cast<uintptr_t>(in) % wide == 0 && reinterpret_cast<uintptr_t>(out) % wide == 0 &&
                map.dims[last] % w == 0;
    for (int k = 0; k < 2 && fits; ++k) {
      fits = map.offsets[k] % w == 0;
      for (int d = 0; d < last && fits; ++d) fits = map.strides[k][d] % w == 0;
    }
    if (!fits) continue;
    Shape dims(map.dims, map.dims + map.rank);
    dims[last] /= w;
    std::vector<int64_t> strides[2];
    int64_t offsets[2];
    for (int k = 0; k < 2; ++k) {
      for (int d = 0; d < map.rank; ++d) strides[k].push_back(d == last ? 1 : map.strides[k][d] / w);
      offsets[k] = map.offsets[k] / w;
    }
    auto widened = MakeStridedMap<2>(dims, strides, offsets);
    if (!widened.ok()) return size;
    map = *widened;
    return wide;
  }
  return size;
}

// The dim other than the last that the input walks contiguously, when the output walks the last dim
// contiguously and the input does not; -1 when the copy is not such a transpose.
int TransposedDim(const StridedMap<2>& map) {
  const int last = map.rank - 1;
  if (last < 1 || map.strides[0][last] != 1 || map.strides[1][last] == 1) return -1;
  for (int d = 0; d < last; ++d) {
    if (map.strides[1][d] == 1) return d;
  }
  return -1;
}

template <typename T>
__global__ void AxisMapCopyKernel(const T* __restrict__ in, T* __restrict__ out, AxisMapCopy copy, T fill,
                                  int64_t n) {
  KILN_GRID_STRIDE_LOOP(i, n) {
    int64_t rest = i, src = 0;
    bool filled = false;
    for (int d = copy.rank - 1; d >= 0; --d) {
      const int64_t o = rest % copy.out_dims[d];
      rest /= copy.out_dims[d];
      const int64_t m = copy.maps[copy.starts[d] + o];
      filled |= m < 0;
      src += m * copy.in_strides[d];
    }
    out[i] = filled ? fill : in[src];
  }
}

template <typename T>
__global__ void GatherSlicesKernel(const T* __restrict__ in, T* __restrict__ out, const int64_t* __restrict__ offsets,
                                   int64_t slice, FastDivmod by_slice, int64_t n) {
  const bool index32 = n < (int64_t{1} << 31);
  KILN_GRID_STRIDE_LOOP(i, n) {
    const int64_t t = index32 ? by_slice.Div(static_cast<uint32_t>(i)) : i / slice;
    out[i] = in[offsets[t] + (i - t * slice)];
  }
}

// One thread per position within a slice walks the updates in order, so duplicates combine (or
// overwrite) in the same order as on the CPU; slices never overlap at different positions.
template <typename T>
__global__ void ScatterSlicesKernel(T* __restrict__ out, const int64_t* __restrict__ offsets, int64_t count,
                                    int64_t slice, const T* __restrict__ updates, int reduction) {
  KILN_GRID_STRIDE_LOOP(i, slice) {
    for (int64_t u = 0; u < count; ++u) {
      T& dst = out[offsets[u] + i];
      const T v = updates[u * slice + i];
      if constexpr (std::is_unsigned_v<T> && sizeof(T) >= 2) {
        dst = v;  // element-size moves for reduction none
      } else {
        const auto a = Widen(dst), b = Widen(v);
        decltype(a + b) r;
        if (reduction != 0 && (reduction >= 3) && (a != a || b != b)) {
          r = a + b;
        } else if (reduction == 1) {
          r = a + b;
        } else if (reduction == 2) {
          r = a * b;
        } else if (reduction == 3) {
          r = a > b ? a : b;
        } else if (reduction == 4) {
          r = a < b ? a : b;
        } else {
          r = b;
        }
        dst = Narrow<T>(r);
      }
    }
  }
}

}  // namespace

cudaError_t LaunchStridedCopy(size_t element_size, const void* in, void* out, const StridedMap<2>& map_in,
                              cudaStream_t stream) {
  if (map_in.size() == 0) return cudaSuccess;
  StridedMap<2> map = map_in;
  if (const int j = TransposedDim(map); j >= 0) {
    const int last = map.rank - 1;
    const int64_t tiles_l = (map.dims[last] + 31) / 32, tiles_j = (map.dims[j] + 31) / 32;
    const int64_t batches = map.size() / (map.dims[last] * map.dims[j]);
    // Tiles narrower than 8 on either side waste most of their threads: those go element-wise.
    if (map.dims[last] >= 8 && map.dims[j] >= 8 && tiles_l < (int64_t{1} << 31) && tiles_j <= 65535) {
      const dim3 grid(static_cast<unsigned>(tiles_l), static_cast<unsigned>(tiles_j),
                      static_cast<unsigned>(std::min<int64_t>(batches, 65535)));
      return DispatchBySize(element_size, [&](auto tag) {
        using T = decltype(tag);
        TileTransposeKernel<T><<<grid, dim3(32, 8), 0, stream>>>(static_cast<const T*>(in), static_cast<T*>(out), map,
                                                                 j, batches);
        return cudaGetLastError();
      });
    }
    if (map.dims[last] < 8 && j == last - 1) {
      Shape dims(map.dims, map.dims + last);
      std::vector<int64_t> strides[2] = {{map.strides[0], map.strides[0] + last},
                                         {map.strides[1], map.strides[1] + last}};
      auto rows = MakeStridedMap<2>(dims, strides, map.offsets);
      if (rows.ok()) {
        const int64_t n = rows->size();
        return DispatchBySize(element_size, [&](auto tag) {
          using T = decltype(tag);
          NarrowTransposeKernel<T><<<BlocksFor(n), kThreads, 0, stream>>>(
              static_cast<const T*>(in), static_cast<T*>(out), *rows, map.dims[last], map.strides[1][last], n);
          return cudaGetLastError();
        });
      }
    }
  }
  const size_t size = WidenElements(map, element_size, in, out);
  const int64_t n = map.size();
  auto launch = [&](auto tag) {
    using T = decltype(tag);
    StridedCopyKernel<T><<<BlocksFor(n), kThreads, 0, stream>>>(static_cast<const T*>(in), static_cast<T*>(out), map,
                                                                 n);
    return cudaGetLastError();
  };
  if (size == 16) return launch(Bytes16{});
  return DispatchBySize(size, launch);
}

cudaError_t LaunchAxisMapCopy(size_t element_size, const void* in, void* out, const AxisMapCopy& copy,
                              uint64_t fill_bits, cudaStream_t stream) {
  int64_t n = 1;
  for (int d = 0; d < copy.rank; ++d) n *= copy.out_dims[d];
  if (n == 0) return cudaSuccess;
  return DispatchBySize(element_size, [&](auto tag) {
    using T = decltype(tag);
    AxisMapCopyKernel<T><<<BlocksFor(n), kThreads, 0, stream>>>(static_cast<const T*>(in), static_cast<T*>(out), copy,
                                                                 static_cast<T>(fill_bits), n);
    return cudaGetLastError();
  });
}

cudaError_t LaunchGatherSlices(size_t element_size, const void* in, void* out, const int64_t* offsets, int64_t count,
                               int64_t slice, cudaStream_t stream) {
  const int64_t n = count * slice;
  if (n == 0) return cudaSuccess;
  return DispatchBySize(element_size, [&](auto tag) {
    using T = decltype(tag);
    const FastDivmod by_slice(n < (int64_t{1} << 31) ? static_cast<uint32_t>(slice) : 1);
    GatherSlicesKernel<T><<<BlocksFor(n), kThreads, 0, stream>>>(static_cast<const T*>(in), static_cast<T*>(out),
                                                                  offsets, slice, by_slice, n);
    return cudaGetLastError();
  });
}

cudaError_t LaunchScatterSlices(DType dtype, int reduction, void* out, const int64_t* offsets, int64_t count,
                                int64_t slice, const void* updates, cudaStream_t stream) {
  if (count == 0 || slice == 0) return cudaSuccess;
  auto launch = [&](auto tag) {
    using T = decltype(tag);
    ScatterSlicesKernel<T><<<BlocksFor(slice), kThreads, 0, stream>>>(static_cast<T*>(out), offsets, count, slice,
                                                                       static_cast<const T*>(updates), reduction);
    return cudaGetLastError();
  };
  if (reduction == 0) return DispatchBySize(DTypeSize(dtype), launch);
  return Dispatch(Types<float, __half, __nv_bfloat16, double, int8_t, int16_t, int32_t, int64_t, uint8_t>{}, dtype,
                  launch);
}

}  // namespace kiln::cuda
