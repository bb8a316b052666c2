#pragma once
// Launchers of OneHot and TopK.

#include <cuda_runtime.h>

#include <cstdint>
#include <vector>

#include "kiln/dtype.h"

namespace kiln::cuda {

// out[(p * depth + d) * suffix + s] = indices[p * suffix + s] == d ? on : off; on/off are the
// bits of one element of `element_size` bytes.
cudaError_t LaunchOneHot(size_t element_size, const int64_t* indices, int64_t prefix, int64_t depth, int64_t suffix,
                         uint64_t on, uint64_t off, void* out, cudaStream_t stream);

// The k largest (or smallest) elements of each [outer, n, inner] row along n, sorted, with their
// int64 indices; equal values keep the lower index first and NaN ranks above every number.
std::vector<DType> TopKDTypes();
cudaError_t LaunchTopK(DType dtype, const void* in, void* values, int64_t* indices, int64_t outer, int64_t n,
                       int64_t inner, int64_t k, bool largest, cudaStream_t stream);

}  // namespace kiln::cuda
