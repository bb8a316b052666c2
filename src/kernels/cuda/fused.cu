// The fused ops' device code, computing exactly what the CPU's fused kernels compute
// (src/kernels/cpu/fused_math.h), which is what the unfused ops compute.
#include "ir/ops/fused_ops.h"
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/fused.h"

namespace kiln::cuda {
namespace {

using ir::Activation;
using ir::ElementwiseOp;

__device__ __forceinline__ float Relu(float x) { return (x > 0.0f || x != x) ? x : 0.0f; }

__device__ __forceinline__ float Activate(int act, float x, float alpha) {
  switch (static_cast<Activation>(act)) {
    case Activation::kNone: return x;
    case Activation::kRelu: return Relu(x);
    case Activation::kRelu6: {
      const float r = Relu(x);
      return r > 6.0f ? 6.0f : r;
    }
    case Activation::kElu: return x < 0 ? expm1f(x) : x;
    case Activation::kSelu:
      return x > 0 ? static_cast<float>(1.0507009873554804934193349852946) * x
                   : static_cast<float>(1.0507009873554804934193349852946 * 1.6732632423543772848170429916717) *
                         expm1f(x);
    case Activation::kLeakyRelu: return x > 0.0f ? x : x * alpha;
    case Activation::kSigmoid: return 1 / (1 + expf(-x));
    case Activation::kTanh: return tanhf(x);
  }
  return x;
}

// (i / inner) % mid, in 32 bits where i is below 2^31.
__device__ __forceinline__ int64_t MiddleIndex(int64_t i, int64_t inner, int64_t mid, const FastDivmod& by_inner,
                                               const FastDivmod& by_mid, bool index32) {
  if (!index32) return (i / inner) % mid;
  const uint32_t q = by_inner.Div(static_cast<uint32_t>(i));
  return q - by_mid.Div(q) * static_cast<uint32_t>(mid);
}

template <typename T>
__global__ void EpilogueKernel(int act, float alpha, T* __restrict__ out, const T* __restrict__ bias,
                               const T* __restrict__ residual, int64_t channels, int64_t inner,
                               FastDivmod by_inner, FastDivmod by_channels, int64_t n) {
  const bool index32 = n < (int64_t{1} << 31);
  KILN_GRID_STRIDE_LOOP(i, n) {
    float v = Widen(out[i]);
    if (bias != nullptr) v = v + Widen(bias[MiddleIndex(i, inner, channels, by_inner, by_channels, index32)]);
    if (residual != nullptr) v = v + Widen(residual[i]);
    out[i] = Narrow<T>(Activate(act, v, alpha));
  }
}

__device__ __forceinline__ float Unary(int op, float x, float param) {
  switch (static_cast<ElementwiseOp>(op)) {
    case ElementwiseOp::kRelu: return Relu(x);
    case ElementwiseOp::kRelu6: return Activate(static_cast<int>(Activation::kRelu6), x, 0);
    case ElementwiseOp::kElu: return Activate(static_cast<int>(Activation::kElu), x, 0);
    case ElementwiseOp::kSelu: return Activate(static_cast<int>(Activation::kSelu), x, 0);
    case ElementwiseOp::kLeakyRelu: return x > 0.0f ? x : x * param;
    case ElementwiseOp::kSoftplus: {
      const float threshold = logf(1.1920928955078125e-07f) + 2.0f;
      if (x > -threshold) return x;
      if (x < threshold) return expf(x);
      return log1pf(expf(x));
    }
    case ElementwiseOp::kSoftsign: return x / (1 + fabsf(x));
    case ElementwiseOp::kSigmoid: return 1 / (1 + expf(-x));
    case ElementwiseOp::kTanh: return tanhf(x);
    case ElementwiseOp::kErf: return erff(x);
    case ElementwiseOp::kExp: return expf(x);
    case ElementwiseOp::kExpm1: return expm1f(x);
    case ElementwiseOp::kLog: return logf(x);
    case ElementwiseOp::kLog1p: return log1pf(x);
    case ElementwiseOp::kSqrt: return sqrtf(x);
    case ElementwiseOp::kRsqrt: return 1 / sqrtf(x);
    case ElementwiseOp::kReciprocal: return 1 / x;
    case ElementwiseOp::kNeg: return -x;
    case ElementwiseOp::kAbs: return fabsf(x);
    case ElementwiseOp::kSquare: return x * x;
    case ElementwiseOp::kFloor: return floorf(x);
    case ElementwiseOp::kCeil: return ceilf(x);
    default: return x;
  }
}

__device__ __forceinline__ float Binary(int op, float x, float y) {
  switch (static_cast<ElementwiseOp>(op)) {
    case ElementwiseOp::kAdd: return x + y;
    case ElementwiseOp::kSub: return x - y;
    case ElementwiseOp::kMul: return x * y;
    case ElementwiseOp::kDiv: return x / y;
    case ElementwiseOp::kMaximum: return x != x ? x : y != y ? y : (x > y ? x : y);
    case ElementwiseOp::kMinimum: return x != x ? x : y != y ? y : (x < y ? x : y);
    case ElementwiseOp::kPow: return powf(x, y);
    case ElementwiseOp::kSquaredDifference: {
      const float d = x - y;
      return d * d;
    }
    default: return x;
  }
}

template <typename T>
__global__ void ChainKernel(ChainProgram p, const T* __restrict__ x, T* __restrict__ out, int64_t n) {
  const bool index32 = n < (int64_t{1} << 31);
  KILN_GRID_STRIDE_LOOP(i, n) {
    float v = Widen(x[i]);
    for (int s = 0; s < p.steps; ++s) {
      const ChainStep& st = p.step[s];
      if (st.operand < 0) {
        v = Unary(st.op, v, st.param);
        continue;
      }
      const ChainOperand& o = p.operand[st.operand];
      const int64_t at = o.mid == 1 ? 0 : MiddleIndex(i, o.inner, o.mid, o.by_inner, o.by_mid, index32);
      const float w = Widen(static_cast<const T*>(o.data)[at]);
      v = st.chain_is_lhs ? Binary(st.op, v, w) : Binary(st.op, w, v);
    }
    out[i] = Narrow<T>(v);
  }
}

using FusedTypes = Types<float, __half, __nv_bfloat16>;

}  // namespace

std::vector<DType> FusedDTypes() { return DTypeList(FusedTypes{}); }

cudaError_t LaunchEpilogue(DType dtype, int activation, float alpha, void* out, const void* bias,
                           const void* residual, int64_t outer, int64_t channels, int64_t inner, cudaStream_t stream) {
  const int64_t n = outer * channels * inner;
  if (n == 0) return cudaSuccess;
  const bool index32 = n < (int64_t{1} << 31);
  const FastDivmod by_inner(index32 ? static_cast<uint32_t>(inner) : 1),
      by_channels(index32 ? static_cast<uint32_t>(channels) : 1);
  return Dispatch(FusedTypes{}, dtype, [&](auto tag) {
    using T = decltype(tag);
    EpilogueKernel<T><<<BlocksFor(n), kThreads, 0, stream>>>(activation, alpha, static_cast<T*>(out),
                                                              static_cast<const T*>(bias),
                                                              static_cast<const T*>(residual), channels, inner,
                                                              by_inner, by_channels, n);
    return cudaGetLastError();
  });
}

cudaError_t LaunchElementwiseChain(DType dtype, const ChainProgram& program, const void* x, void* out, int64_t n,
                                   cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  ChainProgram p = program;
  if (n < (int64_t{1} << 31)) {
    for (ChainOperand& o : p.operand) {
      o.by_inner = FastDivmod(static_cast<uint32_t>(o.inner));
      o.by_mid = FastDivmod(static_cast<uint32_t>(o.mid));
    }
  }
  return Dispatch(FusedTypes{}, dtype, [&](auto tag) {
    using T = decltype(tag);
    ChainKernel<T><<<BlocksFor(n), kThreads, 0, stream>>>(p, static_cast<const T*>(x), static_cast<T*>(out), n);
    return cudaGetLastError();
  });
}

}  // namespace kiln::cuda
