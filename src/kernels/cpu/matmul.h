#pragma once
// Batched matrix products shared by the MatMul/BatchMatMul kernels and Einsum.

#include "kiln/status.h"
#include "kiln/tensor.h"

namespace kiln::kernels::cpu::nn {

// x [..., M, K] (or [..., K, M] with adj_x) times y [..., K, N] (or [..., N, K] with adj_y), both
// of one dtype (float, integer, float16/bfloat16 through float32). With `broadcast` the batch
// dims broadcast (numpy rules); otherwise they must be equal. `op` names the op in errors.
StatusOr<Tensor> BatchMatMulTensors(const Tensor& x, const Tensor& y, bool adj_x, bool adj_y, bool broadcast,
                                    const std::string& op);

}  // namespace kiln::kernels::cpu::nn
