// KilnFusedConv2D, KilnFusedDepthwiseConv2D, KilnFusedConv, KilnFusedMatMul and
// KilnFusedBatchMatMulV2: the base op's own
// CPU kernel, then bias, residual and activation applied in one pass over its output.
#include "ir/ops/fused_ops.h"
#include "kernels/cpu/fused_math.h"
#include "kernels/cpu/matmul.h"
#include "runtime/kernel.h"

namespace kiln::kernels::cpu {
namespace {

using runtime::KernelContext;

// out = act(out + bias[channel] + residual) over `out` viewed as [outer, channels, inner], with the
// activation and the presence of bias and residual fixed at compile time so the loops vectorize.
template <ir::Activation kAct, bool kBias, bool kResidual>
void EpilogueLoop(const float* bias, const float* residual, float* out, int64_t outer, int64_t channels, int64_t inner,
                  float alpha) {
  auto apply = [alpha](float v, float b, float r) {
    if constexpr (kBias) v = v + b;
    if constexpr (kResidual) v = v + r;
    return fused::Activate(kAct, v, alpha);
  };
  if (inner == 1) {
    for (int64_t o = 0; o < outer; ++o) {
      float* y = out + o * channels;
      const float* r = kResidual ? residual + o * channels : nullptr;
      for (int64_t c = 0; c < channels; ++c) y[c] = apply(y[c], kBias ? bias[c] : 0.0f, kResidual ? r[c] : 0.0f);
    }
    return;
  }
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t c = 0; c < channels; ++c) {
      const int64_t base = (o * channels + c) * inner;
      float* y = out + base;
      const float* r = kResidual ? residual + base : nullptr;
      const float b = kBias ? bias[c] : 0.0f;
      for (int64_t i = 0; i < inner; ++i) y[i] = apply(y[i], b, kResidual ? r[i] : 0.0f);
    }
  }
}

template <ir::Activation kAct>
void EpilogueFor(const float* bias, const float* residual, float* out, int64_t outer, int64_t channels, int64_t inner,
                 float alpha) {
  if (bias && residual) return EpilogueLoop<kAct, true, true>(bias, residual, out, outer, channels, inner, alpha);
  if (bias) return EpilogueLoop<kAct, true, false>(bias, residual, out, outer, channels, inner, alpha);
  if (residual) return EpilogueLoop<kAct, false, true>(bias, residual, out, outer, channels, inner, alpha);
  EpilogueLoop<kAct, false, false>(bias, residual, out, outer, channels, inner, alpha);
}

void ApplyEpilogue(const ir::Epilogue& e, const float* bias, const float* residual, float* out, int64_t outer,
                   int64_t channels, int64_t inner) {
  using A = ir::Activation;
  const float alpha = e.leakyrelu_alpha;
  switch (e.activation) {
    case A::kNone:
      return EpilogueFor<A::kNone>(bias, residual, out, outer, channels, inner, alpha);
    case A::kRelu:
      return EpilogueFor<A::kRelu>(bias, residual, out, outer, channels, inner, alpha);
    case A::kRelu6:
      return EpilogueFor<A::kRelu6>(bias, residual, out, outer, channels, inner, alpha);
    case A::kElu:
      return EpilogueFor<A::kElu>(bias, residual, out, outer, channels, inner, alpha);
    case A::kSelu:
      return EpilogueFor<A::kSelu>(bias, residual, out, outer, channels, inner, alpha);
    case A::kLeakyRelu:
      return EpilogueFor<A::kLeakyRelu>(bias, residual, out, outer, channels, inner, alpha);
    case A::kSigmoid:
      return EpilogueFor<A::kSigmoid>(bias, residual, out, outer, channels, inner, alpha);
    case A::kTanh:
      return EpilogueFor<A::kTanh>(bias, residual, out, outer, channels, inner, alpha);
    case A::kGelu:
      return EpilogueFor<A::kGelu>(bias, residual, out, outer, channels, inner, alpha);
  }
}

// Runs the base op's registered kernel on inputs 0 and 1, as a node of the base op type.
StatusOr<Tensor> RunBaseOp(KernelContext& ctx, const std::string& base_op) {
  if (base_op == "MatMul") {
    KILN_ASSIGN_OR_RETURN(bool transpose_a, ctx.Attr<bool>("transpose_a"));
    KILN_ASSIGN_OR_RETURN(bool transpose_b, ctx.Attr<bool>("transpose_b"));
    if (ctx.input(0).rank() != 2 || ctx.input(1).rank() != 2) {
      return InvalidArgument("MatMul operands must be matrices, got " + ctx.input(0).DebugString() + " and " +
                             ctx.input(1).DebugString());
    }
    return nn::BatchMatMulTensors(ctx.input(0), ctx.input(1), transpose_a, transpose_b, false, ctx.node().op);
  }
  const runtime::KernelFn* kernel = runtime::KernelRegistry::Global().Find(base_op, DeviceType::kCPU);
  if (kernel == nullptr) return Internal("no CPU kernel for " + base_op);
  KernelContext base_ctx(ctx.node(), {&ctx.input(0), &ctx.input(1)});
  KILN_RETURN_IF_ERROR((*kernel)(base_ctx));
  return std::move(base_ctx.outputs()[0]);
}

Status FusedConvMatMul(KernelContext& ctx) {
  const std::string base_op = ir::EpilogueBaseOp(ctx.node().op);
  KILN_ASSIGN_OR_RETURN(ir::Epilogue e, ir::ParseEpilogue(ctx.attrs()));
  const int expected = 2 + (e.bias ? 1 : 0) + (e.residual ? 1 : 0);
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(expected, expected));
  for (int i = 0; i < expected; ++i) {
    if (ctx.input(i).dtype() != DType::kFloat32) {
      return InvalidArgument(ctx.node().op + " supports float32 only, input " + std::to_string(i) + " is " +
                             ctx.input(i).DebugString());
    }
  }
  KILN_ASSIGN_OR_RETURN(Tensor out, RunBaseOp(ctx, base_op));
  if (!e.empty()) {  // an epilogue moved past a max pool leaves nothing to do here
    KILN_ASSIGN_OR_RETURN(fused::EpilogueOperands p, fused::PlanEpilogue(ctx, e, out));
    fused::ApplyEpilogue(e, p, out.data<float>());
  }
  ctx.set_output(0, std::move(out));
  return OkStatus();
}

}  // namespace

namespace fused {

StatusOr<EpilogueOperands> PlanEpilogue(const KernelContext& ctx, const ir::Epilogue& e, const Tensor& out) {
  KILN_ASSIGN_OR_RETURN(int axis, ir::EpilogueChannelAxis(ctx.node().op, ctx.attrs(), out.rank()));
  EpilogueOperands p;
  p.channels = out.dim(axis);
  for (int i = 0; i < axis; ++i) p.outer *= out.dim(i);
  for (int i = axis + 1; i < out.rank(); ++i) p.inner *= out.dim(i);
  int next = 2;
  if (e.bias) {
    const Tensor& b = ctx.input(next++);
    if (b.rank() != 1 || b.dim(0) != p.channels) {
      return InvalidArgument("bias " + b.DebugString() + " does not match the " + std::to_string(p.channels) +
                             " channels of the output " + out.DebugString());
    }
    p.bias = &b;
  }
  if (e.residual) {
    const Tensor& r = ctx.input(next++);
    if (r.shape() != out.shape()) {
      return InvalidArgument("residual " + r.DebugString() + " does not have the output's shape " + out.DebugString());
    }
    p.residual = &r;
  }
  return p;
}

void ApplyEpilogue(const ir::Epilogue& e, const EpilogueOperands& p, float* out) {
  cpu::ApplyEpilogue(e, p.bias ? p.bias->data<float>() : nullptr, p.residual ? p.residual->data<float>() : nullptr,
                     out, p.outer, p.channels, p.inner);
}

Status ApplyPoolEpilogue(const KernelContext& ctx, int channel_axis, Tensor& out) {
  KILN_ASSIGN_OR_RETURN(ir::Epilogue e, ir::ParsePoolEpilogue(ctx.attrs(), ctx.num_inputs()));
  if (e.empty()) return OkStatus();
  if (out.dtype() != DType::kFloat32) {
    return InvalidArgument("a pool's epilogue computes floating-point values, not " + out.DebugString());
  }
  EpilogueOperands p;
  p.channels = out.dim(channel_axis);
  for (int i = 0; i < channel_axis; ++i) p.outer *= out.dim(i);
  for (int i = channel_axis + 1; i < out.rank(); ++i) p.inner *= out.dim(i);
  if (e.bias) {
    const Tensor& b = ctx.input(1);
    if (b.dtype() != DType::kFloat32 || b.rank() != 1 || b.dim(0) != p.channels) {
      return InvalidArgument("bias " + b.DebugString() + " is not a vector of the " + std::to_string(p.channels) +
                             " channels of the output " + out.DebugString() + " in its dtype");
    }
    p.bias = &b;
  }
  ApplyEpilogue(e, p, out.data<float>());
  return OkStatus();
}

}  // namespace fused

KILN_REGISTER_CPU_KERNEL("KilnFusedConv2D", FusedConvMatMul);
KILN_REGISTER_CPU_KERNEL("KilnFusedDepthwiseConv2D", FusedConvMatMul);
KILN_REGISTER_CPU_KERNEL("KilnFusedConv", FusedConvMatMul);
KILN_REGISTER_CPU_KERNEL("KilnFusedMatMul", FusedConvMatMul);
KILN_REGISTER_CPU_KERNEL("KilnFusedBatchMatMulV2", FusedConvMatMul);

}  // namespace kiln::kernels::cpu
