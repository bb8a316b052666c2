// KilnLayerNorm's device code: the row's mean and variance as two sums in float32, then one pass
// that writes it. Rows of up to kMaxPacksPerLane packs per lane of a warp are held in a warp's
// registers, read once in packs and reduced by shuffles; longer rows take a block each, reading the
// row three times (it stays in cache between the passes).
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

__device__ __forceinline__ float WarpSum(float v) {
  for (int offset = 16; offset > 0; offset /= 2) v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}

constexpr int kMaxPacksPerLane = 8;
constexpr int kRowsPerBlock = 4;  // one warp each

// A warp per row of cols = packs * kSize elements, at most Packs packs per lane.
template <typename T, int Packs>
__global__ void LayerNormWarpKernel(const T* __restrict__ x, const T* __restrict__ scale,
                                    const T* __restrict__ offset, T* __restrict__ y, int64_t rows, int packs,
                                    float epsilon) {
  constexpr int K = Pack<T>::kSize;
  const int lane = threadIdx.x % 32;
  const int64_t cols = static_cast<int64_t>(packs) * K;
  for (int64_t r = blockIdx.x * static_cast<int64_t>(kRowsPerBlock) + threadIdx.x / 32; r < rows;
       r += static_cast<int64_t>(gridDim.x) * kRowsPerBlock) {
    const T* row = x + r * cols;
    float v[Packs][K];
    float sum = 0.0f;
#pragma unroll
    for (int j = 0; j < Packs; ++j) {
      const int pack = j * 32 + lane;
      if (pack >= packs) break;
      const Pack<T> p = LoadPack(row + static_cast<int64_t>(pack) * K);
#pragma unroll
      for (int k = 0; k < K; ++k) sum += v[j][k] = Widen(p.v[k]);
    }
    const float mean = WarpSum(sum) / static_cast<float>(cols);
    float squares = 0.0f;
#pragma unroll
    for (int j = 0; j < Packs; ++j) {
      if (j * 32 + lane >= packs) break;
#pragma unroll
      for (int k = 0; k < K; ++k) {
        const float d = v[j][k] - mean;
        squares += d * d;
      }
    }
    const float variance = WarpSum(squares) / static_cast<float>(cols);
    const float inv_std = 1.0f / sqrtf(variance + epsilon);
    T* out = y + r * cols;
#pragma unroll
    for (int j = 0; j < Packs; ++j) {
      const int pack = j * 32 + lane;
      if (pack >= packs) break;
      const Pack<T> g = LoadPack(scale + static_cast<int64_t>(pack) * K);
      const Pack<T> b = LoadPack(offset + static_cast<int64_t>(pack) * K);
      Pack<T> o;
#pragma unroll
      for (int k = 0; k < K; ++k) o.v[k] = Narrow<T>((v[j][k] - mean) * inv_std * Widen(g.v[k]) + Widen(b.v[k]));
      StorePack(out + static_cast<int64_t>(pack) * K, o);
    }
  }
}

template <typename T, int Packs>
cudaError_t LaunchWarpRows(const void* x, const void* scale, const void* offset, void* y, int64_t rows, int packs,
                           float epsilon, cudaStream_t stream) {
  const int64_t blocks = (rows + kRowsPerBlock - 1) / kRowsPerBlock;
  LayerNormWarpKernel<T, Packs><<<static_cast<unsigned>(blocks < (1 << 20) ? blocks : (1 << 20)), 32 * kRowsPerBlock,
                                  0, stream>>>(static_cast<const T*>(x), static_cast<const T*>(scale),
                                               static_cast<const T*>(offset), static_cast<T*>(y), rows, packs,
                                               epsilon);
  return cudaGetLastError();
}

}  // namespace

cudaError_t LaunchLayerNorm(DType dtype, const void* x, const void* scale, const void* offset, void* y, int64_t rows,
                            int64_t cols, float epsilon, cudaStream_t stream) {
  if (rows == 0 || cols == 0) return cudaSuccess;
  const int threads = cols >= 256 ? 256 : static_cast<int>((cols + 31) / 32 * 32);
  const unsigned blocks = static_cast<unsigned>(rows < (1 << 20) ? rows : (1 << 20));
  return Dispatch(Types<float, __half, __nv_bfloat16>{}, dtype, [&](auto tag) {
    using T = decltype(tag);
    constexpr int64_t k = Pack<T>::kSize;
    const int64_t packs = cols / k, per_lane = (packs + 31) / 32;
    if (cols % k == 0 && per_lane <= kMaxPacksPerLane && PackAligned({x, scale, offset, y})) {
      const int p = static_cast<int>(packs);
      if (per_lane == 1) return LaunchWarpRows<T, 1>(x, scale, offset, y, rows, p, epsilon, stream);
      if (per_lane == 2) return LaunchWarpRows<T, 2>(x, scale, offset, y, rows, p, epsilon, stream);
      if (per_lane <= 4) return LaunchWarpRows<T, 4>(x, scale, offset, y, rows, p, epsilon, stream);
      return LaunchWarpRows<T, kMaxPacksPerLane>(x, scale, offset, y, rows, p, epsilon, stream);
    }
    LayerNormKernel<T><<<blocks, threads, 0, stream>>>(static_cast<const T*>(x), static_cast<const T*>(scale),
                                                       static_cast<const T*>(offset), static_cast<T*>(y), rows, cols,
                                                       epsilon);
    return cudaGetLastError();
  });
}

}  // namespace kiln::cuda
