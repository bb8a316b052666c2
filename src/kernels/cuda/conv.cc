// Registrations of the CUDA convolutions: Conv2D, Conv3D and Conv (read by the CPU kernels' own
// planning, kernels/cpu/conv_plan.h), DepthwiseConv2dNative and Conv2DBackpropInput.
#include "kernels/cpu/conv_plan.h"
#include "kernels/cpu/conv_util.h"
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
  return ConvForward(Ctx(ctx), g, x, ctx.input(1), y);
}

// The channels-last view of a 4-D shape in `channels_first` layout.
Shape ChannelsLast(const Shape& s, bool channels_first) {
  return channels_first ? Shape{s[0], s[2], s[3], s[1]} : s;
}

// One group per input channel: a grouped convolution whose filter [kh, kw, channels, multiplier]
// is read as [kh, kw, 1, channels * multiplier].
Status Depthwise(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  const Tensor &input = ctx.input(0), &filter = ctx.input(1);
  if (input.dtype() != filter.dtype()) {
    return InvalidArgument("input and filter dtypes differ: " + input.DebugString() + " and " + filter.DebugString());
  }
  if (input.rank() != 4 || filter.rank() != 4) {
    return InvalidArgument("DepthwiseConv2dNative expects 4-D input and filter, got " + input.DebugString() + " and " +
                           filter.DebugString());
  }
  KILN_ASSIGN_OR_RETURN(ir::WindowSpec spec, ir::ParseWindowSpec(ctx.attrs(), 2));
  const Shape last = ChannelsLast(input.shape(), spec.channels_first);
  const int64_t channels = last[3], multiplier = filter.dim(3);
  if (filter.dim(2) != channels) {
    return InvalidArgument("input depth " + std::to_string(channels) + " does not match the filter's depth " +
                           std::to_string(filter.dim(2)) + " (input " + input.DebugString() + ", filter " +
                           filter.DebugString() + ")");
  }
  KILN_ASSIGN_OR_RETURN(std::vector<ir::WindowDim> dims,
                        kernels::cpu::nn::SpatialWindows(last, {filter.dim(0), filter.dim(1)}, spec));
  Shape out_shape = kernels::cpu::nn::WindowOutputShape(last[0], dims, channels * multiplier);
  if (spec.channels_first) out_shape = {out_shape[0], out_shape[3], out_shape[1], out_shape[2]};
  KILN_ASSIGN_OR_RETURN(Tensor * out, ctx.AllocateOutput(0, input.dtype(), out_shape));
  KILN_ASSIGN_OR_RETURN(Tensor grouped, filter.Reshaped({filter.dim(0), filter.dim(1), 1, channels * multiplier}));
  const ConvGeometry g{spec.channels_first, last[0], channels, channels * multiplier, channels, dims};
  return ConvForward(Ctx(ctx), g, input, grouped, *out);
}

Status Conv2DBackpropInput(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(3, 3));
  const Tensor &filter = ctx.input(1), &grad = ctx.input(2);
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> sizes, HostInt64s(ctx, 0));
  if (ctx.input(0).rank() != 1 || (sizes.size() != 4 && sizes.size() != 2)) {
    return InvalidArgument("input_sizes must be a vector of 2 or 4 elements, got " + ctx.input(0).DebugString());
  }
  if (filter.rank() != 4 || grad.rank() != 4) {
    return InvalidArgument("Conv2DBackpropInput expects 4-D filter and out_backprop, got " + filter.DebugString() +
                           " and " + grad.DebugString());
  }
  if (filter.dtype() != grad.dtype()) {
    return InvalidArgument("filter and out_backprop dtypes differ: " + filter.DebugString() + " and " +
                           grad.DebugString());
  }
  KILN_ASSIGN_OR_RETURN(ir::WindowSpec spec, ir::ParseWindowSpec(ctx.attrs(), 2));
  const Shape grad_last = ChannelsLast(grad.shape(), spec.channels_first);
  Shape in_shape = sizes.size() == 4 ? ChannelsLast(sizes, spec.channels_first)
                                     : Shape{grad_last[0], sizes[0], sizes[1], filter.dim(2)};
  for (int64_t d : in_shape) {
    if (d < 0) return InvalidArgument("input_sizes must be non-negative, got " + ShapeToString(sizes));
  }
  const int64_t in_c = in_shape[3], out_c = filter.dim(3);
  if (filter.dim(2) != in_c) {
    return InvalidArgument("input depth " + std::to_string(in_c) + " from input_sizes does not match the filter's " +
                           "input depth " + std::to_string(filter.dim(2)) +
                           " (grouped transposed convolution is not supported)");
  }
  if (grad_last[3] != out_c) {
    return InvalidArgument("out_backprop depth " + std::to_string(grad_last[3]) + " does not match the filter's " +
                           "output depth " + std::to_string(out_c));
  }
  KILN_ASSIGN_OR_RETURN(std::vector<ir::WindowDim> dims,
                        kernels::cpu::nn::SpatialWindows(in_shape, {filter.dim(0), filter.dim(1)}, spec));
  if (grad_last[0] != in_shape[0] || grad_last[1] != dims[0].out || grad_last[2] != dims[1].out) {
    return InvalidArgument("out_backprop " + grad.DebugString() + " does not match the convolution of input " +
                           ShapeToString(sizes) + " with filter " + filter.DebugString() + " (expected spatial size " +
                           std::to_string(dims[0].out) + "x" + std::to_string(dims[1].out) + ")");
  }
  const Shape dx_shape =
      spec.channels_first ? Shape{in_shape[0], in_shape[3], in_shape[1], in_shape[2]} : in_shape;
  KILN_ASSIGN_OR_RETURN(Tensor * dx, ctx.AllocateOutput(0, grad.dtype(), dx_shape));
  const ConvGeometry g{spec.channels_first, in_shape[0], in_c, out_c, 1, dims};
  return ConvBackwardData(Ctx(ctx), g, grad, filter, *dx);
}

KernelOptions ConvOptions() { return {.dtypes = ConvDTypes()}; }

}  // namespace

KILN_REGISTER_CUDA_KERNEL("Conv2D", [](KernelContext& ctx) { return Conv(ctx, ConvKind::kConv2D); }, ConvOptions());
KILN_REGISTER_CUDA_KERNEL("Conv3D", [](KernelContext& ctx) { return Conv(ctx, ConvKind::kConv3D); }, ConvOptions());
KILN_REGISTER_CUDA_KERNEL("Conv", [](KernelContext& ctx) { return Conv(ctx, ConvKind::kConv); }, ConvOptions());
KILN_REGISTER_CUDA_KERNEL("DepthwiseConv2dNative", Depthwise, ConvOptions());
// cuDNN has no float64 algorithms for the transposed convolution; those stay on the host.
KILN_REGISTER_CUDA_KERNEL("Conv2DBackpropInput", Conv2DBackpropInput,
                          KernelOptions{.host_inputs = {0},
                                        .dtypes = {DType::kFloat32, DType::kFloat16, DType::kBFloat16}});

}  // namespace kiln::cuda
