// Shape queries and ops that only relabel or generate: Shape, ShapeN, Size, Rank, Reshape,
// ExpandDims, Squeeze, Fill, Range. Relabelling ops share the input's buffer.
#include <limits>

#include "ir/ops/array_shape_util.h"
#include "ir/shape_fns.h"
#include "kernels/cpu/array_util.h"
#include "kernels/cpu/kernel_util.h"
#include "runtime/kernel.h"

namespace kiln::kernels::cpu {
namespace {

using runtime::KernelContext;

StatusOr<Tensor> IndexTensor(const std::vector<int64_t>& values, Shape shape, DType dtype) {
  if (dtype == DType::kInt64) return Tensor::FromVector<int64_t>(std::move(shape), values);
  if (dtype != DType::kInt32)
    return InvalidArgument("out_type must be int32 or int64, got " + std::string(DTypeName(dtype)));
  std::vector<int32_t> narrow;
  for (int64_t v : values) {
    if (v > std::numeric_limits<int32_t>::max()) {
      return InvalidArgument("value " + std::to_string(v) + " does not fit out_type int32; use int64");
    }
    narrow.push_back(static_cast<int32_t>(v));
  }
  return Tensor::FromVector<int32_t>(std::move(shape), narrow);
}

Status ShapeKernel(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(1, 1));
  KILN_ASSIGN_OR_RETURN(DType t, ctx.Attr<DType>("out_type"));
  const Shape& s = ctx.input(0).shape();
  KILN_ASSIGN_OR_RETURN(Tensor out, IndexTensor(s, {static_cast<int64_t>(s.size())}, t));
  ctx.set_output(0, std::move(out));
  return OkStatus();
}

Status ShapeNKernel(KernelContext& ctx) {
  KILN_ASSIGN_OR_RETURN(DType t, ctx.Attr<DType>("out_type"));
  if (ctx.num_outputs() != ctx.num_inputs()) return InvalidArgument("ShapeN needs as many outputs as inputs");
  for (int i = 0; i < ctx.num_inputs(); ++i) {
    const Shape& s = ctx.input(i).shape();
    KILN_ASSIGN_OR_RETURN(Tensor out, IndexTensor(s, {static_cast<int64_t>(s.size())}, t));
    ctx.set_output(i, std::move(out));
  }
  return OkStatus();
}

Status SizeKernel(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(1, 1));
  KILN_ASSIGN_OR_RETURN(DType t, ctx.Attr<DType>("out_type"));
  KILN_ASSIGN_OR_RETURN(Tensor out, IndexTensor({ctx.input(0).num_elements()}, {}, t));
  ctx.set_output(0, std::move(out));
  return OkStatus();
}

Status RankKernel(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(1, 1));
  ctx.set_output(0, Tensor::Scalar<int32_t>(ctx.input(0).rank()));
  return OkStatus();
}

Status ReshapeKernel(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  if (ctx.input(1).rank() > 1) return InvalidArgument("shape must be a vector, got " + ctx.input(1).DebugString());
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> sizes, InputInt64s(ctx, 1));
  KILN_ASSIGN_OR_RETURN(Shape shape, ir::ResolveReshape(ctx.input(0).shape(), sizes));
  KILN_ASSIGN_OR_RETURN(Tensor out, ctx.input(0).Reshaped(std::move(shape)));
  ctx.set_output(0, std::move(out));
  return OkStatus();
}

Status ExpandDimsKernel(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> dim, InputInt64s(ctx, 1));
  if (dim.size() != 1) return InvalidArgument("dim must hold a single value, got " + ctx.input(1).DebugString());
  const Tensor& in = ctx.input(0);
  KILN_ASSIGN_OR_RETURN(int axis, ir::NormalizeAxis(dim[0], in.rank() + 1));
  Shape shape = in.shape();
  shape.insert(shape.begin() + axis, 1);
  KILN_ASSIGN_OR_RETURN(Tensor out, in.Reshaped(std::move(shape)));
  ctx.set_output(0, std::move(out));
  return OkStatus();
}

Status SqueezeKernel(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(1, 1));
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> squeeze, ctx.Attr<std::vector<int64_t>>("squeeze_dims"));
  const Tensor& in = ctx.input(0);
  std::vector<bool> drop(in.rank(), squeeze.empty());
  for (int64_t a : squeeze) {
    KILN_ASSIGN_OR_RETURN(int d, ir::NormalizeAxis(a, in.rank()));
    if (in.dim(d) != 1) {
      return InvalidArgument("cannot squeeze dim " + std::to_string(d) + " of shape " + ShapeToString(in.shape()) +
                             ": its size is not 1");
    }
    drop[d] = true;
  }
  Shape shape;
  for (int d = 0; d < in.rank(); ++d)
    if (!drop[d] || in.dim(d) != 1) shape.push_back(in.dim(d));
  KILN_ASSIGN_OR_RETURN(Tensor out, in.Reshaped(std::move(shape)));
  ctx.set_output(0, std::move(out));
  return OkStatus();
}

Status FillKernel(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  if (ctx.input(0).rank() != 1) return InvalidArgument("dims must be a vector, got " + ctx.input(0).DebugString());
  const Tensor& value = ctx.input(1);
  if (value.rank() != 0) return InvalidArgument("value must be a scalar, got " + value.DebugString());
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> dims, InputInt64s(ctx, 0));
  KILN_RETURN_IF_ERROR(ir::CheckedNumElements(dims).status());
  Tensor& out = ctx.allocate_output(0, value.dtype(), dims);
  return VisitByElementSize(value.dtype(), [&]<typename T>() {
    T* dst = Elements<T>(out);
    std::fill(dst, dst + out.num_elements(), Elements<T>(value)[0]);
    return OkStatus();
  });
}

// start + i * delta, computed in T as TensorFlow does (integers in wrapping arithmetic, since
// i * delta alone may overflow even when the result does not).
template <typename T>
void FillRange(T start, T delta, T* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    if constexpr (std::is_integral_v<T>) {
      out[i] = static_cast<T>(static_cast<uint64_t>(start) + static_cast<uint64_t>(i) * static_cast<uint64_t>(delta));
    } else {
      out[i] = start + static_cast<T>(i) * delta;
    }
  }
}

// float16/bfloat16: each operation rounds to the narrow type, as in TensorFlow's arithmetic.
template <typename T>
void FillNarrowRange(const Tensor& start, const Tensor& delta, T* out, int64_t n, T (*narrow)(float),
                     float (*widen)(T)) {
  const float s = start.ToFloatVector()[0], d = delta.ToFloatVector()[0];
  for (int64_t i = 0; i < n; ++i) {
    const float step = widen(narrow(widen(narrow(static_cast<float>(i))) * d));
    out[i] = narrow(s + step);
  }
}

Status RangeKernel(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(3, 3));
  const Tensor &start = ctx.input(0), &limit = ctx.input(1), &delta = ctx.input(2);
  KILN_ASSIGN_OR_RETURN(int64_t n, ir::RangeSize(start, limit, delta));
  Tensor& out = ctx.allocate_output(0, start.dtype(), {n});
  switch (start.dtype()) {
    case DType::kFloat32:
      FillRange(start.data<float>()[0], delta.data<float>()[0], out.data<float>(), n);
      break;
    case DType::kFloat64:
      FillRange(start.data<double>()[0], delta.data<double>()[0], out.data<double>(), n);
      break;
    case DType::kInt32:
      FillRange(start.data<int32_t>()[0], delta.data<int32_t>()[0], out.data<int32_t>(), n);
      break;
    case DType::kInt64:
      FillRange(start.data<int64_t>()[0], delta.data<int64_t>()[0], out.data<int64_t>(), n);
      break;
    case DType::kFloat16:
      FillNarrowRange<Half>(start, delta, out.data<Half>(), n, FloatToHalf, HalfToFloat);
      break;
    case DType::kBFloat16:
      FillNarrowRange<BFloat16>(start, delta, out.data<BFloat16>(), n, FloatToBFloat16, BFloat16ToFloat);
      break;
    default:
      return Unimplemented("Range does not support " + std::string(DTypeName(start.dtype())));
  }
  return OkStatus();
}

}  // namespace

KILN_REGISTER_CPU_KERNEL("Shape", ShapeKernel, {.reads_shapes_only = true});
KILN_REGISTER_CPU_KERNEL("ShapeN", ShapeNKernel, {.reads_shapes_only = true});
KILN_REGISTER_CPU_KERNEL("Size", SizeKernel, {.reads_shapes_only = true});
KILN_REGISTER_CPU_KERNEL("Rank", RankKernel, {.reads_shapes_only = true});
KILN_REGISTER_CPU_KERNEL("Reshape", ReshapeKernel);
KILN_REGISTER_CPU_KERNEL("ExpandDims", ExpandDimsKernel);
KILN_REGISTER_CPU_KERNEL("Squeeze", SqueezeKernel);
KILN_REGISTER_CPU_KERNEL("Fill", FillKernel);
KILN_REGISTER_CPU_KERNEL("Range", RangeKernel);

}  // namespace kiln::kernels::cpu
