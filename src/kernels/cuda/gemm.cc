#include <limits>

#include "cuda/check.h"
#include "kernels/cuda/matmul.h"

namespace kiln::cuda {

std::vector<DType> GemmDTypes() { return {DType::kFloat32, DType::kFloat16, DType::kBFloat16, DType::kFloat64}; }

Status Gemm(StreamContext& ctx, DType dtype, const GemmShape& g, const void* x, const void* y, void* out) {
  constexpr int64_t kMax = std::numeric_limits<int>::max();
  if (g.m > kMax || g.n > kMax || g.k > kMax || g.batch > kMax) {
    return InvalidArgument("matrix product of [" + std::to_string(g.m) + "x" + std::to_string(g.k) + "] by [" +
                           std::to_string(g.k) + "x" + std::to_string(g.n) + "] is too large for cuBLAS");
  }
  cudaDataType_t type;
  cublasComputeType_t compute = CUBLAS_COMPUTE_32F;
  switch (dtype) {
    case DType::kFloat32:
      type = CUDA_R_32F;
      if (ctx.allow_tf32()) compute = CUBLAS_COMPUTE_32F_FAST_TF32;
      break;
    case DType::kFloat16: type = CUDA_R_16F; break;
    case DType::kBFloat16: type = CUDA_R_16BF; break;
    case DType::kFloat64:
      type = CUDA_R_64F;
      compute = CUBLAS_COMPUTE_64F;
      break;
    default: return Unimplemented("no cuBLAS product for " + std::string(DTypeName(dtype)));
  }
  KILN_ASSIGN_OR_RETURN(cublasHandle_t handle, ctx.cublas());
  // Row-major out = x . y is column-major out^T = y^T . x^T: y goes first.
  const int m = static_cast<int>(g.n), n = static_cast<int>(g.m), k = static_cast<int>(g.k);
  const cublasOperation_t op_y = g.adj_y ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t op_x = g.adj_x ? CUBLAS_OP_T : CUBLAS_OP_N;
  const int ldy = static_cast<int>(g.adj_y ? g.k : g.n), ldx = static_cast<int>(g.adj_x ? g.m : g.k);
  const int ldo = static_cast<int>(g.n);
  const float alpha32 = 1, beta32 = 0;
  const double alpha64 = 1, beta64 = 0;
  const void* alpha = dtype == DType::kFloat64 ? static_cast<const void*>(&alpha64) : &alpha32;
  const void* beta = dtype == DType::kFloat64 ? static_cast<const void*>(&beta64) : &beta32;
  if (g.batch == 1) {
    KILN_CUBLAS_RETURN_IF_ERROR(cublasGemmEx(handle, op_y, op_x, m, n, k, alpha, y, type, ldy, x, type, ldx, beta, out,
                                             type, ldo, compute, CUBLAS_GEMM_DEFAULT));
    return OkStatus();
  }
  KILN_CUBLAS_RETURN_IF_ERROR(cublasGemmStridedBatchedEx(handle, op_y, op_x, m, n, k, alpha, y, type, ldy, g.stride_y,
                                                         x, type, ldx, g.stride_x, beta, out, type, ldo, g.m * g.n,
                                                         static_cast<int>(g.batch), compute, CUBLAS_GEMM_DEFAULT));
  return OkStatus();
}

}  // namespace kiln::cuda
