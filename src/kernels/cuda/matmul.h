#pragma once
// Matrix products on cuBLAS for the CUDA kernels: row-major operands, float32 (TF32 only when the
// run allows it), float16 and bfloat16 (float32 accumulation), float64.

#include <string>
#include <vector>

#include "cuda/stream_context.h"

namespace kiln::cuda {

// out [batch, m, n] = x [batch, m, k] . y [batch, k, n], row-major, where an adjoint operand is
// stored transposed ([k, m] or [n, k]) and a batch stride of 0 shares one matrix.
struct GemmShape {
  bool adj_x = false, adj_y = false;
  int64_t m = 0, n = 0, k = 0;
  int64_t batch = 1;
  int64_t stride_x = 0, stride_y = 0;  // elements between batch entries
};
Status Gemm(StreamContext& ctx, DType dtype, const GemmShape& shape, const void* x, const void* y, void* out);
std::vector<DType> GemmDTypes();

// What cuBLASLt's epilogue applies to the product and its addends: nothing, ReLU (max with 0), or
// GELU in its tanh form, x / 2 * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 x^3))).
enum class GemmActivation { kNone, kRelu, kGeluTanh };

// What a fused matmul adds to its product: a bias per output column and a residual of the output's
// shape, either may be null, then the activation.
struct GemmAddends {
  const void* bias = nullptr;  // of the product's dtype
  const void* residual = nullptr;
  GemmActivation activation = GemmActivation::kNone;
};
// out [batch, m, n] = activation(x . y + bias + residual) in one cuBLASLt call, all of `dtype`
// (float32, float16 or bfloat16; accumulated in float32), with the algorithm chosen by timing
// cuBLASLt's candidates the first time each problem is seen.
Status GemmWithAddends(StreamContext& ctx, DType dtype, const GemmShape& shape, const void* x, const void* y,
                       void* out, const GemmAddends& add);

// acc [m, n] = x [m, k] . w [n, k]^T, row-major, both int8 (acc int32, exact) or both float8_e4m3fn
// (acc float32), on cuBLASLt; an error when cuBLASLt has no algorithm for the problem.
Status QuantizedGemm(StreamContext& ctx, DType dtype, int64_t m, int64_t n, int64_t k, const void* x, const void* w,
                     void* acc);

// The batched product of kernels/cpu/matmul.h (same shape rules and errors) into `out`, which has
// the product's shape.
Status BatchMatMulOnDevice(StreamContext& ctx, const Tensor& x, const Tensor& y, bool adj_x, bool adj_y,
                           bool broadcast, const std::string& op, Tensor& out);

}  // namespace kiln::cuda
