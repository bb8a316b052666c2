// KilnLayerNorm's device code: one block per row, the row's mean and variance as two block-wide
// sums in float32 (the row stays in cache between the passes), then one pass that writes it.
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/fused.h"

namespace kiln::cuda {
namespace {

// The sum of `v` over the block, returned to every thread; `shared` holds one float per warp.
__device__ float BlockSum(float v, float* shared) {
  for (int offset = 16; offset > 0; offset /= 2) v += __shfl_down_sync(0xffffffffu, v, offset);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, warps = (blockDim.x + 31) / 32;
  __syncthreads();  // the previous call's readers are done with `shared`
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  float total = 0.0f;
  for (int w = 0; w < warps; ++w) total += shared[w];
  return total;
}

__global__ void LayerNormKernel(const float* __restrict__ x, const float* __restrict__ scale,
                                const float* __restrict__ offset, float* __restrict__ y, int64_t rows, int64_t cols,
                                float epsilon) {
  __shared__ float shared[32];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* row = x + r * cols;
    float sum = 0.0f;
    for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) sum += row[c];
    const float mean = BlockSum(sum, shared) / static_cast<float>(cols);
    float squares = 0.0f;
    for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) {
      const float d = row[c] - mean;
      squares += d * d;
    }
    const float variance = BlockSum(squares, shared) / static_cast<float>(cols);
    const float inv_std = 1.0f / sqrtf(variance + epsilon);
    float* out = y + r * cols;
    for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) out[c] = (row[c] - mean) * inv_std * scale[c] + offset[c];
  }
}

}  // namespace

cudaError_t LaunchLayerNorm(const float* x, const float* scale, const float* offset, float* y, int64_t rows,
                            int64_t cols, float epsilon, cudaStream_t stream) {
  if (rows == 0 || cols == 0) return cudaSuccess;
  const int threads = cols >= 256 ? 256 : static_cast<int>((cols + 31) / 32 * 32);
  const unsigned blocks = static_cast<unsigned>(rows < (1 << 20) ? rows : (1 << 20));
  LayerNormKernel<<<blocks, threads, 0, stream>>>(x, scale, offset, y, rows, cols, epsilon);
  return cudaGetLastError();
}

}  // namespace kiln::cuda
