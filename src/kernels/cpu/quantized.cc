// KilnQuantize and KilnQuantizedMatMul on the CPU (ir/ops/quantized_ops.h): the reference the GPU
// kernels are checked against. Integer products are exact in int32; FP8 products are exact in float32
// and summed there.
#include <cmath>
#include <vector>

#include "ir/ops/fused_ops.h"
#include "ir/ops/quantized_ops.h"
#include "kernels/cpu/fused_math.h"
#include "kernels/cpu/gemm.h"
#include "runtime/kernel.h"

namespace kiln::kernels::cpu {
namespace {

using runtime::KernelContext;

Status Quantize(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(1, 1));
  const Tensor& x = ctx.input(0);
  KILN_ASSIGN_OR_RETURN(DType dtype, ctx.Attr<DType>("dtype"));
  KILN_ASSIGN_OR_RETURN(std::vector<float> scale, ctx.Attr<std::vector<float>>("scale"));
  KILN_ASSIGN_OR_RETURN(int64_t axis, ctx.Attr<int64_t>("axis"));
  if (!IsFloating(x.dtype()) || !ir::IsQuantizedDType(dtype) || scale.empty()) {
    return InvalidArgument("KilnQuantize takes a floating-point tensor to int8 or float8_e4m3fn with scales, got " +
                           x.DebugString() + " to " + std::string(DTypeName(dtype)));
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
  const std::vector<float> values = x.ToFloatVector();
  Tensor& y = ctx.allocate_output(0, dtype, x.shape());
  for (int64_t i = 0; i < x.num_elements(); ++i) {
    const float s = scale[static_cast<size_t>((i / inner) % channels)];
    if (dtype == DType::kInt8) {
      y.data<int8_t>()[i] = ir::QuantizeToInt8(values[i], s);
    } else {
      y.data<Float8E4M3>()[i] = FloatToFloat8E4M3(values[i] / s);
    }
  }
  return OkStatus();
}

// a [m, k] times b ([k, n], or [n, k] transposed), unscaled, in float32: int8 through an exact
// int32 product, FP8 through float32.
std::vector<float> Product(const Tensor& a, const Tensor& b, bool transpose_b, int64_t m, int64_t k, int64_t n) {
  std::vector<float> out(static_cast<size_t>(m * n));
  if (a.dtype() == DType::kInt8) {
    const std::vector<int32_t> a32(a.data<int8_t>(), a.data<int8_t>() + a.num_elements());
    const std::vector<int32_t> b32(b.data<int8_t>(), b.data<int8_t>() + b.num_elements());
    std::vector<int32_t> acc(out.size());
    nn::Gemm<int32_t>(false, transpose_b, m, n, k, a32.data(), k, b32.data(), transpose_b ? k : n, acc.data(), n);
    for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<float>(acc[i]);
  } else {
    const std::vector<float> af = a.ToFloatVector(), bf = b.ToFloatVector();
    nn::Gemm<float>(false, transpose_b, m, n, k, af.data(), k, bf.data(), transpose_b ? k : n, out.data(), n);
  }
  return out;
}

Status QuantizedMatMul(KernelContext& ctx) {
  KILN_ASSIGN_OR_RETURN(ir::Epilogue e, ir::ParseEpilogue(ctx.attrs()));
  const int expected = 2 + (e.bias ? 1 : 0) + (e.residual ? 1 : 0);
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(expected, expected));
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  KILN_ASSIGN_OR_RETURN(bool transpose_b, ctx.Attr<bool>("transpose_b"));
  KILN_ASSIGN_OR_RETURN(float a_scale, ctx.Attr<float>("a_scale"));
  KILN_ASSIGN_OR_RETURN(std::vector<float> b_scales, ctx.Attr<std::vector<float>>("b_scales"));
  if (!ir::IsQuantizedDType(a.dtype()) || b.dtype() != a.dtype() || a.rank() < 2 || b.rank() != 2) {
    return InvalidArgument("KilnQuantizedMatMul multiplies int8 or float8_e4m3fn a [..., K] by b [K, N], got " +
                           a.DebugString() + " and " + b.DebugString());
  }
  for (int i = 2; i < expected; ++i) {
    if (ctx.input(i).dtype() != DType::kFloat32) {
      return InvalidArgument("KilnQuantizedMatMul on the CPU computes float32; input " + std::to_string(i) + " is " +
                             ctx.input(i).DebugString());
    }
  }
  const int64_t k = a.dim(a.rank() - 1), m = a.num_elements() / std::max<int64_t>(k, 1);
  const int64_t n = b.dim(transpose_b ? 0 : 1);
  if (b.dim(transpose_b ? 1 : 0) != k) {
    return InvalidArgument("a " + a.DebugString() + " and b " + b.DebugString() +
                           " do not share their inner dimension");
  }
  if (b_scales.size() != 1 && static_cast<int64_t>(b_scales.size()) != n) {
    return InvalidArgument("b_scales has " + std::to_string(b_scales.size()) + " values for " + std::to_string(n) +
                           " output channels");
  }
  Shape shape = a.shape();
  shape.back() = n;
  Tensor out(DType::kFloat32, shape);
  const std::vector<float> acc = k > 0 ? Product(a, b, transpose_b, m, k, n) : std::vector<float>(m * n, 0.0f);
  float* y = out.data<float>();
  for (int64_t i = 0; i < m * n; ++i) y[i] = acc[i] * (a_scale * b_scales[b_scales.size() == 1 ? 0 : i % n]);
  KILN_ASSIGN_OR_RETURN(fused::EpilogueOperands p, fused::PlanEpilogue(ctx, e, out));
  fused::ApplyEpilogue(e, p, y);
  ctx.set_output(0, std::move(out));
  return OkStatus();
}

}  // namespace

KILN_REGISTER_CPU_KERNEL("KilnQuantize", Quantize);
KILN_REGISTER_CPU_KERNEL("KilnQuantizedMatMul", QuantizedMatMul);

}  // namespace kiln::kernels::cpu
