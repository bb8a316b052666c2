// Registrations of OneHot and OnnxTopK on the GPU. OneHot's indices, depth and values are read on
// the host, as are TopK's K.
#include <cstring>

#include "ir/ops/array_shape_util.h"
#include "ir/shape_fns.h"
#include "kernels/cuda/index_ops.h"
#include "kernels/cuda/kernel_util.h"

namespace kiln::cuda {
namespace {

using runtime::KernelContext;
using runtime::KernelOptions;

Status OneHot(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(4, 4));
  const Tensor& indices = ctx.input(0);
  const Tensor &on = ctx.input(2), &off = ctx.input(3);
  KILN_ASSIGN_OR_RETURN(int64_t axis, ctx.Attr<int64_t>("axis"));
  if (ctx.input(1).num_elements() != 1 || ctx.input(1).rank() != 0) return InvalidArgument("depth must be a scalar");
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> depth_v, HostInt64s(ctx, 1));
  const int64_t depth = depth_v[0];
  if (depth < 0) return InvalidArgument("depth must be non-negative, got " + std::to_string(depth));
  if (on.rank() != 0 || off.rank() != 0 || on.dtype() != off.dtype()) {
    return InvalidArgument("on_value and off_value must be scalars of one dtype, got " + on.DebugString() + " and " +
                           off.DebugString());
  }
  const DType idt = indices.dtype();
  if (idt != DType::kInt32 && idt != DType::kInt64 && idt != DType::kUInt8 && idt != DType::kInt8) {
    return InvalidArgument("indices must be uint8, int8, int32 or int64, got " + indices.DebugString());
  }
  if (axis < -1 || axis > indices.rank()) {
    return InvalidArgument("axis must be -1 or in [0, " + std::to_string(indices.rank()) + "], got " +
                           std::to_string(axis));
  }
  const int a = axis == -1 ? indices.rank() : static_cast<int>(axis);
  Shape out_shape = indices.shape();
  out_shape.insert(out_shape.begin() + a, depth);
  KILN_RETURN_IF_ERROR(ir::CheckedNumElements(out_shape).status());
  int64_t prefix = 1, suffix = 1;
  for (int d = 0; d < a; ++d) prefix *= indices.dim(d);
  for (int d = a; d < indices.rank(); ++d) suffix *= indices.dim(d);
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> idx, HostInt64s(ctx, 0));
  KILN_ASSIGN_OR_RETURN(Tensor * out, ctx.AllocateOutput(0, on.dtype(), out_shape));
  if (out->num_elements() == 0) return OkStatus();
  KILN_ASSIGN_OR_RETURN(Tensor where,
                        Ctx(ctx).ToDevice(Tensor::FromVector<int64_t>({static_cast<int64_t>(idx.size())}, idx)));
  uint64_t on_bits = 0, off_bits = 0;
  std::memcpy(&on_bits, on.raw_data(), DTypeSize(on.dtype()));
  std::memcpy(&off_bits, off.raw_data(), DTypeSize(off.dtype()));
  KILN_CUDA_RETURN_IF_ERROR(LaunchOneHot(DTypeSize(on.dtype()), where.data<int64_t>(), prefix, depth, suffix, on_bits,
                                         off_bits, out->raw_data(), StreamOf(ctx)));
  return OkStatus();
}

Status TopK(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  const Tensor &x = ctx.input(0), &k_input = ctx.input(1);
  if (k_input.rank() > 1 || k_input.num_elements() != 1) {
    return InvalidArgument("K must be a 1-element vector, got " + k_input.DebugString());
  }
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> k_values, HostInt64s(ctx, 1));
  KILN_ASSIGN_OR_RETURN(int64_t axis_attr, ctx.Attr<int64_t>("axis"));
  KILN_ASSIGN_OR_RETURN(int64_t largest, ctx.Attr<int64_t>("largest"));
  KILN_ASSIGN_OR_RETURN(int axis, ir::NormalizeAxis(axis_attr, x.rank()));
  const int64_t n = x.dim(axis), k = k_values[0];
  if (k < 0 || k > n) {
    return InvalidArgument("K = " + std::to_string(k) + " is not in [0, " + std::to_string(n) + "] for axis " +
                           std::to_string(axis) + " of " + x.DebugString());
  }
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < axis; ++d) outer *= x.dim(d);
  for (int d = axis + 1; d < x.rank(); ++d) inner *= x.dim(d);
  Shape out_shape = x.shape();
  out_shape[axis] = k;
  KILN_ASSIGN_OR_RETURN(Tensor * values, ctx.AllocateOutput(0, x.dtype(), out_shape));
  KILN_ASSIGN_OR_RETURN(Tensor * indices, ctx.AllocateOutput(1, DType::kInt64, out_shape));
  KILN_CUDA_RETURN_IF_ERROR(LaunchTopK(x.dtype(), x.raw_data(), values->raw_data(), indices->data<int64_t>(), outer, n,
                                       inner, k, largest != 0, StreamOf(ctx)));
  return OkStatus();
}

}  // namespace

KILN_REGISTER_CUDA_KERNEL("OneHot", OneHot, KernelOptions{.host_inputs = {0, 1, 2, 3}, .dtypes = AllDTypes()});
KILN_REGISTER_CUDA_KERNEL("OnnxTopK", TopK, KernelOptions{.host_inputs = {1}, .dtypes = [] {
                                              auto list = TopKDTypes();
                                              list.push_back(DType::kInt64);
                                              return list;
                                            }()});

}  // namespace kiln::cuda
