// KilnQuantize and KilnQuantizedMatMul on the GPU (ir/ops/quantized_ops.h): quantization by one
// kernel; the product by cuBLASLt's int8 or FP8 tensor-core GEMM into an int32 or float32
// accumulator, scaled into the output type with its bias, residual and activation in one pass.
#include "ir/ops/fused_ops.h"
#include "ir/ops/quantized_ops.h"
#include "kernels/cpu/fused_math.h"
#include "kernels/cpu/quantized.h"
#include "kernels/cuda/kernel_util.h"
#include "kernels/cuda/matmul.h"
#include "kernels/cuda/quantized.h"

namespace kiln::cuda {
namespace {

using runtime::KernelContext;
using runtime::KernelOptions;

Status Quantize(KernelContext& ctx) {
  KILN_ASSIGN_OR_RETURN(kernels::cpu::QuantizePlan p, kernels::cpu::PlanQuantize(ctx));
  const Tensor& x = ctx.input(0);
  KILN_ASSIGN_OR_RETURN(Tensor scales, Upload(ctx, p.scales));
  KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, p.dtype, x.shape()));
  KILN_CUDA_RETURN_IF_ERROR(LaunchQuantize(x.dtype(), p.dtype, x.raw_data(), y->raw_data(), x.num_elements(),
                                           scales.data<float>(), p.channels, p.inner, StreamOf(ctx)));
  return OkStatus();
}

Status QuantizedMatMul(KernelContext& ctx) {
  KILN_ASSIGN_OR_RETURN(kernels::cpu::QuantizedMatMulPlan q, kernels::cpu::PlanQuantizedMatMul(ctx));
  if (!q.transpose_b) return InvalidArgument("KilnQuantizedMatMul on the GPU takes its weights as [N, K]");
  KILN_ASSIGN_OR_RETURN(Tensor * out, ctx.AllocateOutput(0, q.out_dtype, q.out_shape));
  if (out->num_elements() == 0) return OkStatus();
  StreamContext& device = Ctx(ctx);
  const Tensor& a = ctx.input(0);
  const DType acc_dtype = a.dtype() == DType::kInt8 ? DType::kInt32 : DType::kFloat32;
  KILN_ASSIGN_OR_RETURN(Tensor acc, device.Allocate(acc_dtype, {q.m, q.n}));
  const Status gemm =
      QuantizedGemm(device, a.dtype(), q.m, q.n, q.k, a.raw_data(), ctx.input(1).raw_data(), acc.raw_data());
  if (gemm.code() == StatusCode::kUnimplemented) {  // a shape the tensor-core kernels do not take
    KILN_CUDA_RETURN_IF_ERROR(LaunchDirectQuantizedGemm(a.dtype(), q.m, q.n, q.k, a.raw_data(),
                                                        ctx.input(1).raw_data(), acc.raw_data(), StreamOf(ctx)));
  } else {
    KILN_RETURN_IF_ERROR(gemm);
  }
  KILN_ASSIGN_OR_RETURN(Tensor scales, Upload(ctx, q.b_scales));
  const ir::Epilogue& e = q.epilogue;
  KILN_ASSIGN_OR_RETURN(kernels::cpu::fused::EpilogueOperands p, kernels::cpu::fused::PlanEpilogue(ctx, e, *out));
  const AccumulatorEpilogue epilogue{.bias = p.bias ? p.bias->raw_data() : nullptr,
                                     .residual = p.residual ? p.residual->raw_data() : nullptr,
                                     .activation = static_cast<int>(e.activation),
                                     .alpha = e.leakyrelu_alpha};
  KILN_CUDA_RETURN_IF_ERROR(LaunchScaleAccumulator(acc_dtype, q.out_dtype, acc.raw_data(), out->raw_data(), q.m,
                                                   q.n, q.a_scale, scales.data<float>(), q.b_scales.size() > 1,
                                                   epilogue, StreamOf(ctx)));
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
