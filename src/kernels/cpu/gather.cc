// GatherV2 (with batch_dims) and Gather. Indices are checked before anything is copied; an
// out-of-range index is an error naming its position, as on TensorFlow's CPU.
#include "ir/shape_fns.h"
#include "kernels/cpu/array_util.h"
#include "kernels/cpu/kernel_util.h"
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
  std::string s;
  for (size_t d = 0; d < pos.size(); ++d) s += (d ? "," : "") + std::to_string(pos[d]);
  return s;
}

Status GatherImpl(KernelContext& ctx, int64_t axis_value, int64_t batch_dims) {
  const Tensor& params = ctx.input(0);
  const Tensor& indices = ctx.input(1);
  const DType idt = indices.dtype();
  if (idt != DType::kInt32 && idt != DType::kInt64 && idt != DType::kInt16) {
    return InvalidArgument("indices must be int16, int32 or int64, got " + indices.DebugString());
  }
  if (params.rank() == 0) return InvalidArgument("params must be at least 1-dimensional");
  if (batch_dims < -indices.rank() || batch_dims > indices.rank()) {
    return InvalidArgument("batch_dims " + std::to_string(batch_dims) + " is not in [" +
                           std::to_string(-indices.rank()) + ", " + std::to_string(indices.rank()) + "]");
  }
  if (batch_dims < 0) batch_dims += indices.rank();
  KILN_ASSIGN_OR_RETURN(int axis, ir::NormalizeAxis(axis_value, params.rank()));
  if (batch_dims > axis) {
    return InvalidArgument("batch_dims (" + std::to_string(batch_dims) + ") must be <= axis (" + std::to_string(axis) +
                           ")");
  }
  int64_t batch = 1, outer = 1, inner = 1, per_batch = 1;
  for (int d = 0; d < batch_dims; ++d) {
    if (params.dim(d) != indices.dim(d)) {
      return InvalidArgument("params dim " + std::to_string(d) + " (" + std::to_string(params.dim(d)) +
                             ") must equal indices dim " + std::to_string(d) + " (" + std::to_string(indices.dim(d)) +
                             ")");
    }
    batch *= params.dim(d);
  }
  for (int d = static_cast<int>(batch_dims); d < axis; ++d) outer *= params.dim(d);
  for (int d = axis + 1; d < params.rank(); ++d) inner *= params.dim(d);
  for (int d = static_cast<int>(batch_dims); d < indices.rank(); ++d) per_batch *= indices.dim(d);
  const int64_t limit = params.dim(axis);

  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> idx, indices.ToInt64Vector());
  for (size_t j = 0; j < idx.size(); ++j) {
    if (idx[j] < 0 || idx[j] >= limit) {
      return InvalidArgument("indices[" + PositionString(static_cast<int64_t>(j), indices.shape()) +
                             "] = " + std::to_string(idx[j]) + " is not in [0, " + std::to_string(limit) + ")");
    }
  }
  Shape out_shape(params.shape().begin(), params.shape().begin() + axis);
  out_shape.insert(out_shape.end(), indices.shape().begin() + batch_dims, indices.shape().end());
  out_shape.insert(out_shape.end(), params.shape().begin() + axis + 1, params.shape().end());
  // One slice of `inner` elements per (batch, outer, index).
  std::vector<int64_t> offsets;
  offsets.reserve(static_cast<size_t>(batch * outer * per_batch));
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t o = 0; o < outer; ++o) {
      const int64_t block = (b * outer + o) * limit * inner;
      for (int64_t i = 0; i < per_batch; ++i) offsets.push_back(block + idx[b * per_batch + i] * inner);
    }
  }
  KILN_ASSIGN_OR_RETURN(Tensor out, GatherSlicesOn(ctx, params, offsets, inner, out_shape));
  ctx.set_output(0, std::move(out));
  return OkStatus();
}

Status GatherV2Kernel(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(3, 3));
  KILN_ASSIGN_OR_RETURN(int64_t batch_dims, ctx.Attr<int64_t>("batch_dims"));
  if (ctx.input(2).num_elements() != 1 || ctx.input(2).rank() != 0) {
    return InvalidArgument("axis must be a scalar, got " + ctx.input(2).DebugString());
  }
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> axis, InputInt64s(ctx, 2));
  return GatherImpl(ctx, axis[0], batch_dims);
}

Status GatherKernel(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  return GatherImpl(ctx, 0, 0);
}

}  // namespace

KILN_REGISTER_CPU_KERNEL("GatherV2", GatherV2Kernel);
KILN_REGISTER_CPU_KERNEL("Gather", GatherKernel);

}  // namespace kiln::kernels::cpu
