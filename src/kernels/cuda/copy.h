#pragma once
// Launchers of the element-moving kernels behind transposes, slices, pads, tiles, concatenation
// and splits. They move elements by size, so one kernel serves every dtype of that size.

#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/cuda/strided.h"
#include "kiln/dtype.h"

namespace kiln::cuda {

// For each index of map: out[operand 0 offset] = in[operand 1 offset].
cudaError_t LaunchStridedCopy(size_t element_size, const void* in, void* out, const StridedMap<2>& map,
                              cudaStream_t stream);

// Copies through per-axis index maps (kernels/cpu/array_util.h's CopyByAxisMaps): output element
// (o_0, ..., o_{r-1}) reads in[sum_d maps[starts[d] + o_d] * in_strides[d]], or the fill value
// where any of those map entries is -1.
struct AxisMapCopy {
  int rank = 0;
  int64_t out_dims[kMaxDims] = {};
  int64_t in_strides[kMaxDims] = {};
  int64_t starts[kMaxDims] = {};
  const int64_t* maps = nullptr;  // on the device
};
cudaError_t LaunchAxisMapCopy(size_t element_size, const void* in, void* out, const AxisMapCopy& copy,
                              uint64_t fill_bits, cudaStream_t stream);

// out[t * slice + i] = in[offsets[t] + i] for t < count, i < slice; offsets on the device.
cudaError_t LaunchGatherSlices(size_t element_size, const void* in, void* out, const int64_t* offsets, int64_t count,
                               int64_t slice, cudaStream_t stream);

// out[offsets[u] + i] = combine(out[offsets[u] + i], updates[u * slice + i]) in order of u; `out`
// holds a copy of the data. `reduction` is runtime::ScatterReduction (0 none, 1 add, 2 mul, 3 max,
// 4 min); `dtype` matters only for reductions.
cudaError_t LaunchScatterSlices(DType dtype, int reduction, void* out, const int64_t* offsets, int64_t count,
                                int64_t slice, const void* updates, cudaStream_t stream);

}  // namespace kiln::cuda
