// KilnLayerNorm (src/ir/ops/fused_ops.h): each row's mean and variance in double, as two passes
// over the row, then one pass that normalizes, scales and offsets it.
#include <cmath>

#include "ir/ops/fused_ops.h"
#include "kernels/cpu/fused_math.h"

namespace kiln::kernels::cpu {
namespace fused {

StatusOr<LayerNormPlan> PlanLayerNorm(const runtime::KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(3, 3));
  for (int i = 1; i < 3; ++i) {
    if (ctx.input(i).dtype() != ctx.input(0).dtype()) {
      return InvalidArgument(ctx.node().op + " input " + std::to_string(i) + " is " + ctx.input(i).DebugString() +
                             ", not of input 0's dtype " + std::string(DTypeName(ctx.input(0).dtype())));
    }
  }
  const Tensor& x = ctx.input(0);
  KILN_ASSIGN_OR_RETURN(int64_t axis, ctx.Attr<int64_t>("axis"));
  if (axis < 0 || axis >= x.rank()) {
    return InvalidArgument("axis " + std::to_string(axis) + " is outside input " + x.DebugString());
  }
  LayerNormPlan p;
  KILN_ASSIGN_OR_RETURN(p.epsilon, ctx.Attr<float>("epsilon"));
  const Shape normalized(x.shape().begin() + axis, x.shape().end());
  p.cols = NumElements(normalized);
  p.rows = p.cols == 0 ? 0 : x.num_elements() / p.cols;
  for (int i = 1; i < 3; ++i) {
    Shape s = ctx.input(i).shape();
    while (s.size() > normalized.size() && s.front() == 1) s.erase(s.begin());
    if (s != normalized) {
      return InvalidArgument(std::string(i == 1 ? "scale " : "offset ") + ctx.input(i).DebugString() +
                             " must have the normalized dims' shape " + ShapeToString(normalized));
    }
  }
  return p;
}

}  // namespace fused

namespace {

Status LayerNorm(runtime::KernelContext& ctx) {
  KILN_ASSIGN_OR_RETURN(fused::LayerNormPlan p, fused::PlanLayerNorm(ctx));
  const Tensor& x = ctx.input(0);
  if (x.dtype() != DType::kFloat32) {
    return InvalidArgument(ctx.node().op + " on the CPU supports float32 only, got " + x.DebugString());
  }
  KILN_ASSIGN_OR_RETURN(Tensor * out, ctx.AllocateOutput(0, DType::kFloat32, x.shape()));
  const float *in = x.data<float>(), *scale = ctx.input(1).data<float>(), *offset = ctx.input(2).data<float>();
  float* y = out->data<float>();
  const int64_t cols = p.cols;
  for (int64_t r = 0; r < p.rows; ++r) {
    const float* row = in + r * cols;
    double sum = 0.0;
    for (int64_t c = 0; c < cols; ++c) sum += row[c];
    const float mean = static_cast<float>(sum / static_cast<double>(cols));
    double squares = 0.0;
    for (int64_t c = 0; c < cols; ++c) {
      const float d = row[c] - mean;
      squares += static_cast<double>(d) * d;
    }
    const float variance = static_cast<float>(squares / static_cast<double>(cols));
    const float inv_std = 1.0f / std::sqrt(variance + p.epsilon);
    float* dst = y + r * cols;
    for (int64_t c = 0; c < cols; ++c) dst[c] = (row[c] - mean) * inv_std * scale[c] + offset[c];
  }
  return OkStatus();
}

}  // namespace

KILN_REGISTER_CPU_KERNEL(ir::kLayerNormOp, LayerNorm);

}  // namespace kiln::kernels::cpu
