// Registrations of the CUDA pools: MaxPool, MaxPoolV2, AvgPool (TensorFlow) and OnnxPool.
#include "ir/ops/onnx_window_rules.h"
#include "kernels/cpu/conv_util.h"
#include "kernels/cuda/kernel_util.h"
#include "kernels/cuda/pool.h"

namespace kiln::cuda {
namespace {

using runtime::KernelContext;
using runtime::KernelOptions;

Status TfPool(KernelContext& ctx, bool is_max) {
  const bool window_inputs = ctx.node().op == "MaxPoolV2";
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(window_inputs ? 3 : 1, window_inputs ? 3 : 1));
  const Tensor& input = ctx.input(0);
  if (input.rank() != 4) return InvalidArgument("pooling input must have rank 4, got " + input.DebugString());
  if (!is_max && !IsFloating(input.dtype())) {
    return InvalidArgument("AvgPool takes floating-point inputs, got " + input.DebugString());
  }
  ir::AttrMap attrs = ctx.attrs();
  if (window_inputs) {
    KILN_ASSIGN_OR_RETURN(std::vector<int64_t> ksize, HostInt64s(ctx, 1));
    KILN_ASSIGN_OR_RETURN(std::vector<int64_t> strides, HostInt64s(ctx, 2));
    attrs.Set("ksize", ksize);
    attrs.Set("strides", strides);
  }
  KILN_ASSIGN_OR_RETURN(ir::WindowSpec spec, ir::ParseWindowSpec(attrs, 2));
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> ksize_full, attrs.Get<std::vector<int64_t>>("ksize"));
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> ksize, ir::SpatialEntries(ksize_full, 2, spec.channels_first, "ksize"));
  const Shape& s = input.shape();
  const Shape last = spec.channels_first ? Shape{s[0], s[2], s[3], s[1]} : s;
  KILN_ASSIGN_OR_RETURN(std::vector<ir::WindowDim> dims, kernels::cpu::nn::SpatialWindows(last, ksize, spec));
  PoolShape p;
  p.mode = is_max ? PoolMode::kTfMax : PoolMode::kTfAvg;
  p.channels_first = spec.channels_first;
  p.batch = last[0];
  p.channels = last[3];
  for (int d = 0; d < 2; ++d) {
    const ir::WindowDim& w = dims[d];
    if (w.pad_before >= w.kernel || w.pad_after >= w.kernel) {
      return InvalidArgument("padding " + std::to_string(std::max(w.pad_before, w.pad_after)) +
                             " must be smaller than the pooling window " + std::to_string(w.kernel));
    }
    p.in[d + 1] = w.in;
    p.out[d + 1] = w.out;
    p.kernel[d + 1] = w.kernel;
    p.stride[d + 1] = w.stride;
    p.pad_begin[d + 1] = w.pad_before;
    p.pad_end[d + 1] = w.pad_after;
  }
  Shape out_shape = kernels::cpu::nn::WindowOutputShape(last[0], dims, last[3]);
  if (spec.channels_first) out_shape = {out_shape[0], out_shape[3], out_shape[1], out_shape[2]};
  KILN_ASSIGN_OR_RETURN(Tensor * out, ctx.AllocateOutput(0, input.dtype(), out_shape));
  KILN_CUDA_RETURN_IF_ERROR(LaunchPool(input.dtype(), p, input.raw_data(), out->raw_data(), StreamOf(ctx)));
  return OkStatus();
}

Status OnnxPool(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(1, 1));
  const Tensor& x = ctx.input(0);
  KILN_ASSIGN_OR_RETURN(ir::OnnxPoolSpec spec, ir::ParseOnnxPoolSpec(ctx.attrs()));
  const int spatial = static_cast<int>(spec.kernel.size());
  if (x.rank() != spatial + 2) {
    return InvalidArgument("X must have rank " + std::to_string(spatial + 2) +
                           " ([N, C, spatial...]) for kernel_shape " + ShapeToString(spec.kernel) + ", got " +
                           x.DebugString());
  }
  if (spec.mode != ir::OnnxPoolMode::kMax && !IsFloating(x.dtype())) {
    return InvalidArgument("average and Lp pools take floating-point inputs, got " + x.DebugString());
  }
  PoolShape p;
  p.mode = spec.mode == ir::OnnxPoolMode::kMax   ? PoolMode::kOnnxMax
           : spec.mode == ir::OnnxPoolMode::kAvg ? PoolMode::kOnnxAvg
                                                 : PoolMode::kOnnxLp;
  p.channels_first = true;
  p.count_include_pad = spec.count_include_pad;
  p.p = spec.p;
  p.batch = x.dim(0);
  p.channels = x.dim(1);
  Shape out_shape = {x.dim(0), x.dim(1)};
  const int lead = 3 - spatial;
  for (int i = 0; i < spatial; ++i) {
    KILN_ASSIGN_OR_RETURN(ir::OnnxPoolDim w, ir::ComputeOnnxPoolDim(spec, i, x.dim(2 + i)));
    out_shape.push_back(w.out);
    p.in[lead + i] = x.dim(2 + i);
    p.out[lead + i] = w.out;
    p.kernel[lead + i] = spec.kernel[i];
    p.stride[lead + i] = spec.strides[i];
    p.dilation[lead + i] = spec.dilations[i];
    p.pad_begin[lead + i] = w.pad_begin;
    p.pad_end[lead + i] = w.pad_end;
  }
  KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, x.dtype(), out_shape));
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
