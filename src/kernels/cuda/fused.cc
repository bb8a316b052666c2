// Registrations of the fused ops the fusion passes make (src/passes/fusion.h): a conv or matmul by
// its own CUDA kernel followed by one epilogue pass (a matmul's bias and residual go inside its
// GEMM), elementwise chains in one pass, and layer norms.
#include <algorithm>
#include <map>
#include <optional>

#include "ir/ops/fused_ops.h"
#include "kernels/cpu/fused_math.h"
#include "kernels/cpu/matmul.h"
#include "kernels/cuda/conv.h"
#include "kernels/cuda/fused.h"
#include "kernels/cuda/kernel_util.h"
#include "kernels/cuda/matmul.h"

namespace kiln::cuda {
namespace {

using runtime::KernelContext;
using runtime::KernelOptions;

// `options`, with output 0 allowed to take over input 0's buffer.
KernelOptions InPlace(KernelOptions options) {
  options.forwardable_inputs = {0};
  return options;
}

// The inputs share one of the fused ops' dtypes (float32, float16, bfloat16).
Status CheckOneFloatDType(const KernelContext& ctx) {
  const std::vector<DType> dtypes = FusedDTypes();
  const DType d = ctx.input(0).dtype();
  if (std::find(dtypes.begin(), dtypes.end(), d) == dtypes.end()) {
    return InvalidArgument(ctx.node().op + " takes float32, float16 or bfloat16, input 0 is " +
                           ctx.input(0).DebugString());
  }
  for (int i = 1; i < ctx.num_inputs(); ++i) {
    if (ctx.input(i).dtype() != d) {
      return InvalidArgument(ctx.node().op + " input " + std::to_string(i) + " is " + ctx.input(i).DebugString() +
                             ", not of input 0's dtype " + std::string(DTypeName(d)));
    }
  }
  return OkStatus();
}

// The activation cuBLASLt's epilogue applies for `e`'s, or nullopt where it has none like it: ReLU,
// and at float16 and bfloat16 the exact GELU as cuBLASLt's tanh form, which differs from it by at
// most 4.7e-4 (near x = -2.7), under half a float16 unit in the last place at 1.
std::optional<GemmActivation> GemmActivationFor(const ir::Epilogue& e, DType dtype) {
  switch (e.activation) {
    case ir::Activation::kNone: return GemmActivation::kNone;
    case ir::Activation::kRelu: return GemmActivation::kRelu;
    case ir::Activation::kGelu:
      if (dtype == DType::kFloat16 || dtype == DType::kBFloat16) return GemmActivation::kGeluTanh;
      return std::nullopt;
    default: return std::nullopt;
  }
}

// A matmul whose product is one GEMM (matrices, or a batch of x rows times one y) with a bias,
// residual and activation that cuBLASLt's epilogue takes: all of it in one cuBLASLt call. Returns
// false, having done nothing, for any other case.
StatusOr<bool> TryGemmWithAddends(KernelContext& ctx, const std::string& base_op, const ir::Epilogue& e) {
  const std::optional<GemmActivation> activation = GemmActivationFor(e, ctx.input(0).dtype());
  if (!activation || (base_op != "MatMul" && base_op != "BatchMatMulV2")) return false;
  const bool is_matmul = base_op == "MatMul";
  KILN_ASSIGN_OR_RETURN(bool adj_x, ctx.Attr<bool>(is_matmul ? "transpose_a" : "adj_x"));
  KILN_ASSIGN_OR_RETURN(bool adj_y, ctx.Attr<bool>(is_matmul ? "transpose_b" : "adj_y"));
  const Tensor &x = ctx.input(0), &y = ctx.input(1);
  if (is_matmul && (x.rank() != 2 || y.rank() != 2)) return false;
  KILN_ASSIGN_OR_RETURN(kernels::cpu::nn::MatMulPlan p,
                        kernels::cpu::nn::PlanBatchMatMul(x, y, adj_x, adj_y, !is_matmul, base_op));
  const int64_t rows = NumElements(p.batch);
  if (NumElements(p.y_batch) != 1 || NumElements(p.x_batch) != rows || (adj_x && rows != 1) || p.k == 0) {
    return false;
  }
  KILN_ASSIGN_OR_RETURN(Tensor * out, ctx.AllocateOutput(0, x.dtype(), p.out_shape));
  if (out->num_elements() == 0) return true;
  KILN_ASSIGN_OR_RETURN(kernels::cpu::fused::EpilogueOperands operands,
                        kernels::cpu::fused::PlanEpilogue(ctx, e, *out));
  const GemmShape g{.adj_x = adj_x, .adj_y = adj_y, .m = rows * p.m, .n = p.n, .k = p.k};
  const GemmAddends add{.bias = operands.bias ? operands.bias->raw_data() : nullptr,
                        .residual = operands.residual ? operands.residual->raw_data() : nullptr,
                        .activation = *activation};
  KILN_RETURN_IF_ERROR(GemmWithAddends(Ctx(ctx), x.dtype(), g, x.raw_data(), y.raw_data(), out->raw_data(), add));
  return true;
}

Status FusedConvMatMul(KernelContext& ctx) {
  const std::string base_op = ir::EpilogueBaseOp(ctx.node().op);
  KILN_ASSIGN_OR_RETURN(ir::Epilogue e, ir::ParseEpilogue(ctx.attrs()));
  const int expected = 2 + (e.bias ? 1 : 0) + (e.residual ? 1 : 0);
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(expected, expected));
  KILN_RETURN_IF_ERROR(CheckOneFloatDType(ctx));
  KILN_ASSIGN_OR_RETURN(bool done, TryGemmWithAddends(ctx, base_op, e));
  if (done) return OkStatus();
  if (base_op == "Conv2D" || base_op == "Conv") {
    using kernels::cpu::nn::ConvKind;
    KILN_ASSIGN_OR_RETURN(done, TryFusedConvGraph(ctx, base_op == "Conv" ? ConvKind::kConv : ConvKind::kConv2D, e));
    if (done) return OkStatus();
  }
  const runtime::KernelFn* base = runtime::KernelRegistry::Global().Find(base_op, DeviceType::kCUDA);
  if (base == nullptr) return Internal("no CUDA kernel for " + base_op);
  KernelContext base_ctx(ctx.node(), {&ctx.input(0), &ctx.input(1)}, ctx.device_context());
  base_ctx.set_prepared(ctx.all_prepared());
  KILN_RETURN_IF_ERROR((*base)(base_ctx));
  Tensor out = std::move(base_ctx.outputs()[0]);
  // An epilogue moved elsewhere (past a max pool) leaves nothing to do after the product.
  if (e.empty()) {
    ctx.set_output(0, std::move(out));
    return OkStatus();
  }
  KILN_ASSIGN_OR_RETURN(kernels::cpu::fused::EpilogueOperands p, kernels::cpu::fused::PlanEpilogue(ctx, e, out));
  KILN_CUDA_RETURN_IF_ERROR(LaunchEpilogue(out.dtype(), static_cast<int>(e.activation), e.leakyrelu_alpha,
                                           out.raw_data(), p.bias ? p.bias->raw_data() : nullptr,
                                           p.residual ? p.residual->raw_data() : nullptr, p.outer, p.channels,
                                           p.inner, StreamOf(ctx)));
  ctx.set_output(0, std::move(out));
  return OkStatus();
}

// Runs the program in passes of at most kMaxChainSteps steps and kMaxChainOperands operands.
Status FusedElementwise(KernelContext& ctx) {
  if (ctx.num_inputs() < 1) return InvalidArgument("KilnFusedElementwise expects at least 1 input");
  KILN_ASSIGN_OR_RETURN(std::vector<ir::ElementwiseStep> steps,
                        ir::ParseElementwiseProgram(ctx.attrs(), ctx.num_inputs()));
  KILN_RETURN_IF_ERROR(CheckOneFloatDType(ctx));
  const Tensor& x = ctx.input(0);
  std::vector<ChainOperand> operands(static_cast<size_t>(ctx.num_inputs()));
  for (int i = 1; i < ctx.num_inputs(); ++i) {
    KILN_ASSIGN_OR_RETURN(kernels::cpu::fused::ChainBroadcast b,
                          kernels::cpu::fused::DescribeChainOperand(ctx.input(i), x.shape(), i));
    operands[i] = {ctx.input(i).raw_data(), b.inner, b.mid};
  }
  KILN_ASSIGN_OR_RETURN(Tensor * out, ctx.AllocateOutput(0, x.dtype(), x.shape()));
  const void* in = x.raw_data();
  size_t s = 0;
  do {
    ChainProgram p;
    std::map<int, int> slot;  // input -> operand slot of this pass
    for (; s < steps.size() && p.steps < kMaxChainSteps; ++s) {
      const ir::ElementwiseStep& st = steps[s];
      ChainStep& cs = p.step[p.steps];
      cs.op = static_cast<int>(st.op);
      cs.param = st.param;
      cs.chain_is_lhs = st.chain_is_lhs;
      if (ir::IsBinaryElementwise(st.op)) {
        auto it = slot.find(st.operand);
        if (it == slot.end()) {
          if (static_cast<int>(slot.size()) == kMaxChainOperands) break;
          it = slot.emplace(st.operand, static_cast<int>(slot.size())).first;
          p.operand[it->second] = operands[st.operand];
        }
        cs.operand = it->second;
      }
      ++p.steps;
    }
    KILN_CUDA_RETURN_IF_ERROR(
        LaunchElementwiseChain(x.dtype(), p, in, out->raw_data(), x.num_elements(), StreamOf(ctx)));
    in = out->raw_data();  // later passes continue in place
  } while (s < steps.size());
  return OkStatus();
}

KernelOptions Floats() { return {.dtypes = FusedDTypes()}; }

// A fused convolution: its constant filter arranged for cuDNN at load time.
KernelOptions ConvFloats(bool depthwise) {
  return {.dtypes = FusedDTypes(), .prepared_inputs = {ArrangedFilterInput(depthwise)}};
}

Status LayerNorm(KernelContext& ctx) {
  KILN_ASSIGN_OR_RETURN(kernels::cpu::fused::LayerNormPlan p, kernels::cpu::fused::PlanLayerNorm(ctx));
  const Tensor& x = ctx.input(0);
  KILN_ASSIGN_OR_RETURN(Tensor * out, ctx.AllocateOutput(0, x.dtype(), x.shape()));
  KILN_CUDA_RETURN_IF_ERROR(LaunchLayerNorm(x.dtype(), x.raw_data(), ctx.input(1).raw_data(), ctx.input(2).raw_data(),
                                            out->raw_data(), p.rows, p.cols, p.epsilon, StreamOf(ctx)));
  return OkStatus();
}

}  // namespace

KILN_REGISTER_CUDA_KERNEL("KilnFusedConv2D", FusedConvMatMul, ConvFloats(false));
KILN_REGISTER_CUDA_KERNEL("KilnFusedDepthwiseConv2D", FusedConvMatMul, ConvFloats(/*depthwise=*/true));
KILN_REGISTER_CUDA_KERNEL("KilnFusedConv", FusedConvMatMul, ConvFloats(false));
KILN_REGISTER_CUDA_KERNEL("KilnFusedMatMul", FusedConvMatMul, Floats());
KILN_REGISTER_CUDA_KERNEL("KilnFusedBatchMatMulV2", FusedConvMatMul, Floats());
KILN_REGISTER_CUDA_KERNEL(ir::kFusedElementwiseOp, FusedElementwise, InPlace(Floats()));
KILN_REGISTER_CUDA_KERNEL(ir::kLayerNormOp, LayerNorm, InPlace(Floats()));

}  // namespace kiln::cuda
