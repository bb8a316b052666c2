#pragma once
// Every CUDA runtime call goes through KILN_CUDA_RETURN_IF_ERROR, which turns a failure into a
// Status naming the call.

#include <cuda_runtime.h>

#include <string>

#include "kiln/status.h"

#define KILN_CUDA_RETURN_IF_ERROR(call)                                                              \
  do {                                                                                               \
    const cudaError_t kiln_cuda_err_ = (call);                                                       \
    if (kiln_cuda_err_ != cudaSuccess) {                                                             \
      return ::kiln::Status(::kiln::StatusCode::kInternal,                                           \
                            std::string(#call) + " failed: " + cudaGetErrorString(kiln_cuda_err_)); \
    }                                                                                                \
  } while (0)
