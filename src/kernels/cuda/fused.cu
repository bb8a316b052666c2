// The fused ops' device code, computing exactly what the CPU's fused kernels compute
// (src/kernels/cpu/fused_math.h), which is what the unfused ops compute.
#include "ir/ops/fused_ops.h"
#include "kernels/cuda/activation.cuh"
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/fused.h"

namespace kiln::cuda {
namespace {

using ir::Activation;
using ir::ElementwiseOp;

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

// How a packed kernel reads a broadcast operand for the kSize elements of a pack.
enum class OperandPacking : int {
  kOnePerPack = 0,   // one element serves the whole pack (a scalar, or inner a multiple of kSize)
  kPackPerPack = 1,  // kSize consecutive elements, one per element (inner 1, mid a multiple of kSize)
  kEach = 2,         // located element by element
};

template <typename T>
constexpr OperandPacking PackingOf(int64_t inner, int64_t mid) {
  constexpr int64_t k = Pack<T>::kSize;
  if (mid == 1 || inner % k == 0) return OperandPacking::kOnePerPack;
  if (inner == 1 && mid % k == 0) return OperandPacking::kPackPerPack;
  return OperandPacking::kEach;
}

// The operand's values for the pack of elements [i, i + kSize), widened.
template <typename T>
__device__ __forceinline__ void ReadOperand(const T* __restrict__ data, OperandPacking packing, int64_t i,
                                            int64_t inner, int64_t mid, const FastDivmod& by_inner,
                                            const FastDivmod& by_mid, bool index32, float (&w)[Pack<T>::kSize]) {
  constexpr int K = Pack<T>::kSize;
  if (packing == OperandPacking::kOnePerPack) {
    const float one = Widen(data[mid == 1 ? 0 : MiddleIndex(i, inner, mid, by_inner, by_mid, index32)]);
#pragma unroll
    for (int k = 0; k < K; ++k) w[k] = one;
  } else if (packing == OperandPacking::kPackPerPack) {
    const Pack<T> p = LoadPack(data + MiddleIndex(i, inner, mid, by_inner, by_mid, index32));
#pragma unroll
    for (int k = 0; k < K; ++k) w[k] = Widen(p.v[k]);
  } else {
#pragma unroll
    for (int k = 0; k < K; ++k) w[k] = Widen(data[MiddleIndex(i + k, inner, mid, by_inner, by_mid, index32)]);
  }
}

// EpilogueKernel a pack of elements per thread: n a multiple of kSize, the pointers aligned.
template <typename T>
__global__ void EpiloguePackedKernel(int act, float alpha, T* __restrict__ out, const T* __restrict__ bias,
                                     OperandPacking bias_packing, const T* __restrict__ residual, int64_t channels,
                                     int64_t inner, FastDivmod by_inner, FastDivmod by_channels, int64_t n) {
  constexpr int K = Pack<T>::kSize;
  const bool index32 = n < (int64_t{1} << 31);
  KILN_GRID_STRIDE_LOOP(g, n / K) {
    const int64_t i = g * K;
    Pack<T> o = LoadPack(out + i);
    float b[K] = {}, r[K] = {};
    if (bias != nullptr) ReadOperand(bias, bias_packing, i, inner, channels, by_inner, by_channels, index32, b);
    if (residual != nullptr) {
      const Pack<T> p = LoadPack(residual + i);
#pragma unroll
      for (int k = 0; k < K; ++k) r[k] = Widen(p.v[k]);
    }
#pragma unroll
    for (int k = 0; k < K; ++k) {
      float v = Widen(o.v[k]);
      if (bias != nullptr) v = v + b[k];
      if (residual != nullptr) v = v + r[k];
      o.v[k] = Narrow<T>(Activate(act, v, alpha));
    }
    StorePack(out + i, o);
  }
}

// Applies a unary step to each of K values, the op chosen once for all of them.
template <int K>
__device__ __forceinline__ void UnaryEach(int op, float param, float (&v)[K]) {
  auto each = [&](auto f) {
#pragma unroll
    for (int k = 0; k < K; ++k) v[k] = f(v[k]);
  };
  switch (static_cast<ElementwiseOp>(op)) {
    case ElementwiseOp::kRelu: return each([](float x) { return Relu(x); });
    case ElementwiseOp::kRelu6:
      return each([](float x) { return Activate(static_cast<int>(Activation::kRelu6), x, 0); });
    case ElementwiseOp::kElu: return each([](float x) { return Activate(static_cast<int>(Activation::kElu), x, 0); });
    case ElementwiseOp::kSelu:
      return each([](float x) { return Activate(static_cast<int>(Activation::kSelu), x, 0); });
    case ElementwiseOp::kLeakyRelu: return each([param](float x) { return x > 0.0f ? x : x * param; });
    case ElementwiseOp::kSoftplus:
      return each([](float x) {
        const float threshold = logf(1.1920928955078125e-07f) + 2.0f;
        if (x > -threshold) return x;
        if (x < threshold) return expf(x);
        return log1pf(expf(x));
      });
    case ElementwiseOp::kSoftsign: return each([](float x) { return x / (1 + fabsf(x)); });
    case ElementwiseOp::kSigmoid: return each([](float x) { return 1 / (1 + expf(-x)); });
    case ElementwiseOp::kTanh: return each([](float x) { return tanhf(x); });
    case ElementwiseOp::kErf: return each([](float x) { return erff(x); });
    case ElementwiseOp::kExp: return each([](float x) { return expf(x); });
    case ElementwiseOp::kExpm1: return each([](float x) { return expm1f(x); });
    case ElementwiseOp::kLog: return each([](float x) { return logf(x); });
    case ElementwiseOp::kLog1p: return each([](float x) { return log1pf(x); });
    case ElementwiseOp::kSqrt: return each([](float x) { return sqrtf(x); });
    case ElementwiseOp::kRsqrt: return each([](float x) { return 1 / sqrtf(x); });
    case ElementwiseOp::kReciprocal: return each([](float x) { return 1 / x; });
    case ElementwiseOp::kNeg: return each([](float x) { return -x; });
    case ElementwiseOp::kAbs: return each([](float x) { return fabsf(x); });
    case ElementwiseOp::kSquare: return each([](float x) { return x * x; });
    case ElementwiseOp::kFloor: return each([](float x) { return floorf(x); });
    case ElementwiseOp::kCeil: return each([](float x) { return ceilf(x); });
    case ElementwiseOp::kGelu: return each([param](float x) { return x * 0.5f * (erff(x * param) + 1.0f); });
    default: return;
  }
}

// Applies a binary step to each of K values and operands w, the op chosen once for all of them.
template <int K>
__device__ __forceinline__ void BinaryEach(int op, bool chain_is_lhs, float (&v)[K], const float (&w)[K]) {
  auto each = [&](auto f) {
    if (chain_is_lhs) {
#pragma unroll
      for (int k = 0; k < K; ++k) v[k] = f(v[k], w[k]);
    } else {
#pragma unroll
      for (int k = 0; k < K; ++k) v[k] = f(w[k], v[k]);
    }
  };
  switch (static_cast<ElementwiseOp>(op)) {
    case ElementwiseOp::kAdd: return each([](float x, float y) { return x + y; });
    case ElementwiseOp::kSub: return each([](float x, float y) { return x - y; });
    case ElementwiseOp::kMul: return each([](float x, float y) { return x * y; });
    case ElementwiseOp::kDiv: return each([](float x, float y) { return x / y; });
    case ElementwiseOp::kMaximum:
      return each([](float x, float y) { return x != x ? x : y != y ? y : (x > y ? x : y); });
    case ElementwiseOp::kMinimum:
      return each([](float x, float y) { return x != x ? x : y != y ? y : (x < y ? x : y); });
    case ElementwiseOp::kPow: return each([](float x, float y) { return powf(x, y); });
    case ElementwiseOp::kSquaredDifference:
      return each([](float x, float y) {
        const float d = x - y;
        return d * d;
      });
    default: return;
  }
}

template <typename T>
__global__ void ChainKernel(ChainProgram p, const T* __restrict__ x, T* __restrict__ out, int64_t n) {
  const bool index32 = n < (int64_t{1} << 31);
  KILN_GRID_STRIDE_LOOP(i, n) {
    float v = Widen(x[i]);
    for (int s = 0; s < p.steps; ++s) {
      const ChainStep& st = p.step[s];
      float value[1] = {v};
      if (st.operand < 0) {
        UnaryEach(st.op, st.param, value);
        v = value[0];
        continue;
      }
      const ChainOperand& o = p.operand[st.operand];
      const int64_t at = o.mid == 1 ? 0 : MiddleIndex(i, o.inner, o.mid, o.by_inner, o.by_mid, index32);
      const float w[1] = {Widen(static_cast<const T*>(o.data)[at])};
      BinaryEach(st.op, st.chain_is_lhs, value, w);
      v = value[0];
    }
    out[i] = Narrow<T>(v);
  }
}

// ChainKernel a pack of elements per thread: n a multiple of kSize, x, out and every operand
// aligned, each operand's packing set by the launcher.
template <typename T>
__global__ void ChainPackedKernel(ChainProgram p, const T* __restrict__ x, T* __restrict__ out, int64_t n) {
  constexpr int K = Pack<T>::kSize;
  const bool index32 = n < (int64_t{1} << 31);
  KILN_GRID_STRIDE_LOOP(g, n / K) {
    const int64_t i = g * K;
    const Pack<T> in = LoadPack(x + i);
    float v[K];
#pragma unroll
    for (int k = 0; k < K; ++k) v[k] = Widen(in.v[k]);
    for (int s = 0; s < p.steps; ++s) {
      const ChainStep& st = p.step[s];
      if (st.operand < 0) {
        UnaryEach(st.op, st.param, v);
        continue;
      }
      const ChainOperand& o = p.operand[st.operand];
      float w[K];
      ReadOperand(static_cast<const T*>(o.data), static_cast<OperandPacking>(o.packing), i, o.inner, o.mid,
                  o.by_inner, o.by_mid, index32, w);
      BinaryEach(st.op, st.chain_is_lhs, v, w);
    }
    Pack<T> result;
#pragma unroll
    for (int k = 0; k < K; ++k) result.v[k] = Narrow<T>(v[k]);
    StorePack(out + i, result);
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
    constexpr int64_t k = Pack<T>::kSize;
    const OperandPacking packing = PackingOf<T>(inner, channels);
    if (n % k == 0 && PackAligned({out, bias, residual}) &&
        (bias == nullptr || packing != OperandPacking::kEach)) {
      EpiloguePackedKernel<T><<<BlocksFor(n / k), kThreads, 0, stream>>>(
          activation, alpha, static_cast<T*>(out), static_cast<const T*>(bias), packing,
          static_cast<const T*>(residual), channels, inner, by_inner, by_channels, n);
      return cudaGetLastError();
    }
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
    constexpr int64_t k = Pack<T>::kSize;
    bool packed = n % k == 0 && PackAligned({x, out});
    for (int s = 0; s < p.steps; ++s) {  // only the operands that steps read (the rest are unset)
      if (p.step[s].operand < 0) continue;
      ChainOperand& o = p.operand[p.step[s].operand];
      const OperandPacking packing = PackingOf<T>(o.inner, o.mid);
      o.packing = static_cast<int>(packing);
      packed = packed && (packing != OperandPacking::kPackPerPack || PackAligned({o.data}));
    }
    if (packed) {
      ChainPackedKernel<T><<<BlocksFor(n / k), kThreads, 0, stream>>>(p, static_cast<const T*>(x),
                                                                      static_cast<T*>(out), n);
    } else {
      ChainKernel<T><<<BlocksFor(n), kThreads, 0, stream>>>(p, static_cast<const T*>(x), static_cast<T*>(out), n);
    }
    return cudaGetLastError();
  });
}

}  // namespace kiln::cuda
