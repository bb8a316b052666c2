#pragma once
// Helpers shared by the nn kernels (matmul, einsum, conv, pooling, normalization, resize), in their
// own namespace so they cannot collide with other families' helpers:
// dtype dispatch and layout permutes.

#include <functional>
#include <string>
#include <vector>

#include "kiln/status.h"
#include "kiln/tensor.h"
#include "kernels/cpu/array_util.h"
#include "runtime/kernel.h"

namespace kiln::kernels::cpu::nn {

template <typename T>
struct TypeTag {
  using type = T;
};

// Integer dtype groups a kernel accepts, for DispatchReal.
enum IntSet : unsigned {
  kNoInts = 0,
  kInt32 = 1,
  kInt64 = 2,
  kSmallInts = 4,    // int8, int16, uint8, uint16
  kUnsignedWide = 8  // uint32, uint64
};
// Calls fn(TypeTag<T>{}) with the C++ type of `dtype` for float32, float64 and the integer types
// in `ints`; other dtypes are Unimplemented naming `op`.
template <typename Fn>
Status DispatchReal(DType dtype, unsigned ints, const std::string& op, Fn&& fn) {
  switch (dtype) {
    case DType::kFloat32:
      return fn(TypeTag<float>{});
    case DType::kFloat64:
      return fn(TypeTag<double>{});
    case DType::kInt32:
      if (ints & kInt32) return fn(TypeTag<int32_t>{});
      break;
    case DType::kInt64:
      if (ints & kInt64) return fn(TypeTag<int64_t>{});
      break;
    case DType::kInt8:
      if (ints & kSmallInts) return fn(TypeTag<int8_t>{});
      break;
    case DType::kInt16:
      if (ints & kSmallInts) return fn(TypeTag<int16_t>{});
      break;
    case DType::kUInt8:
      if (ints & kSmallInts) return fn(TypeTag<uint8_t>{});
      break;
    case DType::kUInt16:
      if (ints & kSmallInts) return fn(TypeTag<uint16_t>{});
      break;
    case DType::kUInt32:
      if (ints & kUnsignedWide) return fn(TypeTag<uint32_t>{});
      break;
    case DType::kUInt64:
      if (ints & kUnsignedWide) return fn(TypeTag<uint64_t>{});
      break;
    default:
      break;
  }
  return Unimplemented(op + " does not support dtype " + std::string(DTypeName(dtype)));
}

inline bool IsHalfLike(DType d) { return d == DType::kFloat16 || d == DType::kBFloat16; }

// Runs `fn` in float32 when input 0 is float16/bfloat16 (see RunInFloat32); float64 and the other
// dtypes run natively.
Status RunHalfInFloat32(runtime::KernelContext& ctx, const std::function<Status(runtime::KernelContext&)>& fn);

// [N, C, spatial...] <-> [N, spatial..., C].
Tensor ChannelsFirstToLast(const Tensor& t);
Tensor ChannelsLastToFirst(const Tensor& t);

}  // namespace kiln::kernels::cpu::nn
