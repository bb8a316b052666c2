#include "ir/ops/onnx_shape_rules.h"

#include <algorithm>
#include <limits>

#include "ir/ops/array_shape_util.h"
#include "ir/shape_fns.h"

namespace kiln::ir {

StatusOr<PartialShape> OnnxReshapeShape(const PartialShape& input, const std::vector<int64_t>& shape, bool allowzero) {
  std::vector<int64_t> out(shape.size(), -1);
  int inferred = -1;
  bool has_zero = false;
  for (size_t i = 0; i < shape.size(); ++i) {
    const int64_t s = shape[i];
    if (s == -1) {
      if (inferred >= 0) {
        return InvalidArgument("reshape: shape " + ShapeToString(shape) + " has more than one -1");
      }
      inferred = static_cast<int>(i);
    } else if (s < -1) {
      return InvalidArgument("reshape: shape[" + std::to_string(i) + "] = " + std::to_string(s) + " is negative");
    } else if (s == 0 && !allowzero) {
      if (input.rank_known && static_cast<int>(i) >= input.rank()) {
        return InvalidArgument("reshape: shape[" + std::to_string(i) + "] is 0 (copy the input dim) but the input " +
                               input.ToString() + " has rank " + std::to_string(input.rank()));
      }
      out[i] = input.rank_known ? input.dims[i] : -1;
    } else {
      has_zero |= s == 0;
      out[i] = s;
    }
  }
  if (allowzero && has_zero && inferred >= 0) {
    return InvalidArgument("reshape: shape " + ShapeToString(shape) + " has both 0 and -1, which allowzero=1 forbids");
  }
  const bool others_known = std::all_of(out.begin(), out.end(), [&](int64_t d) { return d >= 0; }) ||
                            (inferred >= 0 && std::count(out.begin(), out.end(), -1) == 1);
  if (!input.IsFullyDefined() || !others_known) return PartialShape::Known(std::move(out));
  KILN_ASSIGN_OR_RETURN(int64_t in_count, CheckedNumElements(input.dims));
  Shape others;
  for (size_t i = 0; i < out.size(); ++i)
    if (static_cast<int>(i) != inferred) others.push_back(out[i]);
  KILN_ASSIGN_OR_RETURN(int64_t other_count, CheckedNumElements(others));
  if (inferred >= 0) {
    if (other_count == 0 || in_count % other_count != 0) {
      return InvalidArgument("reshape: cannot infer the -1 in " + ShapeToString(shape) + " for an input of shape " +
                             input.ToString());
    }
    out[inferred] = in_count / other_count;
  } else if (other_count != in_count) {
    return InvalidArgument("reshape: cannot reshape " + input.ToString() + " (" + std::to_string(in_count) +
                           " elements) to " + ShapeToString(out) + " (" + std::to_string(other_count) + " elements)");
  }
  return PartialShape::Known(std::move(out));
}

StatusOr<std::vector<bool>> OnnxSliceAxesMask(int rank, const std::vector<int64_t>& axes, int64_t num_starts) {
  std::vector<bool> mask(static_cast<size_t>(rank), false);
  if (axes.empty()) {
    if (num_starts > rank) {
      return InvalidArgument("slice: " + std::to_string(num_starts) + " starts for an input of rank " +
                             std::to_string(rank));
    }
    for (int64_t i = 0; i < num_starts; ++i) mask[i] = true;
    return mask;
  }
  for (int64_t a : axes) {
    KILN_ASSIGN_OR_RETURN(int d, NormalizeAxis(a, rank));
    if (mask[d]) return InvalidArgument("slice: axis " + std::to_string(d) + " is given more than once");
    mask[d] = true;
  }
  return mask;
}

StatusOr<std::vector<OnnxSliceDim>> ResolveOnnxSlice(const std::vector<int64_t>& dims,
                                                     const std::vector<int64_t>& starts,
                                                     const std::vector<int64_t>& ends, const std::vector<int64_t>& axes,
                                                     const std::vector<int64_t>& steps) {
  const size_t n = starts.size();
  if (ends.size() != n || (!axes.empty() && axes.size() != n) || (!steps.empty() && steps.size() != n)) {
    return InvalidArgument("slice: starts, ends, axes and steps must have one length, got " + std::to_string(n) + ", " +
                           std::to_string(ends.size()) + ", " + std::to_string(axes.size()) + " and " +
                           std::to_string(steps.size()));
  }
  const int rank = static_cast<int>(dims.size());
  KILN_RETURN_IF_ERROR(OnnxSliceAxesMask(rank, axes, static_cast<int64_t>(n)).status());
  std::vector<OnnxSliceDim> out(dims.size());
  for (size_t d = 0; d < dims.size(); ++d) out[d].count = dims[d];
  for (size_t i = 0; i < n; ++i) {
    const int axis =
        static_cast<int>(axes.empty() ? static_cast<int64_t>(i) : (axes[i] < 0 ? axes[i] + rank : axes[i]));
    const int64_t step = steps.empty() ? 1 : steps[i];
    if (step == 0) return InvalidArgument("slice: steps[" + std::to_string(i) + "] is 0");
    const int64_t dim = dims[axis];
    OnnxSliceDim& r = out[axis];
    r.step = step;
    r.count = -1;
    if (dim < 0) continue;
    int64_t s = starts[i] < 0 ? starts[i] + dim : starts[i];
    int64_t e = ends[i] < 0 ? ends[i] + dim : ends[i];
    if (dim == 0) {
      r.start = 0;
      r.count = 0;
    } else if (step > 0) {
      s = std::clamp<int64_t>(s, 0, dim);
      e = std::clamp<int64_t>(e, 0, dim);
      r.start = s;
      r.count = e > s ? (e - s - 1) / step + 1 : 0;
    } else {
      s = std::clamp<int64_t>(s, 0, dim - 1);
      e = std::clamp<int64_t>(e, -1, dim - 1);
      const int64_t magnitude =
          step == std::numeric_limits<int64_t>::min() ? std::numeric_limits<int64_t>::max() : -step;
      r.start = s;
      r.count = s > e ? (s - e - 1) / magnitude + 1 : 0;
    }
  }
  return out;
}

namespace {

StatusOr<int64_t> MergeDim(int64_t a, int64_t b, const std::string& what) {
  if (a >= 0 && b >= 0 && a != b) {
    return InvalidArgument(what + " differ: " + std::to_string(a) + " vs " + std::to_string(b));
  }
  return a >= 0 ? a : b;
}

}  // namespace

StatusOr<PartialShape> GatherNDShape(const PartialShape& data, const PartialShape& indices, int64_t batch_dims) {
  if (batch_dims < 0) return InvalidArgument("batch_dims must be >= 0, got " + std::to_string(batch_dims));
  if (data.rank_known && data.rank() < 1) return InvalidArgument("data must have rank >= 1");
  if (indices.rank_known && indices.rank() < 1) return InvalidArgument("indices must have rank >= 1");
  if (!data.rank_known || !indices.rank_known) return PartialShape::Unknown();
  const int r = data.rank(), q = indices.rank();
  if (batch_dims >= std::min(r, q)) {
    return InvalidArgument("batch_dims " + std::to_string(batch_dims) + " must be less than the ranks of data " +
                           data.ToString() + " and indices " + indices.ToString());
  }
  const int64_t m = indices.dims[q - 1];
  if (m >= 0 && (m < 1 || m > r - batch_dims)) {
    return InvalidArgument("the last dim of indices " + indices.ToString() + " must be in [1, " +
                           std::to_string(r - batch_dims) + "] for data " + data.ToString() + " and batch_dims " +
                           std::to_string(batch_dims));
  }
  std::vector<int64_t> out(indices.dims.begin(), indices.dims.end() - 1);
  for (int64_t i = 0; i < batch_dims; ++i) {
    KILN_ASSIGN_OR_RETURN(
        out[i], MergeDim(data.dims[i], indices.dims[i], "batch dim " + std::to_string(i) + " of data and indices"));
  }
  if (m < 0) return PartialShape::Unknown();
  out.insert(out.end(), data.dims.begin() + batch_dims + m, data.dims.end());
  return PartialShape::Known(std::move(out));
}

Status CheckScatterNDShapes(const PartialShape& data, const PartialShape& indices, const PartialShape& updates) {
  if (data.rank_known && data.rank() < 1) return InvalidArgument("data must have rank >= 1");
  if (indices.rank_known && indices.rank() < 1) return InvalidArgument("indices must have rank >= 1");
  if (!data.rank_known || !indices.rank_known) return OkStatus();
  const int64_t k = indices.dims.back();
  if (k < 0) return OkStatus();
  if (k < 1 || k > data.rank()) {
    return InvalidArgument("the last dim of indices " + indices.ToString() + " must be in [1, " +
                           std::to_string(data.rank()) + "] for data " + data.ToString());
  }
  std::vector<int64_t> want(indices.dims.begin(), indices.dims.end() - 1);
  want.insert(want.end(), data.dims.begin() + k, data.dims.end());
  if (!updates.rank_known) return OkStatus();
  bool ok = updates.rank() == static_cast<int>(want.size());
  for (size_t i = 0; ok && i < want.size(); ++i) ok = want[i] < 0 || updates.dims[i] < 0 || want[i] == updates.dims[i];
  if (!ok) {
    return InvalidArgument("updates must have shape " + PartialShape::Known(want).ToString() + " for data " +
                           data.ToString() + " and indices " + indices.ToString() + ", got " + updates.ToString());
  }
  return OkStatus();
}

Status CheckElementsShapes(const PartialShape& data, const PartialShape& indices, int axis) {
  if (!data.rank_known || !indices.rank_known) return OkStatus();
  if (data.rank() != indices.rank()) {
    return InvalidArgument("indices " + indices.ToString() + " must have the rank of data " + data.ToString());
  }
  for (int d = 0; d < data.rank(); ++d) {
    if (d != axis && data.dims[d] >= 0 && indices.dims[d] > data.dims[d]) {
      return InvalidArgument("indices " + indices.ToString() + " is larger than data " + data.ToString() + " in dim " +
                             std::to_string(d));
    }
  }
  return OkStatus();
}

StatusOr<QuantLayout> CheckQuantParam(const PartialShape& x, const PartialShape& param, int64_t axis,
                                      int64_t block_size, const std::string& what) {
  if (block_size < 0) return InvalidArgument("block_size must be >= 0, got " + std::to_string(block_size));
  if (!param.rank_known) return block_size > 0 ? QuantLayout::kBlocked : QuantLayout::kPerAxis;
  if (param.rank() == 0 || (param.rank() == 1 && param.dims[0] == 1)) return QuantLayout::kPerTensor;
  if (!x.rank_known) return block_size > 0 ? QuantLayout::kBlocked : QuantLayout::kPerAxis;
  KILN_ASSIGN_OR_RETURN(int a, NormalizeAxis(axis, x.rank()));
  if (block_size == 0) {
    if (param.rank() != 1) {
      return InvalidArgument(what + " must be a scalar or a vector when block_size is 0, got shape " +
                             param.ToString());
    }
    if (param.dims[0] >= 0 && x.dims[a] >= 0 && param.dims[0] != x.dims[a]) {
      return InvalidArgument(what + " has " + std::to_string(param.dims[0]) + " entries but x " + x.ToString() +
                             " has " + std::to_string(x.dims[a]) + " along axis " + std::to_string(a));
    }
    return QuantLayout::kPerAxis;
  }
  bool ok = param.rank() == x.rank();
  for (int d = 0; ok && d < x.rank(); ++d) {
    const int64_t want = x.dims[d] < 0 ? -1 : d == a ? (x.dims[d] + block_size - 1) / block_size : x.dims[d];
    ok = want < 0 || param.dims[d] < 0 || param.dims[d] == want;
  }
  if (!ok) {
    return InvalidArgument(what + " shape " + param.ToString() + " does not fit blocked quantization of x " +
                           x.ToString() + " along axis " + std::to_string(a) + " with block_size " +
                           std::to_string(block_size));
  }
  return QuantLayout::kBlocked;
}

}  // namespace kiln::ir
