#pragma once
// The checked operands of KilnQuantize and KilnQuantizedMatMul (ir/ops/quantized_ops.h), shared by
// their CPU and GPU kernels.

#include <vector>

#include "ir/ops/fused_ops.h"
#include "runtime/kernel.h"

namespace kiln::kernels::cpu {

// KilnQuantize: the target type and element i's scale, scales[(i / inner) % channels].
struct QuantizePlan {
  DType dtype = DType::kInvalid;
  std::vector<float> scales;
  int64_t channels = 1, inner = 1;
};
StatusOr<QuantizePlan> PlanQuantize(const runtime::KernelContext& ctx);

// KilnQuantizedMatMul: a viewed as [m, k], b [k, n] or [n, k] (transpose_b), the output's shape and
// dtype, the scales and the epilogue.
struct QuantizedMatMulPlan {
  int64_t m = 0, k = 0, n = 0;
  bool transpose_b = false;
  float a_scale = 1;
  std::vector<float> b_scales;  // n values, or one
  Shape out_shape;
  DType out_dtype = DType::kFloat32;
  ir::Epilogue epilogue;
};
StatusOr<QuantizedMatMulPlan> PlanQuantizedMatMul(const runtime::KernelContext& ctx);

}  // namespace kiln::kernels::cpu
