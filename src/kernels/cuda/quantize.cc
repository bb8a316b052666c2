// Registrations of the quantization ops on the GPU. Ranges, scales and zero points are read and
// checked on the host by the CPU kernels' own code (kernels/cpu/fake_quant.h), then uploaded.
#include <cmath>
#include <cstring>

#include "kernels/cpu/fake_quant.h"
#include "kernels/cuda/kernel_util.h"
#include "kernels/cuda/quantize.h"

namespace kiln::cuda {
namespace {

using runtime::KernelContext;
using runtime::KernelOptions;

Status CheckFloat32(const Tensor& t, const char* name) {
  if (t.dtype() != DType::kFloat32) return InvalidArgument(std::string(name) + " must be float32, got " + t.DebugString());
  return OkStatus();
}

Status KilnFakeQuant(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(1, 1));
  const Tensor& x = ctx.input(0);
  KILN_RETURN_IF_ERROR(CheckFloat32(x, "KilnFakeQuant input"));
  KILN_ASSIGN_OR_RETURN(std::string mode, ctx.Attr<std::string>("mode"));
  KILN_ASSIGN_OR_RETURN(std::vector<float> scale, ctx.Attr<std::vector<float>>("scale"));
  KILN_ASSIGN_OR_RETURN(int64_t axis, ctx.Attr<int64_t>("axis"));
  FakeQuantMode m;
  if (mode == "fp16" || mode == "bf16") {
    if (!scale.empty()) return InvalidArgument("mode " + mode + " takes no scale");
    m = mode == "fp16" ? FakeQuantMode::kFp16 : FakeQuantMode::kBf16;
    scale = {1.0f};
  } else if (mode == "int8" || mode == "fp8_e4m3") {
    m = mode == "int8" ? FakeQuantMode::kInt8 : FakeQuantMode::kE4M3;
    if (scale.empty()) return InvalidArgument("mode " + mode + " needs a scale");
  } else {
    return InvalidArgument("mode must be fp16, bf16, int8 or fp8_e4m3, got '" + mode + "'");
  }
  for (float s : scale) {
    if (!(s > 0.0f) || !std::isfinite(s)) {
      return InvalidArgument("scale must hold positive finite values, got " + std::to_string(s));
    }
  }
  int64_t channels = 1, inner = 1;
  if (scale.size() > 1) {
    if (axis < -x.rank() || axis >= x.rank()) {
      return InvalidArgument("axis " + std::to_string(axis) + " is out of range for " + x.DebugString());
    }
    const int a = static_cast<int>(axis < 0 ? axis + x.rank() : axis);
    channels = x.dim(a);
    if (static_cast<int64_t>(scale.size()) != channels) {
      return InvalidArgument("scale has " + std::to_string(scale.size()) + " values; " + x.DebugString() + " has " +
                             std::to_string(channels) + " channels along axis " + std::to_string(a));
    }
    for (int d = a + 1; d < x.rank(); ++d) inner *= x.dim(d);
  }
  KILN_ASSIGN_OR_RETURN(Tensor scales, Upload(ctx, scale));
  KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, DType::kFloat32, x.shape()));
  KILN_CUDA_RETURN_IF_ERROR(LaunchKilnFakeQuant(m, x.data<float>(), y->data<float>(), x.num_elements(),
                                                scales.data<float>(), channels, inner, StreamOf(ctx)));
  return OkStatus();
}

NudgedRange ToDevice(const kernels::cpu::Nudged& n, bool divide) {
  return {n.min, n.max, n.scale, n.inv_scale, n.quant_zero, n.all_zero, divide};
}

Status RunTfFakeQuant(KernelContext& ctx, const std::vector<NudgedRange>& ranges) {
  const Tensor& x = ctx.input(0);
  std::vector<uint8_t> bytes(ranges.size() * sizeof(NudgedRange));
  std::memcpy(bytes.data(), ranges.data(), bytes.size());
  KILN_ASSIGN_OR_RETURN(Tensor on_device, Upload(ctx, bytes));
  KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, DType::kFloat32, x.shape()));
  KILN_CUDA_RETURN_IF_ERROR(LaunchTfFakeQuant(x.data<float>(), y->data<float>(), x.num_elements(),
                                              static_cast<const NudgedRange*>(on_device.raw_data()),
                                              static_cast<int64_t>(ranges.size()), StreamOf(ctx)));
  return OkStatus();
}

Status FakeQuantArgs(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(1, 1));
  KILN_RETURN_IF_ERROR(CheckFloat32(ctx.input(0), "inputs"));
  KILN_ASSIGN_OR_RETURN(auto range, kernels::cpu::QuantRange(ctx));
  KILN_ASSIGN_OR_RETURN(float min, ctx.Attr<float>("min"));
  KILN_ASSIGN_OR_RETURN(float max, ctx.Attr<float>("max"));
  if (!(min < max)) {
    return InvalidArgument("min has to be smaller than max, was: " + std::to_string(min) + " >= " + std::to_string(max));
  }
  return RunTfFakeQuant(ctx, {ToDevice(kernels::cpu::Nudge(min, max, range.first, range.second), false)});
}

Status FakeQuantVars(KernelContext& ctx, bool per_channel) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(3, 3));
  const Tensor& x = ctx.input(0);
  KILN_RETURN_IF_ERROR(CheckFloat32(x, "inputs"));
  if (per_channel && x.rank() < 1) return InvalidArgument("inputs must have rank 1 or more, got " + x.DebugString());
  KILN_ASSIGN_OR_RETURN(auto range, kernels::cpu::QuantRange(ctx));
  const int64_t depth = per_channel ? x.dim(x.rank() - 1) : 1;
  for (int i : {1, 2}) {
    const char* name = i == 1 ? "min" : "max";
    const Tensor& t = ctx.input(i);
    KILN_RETURN_IF_ERROR(CheckFloat32(t, name));
    if (!per_channel && t.rank() != 0) {
      return InvalidArgument("`" + std::string(name) + "` must be rank 0 but is rank " + std::to_string(t.rank()));
    }
    if (per_channel && (t.rank() != 1 || t.dim(0) != depth)) {
      return InvalidArgument(std::string(name) + " has incorrect size, expected " + std::to_string(depth) + " was " +
                             t.DebugString());
    }
  }
  std::vector<NudgedRange> ranges;
  for (int64_t c = 0; c < depth; ++c) {
    const float min = ctx.input(1).data<float>()[c], max = ctx.input(2).data<float>()[c];
    NudgedRange r;
    if (min == 0.0f && max == 0.0f) {
      r.all_zero = true;
    } else {
      r = ToDevice(kernels::cpu::Nudge(min, max, range.first, range.second), !per_channel);
    }
    ranges.push_back(r);
  }
  return RunTfFakeQuant(ctx, ranges);
}

QuantIndex ToDevice(const kernels::cpu::QuantParamIndex& p) {
  return {static_cast<int>(p.layout), p.axis_dim, p.inner, p.block_size, p.blocks};
}

// Scales as float32 and zero points as int64 on the device; an absent zero point is zeros.
StatusOr<std::pair<Tensor, Tensor>> UploadParams(KernelContext& ctx) {
  const std::vector<float> scale = ctx.input(1).ToFloatVector();
  std::vector<int64_t> zero(scale.size(), 0);
  if (!kernels::cpu::IsAbsentInput(ctx.input(2))) {
    KILN_ASSIGN_OR_RETURN(zero, HostInt64s(ctx, 2));
  }
  KILN_ASSIGN_OR_RETURN(Tensor s, Upload(ctx, scale));
  KILN_ASSIGN_OR_RETURN(Tensor z, Upload(ctx, zero));
  return std::make_pair(std::move(s), std::move(z));
}

Status QuantizeLinear(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(3, 3));
  const Tensor &x = ctx.input(0), &zp = ctx.input(2);
  KILN_ASSIGN_OR_RETURN(kernels::cpu::QuantParamIndex index,
                        kernels::cpu::MakeQuantParamIndex(ctx, "y_scale", "y_zero_point"));
  KILN_ASSIGN_OR_RETURN(DType out, ctx.Attr<DType>("output_dtype"));
  if (!kernels::cpu::IsAbsentInput(zp)) {
    if (out != DType::kInvalid && out != zp.dtype()) {
      return InvalidArgument("output_dtype " + std::string(DTypeName(out)) + " differs from y_zero_point's dtype " +
                             std::string(DTypeName(zp.dtype())));
    }
    out = zp.dtype();
  } else if (out == DType::kInvalid) {
    out = DType::kUInt8;
  }
  if (!IsFloating(x.dtype()) && x.dtype() != DType::kInt32) {
    return InvalidArgument("x must be floating point or int32, got " + x.DebugString());
  }
  if (out != DType::kInt8 && out != DType::kUInt8 && out != DType::kInt16 && out != DType::kUInt16) {
    return Unimplemented("QuantizeLinear to " + std::string(DTypeName(out)) +
                         " is not supported (int8, uint8, int16 or uint16)");
  }
  KILN_ASSIGN_OR_RETURN(auto params, UploadParams(ctx));
  KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, out, x.shape()));
  KILN_CUDA_RETURN_IF_ERROR(LaunchQuantizeLinear(x.dtype(), out, ctx.input(1).dtype(), x.raw_data(), y->raw_data(),
                                                 x.num_elements(), params.first.data<float>(),
                                                 params.second.data<int64_t>(), ToDevice(index), StreamOf(ctx)));
  return OkStatus();
}

Status DequantizeLinear(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(3, 3));
  const Tensor &x = ctx.input(0), &zp = ctx.input(2);
  const DType xt = x.dtype();
  if (xt != DType::kInt8 && xt != DType::kUInt8 && xt != DType::kInt16 && xt != DType::kUInt16 && xt != DType::kInt32) {
    return Unimplemented("DequantizeLinear of " + std::string(DTypeName(xt)) +
                         " is not supported (int8, uint8, int16, uint16 or int32)");
  }
  if (!kernels::cpu::IsAbsentInput(zp) && zp.dtype() != xt) {
    return InvalidArgument("x_zero_point has dtype " + std::string(DTypeName(zp.dtype())) + " but x has " +
                           std::string(DTypeName(xt)));
  }
  KILN_ASSIGN_OR_RETURN(kernels::cpu::QuantParamIndex index,
                        kernels::cpu::MakeQuantParamIndex(ctx, "x_scale", "x_zero_point"));
  KILN_ASSIGN_OR_RETURN(DType out, ctx.Attr<DType>("output_dtype"));
  if (out == DType::kInvalid) out = ctx.input(1).dtype();
  if (!IsFloating(out)) return InvalidArgument("output_dtype must be floating point, got " + std::string(DTypeName(out)));
  KILN_ASSIGN_OR_RETURN(auto params, UploadParams(ctx));
  KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, out, x.shape()));
  KILN_CUDA_RETURN_IF_ERROR(LaunchDequantizeLinear(xt, out, x.raw_data(), y->raw_data(), x.num_elements(),
                                                   params.first.data<float>(), params.second.data<int64_t>(),
                                                   ToDevice(index), StreamOf(ctx)));
  return OkStatus();
}

}  // namespace

KILN_REGISTER_CUDA_KERNEL("KilnFakeQuant", KilnFakeQuant, KernelOptions{.dtypes = {DType::kFloat32}});
KILN_REGISTER_CUDA_KERNEL("FakeQuantWithMinMaxArgs", FakeQuantArgs, KernelOptions{.dtypes = {DType::kFloat32}});
KILN_REGISTER_CUDA_KERNEL("FakeQuantWithMinMaxVars", [](KernelContext& ctx) { return FakeQuantVars(ctx, false); },
                          KernelOptions{.host_inputs = {1, 2}, .dtypes = {DType::kFloat32}});
KILN_REGISTER_CUDA_KERNEL("FakeQuantWithMinMaxVarsPerChannel",
                          [](KernelContext& ctx) { return FakeQuantVars(ctx, true); },
                          KernelOptions{.host_inputs = {1, 2}, .dtypes = {DType::kFloat32}});
KILN_REGISTER_CUDA_KERNEL("QuantizeLinear", QuantizeLinear, KernelOptions{.host_inputs = {1, 2}});
KILN_REGISTER_CUDA_KERNEL("DequantizeLinear", DequantizeLinear, KernelOptions{.host_inputs = {1, 2}});

}  // namespace kiln::cuda
