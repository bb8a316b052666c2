// Registrations of the CUDA pools: MaxPool, MaxPoolV2, AvgPool (TensorFlow) and OnnxPool.
#include "ir/ops/fused_ops.h"
#include "kernels/cpu/pool_plan.h"
#include "kernels/cuda/kernel_util.h"
#include "kernels/cuda/pool.h"

namespace kiln::cuda {
namespace {

using runtime::KernelContext;
using runtime::KernelOptions;

// A max pool's epilogue into `p`: the bias (input 1) checked against the pool's channels and dtype.
Status SetEpilogue(const KernelContext& ctx, PoolShape& p) {
  KILN_ASSIGN_OR_RETURN(ir::Epilogue e, ir::ParsePoolEpilogue(ctx.attrs(), ctx.num_inputs()));
  const DType dtype = ctx.input(0).dtype();
  if (!e.empty() && dtype != DType::kFloat32 && dtype != DType::kFloat16 && dtype != DType::kBFloat16) {
    return InvalidArgument("a pool's epilogue computes float32, float16 or bfloat16, not " +
                           ctx.input(0).DebugString());
  }
  if (e.bias) {
    const Tensor& b = ctx.input(1);
    if (b.dtype() != dtype || b.rank() != 1 || b.dim(0) != p.channels) {
      return InvalidArgument("bias " + b.DebugString() + " is not a vector of the pool's " +
                             std::to_string(p.channels) + " channels in its dtype");
    }
    p.bias = b.raw_data();
  }
  p.activation = static_cast<int>(e.activation);
  p.alpha = e.leakyrelu_alpha;
  return OkStatus();
}

Status TfPool(KernelContext& ctx, bool is_max) {
  KILN_ASSIGN_OR_RETURN(kernels::cpu::nn::TfPoolPlan plan, kernels::cpu::nn::PlanTfPool(ctx));
  const Tensor& input = ctx.input(0);
  if (!is_max && !IsFloating(input.dtype())) {
    return InvalidArgument("AvgPool takes floating-point inputs, got " + input.DebugString());
  }
  PoolShape p;
  p.mode = is_max ? PoolMode::kTfMax : PoolMode::kTfAvg;
  p.channels_first = plan.channels_first;
  p.batch = plan.last[0];
  p.channels = plan.last[3];
  for (int d = 0; d < 2; ++d) {
    const ir::WindowDim& w = plan.dims[d];
    p.in[d + 1] = w.in;
    p.out[d + 1] = w.out;
    p.kernel[d + 1] = w.kernel;
    p.stride[d + 1] = w.stride;
    p.pad_begin[d + 1] = w.pad_before;
    p.pad_end[d + 1] = w.pad_after;
  }
  if (is_max && ctx.node().op == "MaxPool") KILN_RETURN_IF_ERROR(SetEpilogue(ctx, p));
  KILN_ASSIGN_OR_RETURN(Tensor * out, ctx.AllocateOutput(0, input.dtype(), plan.out_shape));
  KILN_CUDA_RETURN_IF_ERROR(LaunchPool(input.dtype(), p, input.raw_data(), out->raw_data(), StreamOf(ctx)));
  return OkStatus();
}

Status OnnxPool(KernelContext& ctx) {
  KILN_ASSIGN_OR_RETURN(kernels::cpu::nn::OnnxPoolPlan plan, kernels::cpu::nn::PlanOnnxPool(ctx));
  const Tensor& x = ctx.input(0);
  const ir::OnnxPoolSpec& spec = plan.spec;
  if (spec.mode != ir::OnnxPoolMode::kMax && !IsFloating(x.dtype())) {
    return InvalidArgument("average and Lp pools take floating-point inputs, got " + x.DebugString());
  }
  PoolShape p;
  p.mode = spec.mode == ir::OnnxPoolMode::kMax   ? PoolMode::kOnnxMax
           : spec.mode == ir::OnnxPoolMode::kAvg ? PoolMode::kOnnxAvg
                                                 : PoolMode::kOnnxLp;
  p.channels_first = !spec.channels_last;
  p.count_include_pad = spec.count_include_pad;
  p.p = spec.p;
  p.batch = x.dim(0);
  p.channels = x.dim(spec.channel_axis());
  const int spatial = static_cast<int>(plan.dims.size()), lead = 3 - spatial;
  for (int i = 0; i < spatial; ++i) {
    p.in[lead + i] = x.dim(spec.spatial_axis(i));
    p.out[lead + i] = plan.dims[i].out;
    p.kernel[lead + i] = spec.kernel[i];
    p.stride[lead + i] = spec.strides[i];
    p.dilation[lead + i] = spec.dilations[i];
    p.pad_begin[lead + i] = plan.dims[i].pad_begin;
    p.pad_end[lead + i] = plan.dims[i].pad_end;
  }
  KILN_RETURN_IF_ERROR(SetEpilogue(ctx, p));
  KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, x.dtype(), plan.out_shape));
  KILN_CUDA_RETURN_IF_ERROR(LaunchPool(x.dtype(), p, x.raw_data(), y->raw_data(), StreamOf(ctx)));
  return OkStatus();
}

KernelOptions PoolOptions() {
  return {.dtypes = {DType::kFloat32, DType::kFloat16, DType::kBFloat16, DType::kFloat64, DType::kInt8,
                     DType::kUInt8, DType::kInt16, DType::kInt32, DType::kInt64}};
}

}  // namespace

KILN_REGISTER_CUDA_KERNEL("MaxPool", [](KernelContext& ctx) { return TfPool(ctx, true); }, PoolOptions());
KILN_REGISTER_CUDA_KERNEL("MaxPoolV2", [](KernelContext& ctx) { return TfPool(ctx, true); },
                          KernelOptions{.host_inputs = {1, 2}, .dtypes = PoolOptions().dtypes});
KILN_REGISTER_CUDA_KERNEL("AvgPool", [](KernelContext& ctx) { return TfPool(ctx, false); }, PoolOptions());
KILN_REGISTER_CUDA_KERNEL("OnnxPool", OnnxPool, PoolOptions());

}  // namespace kiln::cuda
