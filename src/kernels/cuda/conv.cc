// Registrations of the CUDA convolutions: Conv2D, Conv3D and Conv (read by the CPU kernels' own
// planning, kernels/cpu/conv_plan.h), DepthwiseConv2dNative and Conv2DBackpropInput.
#include "kernels/cpu/conv_plan.h"
#include "kernels/cuda/conv.h"
#include "kernels/cuda/kernel_util.h"

namespace kiln::cuda {
namespace {

using kernels::cpu::nn::ConvKind;
using runtime::KernelContext;
using runtime::KernelOptions;

Status Conv(KernelContext& ctx, ConvKind kind) {
  KILN_ASSIGN_OR_RETURN(kernels::cpu::nn::ConvPlan plan, kernels::cpu::nn::PlanConv(ctx, kind));
  KILN_ASSIGN_OR_RETURN(Tensor x, ctx.input(0).Reshaped(plan.flat));
  KILN_ASSIGN_OR_RETURN(Tensor * out, ctx.AllocateOutput(0, x.dtype(), plan.out_shape));
  Shape flat_out = {plan.flat[0]};
  flat_out.insert(flat_out.end(), plan.out_shape.end() - (plan.spatial + 1), plan.out_shape.end());
  KILN_ASSIGN_OR_RETURN(Tensor y, out->Reshaped(flat_out));
  const ConvGeometry g{plan.channels_first, plan.flat[0], plan.in_c, plan.out_c, plan.groups, plan.dims};
  return ConvForward(Ctx(ctx), g, x, {ctx.input(1), ctx.prepared(1)}, y);
}

// One group per input channel: a grouped convolution whose filter [kh, kw, channels, multiplier]
// is read as [kh, kw, 1, channels * multiplier].
Status Depthwise(KernelContext& ctx) {
  KILN_ASSIGN_OR_RETURN(kernels::cpu::nn::DepthwisePlan p, kernels::cpu::nn::PlanDepthwise(ctx));
  const Tensor &input = ctx.input(0), &filter = ctx.input(1);
  KILN_ASSIGN_OR_RETURN(Tensor * out, ctx.AllocateOutput(0, input.dtype(), p.out_shape));
  KILN_ASSIGN_OR_RETURN(Tensor grouped, filter.Reshaped({filter.dim(0), filter.dim(1), 1, p.channels * p.multiplier}));
  const ConvGeometry g{p.channels_first, p.last[0], p.channels, p.channels * p.multiplier, p.channels, p.dims};
  return ConvForward(Ctx(ctx), g, input, {grouped, ctx.prepared(1)}, *out);
}

Status Conv2DBackpropInput(KernelContext& ctx) {
  KILN_ASSIGN_OR_RETURN(kernels::cpu::nn::ConvTransposePlan p, kernels::cpu::nn::PlanConvTranspose(ctx));
  KILN_ASSIGN_OR_RETURN(Tensor * dx, ctx.AllocateOutput(0, ctx.input(2).dtype(), p.dx_shape));
  const ConvGeometry g{p.channels_first, p.in_shape[0], p.in_c, p.out_c, 1, p.dims};
  return ConvBackwardData(Ctx(ctx), g, ctx.input(2), {ctx.input(1), ctx.prepared(1)}, *dx);
}

StatusOr<Tensor> ArrangeConstantFilter(runtime::DeviceContext& device, const ir::Node& node, const Tensor& filter,
                                       bool depthwise) {
  if (filter.rank() < 3 || (depthwise && filter.rank() != 4)) {
    return InvalidArgument(std::string("the filter must have rank ") + (depthwise ? "4" : "3 or more") + ", got " +
                           filter.DebugString());
  }
  KILN_ASSIGN_OR_RETURN(ir::WindowSpec spec, ir::ParseWindowSpec(node.attrs, filter.rank() - 2));
  KILN_ASSIGN_OR_RETURN(Tensor on_device, device.ToDevice(filter));
  if (depthwise) {
    const Shape grouped = {filter.dim(0), filter.dim(1), 1, filter.dim(2) * filter.dim(3)};
    KILN_ASSIGN_OR_RETURN(on_device, on_device.Reshaped(grouped));
  }
  return ArrangeFilter(Ctx(&device), on_device, spec.channels_first);
}

KernelOptions ConvOptions(bool depthwise = false) {
  return {.dtypes = ConvDTypes(), .prepared_inputs = {ArrangedFilterInput(depthwise)}};
}

}  // namespace

runtime::KernelOptions::PreparedInput ArrangedFilterInput(bool depthwise) {
  return {1, [depthwise](runtime::DeviceContext& device, const ir::Node& node, const Tensor& filter) {
            return ArrangeConstantFilter(device, node, filter, depthwise);
          }};
}

KILN_REGISTER_CUDA_KERNEL("Conv2D", [](KernelContext& ctx) { return Conv(ctx, ConvKind::kConv2D); }, ConvOptions());
KILN_REGISTER_CUDA_KERNEL("Conv3D", [](KernelContext& ctx) { return Conv(ctx, ConvKind::kConv3D); }, ConvOptions());
KILN_REGISTER_CUDA_KERNEL("Conv", [](KernelContext& ctx) { return Conv(ctx, ConvKind::kConv); }, ConvOptions());
KILN_REGISTER_CUDA_KERNEL("DepthwiseConv2dNative", Depthwise, ConvOptions(/*depthwise=*/true));
// cuDNN has no float64 algorithms for the transposed convolution; those stay on the host.
KILN_REGISTER_CUDA_KERNEL("Conv2DBackpropInput", Conv2DBackpropInput,
                          KernelOptions{.host_inputs = {0},
                                        .dtypes = {DType::kFloat32, DType::kFloat16, DType::kBFloat16},
                                        .prepared_inputs = {ArrangedFilterInput(false)}});

}  // namespace kiln::cuda
