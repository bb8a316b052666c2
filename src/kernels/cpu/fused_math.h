#pragma once
// float32 math of the fused kernels, written exactly as the unary and binary kernels compute it
// (unary.cc, binary.cc), so a fused node gives the unfused graph's answers.

#include <cmath>
#include <limits>

#include "ir/ops/fused_ops.h"
#include "kiln/tensor.h"
#include "runtime/kernel.h"

namespace kiln::kernels::cpu::fused {

// How operand `input` of a fused elementwise chain broadcasts onto the chain's shape `out`: element
// i of the output reads the operand's element (i / inner) % mid. A scalar, a tensor of `out`'s
// shape, or one whose non-1 dims are a contiguous run of `out`'s; anything else is an error.
struct ChainBroadcast {
  int64_t inner = 1, mid = 1;
};
StatusOr<ChainBroadcast> DescribeChainOperand(const Tensor& t, const Shape& out, int input);

// A fused conv/matmul's epilogue over its base op's output `out`, viewed as [outer, channels,
// inner] around the channel axis, with the bias (a vector of the channels) and the residual (the
// output's shape) taken from the node's inputs after its two base inputs, and checked.
struct EpilogueOperands {
  int64_t outer = 1, channels = 1, inner = 1;
  const Tensor* bias = nullptr;
  const Tensor* residual = nullptr;
};
StatusOr<EpilogueOperands> PlanEpilogue(const runtime::KernelContext& ctx, const ir::Epilogue& e, const Tensor& out);
// out = act(out + bias[channel] + residual) over float32 `out` as PlanEpilogue viewed it.
void ApplyEpilogue(const ir::Epilogue& e, const EpilogueOperands& p, float* out);

// A max pool's epilogue (ir::ParsePoolEpilogue), if it has one, over its output `out`, whose
// channels lie along `channel_axis`: out = act(out + bias[channel]) with the bias from input 1,
// checked. float32 only.
Status ApplyPoolEpilogue(const runtime::KernelContext& ctx, int channel_axis, Tensor& out);

// KilnLayerNorm's operands, checked: x viewed as [rows, cols] with cols the normalized dims' size,
// and scale and offset of cols elements each, shaped like those dims.
struct LayerNormPlan {
  int64_t rows = 0, cols = 1;
  float epsilon = 1e-5f;
};
StatusOr<LayerNormPlan> PlanLayerNorm(const runtime::KernelContext& ctx);

inline float Relu(float x) { return (x > 0.0f || x != x) ? x : 0.0f; }

inline float Activate(ir::Activation act, float x, float alpha) {
  switch (act) {
    case ir::Activation::kNone:
      return x;
    case ir::Activation::kRelu:
      return Relu(x);
    case ir::Activation::kRelu6: {
      const float r = Relu(x);
      return r > 6.0f ? 6.0f : r;
    }
    case ir::Activation::kElu:
      return x < 0 ? std::expm1(x) : x;
    case ir::Activation::kSelu:
      return x > 0 ? static_cast<float>(1.0507009873554804934193349852946) * x
                   : static_cast<float>(1.0507009873554804934193349852946 * 1.6732632423543772848170429916717) *
                         std::expm1(x);
    case ir::Activation::kLeakyRelu:
      return x > 0.0f ? x : x * alpha;
    case ir::Activation::kSigmoid:
      return 1 / (1 + std::exp(-x));
    case ir::Activation::kTanh:
      return std::tanh(x);
    case ir::Activation::kGelu:
      return x * 0.5f * (std::erf(x * ir::kGeluErfScale) + 1.0f);
  }
  return x;
}

inline float Softplus(float v) {
  static const float threshold = static_cast<float>(std::log(std::numeric_limits<float>::epsilon()) + 2.0);
  if (v > -threshold) return v;
  if (v < threshold) return std::exp(v);
  return std::log1p(std::exp(v));
}

// Applies a unary step to n values in place.
inline void ApplyUnary(ir::ElementwiseOp op, float param, float* v, int64_t n) {
  using Op = ir::ElementwiseOp;
  auto each = [&](auto f) {
    for (int64_t i = 0; i < n; ++i) v[i] = f(v[i]);
  };
  switch (op) {
    case Op::kRelu:
      return each([](float x) { return Relu(x); });
    case Op::kRelu6:
      return each([](float x) { return Activate(ir::Activation::kRelu6, x, 0.0f); });
    case Op::kElu:
      return each([](float x) { return Activate(ir::Activation::kElu, x, 0.0f); });
    case Op::kSelu:
      return each([](float x) { return Activate(ir::Activation::kSelu, x, 0.0f); });
    case Op::kLeakyRelu:
      return each([param](float x) { return x > 0.0f ? x : x * param; });
    case Op::kSoftplus:
      return each([](float x) { return Softplus(x); });
    case Op::kSoftsign:
      return each([](float x) { return x / (1 + std::abs(x)); });
    case Op::kSigmoid:
      return each([](float x) { return 1 / (1 + std::exp(-x)); });
    case Op::kTanh:
      return each([](float x) { return std::tanh(x); });
    case Op::kErf:
      return each([](float x) { return std::erf(x); });
    case Op::kExp:
      return each([](float x) { return std::exp(x); });
    case Op::kExpm1:
      return each([](float x) { return std::expm1(x); });
    case Op::kLog:
      return each([](float x) { return std::log(x); });
    case Op::kLog1p:
      return each([](float x) { return std::log1p(x); });
    case Op::kSqrt:
      return each([](float x) { return std::sqrt(x); });
    case Op::kRsqrt:
      return each([](float x) { return 1 / std::sqrt(x); });
    case Op::kReciprocal:
      return each([](float x) { return 1 / x; });
    case Op::kNeg:
      return each([](float x) { return -x; });
    case Op::kAbs:
      return each([](float x) { return std::abs(x); });
    case Op::kSquare:
      return each([](float x) { return x * x; });
    case Op::kFloor:
      return each([](float x) { return std::floor(x); });
    case Op::kCeil:
      return each([](float x) { return std::ceil(x); });
    case Op::kGelu:
      return each([param](float x) { return x * 0.5f * (std::erf(x * param) + 1.0f); });
    default:
      return;
  }
}

// v[i] = f(v[i], o[i]) (chain value on the left) or f(o[i], v[i]) for a binary step.
inline void ApplyBinary(ir::ElementwiseOp op, bool chain_is_lhs, float* v, const float* o, int64_t n) {
  using Op = ir::ElementwiseOp;
  auto each = [&](auto f) {
    if (chain_is_lhs) {
      for (int64_t i = 0; i < n; ++i) v[i] = f(v[i], o[i]);
    } else {
      for (int64_t i = 0; i < n; ++i) v[i] = f(o[i], v[i]);
    }
  };
  switch (op) {
    case Op::kAdd:
      return each([](float x, float y) { return x + y; });
    case Op::kSub:
      return each([](float x, float y) { return x - y; });
    case Op::kMul:
      return each([](float x, float y) { return x * y; });
    case Op::kDiv:
      return each([](float x, float y) { return x / y; });
    case Op::kMaximum:
      return each([](float x, float y) { return x != x ? x : y != y ? y : (x > y ? x : y); });
    case Op::kMinimum:
      return each([](float x, float y) { return x != x ? x : y != y ? y : (x < y ? x : y); });
    case Op::kPow:
      return each([](float x, float y) { return std::pow(x, y); });
    case Op::kSquaredDifference:
      return each([](float x, float y) {
        const float d = x - y;
        return d * d;
      });
    default:
      return;
  }
}

}  // namespace kiln::kernels::cpu::fused
