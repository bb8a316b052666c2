// KilnQuantize and KilnQuantizedMatMul on the GPU (ir/ops/quantized_ops.h): quantization by one
// kernel; the product by cuBLASLt's int8 or FP8 tensor-core GEMM into an int32 or float32
// accumulator, scaled into the output type, then bias, residual and activation.
#include "ir/ops/fused_ops.h"
#include "ir/ops/quantized_ops.h"
#include "kernels/cpu/fused_math.h"
#include "kernels/cuda/fused.h"
#include "kernels/cuda/kernel_util.h"
#include "kernels/cuda/matmul.h"
#include "kernels/cuda/quantized.h"

namespace kiln::cuda {
namespace {

using runtime::KernelContext;
using runtime::KernelOptions;

StatusOr<Tensor> Upload(KernelContext& ctx, const std::vector<float>& values) {
  return Ctx(ctx).ToDevice(Tensor::FromVector<float>({static_cast<int64_t>(values.size())}, values));
}

Status Quantize(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(1, 1));
  const Tensor& x = ctx.input(0);
  KILN_ASSIGN_OR_RETURN(DType dtype, ctx.Attr<DType>("dtype"));
  KILN_ASSIGN_OR_RETURN(std::vector<float> scale, ctx.Attr<std::vector<float>>("scale"));
  KILN_ASSIGN_OR_RETURN(int64_t axis, ctx.Attr<int64_t>("axis"));
  if (!ir::IsQuantizedDType(dtype) || scale.empty()) {
    return InvalidArgument("KilnQuantize makes int8 or float8_e4m3fn with scales, not " +
                           std::string(DTypeName(dtype)));
  }
  int64_t channels = 1, inner = 1;
  if (scale.size() > 1) {
    const int a = static_cast<int>(axis < 0 ? axis + x.rank() : axis);
    if (a < 0 || a >= x.rank() || x.dim(a) != static_cast<int64_t>(scale.size())) {
      return InvalidArgument("scale has " + std::to_string(scale.size()) + " values for axis " +
                             std::to_string(axis) + " of " + x.DebugString());
    }
    channels = x.dim(a);
    for (int d = a + 1; d < x.rank(); ++d) inner *= x.dim(d);
  }
  KILN_ASSIGN_OR_RETURN(Tensor scales, Upload(ctx, scale));
  KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, dtype, x.shape()));
  KILN_CUDA_RETURN_IF_ERROR(LaunchQuantize(x.dtype(), dtype, x.raw_data(), y->raw_data(), x.num_elements(),
                                           scales.data<float>(), channels, inner, StreamOf(ctx)));
  return OkStatus();
}

Status QuantizedMatMul(KernelContext& ctx) {
  KILN_ASSIGN_OR_RETURN(ir::Epilogue e, ir::ParseEpilogue(ctx.attrs()));
  const int expected = 2 + (e.bias ? 1 : 0) + (e.residual ? 1 : 0);
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(expected, expected));
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  KILN_ASSIGN_OR_RETURN(DType t, ctx.Attr<DType>("T"));
  KILN_ASSIGN_OR_RETURN(bool transpose_b, ctx.Attr<bool>("transpose_b"));
  KILN_ASSIGN_OR_RETURN(float a_scale, ctx.Attr<float>("a_scale"));
  KILN_ASSIGN_OR_RETURN(std::vector<float> b_scales, ctx.Attr<std::vector<float>>("b_scales"));
  if (!ir::IsQuantizedDType(a.dtype()) || b.dtype() != a.dtype() || a.rank() < 2 || b.rank() != 2 || !transpose_b) {
    return InvalidArgument("KilnQuantizedMatMul on the GPU multiplies int8 or float8_e4m3fn a [..., K] by b [N, K] "
                           "(transpose_b), got " + a.DebugString() + " and " + b.DebugString());
  }
  const int64_t k = a.dim(a.rank() - 1), n = b.dim(0), m = a.num_elements() / std::max<int64_t>(k, 1);
  if (b.dim(1) != k || (b_scales.size() != 1 && static_cast<int64_t>(b_scales.size()) != n)) {
    return InvalidArgument("a " + a.DebugString() + ", b " + b.DebugString() + " and " +
                           std::to_string(b_scales.size()) + " b_scales do not fit one product");
  }
  Shape shape = a.shape();
  shape.back() = n;
  KILN_ASSIGN_OR_RETURN(Tensor * out, ctx.AllocateOutput(0, t, shape));
  if (out->num_elements() == 0) return OkStatus();
  StreamContext& device = Ctx(ctx);
  const DType acc_dtype = a.dtype() == DType::kInt8 ? DType::kInt32 : DType::kFloat32;
  KILN_ASSIGN_OR_RETURN(Tensor acc, device.Allocate(acc_dtype, {m, n}));
  KILN_RETURN_IF_ERROR(QuantizedGemm(device, a.dtype(), m, n, k, a.raw_data(), b.raw_data(), acc.raw_data()));
  KILN_ASSIGN_OR_RETURN(Tensor scales, Upload(ctx, b_scales));
  KILN_CUDA_RETURN_IF_ERROR(LaunchScaleAccumulator(acc_dtype, t, acc.raw_data(), out->raw_data(), m, n, a_scale,
                                                   scales.data<float>(), b_scales.size() > 1, StreamOf(ctx)));
  KILN_ASSIGN_OR_RETURN(kernels::cpu::fused::EpilogueOperands p, kernels::cpu::fused::PlanEpilogue(ctx, e, *out));
  if (p.bias || p.residual || e.activation != ir::Activation::kNone) {
    KILN_CUDA_RETURN_IF_ERROR(LaunchEpilogue(t, static_cast<int>(e.activation), e.leakyrelu_alpha, out->raw_data(),
                                             p.bias ? p.bias->raw_data() : nullptr,
                                             p.residual ? p.residual->raw_data() : nullptr, p.outer, p.channels,
                                             p.inner, StreamOf(ctx)));
  }
  return OkStatus();
}

std::vector<DType> QuantizedDTypes() {
  return {DType::kInt8, DType::kFloat8E4M3FN, DType::kFloat32, DType::kFloat16, DType::kBFloat16};
}

// The GPU product takes its weights as [N, K] (what cuBLASLt's int8 and FP8 kernels take), as the
// precision pass stores them.
Status TakesQuantizedMatMul(const ir::Node& node) {
  auto transpose_b = node.attrs.GetOr<bool>("transpose_b", false);
  if (!transpose_b.ok() || !*transpose_b) return Unimplemented("the GPU kernel takes weights as [N, K]");
  return OkStatus();
}

}  // namespace

KILN_REGISTER_CUDA_KERNEL(ir::kQuantizeOp, Quantize, KernelOptions{.dtypes = QuantizedDTypes()});
KILN_REGISTER_CUDA_KERNEL(ir::kQuantizedMatMulOp, QuantizedMatMul,
                          KernelOptions{.dtypes = QuantizedDTypes(), .supports = TakesQuantizedMatMul});

}  // namespace kiln::cuda
