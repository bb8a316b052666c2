#include <algorithm>

#include "kernels/cuda/launch.h"

namespace kiln::cuda {
namespace {

__global__ void ReluKernel(const float* __restrict__ in, float* __restrict__ out, int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    out[i] = fmaxf(in[i], 0.0f);
  }
}

}  // namespace

cudaError_t LaunchRelu(const float* in, float* out, int64_t n, cudaStream_t stream) {
  if (n <= 0) return cudaSuccess;
  const int threads = 256;
  const int blocks = static_cast<int>(std::min<int64_t>((n + threads - 1) / threads, 65535));
  ReluKernel<<<blocks, threads, 0, stream>>>(in, out, n);
  return cudaGetLastError();
}

}  // namespace kiln::cuda
