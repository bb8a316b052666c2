#pragma once
// Device-side helpers shared by kiln's CUDA kernels: storage and compute types, grid-stride loops,
// launch shapes and dtype dispatch for the launchers.

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <initializer_list>
#include <type_traits>
#include <vector>

#include "kiln/dtype.h"

namespace kiln::cuda {

// float16 and bfloat16 are stored as their bits and computed in float32, rounded once per op as on
// the CPU; every other type computes as itself.
template <typename T>
struct ComputeOf {
  using type = T;
};
template <>
struct ComputeOf<__half> {
  using type = float;
};
template <>
struct ComputeOf<__nv_bfloat16> {
  using type = float;
};
template <typename T>
using Compute = typename ComputeOf<T>::type;

template <typename T>
__device__ __forceinline__ Compute<T> Widen(T v) {
  if constexpr (std::is_same_v<T, __half>) {
    return __half2float(v);
  } else if constexpr (std::is_same_v<T, __nv_bfloat16>) {
    return __bfloat162float(v);
  } else {
    return v;
  }
}

template <typename T, typename C>
__device__ __forceinline__ T Narrow(C v) {
  if constexpr (std::is_same_v<T, __half>) {
    return __float2half_rn(static_cast<float>(v));
  } else if constexpr (std::is_same_v<T, __nv_bfloat16>) {
    return __float2bfloat16_rn(static_cast<float>(v));
  } else {
    return static_cast<T>(v);
  }
}

template <typename T>
inline constexpr bool kIsFloat = std::is_floating_point_v<T> || std::is_same_v<T, __half> ||
                                 std::is_same_v<T, __nv_bfloat16>;

constexpr int kThreads = 256;

// Blocks for a grid-stride loop over n items: enough to fill the GPU, never past the grid limit.
inline unsigned BlocksFor(int64_t n, int threads = kThreads) {
  const int64_t blocks = (n + threads - 1) / threads;
  return static_cast<unsigned>(blocks < 1 ? 1 : blocks > (1 << 20) ? (1 << 20) : blocks);
}

#define KILN_GRID_STRIDE_LOOP(i, n)                                                            \
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < (n); \
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)

// kPackBytes of consecutive elements, moved as one 16-byte load or store: the memory-bound kernels'
// fast paths take a pack per thread where sizes and addresses allow (PackAligned).
constexpr int kPackBytes = 16;
template <typename T>
struct alignas(kPackBytes) Pack {
  static constexpr int kSize = kPackBytes / sizeof(T);
  T v[kSize];
};
template <typename T>
__device__ __forceinline__ Pack<T> LoadPack(const T* p) {
  return *reinterpret_cast<const Pack<T>*>(p);
}
template <typename T>
__device__ __forceinline__ void StorePack(T* p, const Pack<T>& pack) {
  *reinterpret_cast<Pack<T>*>(p) = pack;
}
// Whether every pointer (null ones aside) is kPackBytes-aligned.
inline bool PackAligned(std::initializer_list<const void*> pointers) {
  for (const void* p : pointers) {
    if (reinterpret_cast<uintptr_t>(p) % kPackBytes != 0) return false;
  }
  return true;
}

template <typename... Ts>
struct Types {};

template <typename T>
constexpr DType DTypeOfDevice() {
  if constexpr (std::is_same_v<T, __half>) {
    return DType::kFloat16;
  } else if constexpr (std::is_same_v<T, __nv_bfloat16>) {
    return DType::kBFloat16;
  } else {
    return DTypeOf<T>();
  }
}

// Calls fn(T{}) for the device type T in `types` whose dtype is `dtype`; returns
// cudaErrorNotSupported for any other dtype (the host code checks dtypes before launching).
template <typename... Ts, typename Fn>
cudaError_t Dispatch(Types<Ts...>, DType dtype, Fn&& fn) {
  cudaError_t result = cudaErrorNotSupported;
  ((DTypeOfDevice<Ts>() == dtype ? (result = fn(Ts{}), true) : false) || ...);
  return result;
}

// The dtypes of a type list, for the registrations' dtype lists.
template <typename... Ts>
std::vector<DType> DTypeList(Types<Ts...>) {
  return {DTypeOfDevice<Ts>()...};
}

// Calls fn(T{}) with T the unsigned integer of `size` bytes (1, 2, 4 or 8): for kernels that only
// move elements, one instantiation per element size serves every dtype.
template <typename Fn>
cudaError_t DispatchBySize(size_t size, Fn&& fn) {
  switch (size) {
    case 1: return fn(uint8_t{});
    case 2: return fn(uint16_t{});
    case 4: return fn(uint32_t{});
    case 8: return fn(uint64_t{});
    default: return cudaErrorNotSupported;
  }
}

using FloatTypes = Types<float, __half, __nv_bfloat16, double>;
using SignedIntTypes = Types<int8_t, int16_t, int32_t, int64_t>;

// Integer arithmetic that wraps on overflow, as on the CPU, instead of being undefined.
template <typename T>
using Wrap = std::conditional_t<(sizeof(T) < sizeof(unsigned)), unsigned, std::make_unsigned_t<T>>;
template <typename T>
__device__ __forceinline__ T WrapAdd(T a, T b) {
  if constexpr (std::is_integral_v<T>) {
    return static_cast<T>(static_cast<Wrap<T>>(a) + static_cast<Wrap<T>>(b));
  } else {
    return a + b;
  }
}
template <typename T>
__device__ __forceinline__ T WrapSub(T a, T b) {
  if constexpr (std::is_integral_v<T>) {
    return static_cast<T>(static_cast<Wrap<T>>(a) - static_cast<Wrap<T>>(b));
  } else {
    return a - b;
  }
}
template <typename T>
__device__ __forceinline__ T WrapMul(T a, T b) {
  if constexpr (std::is_integral_v<T>) {
    return static_cast<T>(static_cast<Wrap<T>>(a) * static_cast<Wrap<T>>(b));
  } else {
    return a * b;
  }
}

}  // namespace kiln::cuda
