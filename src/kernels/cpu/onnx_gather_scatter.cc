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
  Tensor& out = ctx.allocate_output(0, data.dtype(), indices.shape());
  return VisitByElementSize(data.dtype(), [&]<typename T>() {
    const T* src = Elements<T>(data);
    T* dst = Elements<T>(out);
    for (size_t j = 0; j < offsets.size(); ++j) dst[j] = src[offsets[j]];
    return OkStatus();
  });
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
  Tensor& out = ctx.allocate_output(0, data.dtype(), out_shape.dims);
  return VisitByElementSize(data.dtype(), [&]<typename T>() {
    const T* src = Elements<T>(data);
    T* dst = Elements<T>(out);
    for (size_t t = 0; t < offsets.size(); ++t) std::copy(src + offsets[t], src + offsets[t] + slice, dst + t * slice);
    return OkStatus();
  });
}

enum class Reduction { kNone, kAdd, kMul, kMax, kMin };

StatusOr<Reduction> ParseReduction(const KernelContext& ctx) {
  KILN_ASSIGN_OR_RETURN(std::string r, ctx.Attr<std::string>("reduction"));
  if (r == "none") return Reduction::kNone;
  if (r == "add") return Reduction::kAdd;
  if (r == "mul") return Reduction::kMul;
  if (r == "max") return Reduction::kMax;
  if (r == "min") return Reduction::kMin;
  return InvalidArgument("unknown reduction '" + r + "' (expected none, add, mul, max or min)");
}

template <typename T>
T Reduce(Reduction r, T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    if ((r == Reduction::kMax || r == Reduction::kMin) && (std::isnan(a) || std::isnan(b))) return a + b;
  }
  switch (r) {
    case Reduction::kAdd:
      return static_cast<T>(a + b);
    case Reduction::kMul:
      return static_cast<T>(a * b);
    case Reduction::kMax:
      return a > b ? a : b;
    case Reduction::kMin:
      return a < b ? a : b;
    default:
      return b;
  }
}

// out = data with updates[u * slice + i] combined into out[offsets[u] + i], in order.
Status ScatterInto(KernelContext& ctx, const std::vector<int64_t>& offsets, int64_t slice) {
  const Tensor& data = ctx.input(0);
  const Tensor& updates = ctx.input(2);
  if (updates.dtype() != data.dtype()) {
    return InvalidArgument("updates " + updates.DebugString() + " must have the dtype of data " + data.DebugString());
  }
  KILN_ASSIGN_OR_RETURN(Reduction reduction, ParseReduction(ctx));
  Tensor out = data.Clone();
  if (reduction == Reduction::kNone) {
    KILN_RETURN_IF_ERROR(VisitByElementSize(data.dtype(), [&]<typename T>() {
      const T* src = Elements<T>(updates);
      T* dst = Elements<T>(out);
      for (size_t u = 0; u < offsets.size(); ++u) std::copy(src + u * slice, src + (u + 1) * slice, dst + offsets[u]);
      return OkStatus();
    }));
    ctx.set_output(0, std::move(out));
    return OkStatus();
  }
  const unsigned ints = nn::kInt32 | nn::kInt64 | nn::kSmallInts | nn::kUnsignedWide;
  KILN_RETURN_IF_ERROR(nn::DispatchReal(data.dtype(), ints, ctx.node().op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* src = updates.data<T>();
    T* dst = out.data<T>();
    for (size_t u = 0; u < offsets.size(); ++u) {
      for (int64_t i = 0; i < slice; ++i)
        dst[offsets[u] + i] = Reduce(reduction, dst[offsets[u] + i], src[u * slice + i]);
    }
    return OkStatus();
  }));
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
  KILN_ASSIGN_OR_RETURN(Reduction r, ParseReduction(ctx));
  return r == Reduction::kNone ? ScatterNDImpl(ctx) : nn::RunHalfInFloat32(ctx, ScatterNDImpl);
}

Status ScatterElementsKernel(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(3, 3));
  KILN_ASSIGN_OR_RETURN(Reduction r, ParseReduction(ctx));
  return r == Reduction::kNone ? ScatterElementsImpl(ctx) : nn::RunHalfInFloat32(ctx, ScatterElementsImpl);
}

}  // namespace

KILN_REGISTER_CPU_KERNEL("GatherElements", GatherElementsKernel);
KILN_REGISTER_CPU_KERNEL("GatherND", GatherNDKernel);
KILN_REGISTER_CPU_KERNEL("ScatterND", ScatterNDKernel);
KILN_REGISTER_CPU_KERNEL("ScatterElements", ScatterElementsKernel);

}  // namespace kiln::kernels::cpu
