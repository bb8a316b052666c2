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

template <typename T>
__global__ void LayerNormKernel(const T* __restrict__ x, const T* __restrict__ scale, const T* __restrict__ offset,
                                T* __restrict__ y, int64_t rows, int64_t cols, float epsilon) {
  __shared__ float shared[32];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* row = x + r * cols;
    float sum = 0.0f;
    for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) sum += Widen(row[c]);
    const float mean = BlockSum(sum, shared) / static_cast<float>(cols);
    float squares = 0.0f;
    for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) {
      const float d = Widen(row[c]) - mean;
      squares += d * d;
    }
    const float variance = BlockSum(squares, shared) / static_cast<float>(cols);
    const float inv_std = 1.0f / sqrtf(variance + epsilon);
    T* out = y + r * cols;
    for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) {
      out[c] = Narrow<T>((Widen(row[c]) - mean) * inv_std * Widen(scale[c]) + Widen(offset[c]));
    }
  }
}

}  // namespace

cudaError_t LaunchLayerNorm(DType dtype, const void* x, const void* scale, const void* offset, void* y, int64_t rows,
                            int64_t cols, float epsilon, cudaStream_t stream) {
  if (rows == 0 || cols == 0) return cudaSuccess;
  const int threads = cols >= 256 ? 256 : static_cast<int>((cols + 31) / 32 * 32);
  const unsigned blocks = static_cast<unsigned>(rows < (1 << 20) ? rows : (1 << 20));
  return Dispatch(Types<float, __half, __nv_bfloat16>{}, dtype, [&](auto tag) {
    using T = decltype(tag);
    LayerNormKernel<T><<<blocks, threads, 0, stream>>>(static_cast<const T*>(x), static_cast<const T*>(scale),
                                                       static_cast<const T*>(offset), static_cast<T*>(y), rows, cols,
                                                       epsilon);
    return cudaGetLastError();
  });
}

}  // namespace kiln::cuda
