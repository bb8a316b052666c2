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

// Division by a divisor fixed on the host, as a multiply-high and a shift (Granlund and
// Montgomery's round-up method), for dividends below 2^31: index arithmetic in the kernels that
// would otherwise pay for a hardware-less 32- or 64-bit division per element.
struct FastDivmod {
  uint32_t divisor = 1, multiplier = 1, shift = 0;

  FastDivmod() = default;
  // A divisor of 0 (a dim of an empty tensor, which nothing divides by) is kept as 1.
  explicit FastDivmod(uint32_t d) : divisor(d == 0 ? 1 : d) {
    const uint64_t v = divisor;
    while ((uint64_t{1} << shift) < v) ++shift;
    multiplier = static_cast<uint32_t>(((uint64_t{1} << 32) * ((uint64_t{1} << shift) - v)) / v + 1);
  }
  KILN_HOST_DEVICE uint32_t Div(uint32_t n) const {
#ifdef __CUDA_ARCH__
    const uint32_t high = __umulhi(n, multiplier);
#else
    const uint32_t high = static_cast<uint32_t>((uint64_t{n} * multiplier) >> 32);
#endif
    return (high + n) >> shift;
  }
};

template <int N>
struct StridedMap {
  int rank = 0;
  // Every linear index and every operand offset fits in 31 bits: Locate divides in 32 bits.
  bool index32 = false;
  int64_t dims[kMaxDims] = {};
  int64_t strides[N][kMaxDims] = {};
  int64_t offsets[N] = {};  // element offset of each operand's first element
  FastDivmod divide[kMaxDims];  // by dims[d], for index32 maps

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
    if (index32) {
      uint32_t rest = static_cast<uint32_t>(i);
      int32_t at[N];
      for (int k = 0; k < N; ++k) at[k] = static_cast<int32_t>(offsets[k]);
      for (int d = rank - 1; d >= 0; --d) {
        const uint32_t q = divide[d].Div(rest);
        const int32_t c = static_cast<int32_t>(rest - q * divide[d].divisor);
        rest = q;
        for (int k = 0; k < N; ++k) at[k] += c * static_cast<int32_t>(strides[k][d]);
      }
      for (int k = 0; k < N; ++k) off[k] = at[k];
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

// Whether every index below `count` and every offset reached from `offsets` fits in 31 bits.
template <int N>
bool FitsIndex32(const StridedMap<N>& map);

// numpy broadcasting of shapes; an error names the two that do not broadcast.
StatusOr<Shape> BroadcastShapes(const std::vector<Shape>& shapes);

}  // namespace kiln::cuda
