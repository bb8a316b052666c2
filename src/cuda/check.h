#pragma once
// Every CUDA, cuBLAS and cuDNN call goes through one of these macros, which turn a failure into a
// Status naming the call and carrying the library's message. Out-of-memory becomes
// ResourceExhausted.

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include <string>

#include "kiln/status.h"

namespace kiln::cuda {

Status CudaStatus(cudaError_t err, const char* call);
Status CublasStatus(cublasStatus_t err, const char* call);
Status CudnnStatus(cudnnStatus_t err, const char* call);

}  // namespace kiln::cuda

#define KILN_CUDA_RETURN_IF_ERROR(call)                                                        \
  do {                                                                                         \
    const cudaError_t kiln_cuda_err_ = (call);                                                 \
    if (kiln_cuda_err_ != cudaSuccess) return ::kiln::cuda::CudaStatus(kiln_cuda_err_, #call); \
  } while (0)

#define KILN_CUBLAS_RETURN_IF_ERROR(call)                                                                   \
  do {                                                                                                      \
    const cublasStatus_t kiln_cublas_err_ = (call);                                                         \
    if (kiln_cublas_err_ != CUBLAS_STATUS_SUCCESS) return ::kiln::cuda::CublasStatus(kiln_cublas_err_, #call); \
  } while (0)

#define KILN_CUDNN_RETURN_IF_ERROR(call)                                                                 \
  do {                                                                                                   \
    const cudnnStatus_t kiln_cudnn_err_ = (call);                                                        \
    if (kiln_cudnn_err_ != CUDNN_STATUS_SUCCESS) return ::kiln::cuda::CudnnStatus(kiln_cudnn_err_, #call); \
  } while (0)

// After a kernel launch: reports a bad launch configuration (or an earlier asynchronous error).
#define KILN_CUDA_RETURN_IF_LAUNCH_FAILED(what) KILN_CUDA_RETURN_IF_ERROR((static_cast<void>(what), cudaGetLastError()))
