// Registration of FusedBatchNorm{,V2,V3} on the GPU, with the CPU kernel's checks
// (kernels/cpu/normalization_plan.h).
#include "kernels/cpu/normalization_plan.h"
#include "kernels/cuda/batch_norm.h"
#include "kernels/cuda/kernel_util.h"

namespace kiln::cuda {
namespace {

using runtime::KernelContext;

Status FusedBatchNorm(KernelContext& ctx) {
  KILN_ASSIGN_OR_RETURN(kernels::cpu::nn::BatchNormPlan plan, kernels::cpu::nn::PlanBatchNorm(ctx));
  const Tensor& x = ctx.input(0);
  const DType t = x.dtype(), u = ctx.input(1).dtype();
  const BatchNormShape s{plan.outer, plan.channels, plan.inner};
  KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, t, x.shape()));
  BatchNormParams p;
  p.training = plan.training;
  p.epsilon = plan.epsilon;
  p.factor = plan.factor;
  p.scale = ctx.input(1).raw_data();
  p.offset = ctx.input(2).raw_data();
  p.mean = ctx.input(3).raw_data();
  p.variance = ctx.input(4).raw_data();
  void** outs[] = {&p.out_mean, &p.out_variance, &p.reserve_1, &p.reserve_2};
  for (int i = 0; i < 4; ++i) {
    KILN_ASSIGN_OR_RETURN(Tensor * o, ctx.AllocateOutput(1 + i, u, {s.channels}));
    *outs[i] = o->raw_data();
  }
  if (ctx.num_outputs() > 5) {
    KILN_ASSIGN_OR_RETURN(Tensor * r, ctx.AllocateOutput(5, u, {}));
    KILN_CUDA_RETURN_IF_ERROR(cudaMemsetAsync(r->raw_data(), 0, r->byte_size(), StreamOf(ctx)));
  }
  KILN_ASSIGN_OR_RETURN(Tensor scratch, Ctx(ctx).Allocate(DType::kFloat32, {4 * std::max<int64_t>(s.channels, 1)}));
  KILN_CUDA_RETURN_IF_ERROR(
      LaunchBatchNorm(t, u, s, p, x.raw_data(), y->raw_data(), scratch.data<float>(), StreamOf(ctx)));
  return OkStatus();
}

runtime::KernelOptions Options() {
  return {.dtypes = {DType::kFloat32, DType::kFloat16, DType::kBFloat16}};
}

}  // namespace

KILN_REGISTER_CUDA_KERNEL("FusedBatchNorm", FusedBatchNorm, Options());
KILN_REGISTER_CUDA_KERNEL("FusedBatchNormV2", FusedBatchNorm, Options());
KILN_REGISTER_CUDA_KERNEL("FusedBatchNormV3", FusedBatchNorm, Options());

}  // namespace kiln::cuda
