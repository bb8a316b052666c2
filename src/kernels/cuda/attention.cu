// The softmax of KilnAttention's unfused path: one warp per row of scores, the row scaled and biased
// on the fly in each of its three passes (maximum, sum, write), so the biased scores are never stored.
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/fused.h"

namespace kiln::cuda {
namespace {

struct RowGeometry {
  int64_t heads, seq_q, cols;
  int64_t bias[4];  // strides along [batch, head, seq_q, seq_kv]
};

__device__ float WarpMax(float v) {
  for (int offset = 16; offset > 0; offset /= 2) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, offset));
  return v;
}

__device__ float WarpSum(float v) {
  for (int offset = 16; offset > 0; offset /= 2) v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}

template <typename T>
__global__ void ScaledSoftmaxKernel(T* __restrict__ scores, const T* __restrict__ bias, RowGeometry g, int64_t rows,
                                    float scale) {
  const int lane = threadIdx.x % 32;
  const int64_t warps = static_cast<int64_t>(gridDim.x) * blockDim.x / 32;
  for (int64_t row = (blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x) / 32; row < rows; row += warps) {
    T* x = scores + row * g.cols;
    const int64_t i = row % g.seq_q, bh = row / g.seq_q;
    const int64_t at = (bh / g.heads) * g.bias[0] + (bh % g.heads) * g.bias[1] + i * g.bias[2];
    auto logit = [&](int64_t j) {
      const float s = Widen(x[j]) * scale;
      return bias != nullptr ? s + Widen(bias[at + j * g.bias[3]]) : s;
    };
    float max = -INFINITY;
    for (int64_t j = lane; j < g.cols; j += 32) max = fmaxf(max, logit(j));
    max = WarpMax(max);
    float sum = 0.0f;
    for (int64_t j = lane; j < g.cols; j += 32) sum += expf(logit(j) - max);
    const float inv = 1.0f / WarpSum(sum);
    for (int64_t j = lane; j < g.cols; j += 32) x[j] = Narrow<T>(expf(logit(j) - max) * inv);
  }
}

using AttentionTypes = Types<float, __half, __nv_bfloat16>;

}  // namespace

cudaError_t LaunchScaledSoftmax(DType dtype, void* scores, const void* bias, const std::array<int64_t, 4>& bias_strides,
                                const std::array<int64_t, 4>& dims, float scale, cudaStream_t stream) {
  const int64_t rows = dims[0] * dims[1] * dims[2];
  if (rows == 0 || dims[3] == 0) return cudaSuccess;
  const RowGeometry g{dims[1], dims[2], dims[3], {bias_strides[0], bias_strides[1], bias_strides[2], bias_strides[3]}};
  return Dispatch(AttentionTypes{}, dtype, [&](auto tag) {
    using T = decltype(tag);
    ScaledSoftmaxKernel<T><<<BlocksFor(rows * 32), kThreads, 0, stream>>>(static_cast<T*>(scores),
                                                                          static_cast<const T*>(bias), g, rows, scale);
    return cudaGetLastError();
  });
}

}  // namespace kiln::cuda
