#pragma once
// Shape rules of the ONNX-semantics data-movement and quantization ops (onnx_array_ops.cc,
// onnx_quantize_ops.cc), shared with their CPU kernels so that both compute the same shapes and
// reject the same inputs. Dims may be -1 (unknown) where the comments say so.

#include <cstdint>
#include <string>
#include <vector>

#include "kiln/status.h"
#include "kiln/tensor.h"

namespace kiln::ir {

// ONNX Reshape's output for `shape`: a 0 copies the input dim at that index (unless allowzero), one
// -1 is inferred from the element count. `input` may be partly unknown; the result is then as
// known as it can be.
StatusOr<PartialShape> OnnxReshapeShape(const PartialShape& input, const std::vector<int64_t>& shape, bool allowzero);

// ONNX Slice resolved for one input dim: the first index taken, the step and the number of
// elements taken (-1 when the dim is unknown).
struct OnnxSliceDim {
  int64_t start = 0;
  int64_t step = 1;
  int64_t count = -1;
};
// Clamps starts/ends by ONNX's rules for every dim of `dims` (which may hold -1). Empty `axes`
// means [0, starts.size()), empty `steps` means all ones; duplicate axes and zero steps are errors.
StatusOr<std::vector<OnnxSliceDim>> ResolveOnnxSlice(const std::vector<int64_t>& dims,
                                                     const std::vector<int64_t>& starts,
                                                     const std::vector<int64_t>& ends, const std::vector<int64_t>& axes,
                                                     const std::vector<int64_t>& steps);
// Which dims a slice with these axes (empty: the first `num_starts`) touches.
StatusOr<std::vector<bool>> OnnxSliceAxesMask(int rank, const std::vector<int64_t>& axes, int64_t num_starts);

// GatherND's output shape: indices.shape[:-1] + data.shape[batch_dims + indices.shape[-1]:].
StatusOr<PartialShape> GatherNDShape(const PartialShape& data, const PartialShape& indices, int64_t batch_dims);
// ScatterND's checks: indices.shape[-1] <= rank(data), and updates.shape ==
// indices.shape[:-1] + data.shape[indices.shape[-1]:].
Status CheckScatterNDShapes(const PartialShape& data, const PartialShape& indices, const PartialShape& updates);
// GatherElements/ScatterElements: indices has data's rank and, off `axis`, no larger dims.
Status CheckElementsShapes(const PartialShape& data, const PartialShape& indices, int axis);

// How a QuantizeLinear/DequantizeLinear scale (or zero point) applies to x.
enum class QuantLayout { kPerTensor, kPerAxis, kBlocked };
// Checks `param`'s shape against x: a scalar (or one element) is per tensor; with block_size 0 a
// vector of x.shape[axis] entries is per axis; with block_size > 0 it has x's shape except
// ceil(x.shape[axis] / block_size) along axis. `what` names the input in errors.
StatusOr<QuantLayout> CheckQuantParam(const PartialShape& x, const PartialShape& param, int64_t axis,
                                      int64_t block_size, const std::string& what);

}  // namespace kiln::ir
