#pragma once
// Launchers of the reduction kernels: reductions over the middle of [outer, reduce, inner],
// arg-max/min, cumulative sums and products, and softmax over rows. float16 and bfloat16
// accumulate in float32; integers wrap, as on the CPU.

#include <cuda_runtime.h>

#include <cstdint>
#include <vector>

#include "kiln/dtype.h"

namespace kiln::cuda {

enum class ReduceOp : uint8_t { kSum, kMean, kProd, kMax, kMin, kEuclideanNorm, kAll, kAny };

std::vector<DType> ReduceDTypes(ReduceOp op);
cudaError_t LaunchReduce(ReduceOp op, DType dtype, const void* in, void* out, int64_t outer, int64_t reduce,
                         int64_t inner, cudaStream_t stream);

// Index (int32 or int64 `index_type`) of the largest (or smallest) element along the middle axis;
// the first one on ties, NaNs never chosen over numbers.
std::vector<DType> ArgReduceDTypes();
cudaError_t LaunchArgReduce(bool max, DType dtype, DType index_type, const void* in, void* out, int64_t outer,
                            int64_t reduce, int64_t inner, cudaStream_t stream);

std::vector<DType> ScanDTypes();
cudaError_t LaunchScan(bool product, DType dtype, const void* in, void* out, int64_t outer, int64_t len,
                       int64_t inner, bool exclusive, bool reverse, cudaStream_t stream);

// Softmax (or log-softmax) of each row of `cols` elements, the row maximum subtracted first.
cudaError_t LaunchSoftmax(bool log, DType dtype, const void* in, void* out, int64_t rows, int64_t cols,
                          cudaStream_t stream);

}  // namespace kiln::cuda
