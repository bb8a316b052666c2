#pragma once
// Kernel launchers: plain functions over device pointers, callable from C++20 host code.

#include <cuda_runtime.h>

#include <cstdint>

namespace kiln::cuda {

// out[i] = max(in[i], 0) for i < n, on `stream`.
cudaError_t LaunchRelu(const float* in, float* out, int64_t n, cudaStream_t stream);

}  // namespace kiln::cuda
