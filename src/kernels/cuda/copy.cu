#include "kernels/cuda/common.cuh"
#include "kernels/cuda/copy.h"

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
                                   int64_t slice, int64_t n) {
  KILN_GRID_STRIDE_LOOP(i, n) { out[i] = in[offsets[i / slice] + i % slice]; }
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

cudaError_t LaunchStridedCopy(size_t element_size, const void* in, void* out, const StridedMap<2>& map,
                              cudaStream_t stream) {
  const int64_t n = map.size();
  if (n == 0) return cudaSuccess;
  return DispatchBySize(element_size, [&](auto tag) {
    using T = decltype(tag);
    StridedCopyKernel<T><<<BlocksFor(n), kThreads, 0, stream>>>(static_cast<const T*>(in), static_cast<T*>(out), map,
                                                                 n);
    return cudaGetLastError();
  });
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
    GatherSlicesKernel<T><<<BlocksFor(n), kThreads, 0, stream>>>(static_cast<const T*>(in), static_cast<T*>(out),
                                                                  offsets, slice, n);
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
