#pragma once
// Launchers of the fused ops' device code (float32, float16 and bfloat16, computed in float32):
// the conv/matmul epilogue (bias, residual, activation in one pass over the base op's output), the
// elementwise-chain program, the layer norm and attention's softmax.

#include <cuda_runtime.h>

#include <array>
#include <cstdint>
#include <vector>

#include "kiln/tensor.h"

#include "kernels/cuda/strided.h"

namespace kiln::cuda {

// The dtypes the fused ops' device code takes.
std::vector<DType> FusedDTypes();

// out[o, c, i] = act(out[o, c, i] + bias[c] + residual[o, c, i]), all of `dtype`; bias and residual
// may be null. `activation` is an ir::Activation.
cudaError_t LaunchEpilogue(DType dtype, int activation, float alpha, void* out, const void* bias,
                           const void* residual, int64_t outer, int64_t channels, int64_t inner, cudaStream_t stream);

constexpr int kMaxChainSteps = 24;
constexpr int kMaxChainOperands = 8;

// A broadcast operand of a chain: element i of the output reads data[(i / inner) % mid].
struct ChainOperand {
  const void* data = nullptr;  // of the chain's dtype
  int64_t inner = 1, mid = 1;
  FastDivmod by_inner, by_mid;  // set by the launcher for chains of fewer than 2^31 elements
  int packing = 0;              // how the packed kernel reads it: set by the launcher
};
// One step: an ir::ElementwiseOp, its parameter, and for binary ops the operand and its side.
struct ChainStep {
  int op = 0;
  int operand = -1;
  bool chain_is_lhs = true;
  float param = 0.0f;
};
struct ChainProgram {
  int steps = 0;
  ChainStep step[kMaxChainSteps];
  ChainOperand operand[kMaxChainOperands];
};
// out[i] = the program applied to x[i] for n elements of `dtype`.
cudaError_t LaunchElementwiseChain(DType dtype, const ChainProgram& program, const void* x, void* out, int64_t n,
                                   cudaStream_t stream);

// KilnLayerNorm over x viewed as [rows, cols]: each row normalized by its own mean and variance,
// then y = normalized * scale[c] + offset[c].
cudaError_t LaunchLayerNorm(DType dtype, const void* x, const void* scale, const void* offset, void* y, int64_t rows,
                            int64_t cols, float epsilon, cudaStream_t stream);

// KilnAttention's softmax when it is not fused into cuDNN's attention: scores [batch, heads, seq_q,
// seq_kv] (dense) replaced by the softmax of each row of scale * scores + bias, computed in float32;
// bias (or null) is read with `bias_strides` along those four dims, 0 where it broadcasts.
cudaError_t LaunchScaledSoftmax(DType dtype, void* scores, const void* bias, const std::array<int64_t, 4>& bias_strides,
                                const std::array<int64_t, 4>& dims, float scale, cudaStream_t stream);

}  // namespace kiln::cuda
