#pragma once
// The fused ops' activations on the device, computing exactly what the CPU's fused kernels compute
// (src/kernels/cpu/fused_math.h).

#include "ir/ops/fused_ops.h"

namespace kiln::cuda {

__device__ __forceinline__ float Relu(float x) { return (x > 0.0f || x != x) ? x : 0.0f; }

// `act` is an ir::Activation; alpha is LeakyRelu's.
__device__ __forceinline__ float Activate(int act, float x, float alpha) {
  using ir::Activation;
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
    case Activation::kGelu: return x * 0.5f * (erff(x * ir::kGeluErfScale) + 1.0f);
  }
  return x;
}

}  // namespace kiln::cuda
