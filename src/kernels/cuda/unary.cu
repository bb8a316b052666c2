// Unary elementwise kernels, with the CPU kernels' semantics (src/kernels/cpu/unary.cc).
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/elementwise.h"

namespace kiln::cuda {
namespace {

template <typename C>
__device__ __forceinline__ bool IsNan(C x) {
  return x != x;
}
template <typename C>
__device__ __forceinline__ C Relu(C x) {
  return (x > C(0) || IsNan(x)) ? x : C(0);
}

// Machine epsilon of the storage type: Softplus switches formulas at thresholds derived from it.
template <typename T>
__device__ __forceinline__ double StorageEpsilon() {
  if constexpr (std::is_same_v<T, __half>) {
    return 0.0009765625;
  } else if constexpr (std::is_same_v<T, __nv_bfloat16>) {
    return 0.0078125;
  } else if constexpr (std::is_same_v<T, float>) {
    return 1.1920928955078125e-07;
  } else {
    return 2.220446049250313e-16;
  }
}

template <UnaryOp op, typename T, typename C>
__device__ __forceinline__ auto Apply(C x, float alpha) {
  constexpr double kSeluScale = 1.0507009873554804934193349852946;
  constexpr double kSeluAlpha = 1.6732632423543772848170429916717;
  if constexpr (op == UnaryOp::kRelu) return Relu(x);
  if constexpr (op == UnaryOp::kRelu6) {
    const C r = Relu(x);
    return r > C(6) ? C(6) : r;
  }
  if constexpr (op == UnaryOp::kElu) return x < C(0) ? expm1(x) : x;
  if constexpr (op == UnaryOp::kSelu) return x > C(0) ? C(kSeluScale) * x : C(kSeluScale * kSeluAlpha) * expm1(x);
  if constexpr (op == UnaryOp::kLeakyRelu) return x > C(0) ? x : x * static_cast<C>(alpha);
  if constexpr (op == UnaryOp::kSoftplus) {
    const C threshold = static_cast<C>(log(StorageEpsilon<T>()) + 2.0);
    if (x > -threshold) return x;
    if (x < threshold) return exp(x);
    return log1p(exp(x));
  }
  if constexpr (op == UnaryOp::kSoftsign) return x / (C(1) + fabs(x));
  if constexpr (op == UnaryOp::kSigmoid) return C(1) / (C(1) + exp(-x));
  if constexpr (op == UnaryOp::kTanh) return tanh(x);
  if constexpr (op == UnaryOp::kErf) return erf(x);
  if constexpr (op == UnaryOp::kErfc) return erfc(x);
  if constexpr (op == UnaryOp::kExp) return exp(x);
  if constexpr (op == UnaryOp::kExpm1) return expm1(x);
  if constexpr (op == UnaryOp::kLog) return log(x);
  if constexpr (op == UnaryOp::kLog1p) return log1p(x);
  if constexpr (op == UnaryOp::kSqrt) return sqrt(x);
  if constexpr (op == UnaryOp::kRsqrt) return C(1) / sqrt(x);
  if constexpr (op == UnaryOp::kReciprocal) return C(1) / x;
  if constexpr (op == UnaryOp::kFloor) return floor(x);
  if constexpr (op == UnaryOp::kCeil) return ceil(x);
  if constexpr (op == UnaryOp::kRint) return rint(x);
  if constexpr (op == UnaryOp::kRound) {
    if constexpr (std::is_integral_v<C>) {
      return x;
    } else {
      return rint(x);
    }
  }
  if constexpr (op == UnaryOp::kSin) return sin(x);
  if constexpr (op == UnaryOp::kCos) return cos(x);
  if constexpr (op == UnaryOp::kTan) return tan(x);
  if constexpr (op == UnaryOp::kAsin) return asin(x);
  if constexpr (op == UnaryOp::kAcos) return acos(x);
  if constexpr (op == UnaryOp::kAtan) return atan(x);
  if constexpr (op == UnaryOp::kSinh) return sinh(x);
  if constexpr (op == UnaryOp::kCosh) return cosh(x);
  if constexpr (op == UnaryOp::kAsinh) return asinh(x);
  if constexpr (op == UnaryOp::kAcosh) return acosh(x);
  if constexpr (op == UnaryOp::kAtanh) return atanh(x);
  if constexpr (op == UnaryOp::kNeg) return WrapSub(C(0), x);
  if constexpr (op == UnaryOp::kAbs) {
    if constexpr (std::is_integral_v<C>) {
      return x < C(0) ? WrapSub(C(0), x) : x;
    } else {
      return fabs(x);
    }
  }
  if constexpr (op == UnaryOp::kSign) return x > C(0) ? C(1) : x < C(0) ? C(-1) : (IsNan(x) ? x : C(0));
  if constexpr (op == UnaryOp::kSquare) return WrapMul(x, x);
  if constexpr (op == UnaryOp::kIsNan) return isnan(x);
  if constexpr (op == UnaryOp::kIsInf) return isinf(x);
  if constexpr (op == UnaryOp::kIsFinite) return isfinite(x);
  if constexpr (op == UnaryOp::kLogicalNot) return !x;
}

template <UnaryOp op, typename T, typename Out>
__global__ void UnaryKernel(const T* __restrict__ in, Out* __restrict__ out, int64_t n, float alpha) {
  KILN_GRID_STRIDE_LOOP(i, n) { out[i] = Narrow<Out>(Apply<op, T>(Widen(in[i]), alpha)); }
}

template <UnaryOp op>
struct Traits {
  static constexpr bool kPredicate = op == UnaryOp::kIsNan || op == UnaryOp::kIsInf || op == UnaryOp::kIsFinite;
  static constexpr bool kWithInts = op == UnaryOp::kRelu || op == UnaryOp::kRelu6 || op == UnaryOp::kSquare;
  static constexpr bool kWithSigned =
      op == UnaryOp::kRound || op == UnaryOp::kNeg || op == UnaryOp::kAbs || op == UnaryOp::kSign;
};

template <UnaryOp op>
auto TypesOf() {
  if constexpr (op == UnaryOp::kLogicalNot) {
    return Types<bool>{};
  } else if constexpr (Traits<op>::kWithInts) {
    return Types<float, __half, __nv_bfloat16, double, int8_t, int16_t, int32_t, int64_t, uint8_t>{};
  } else if constexpr (Traits<op>::kWithSigned) {
    return Types<float, __half, __nv_bfloat16, double, int8_t, int16_t, int32_t, int64_t>{};
  } else {
    return FloatTypes{};
  }
}

template <UnaryOp op>
cudaError_t Launch(DType dtype, const void* in, void* out, int64_t n, float alpha, cudaStream_t stream) {
  return Dispatch(TypesOf<op>(), dtype, [&](auto tag) {
    using T = decltype(tag);
    using Out = std::conditional_t<Traits<op>::kPredicate, bool, T>;
    UnaryKernel<op, T, Out><<<BlocksFor(n), kThreads, 0, stream>>>(static_cast<const T*>(in), static_cast<Out*>(out),
                                                                    n, alpha);
    return cudaGetLastError();
  });
}

}  // namespace

std::vector<DType> UnaryDTypes(UnaryOp op) {
  switch (op) {
#define KILN_CASE(name) \
  case UnaryOp::k##name: return DTypeList(TypesOf<UnaryOp::k##name>());
    KILN_CUDA_UNARY_OPS(KILN_CASE)
#undef KILN_CASE
  }
  return {};
}

bool UnaryIsPredicate(UnaryOp op) {
  return op == UnaryOp::kIsNan || op == UnaryOp::kIsInf || op == UnaryOp::kIsFinite;
}

cudaError_t LaunchUnary(UnaryOp op, DType dtype, const void* in, void* out, int64_t n, float alpha,
                        cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  switch (op) {
#define KILN_CASE(name) \
  case UnaryOp::k##name: return Launch<UnaryOp::k##name>(dtype, in, out, n, alpha, stream);
    KILN_CUDA_UNARY_OPS(KILN_CASE)
#undef KILN_CASE
  }
  return cudaErrorNotSupported;
}

}  // namespace kiln::cuda
