// Binary elementwise kernels with broadcasting, with the CPU kernels' semantics
// (src/kernels/cpu/binary.cc, compare.cc).
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/elementwise.h"

namespace kiln::cuda {
namespace {

template <typename C>
__device__ __forceinline__ bool IsNan(C x) {
  return x != x;
}

template <typename C>
__device__ __forceinline__ C FloorModFloat(C x, C y) {
  const C r = fmod(x, y);
  return (r != C(0) && ((y < C(0)) != (r < C(0)))) ? r + y : r;
}

template <BinaryOp op, typename C>
__device__ __forceinline__ auto Apply(C x, C y) {
  if constexpr (op == BinaryOp::kAdd) return WrapAdd(x, y);
  if constexpr (op == BinaryOp::kSub) return WrapSub(x, y);
  if constexpr (op == BinaryOp::kMul) return WrapMul(x, y);
  if constexpr (op == BinaryOp::kDiv) return x / y;
  if constexpr (op == BinaryOp::kFloorDiv) return floor(x / y);
  if constexpr (op == BinaryOp::kFloorMod) return FloorModFloat(x, y);
  if constexpr (op == BinaryOp::kTruncateDiv) return trunc(x / y);
  if constexpr (op == BinaryOp::kTruncateMod) return fmod(x, y);
  if constexpr (op == BinaryOp::kMaximum) return IsNan(x) ? x : IsNan(y) ? y : (x > y ? x : y);
  if constexpr (op == BinaryOp::kMinimum) return IsNan(x) ? x : IsNan(y) ? y : (x < y ? x : y);
  if constexpr (op == BinaryOp::kPow) return pow(x, y);
  if constexpr (op == BinaryOp::kSquaredDifference) {
    const C d = WrapSub(x, y);
    return WrapMul(d, d);
  }
  if constexpr (op == BinaryOp::kAtan2) return atan2(x, y);
  if constexpr (op == BinaryOp::kDivNoNan) return y == C(0) ? C(0) : x / y;
  if constexpr (op == BinaryOp::kMulNoNan) return y == C(0) ? C(0) : x * y;
  if constexpr (op == BinaryOp::kXdivy) return x == C(0) ? C(0) : x / y;
  if constexpr (op == BinaryOp::kXlogy) return x == C(0) ? C(0) : x * log(y);
  if constexpr (op == BinaryOp::kLogicalAnd) return x && y;
  if constexpr (op == BinaryOp::kLogicalOr) return x || y;
  if constexpr (op == BinaryOp::kEqual) return x == y;
  if constexpr (op == BinaryOp::kNotEqual) return x != y;
  if constexpr (op == BinaryOp::kLess) return x < y;
  if constexpr (op == BinaryOp::kLessEqual) return x <= y;
  if constexpr (op == BinaryOp::kGreater) return x > y;
  if constexpr (op == BinaryOp::kGreaterEqual) return x >= y;
}

template <BinaryOp op, typename T, typename Out>
__global__ void BinaryKernel(const T* __restrict__ a, const T* __restrict__ b, Out* __restrict__ out,
                             StridedMap<3> map, int64_t n) {
  KILN_GRID_STRIDE_LOOP(i, n) {
    int64_t off[3];
    map.Locate(i, off);
    out[i] = Narrow<Out>(Apply<op>(Widen(a[off[1]]), Widen(b[off[2]])));
  }
}

// BinaryKernel over a one-dimensional map a pack of elements per thread: the output contiguous,
// each input contiguous or one broadcast element (`*_step` 1 or 0), n a multiple of kSize and the
// pointers aligned.
template <BinaryOp op, typename T>
__global__ void BinaryPackedKernel(const T* __restrict__ a, const T* __restrict__ b, T* __restrict__ out,
                                   bool a_step, bool b_step, int64_t n) {
  constexpr int K = Pack<T>::kSize;
  KILN_GRID_STRIDE_LOOP(g, n / K) {
    const int64_t i = g * K;
    Pack<T> x, y, z;
    if (a_step) {
      x = LoadPack(a + i);
    } else {
#pragma unroll
      for (int k = 0; k < K; ++k) x.v[k] = a[0];
    }
    if (b_step) {
      y = LoadPack(b + i);
    } else {
#pragma unroll
      for (int k = 0; k < K; ++k) y.v[k] = b[0];
    }
#pragma unroll
    for (int k = 0; k < K; ++k) z.v[k] = Narrow<T>(Apply<op>(Widen(x.v[k]), Widen(y.v[k])));
    StorePack(out + i, z);
  }
}

constexpr bool IsPredicate(BinaryOp op) {
  return op == BinaryOp::kLogicalAnd || op == BinaryOp::kLogicalOr || op == BinaryOp::kEqual ||
         op == BinaryOp::kNotEqual || op == BinaryOp::kLess || op == BinaryOp::kLessEqual ||
         op == BinaryOp::kGreater || op == BinaryOp::kGreaterEqual;
}

using IntegerTypes = Types<int8_t, int16_t, int32_t, int64_t, uint8_t>;

// Integer division, remainder and powers stay on the CPU, which checks their operands for zero
// divisors and negative exponents before computing.
template <BinaryOp op>
auto TypesOf() {
  if constexpr (op == BinaryOp::kLogicalAnd || op == BinaryOp::kLogicalOr) {
    return Types<bool>{};
  } else if constexpr (op == BinaryOp::kAdd || op == BinaryOp::kSub || op == BinaryOp::kMul ||
                       op == BinaryOp::kMaximum || op == BinaryOp::kMinimum || op == BinaryOp::kLess ||
                       op == BinaryOp::kLessEqual || op == BinaryOp::kGreater || op == BinaryOp::kGreaterEqual) {
    return Types<float, __half, __nv_bfloat16, double, int8_t, int16_t, int32_t, int64_t, uint8_t>{};
  } else if constexpr (op == BinaryOp::kEqual || op == BinaryOp::kNotEqual) {
    return Types<float, __half, __nv_bfloat16, double, int8_t, int16_t, int32_t, int64_t, uint8_t, bool>{};
  } else if constexpr (op == BinaryOp::kSquaredDifference) {
    return Types<float, __half, __nv_bfloat16, double, int8_t, int16_t, int32_t, int64_t>{};
  } else {
    return FloatTypes{};
  }
}

template <BinaryOp op>
cudaError_t Launch(DType dtype, const void* a, const void* b, void* out, const StridedMap<3>& map,
                   cudaStream_t stream) {
  const int64_t n = map.size();
  return Dispatch(TypesOf<op>(), dtype, [&](auto tag) {
    using T = decltype(tag);
    using Out = std::conditional_t<IsPredicate(op), bool, T>;
    if constexpr (std::is_same_v<Out, T>) {
      constexpr int64_t k = Pack<T>::kSize;
      const T* x = static_cast<const T*>(a) + map.offsets[1];
      const T* y = static_cast<const T*>(b) + map.offsets[2];
      T* z = static_cast<T*>(out) + map.offsets[0];
      const bool one_dim = map.rank == 1 && map.strides[0][0] == 1 && map.strides[1][0] >= 0 &&
                           map.strides[1][0] <= 1 && map.strides[2][0] >= 0 && map.strides[2][0] <= 1;
      if (one_dim && n % k == 0 && PackAligned({x, y, z})) {
        BinaryPackedKernel<op, T><<<BlocksFor(n / k), kThreads, 0, stream>>>(x, y, z, map.strides[1][0] == 1,
                                                                             map.strides[2][0] == 1, n);
        return cudaGetLastError();
      }
    }
    BinaryKernel<op, T, Out><<<BlocksFor(n), kThreads, 0, stream>>>(
        static_cast<const T*>(a), static_cast<const T*>(b), static_cast<Out*>(out), map, n);
    return cudaGetLastError();
  });
}

}  // namespace

std::vector<DType> BinaryDTypes(BinaryOp op) {
  switch (op) {
#define KILN_CASE(name) \
  case BinaryOp::k##name: return DTypeList(TypesOf<BinaryOp::k##name>());
    KILN_CUDA_BINARY_OPS(KILN_CASE)
#undef KILN_CASE
  }
  return {};
}

bool BinaryIsPredicate(BinaryOp op) { return IsPredicate(op); }

cudaError_t LaunchBinary(BinaryOp op, DType dtype, const void* a, const void* b, void* out, const StridedMap<3>& map,
                         cudaStream_t stream) {
  if (map.size() == 0) return cudaSuccess;
  switch (op) {
#define KILN_CASE(name) \
  case BinaryOp::k##name: return Launch<BinaryOp::k##name>(dtype, a, b, out, map, stream);
    KILN_CUDA_BINARY_OPS(KILN_CASE)
#undef KILN_CASE
  }
  return cudaErrorNotSupported;
}

}  // namespace kiln::cuda
