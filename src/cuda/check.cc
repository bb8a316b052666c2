#include "cuda/check.h"

namespace kiln::cuda {

Status CudaStatus(cudaError_t err, const char* call) {
  std::string msg = std::string(call) + " failed: " + cudaGetErrorName(err) + ": " + cudaGetErrorString(err);
  if (err == cudaErrorMemoryAllocation) return ResourceExhausted(msg);
  if (err == cudaErrorNoDevice || err == cudaErrorInsufficientDriver || err == cudaErrorInvalidDevice) {
    return Unavailable(msg);
  }
  return Internal(msg);
}

Status CublasStatus(cublasStatus_t err, const char* call) {
  std::string msg = std::string("cuBLAS: ") + call + " failed: " + cublasGetStatusString(err);
  if (err == CUBLAS_STATUS_ALLOC_FAILED) return ResourceExhausted(msg);
  if (err == CUBLAS_STATUS_NOT_SUPPORTED || err == CUBLAS_STATUS_ARCH_MISMATCH) return Unimplemented(msg);
  return Internal(msg);
}

Status CudnnStatus(cudnnStatus_t err, const char* call) {
  std::string msg = std::string("cuDNN: ") + call + " failed: " + cudnnGetErrorString(err);
  if (err == CUDNN_STATUS_ALLOC_FAILED) return ResourceExhausted(msg);
  if (err == CUDNN_STATUS_NOT_SUPPORTED) return Unimplemented(msg);
  return Internal(msg);
}

}  // namespace kiln::cuda
