#pragma once
// The element moves of kernels/cpu/array_util.h on the GPU, for StreamContext: CPU kernels whose
// data movement goes through those primitives run unchanged on device tensors.

#include <vector>

#include "cuda/stream_context.h"

namespace kiln::cuda {

StatusOr<Tensor> TransposeOnDevice(StreamContext& ctx, const Tensor& in, const std::vector<int>& perm);
StatusOr<Tensor> CopyByAxisMapsOnDevice(StreamContext& ctx, const Tensor& in,
                                        const std::vector<std::vector<int64_t>>& maps, const Tensor* fill);
Status ConcatOnDevice(StreamContext& ctx, const std::vector<const Tensor*>& parts, int axis, Tensor& out);
StatusOr<std::vector<Tensor>> SplitOnDevice(StreamContext& ctx, const Tensor& in, int axis,
                                            const std::vector<int64_t>& sizes);

StatusOr<Tensor> GatherSlicesOnDevice(StreamContext& ctx, const Tensor& data, const std::vector<int64_t>& offsets,
                                      int64_t slice, const Shape& out_shape);
StatusOr<Tensor> ScatterSlicesOnDevice(StreamContext& ctx, const Tensor& data, const std::vector<int64_t>& offsets,
                                       int64_t slice, const Tensor& updates, runtime::ScatterReduction reduction);

}  // namespace kiln::cuda
