// GatherElements, GatherND, ScatterND and ScatterElements with ONNX's semantics: negative indices
// count from the end of their axis, an index outside [-dim, dim) is an error naming its position,
// and scatters apply updates in order with reduction none/add/mul/max/min.
#include <cmath>
#include <type_traits>

#include "ir/ops/onnx_shape_rules.h"
#include "ir/shape_fns.h"
#include "kernels/cpu/array_util.h"
#include "kernels/cpu/kernel_util.h"
#include "kernels/cpu/nn_util.h"
#include "runtime/kernel.h"

namespace kiln::kernels::cpu {
namespace {

using runtime::KernelContext;

std::string PositionString(int64_t flat, const Shape& shape) {
  std::vector<int64_t> pos(shape.size());
  for (int d = static_cast<int>(shape.size()) - 1; d >= 0; --d) {
    pos[d] = shape[d] > 0 ? flat % shape[d] : 0;
    flat = shape[d] > 0 ? flat / shape[d] : 0;
  }
  return ShapeToString(pos);
}

StatusOr<std::vector<int64_t>> Indices(const KernelContext& ctx) {
  const Tensor& t = ctx.input(1);
  if (t.dtype() != DType::kInt32 && t.dtype() != DType::kInt64) {
    return InvalidArgument("indices must be int32 or int64, got " + t.DebugString());
  }
  return t.ToInt64Vector();
}

// indices[flat] resolved against a dim of size `dim` (negative counts from the end).
StatusOr<int64_t> ResolveIndex(const std::vector<int64_t>& idx, int64_t flat, const Shape& shape, int64_t dim) {
  const int64_t v = idx[flat];
  if (v < -dim || v >= dim) {
    return InvalidArgument("indices" + PositionString(flat, shape) + " = " + std::to_string(v) + " is not in [" +
                           std::to_string(-dim) + ", " + std::to_string(dim) + ")");
  }
  return v < 0 ? v + dim : v;
}

// For every element of `indices` (shape `ishape`), the flat offset of the element of `data` that
// it addresses along `axis` (the other coordinates are its own).
StatusOr<std::vector<int64_t>> ElementOffsets(const Tensor& data, const Shape& ishape, const std::vector<int64_t>& idx,
                                              int axis) {
  const std::vector<int64_t> strides = RowMajorStrides(data.shape());
  std::vector<int64_t> offsets(idx.size());
  std::vector<int64_t> pos(ishape.size(), 0);
  for (size_t j = 0; j < idx.size(); ++j) {
    KILN_ASSIGN_OR_RETURN(int64_t v, ResolveIndex(idx, static_cast<int64_t>(j), ishape, data.dim(axis)));
    int64_t off = 0;
    for (size_t d = 0; d < pos.size(); ++d) off += (static_cast<int>(d) == axis ? v : pos[d]) * strides[d];
    offsets[j] = off;
    for (int d = static_cast<int>(pos.size()) - 1; d >= 0 && ++pos[d] == ishape[d]; --d) pos[d] = 0;
  }
  return offsets;
}

// For every index tuple of ND indices (the last dim of `indices`, after `batch_dims` batch dims),
// the flat offset in `data` of the slice it addresses.
StatusOr<std::vector<int64_t>> TupleOffsets(const Tensor& data, const Tensor& indices, const std::vector<int64_t>& idx,
                                            int64_t batch_dims) {
  const int64_t m = indices.dim(indices.rank() - 1);
  const std::vector<int64_t> strides = RowMajorStrides(data.shape());
  int64_t per_batch = 1;
  for (int d = static_cast<int>(batch_dims); d < indices.rank() - 1; ++d) per_batch *= indices.dim(d);
  const int64_t batch_stride = batch_dims > 0 ? strides[batch_dims - 1] : 0;
  const int64_t tuples = m > 0 ? static_cast<int64_t>(idx.size()) / m : 0;
  std::vector<int64_t> offsets(tuples);
  for (int64_t t = 0; t < tuples; ++t) {
    int64_t off = per_batch > 0 ? (t / per_batch) * batch_stride : 0;
    for (int64_t j = 0; j < m; ++j) {
      KILN_ASSIGN_OR_RETURN(int64_t v, ResolveIndex(idx, t * m + j, indices.shape(), data.dim(batch_dims + j)));
      off += v * strides[batch_dims + j];
    }
    offsets[t] = off;
  }
  return offsets;
}

Status GatherElementsKernel(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  const Tensor& data = ctx.input(0);
  const Tensor& indices = ctx.input(1);
  if (data.rank() == 0) return InvalidArgument("data must have rank >= 1");
  KILN_ASSIGN_OR_RETURN(int64_t axis_attr, ctx.Attr<int64_t>("axis"));
  KILN_ASSIGN_OR_RETURN(int axis, ir::NormalizeAxis(axis_attr, data.rank()));
  KILN_RETURN_IF_ERROR(
      ir::CheckElementsShapes(PartialShape::Known(data.shape()), PartialShape::Known(indices.shape()), axis));
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> idx, Indices(ctx));
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> offsets, ElementOffsets(data, indices.shape(), idx, axis));
  KILN_ASSIGN_OR_RETURN(Tensor out, GatherSlicesOn(ctx, data, offsets, 1, indices.shape()));
  ctx.set_output(0, std::move(out));
  return OkStatus();
}

Status GatherNDKernel(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  const Tensor& data = ctx.input(0);
  const Tensor& indices = ctx.input(1);
  KILN_ASSIGN_OR_RETURN(int64_t batch_dims, ctx.Attr<int64_t>("batch_dims"));
  KILN_ASSIGN_OR_RETURN(PartialShape out_shape, ir::GatherNDShape(PartialShape::Known(data.shape()),
                                                                  PartialShape::Known(indices.shape()), batch_dims));
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> idx, Indices(ctx));
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> offsets, TupleOffsets(data, indices, idx, batch_dims));
  int64_t slice = 1;
  for (int d = static_cast<int>(batch_dims + indices.dim(indices.rank() - 1)); d < data.rank(); ++d)
    slice *= data.dim(d);
  KILN_ASSIGN_OR_RETURN(Tensor out, GatherSlicesOn(ctx, data, offsets, slice, out_shape.dims));
  ctx.set_output(0, std::move(out));
  return OkStatus();
}

using runtime::ScatterReduction;

StatusOr<ScatterReduction> ParseReduction(const KernelContext& ctx) {
  KILN_ASSIGN_OR_RETURN(std::string r, ctx.Attr<std::string>("reduction"));
  if (r == "none") return ScatterReduction::kNone;
  if (r == "add") return ScatterReduction::kAdd;
  if (r == "mul") return ScatterReduction::kMul;
  if (r == "max") return ScatterReduction::kMax;
  if (r == "min") return ScatterReduction::kMin;
  return InvalidArgument("unknown reduction '" + r + "' (expected none, add, mul, max or min)");
}

// out = data with updates[u * slice + i] combined into out[offsets[u] + i], in order.
Status ScatterInto(KernelContext& ctx, const std::vector<int64_t>& offsets, int64_t slice) {
  const Tensor& data = ctx.input(0);
  const Tensor& updates = ctx.input(2);
  if (updates.dtype() != data.dtype()) {
    return InvalidArgument("updates " + updates.DebugString() + " must have the dtype of data " + data.DebugString());
  }
  KILN_ASSIGN_OR_RETURN(ScatterReduction reduction, ParseReduction(ctx));
  KILN_ASSIGN_OR_RETURN(Tensor out, ScatterSlicesOn(ctx, data, offsets, slice, updates, reduction));
  ctx.set_output(0, std::move(out));
  return OkStatus();
}

Status ScatterNDImpl(KernelContext& ctx) {
  const Tensor& data = ctx.input(0);
  const Tensor& indices = ctx.input(1);
  KILN_RETURN_IF_ERROR(ir::CheckScatterNDShapes(PartialShape::Known(data.shape()), PartialShape::Known(indices.shape()),
                                                PartialShape::Known(ctx.input(2).shape())));
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> idx, Indices(ctx));
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> offsets, TupleOffsets(data, indices, idx, 0));
  int64_t slice = 1;
  for (int d = static_cast<int>(indices.dim(indices.rank() - 1)); d < data.rank(); ++d) slice *= data.dim(d);
  return ScatterInto(ctx, offsets, slice);
}

Status ScatterElementsImpl(KernelContext& ctx) {
  const Tensor& data = ctx.input(0);
  const Tensor& indices = ctx.input(1);
  if (data.rank() == 0) return InvalidArgument("data must have rank >= 1");
  if (ctx.input(2).shape() != indices.shape()) {
    return InvalidArgument("updates " + ctx.input(2).DebugString() + " must have the shape of indices " +
                           indices.DebugString());
  }
  KILN_ASSIGN_OR_RETURN(int64_t axis_attr, ctx.Attr<int64_t>("axis"));
  KILN_ASSIGN_OR_RETURN(int axis, ir::NormalizeAxis(axis_attr, data.rank()));
  KILN_RETURN_IF_ERROR(
      ir::CheckElementsShapes(PartialShape::Known(data.shape()), PartialShape::Known(indices.shape()), axis));
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> idx, Indices(ctx));
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> offsets, ElementOffsets(data, indices.shape(), idx, axis));
  return ScatterInto(ctx, offsets, 1);
}

// Reductions on float16/bfloat16 run in float32 (each result rounded back once at the end).
Status ScatterNDKernel(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(3, 3));
  KILN_ASSIGN_OR_RETURN(ScatterReduction r, ParseReduction(ctx));
  if (ctx.device_context() != nullptr) return ScatterNDImpl(ctx);  // the device reduces narrow floats itself
  return r == ScatterReduction::kNone ? ScatterNDImpl(ctx) : nn::RunHalfInFloat32(ctx, ScatterNDImpl);
}

Status ScatterElementsKernel(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(3, 3));
  KILN_ASSIGN_OR_RETURN(ScatterReduction r, ParseReduction(ctx));
  if (ctx.device_context() != nullptr) return ScatterElementsImpl(ctx);  // the device reduces narrow floats itself
  return r == ScatterReduction::kNone ? ScatterElementsImpl(ctx) : nn::RunHalfInFloat32(ctx, ScatterElementsImpl);
}

}  // namespace

KILN_REGISTER_CPU_KERNEL("GatherElements", GatherElementsKernel);
KILN_REGISTER_CPU_KERNEL("GatherND", GatherNDKernel);
KILN_REGISTER_CPU_KERNEL("ScatterND", ScatterNDKernel);
KILN_REGISTER_CPU_KERNEL("ScatterElements", ScatterElementsKernel);

}  // namespace kiln::kernels::cpu
