// Selection, clipping, AddN, casts and fills (the CPU's select.cc, binary.cc's AddN, cast.cc).
#include <climits>

#include "kernels/cuda/common.cuh"
#include "kernels/cuda/elementwise.h"

namespace kiln::cuda {
namespace {

template <typename T>
__global__ void SelectKernel(const bool* __restrict__ cond, const T* __restrict__ a, const T* __restrict__ b,
                             T* __restrict__ out, StridedMap<4> map, int64_t n) {
  KILN_GRID_STRIDE_LOOP(i, n) {
    int64_t off[4];
    map.Locate(i, off);
    out[i] = cond[off[1]] ? a[off[2]] : b[off[3]];
  }
}

template <typename T>
__global__ void ClipKernel(const T* __restrict__ x, const T* __restrict__ lo, const T* __restrict__ hi,
                           T* __restrict__ out, StridedMap<4> map, int64_t n) {
  KILN_GRID_STRIDE_LOOP(i, n) {
    int64_t off[4];
    map.Locate(i, off);
    // Ordered so NaN passes through, and min > max yields min, as on the CPU (and in TensorFlow).
    const auto v = Widen(x[off[1]]);
    const auto lower = Widen(lo[off[2]]), upper = Widen(hi[off[3]]);
    const auto clipped = upper < v ? upper : v;
    out[i] = Narrow<T>(lower > clipped ? lower : clipped);
  }
}

constexpr int kMaxAddN = 8;
template <typename T>
struct Pointers {
  const T* p[kMaxAddN];
};

template <typename T>
__global__ void AddNKernel(Pointers<T> in, int count, bool accumulate, T* __restrict__ out, int64_t n) {
  KILN_GRID_STRIDE_LOOP(i, n) {
    T acc = accumulate ? out[i] : in.p[0][i];
    for (int k = accumulate ? 0 : 1; k < count; ++k) acc = Narrow<T>(WrapAdd(Widen(acc), Widen(in.p[k][i])));
    out[i] = acc;
  }
}

// Float to integer with the CPU kernel's x86 semantics: NaN and out-of-range values give the
// minimum of the 32- or 64-bit conversion, narrower targets wrap the int32 conversion.
template <typename I, typename F>
__device__ __forceinline__ I TruncateToSigned(F v) {
  const F lo = static_cast<F>(sizeof(I) == 4 ? static_cast<double>(INT_MIN) : static_cast<double>(LLONG_MIN));
  if (!(v >= lo && v < -lo)) return sizeof(I) == 4 ? static_cast<I>(INT_MIN) : static_cast<I>(LLONG_MIN);
  return static_cast<I>(v);
}

template <typename D, typename F>
__device__ __forceinline__ D FloatToInt(F v) {
  if constexpr (sizeof(D) < 4 || std::is_same_v<D, int32_t>) {
    return static_cast<D>(TruncateToSigned<int32_t>(v));
  } else if constexpr (std::is_same_v<D, uint64_t>) {
    if (v >= F(9223372036854775808.0) && v < F(18446744073709551616.0)) return static_cast<uint64_t>(v);
    return static_cast<uint64_t>(TruncateToSigned<int64_t>(v));
  } else {
    return static_cast<D>(TruncateToSigned<int64_t>(v));
  }
}

__device__ __forceinline__ __half TruncateToHalf(float f) {
  __half h = __float2half_rn(f);
  if (isfinite(f) && fabsf(__half2float(h)) > fabsf(f)) h = __ushort_as_half(__half_as_ushort(h) - 1);
  return h;
}
__device__ __forceinline__ __nv_bfloat16 TruncateToBFloat16(float f) {
  if (isnan(f)) return __float2bfloat16_rn(f);
  return __ushort_as_bfloat16(static_cast<unsigned short>(__float_as_uint(f) >> 16));
}

template <typename D, typename S>
__device__ __forceinline__ D CastValue(S v, bool truncate) {
  if constexpr (std::is_same_v<D, S>) {
    return v;
  } else if constexpr (std::is_same_v<S, __half> || std::is_same_v<S, __nv_bfloat16>) {
    return CastValue<D>(Widen(v), truncate);
  } else if constexpr (std::is_same_v<D, bool>) {
    return v != S(0);
  } else if constexpr (std::is_same_v<D, __half>) {
    const float f = static_cast<float>(v);
    return truncate && std::is_floating_point_v<S> ? TruncateToHalf(f) : __float2half_rn(f);
  } else if constexpr (std::is_same_v<D, __nv_bfloat16>) {
    const float f = static_cast<float>(v);
    return truncate && std::is_floating_point_v<S> ? TruncateToBFloat16(f) : __float2bfloat16_rn(f);
  } else if constexpr (std::is_integral_v<D> && std::is_floating_point_v<S>) {
    return FloatToInt<D>(v);
  } else {
    return static_cast<D>(v);
  }
}

template <typename D, typename S>
__global__ void CastKernel(const S* __restrict__ in, D* __restrict__ out, int64_t n, bool truncate) {
  KILN_GRID_STRIDE_LOOP(i, n) { out[i] = CastValue<D>(in[i], truncate); }
}

// Elements moved as one aligned load or store each side.
template <typename T, int K>
struct alignas(sizeof(T) * K) Run {
  T v[K];
};

// CastKernel four elements per thread, for 1- to 4-byte types with n a multiple of 4 and both
// pointers aligned to their runs: one load and one store each, where the per-element kernel makes
// four of each.
template <typename D, typename S>
__global__ void CastRunsKernel(const Run<S, 4>* __restrict__ in, Run<D, 4>* __restrict__ out, int64_t runs,
                               bool truncate) {
  KILN_GRID_STRIDE_LOOP(i, runs) {
    const Run<S, 4> x = in[i];
    Run<D, 4> y;
#pragma unroll
    for (int k = 0; k < 4; ++k) y.v[k] = CastValue<D>(x.v[k], truncate);
    out[i] = y;
  }
}

template <typename T>
__global__ void FillKernel(T value, T* __restrict__ out, int64_t n) {
  KILN_GRID_STRIDE_LOOP(i, n) { out[i] = value; }
}

using CastTypes = Types<float, __half, __nv_bfloat16, double, int8_t, int16_t, int32_t, int64_t, uint8_t, uint16_t,
                        uint32_t, uint64_t, bool>;
}  // namespace

cudaError_t LaunchSelect(size_t element_size, const bool* cond, const void* a, const void* b, void* out,
                         const StridedMap<4>& map, cudaStream_t stream) {
  const int64_t n = map.size();
  if (n == 0) return cudaSuccess;
  return DispatchBySize(element_size, [&](auto tag) {
    using T = decltype(tag);
    SelectKernel<T><<<BlocksFor(n), kThreads, 0, stream>>>(cond, static_cast<const T*>(a), static_cast<const T*>(b),
                                                            static_cast<T*>(out), map, n);
    return cudaGetLastError();
  });
}

cudaError_t LaunchClip(DType dtype, const void* x, const void* lo, const void* hi, void* out, const StridedMap<4>& map,
                       cudaStream_t stream) {
  const int64_t n = map.size();
  if (n == 0) return cudaSuccess;
  return Dispatch(Types<float, __half, __nv_bfloat16, double, int8_t, int16_t, int32_t, int64_t, uint8_t>{}, dtype,
                  [&](auto tag) {
                    using T = decltype(tag);
                    ClipKernel<T><<<BlocksFor(n), kThreads, 0, stream>>>(
                        static_cast<const T*>(x), static_cast<const T*>(lo), static_cast<const T*>(hi),
                        static_cast<T*>(out), map, n);
                    return cudaGetLastError();
                  });
}

cudaError_t LaunchAddN(DType dtype, const std::vector<const void*>& inputs, void* out, int64_t n, cudaStream_t stream) {
  if (n == 0 || inputs.empty()) return cudaSuccess;
  return Dispatch(Types<float, __half, __nv_bfloat16, double, int8_t, int16_t, int32_t, int64_t, uint8_t>{}, dtype,
                  [&](auto tag) {
                    using T = decltype(tag);
                    // Groups of kMaxAddN inputs; later groups add onto the running sum in `out`.
                    for (size_t first = 0; first < inputs.size(); first += kMaxAddN) {
                      Pointers<T> p{};
                      const int count = static_cast<int>(std::min<size_t>(kMaxAddN, inputs.size() - first));
                      for (int k = 0; k < count; ++k) p.p[k] = static_cast<const T*>(inputs[first + k]);
                      AddNKernel<T><<<BlocksFor(n), kThreads, 0, stream>>>(p, count, first > 0, static_cast<T*>(out), n);
                      const cudaError_t err = cudaGetLastError();
                      if (err != cudaSuccess) return err;
                    }
                    return cudaSuccess;
                  });
}

std::vector<DType> CastDTypes() { return DTypeList(CastTypes{}); }

cudaError_t LaunchCast(DType from, DType to, const void* in, void* out, int64_t n, bool truncate, cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  return Dispatch(CastTypes{}, from, [&](auto src) {
    using S = decltype(src);
    return Dispatch(CastTypes{}, to, [&](auto dst) {
      using D = decltype(dst);
      if constexpr (sizeof(S) <= 4 && sizeof(D) <= 4) {
        const bool aligned = reinterpret_cast<uintptr_t>(in) % sizeof(Run<S, 4>) == 0 &&
                             reinterpret_cast<uintptr_t>(out) % sizeof(Run<D, 4>) == 0;
        if (n % 4 == 0 && aligned) {
          CastRunsKernel<D, S><<<BlocksFor(n / 4), kThreads, 0, stream>>>(
              static_cast<const Run<S, 4>*>(in), static_cast<Run<D, 4>*>(out), n / 4, truncate);
          return cudaGetLastError();
        }
      }
      CastKernel<D, S><<<BlocksFor(n), kThreads, 0, stream>>>(static_cast<const S*>(in), static_cast<D*>(out), n,
                                                               truncate);
      return cudaGetLastError();
    });
  });
}

cudaError_t LaunchFill(size_t element_size, uint64_t bits, void* out, int64_t n, cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  return DispatchBySize(element_size, [&](auto tag) {
    using T = decltype(tag);
    FillKernel<T><<<BlocksFor(n), kThreads, 0, stream>>>(static_cast<T>(bits), static_cast<T*>(out), n);
    return cudaGetLastError();
  });
}

}  // namespace kiln::cuda
