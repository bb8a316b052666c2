#pragma once
// Batched matrix products shared by the MatMul/BatchMatMul kernels and Einsum.

#include "kiln/status.h"
#include "kiln/tensor.h"

namespace kiln::kernels::cpu::nn {

// The shapes of one batched product, checked: out [batch..., m, n] from x [x_batch..., m, k] and
// y [y_batch..., k, n] (before any adjoint).
struct MatMulPlan {
  int64_t m = 0, k = 0, n = 0;
  Shape batch, x_batch, y_batch, out_shape;
};
StatusOr<MatMulPlan> PlanBatchMatMul(const Tensor& x, const Tensor& y, bool adj_x, bool adj_y, bool broadcast,
                                     const std::string& op);

// x [..., M, K] (or [..., K, M] with adj_x) times y [..., K, N] (or [..., N, K] with adj_y), both
// of one dtype (float, integer, float16/bfloat16 through float32). With `broadcast` the batch
// dims broadcast (numpy rules); otherwise they must be equal. `op` names the op in errors.
StatusOr<Tensor> BatchMatMulTensors(const Tensor& x, const Tensor& y, bool adj_x, bool adj_y, bool broadcast,
                                    const std::string& op);

}  // namespace kiln::kernels::cpu::nn
