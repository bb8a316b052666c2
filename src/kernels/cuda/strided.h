#pragma once
// Strided n-d index maps, the common currency of kiln's CUDA kernels that move or combine elements:
// an iteration space of `dims`, and for each operand the element stride of each dim (0 where the
// operand is broadcast, negative where it is walked backwards). Built on the host, passed to
// kernels by value.

#include <cstdint>
#include <vector>

#include "kiln/status.h"
#include "kiln/tensor.h"

#ifdef __CUDACC__
#define KILN_HOST_DEVICE __host__ __device__ __forceinline__
#else
#define KILN_HOST_DEVICE inline
#endif

namespace kiln::cuda {

constexpr int kMaxDims = 8;

template <int N>
struct StridedMap {
  int rank = 0;
  int64_t dims[kMaxDims] = {};
  int64_t strides[N][kMaxDims] = {};
  int64_t offsets[N] = {};  // element offset of each operand's first element

  KILN_HOST_DEVICE int64_t size() const {
    int64_t n = 1;
    for (int d = 0; d < rank; ++d) n *= dims[d];
    return n;
  }
  // Element offsets of linear index i (row-major over dims) in each operand.
  KILN_HOST_DEVICE void Locate(int64_t i, int64_t (&off)[N]) const {
    if (rank == 1) {  // the common case after merging: no division
      for (int k = 0; k < N; ++k) off[k] = offsets[k] + i * strides[k][0];
      return;
    }
    for (int k = 0; k < N; ++k) off[k] = offsets[k];
    for (int d = rank - 1; d >= 0; --d) {
      const int64_t c = i % dims[d];
      i /= dims[d];
      for (int k = 0; k < N; ++k) off[k] += c * strides[k][d];
    }
  }
};

// Row-major element strides of `shape`.
std::vector<int64_t> ContiguousStrides(const Shape& shape);

// Builds a map over `dims` from per-operand strides (one vector per operand, each of dims' rank),
// dropping dims of size 1 and merging neighbours that every operand walks as one; fails when more
// than kMaxDims dims remain.
template <int N>
StatusOr<StridedMap<N>> MakeStridedMap(const Shape& dims, const std::vector<int64_t> (&strides)[N],
                                       const int64_t (&offsets)[N]);

// The map of an elementwise op: output `out` (contiguous, operand 0) and inputs broadcast onto it
// numpy-style (operands 1..N-1). `inputs` has N-1 shapes, each broadcastable to `out`.
template <int N>
StatusOr<StridedMap<N>> BroadcastMap(const Shape& out, const std::vector<Shape>& inputs);

// numpy broadcasting of shapes; an error names the two that do not broadcast.
StatusOr<Shape> BroadcastShapes(const std::vector<Shape>& shapes);

}  // namespace kiln::cuda
