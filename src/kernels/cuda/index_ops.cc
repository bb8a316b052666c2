// Registrations of OneHot and OnnxTopK on the GPU. OneHot's indices, depth and values are read on
// the host, as are TopK's K.
#include <cstring>

#include "kernels/cpu/index_plans.h"
#include "kernels/cuda/index_ops.h"
#include "kernels/cuda/kernel_util.h"

namespace kiln::cuda {
namespace {

using runtime::KernelContext;
using runtime::KernelOptions;

Status OneHot(KernelContext& ctx) {
  KILN_ASSIGN_OR_RETURN(kernels::cpu::OneHotPlan p, kernels::cpu::PlanOneHot(ctx));
  const Tensor &on = ctx.input(2), &off = ctx.input(3);
  KILN_ASSIGN_OR_RETURN(Tensor * out, ctx.AllocateOutput(0, on.dtype(), p.out_shape));
  if (out->num_elements() == 0) return OkStatus();
  KILN_ASSIGN_OR_RETURN(Tensor where, Ctx(ctx).ToDevice(Tensor::FromVector<int64_t>(
                                          {static_cast<int64_t>(p.indices.size())}, p.indices)));
  uint64_t on_bits = 0, off_bits = 0;
  std::memcpy(&on_bits, on.raw_data(), DTypeSize(on.dtype()));
  std::memcpy(&off_bits, off.raw_data(), DTypeSize(off.dtype()));
  KILN_CUDA_RETURN_IF_ERROR(LaunchOneHot(DTypeSize(on.dtype()), where.data<int64_t>(), p.prefix, p.depth, p.suffix,
                                         on_bits, off_bits, out->raw_data(), StreamOf(ctx)));
  return OkStatus();
}

Status TopK(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  KILN_ASSIGN_OR_RETURN(kernels::cpu::TopKPlan p, kernels::cpu::PlanTopK(ctx));
  const Tensor& x = ctx.input(0);
  KILN_ASSIGN_OR_RETURN(Tensor * values, ctx.AllocateOutput(0, x.dtype(), p.out_shape));
  KILN_ASSIGN_OR_RETURN(Tensor * indices, ctx.AllocateOutput(1, DType::kInt64, p.out_shape));
  KILN_CUDA_RETURN_IF_ERROR(LaunchTopK(x.dtype(), x.raw_data(), values->raw_data(), indices->data<int64_t>(), p.outer,
                                       p.n, p.inner, p.k, p.largest, StreamOf(ctx)));
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
