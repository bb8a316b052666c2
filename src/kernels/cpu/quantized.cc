// KilnQuantize and KilnQuantizedMatMul on the CPU (ir/ops/quantized_ops.h): the reference the GPU
// kernels are checked against. Integer products are exact in int32; FP8 products are exact in float32
// and summed there.
#include "kernels/cpu/quantized.h"

#include <cmath>
#include <vector>

#include "ir/ops/quantized_ops.h"
#include "kernels/cpu/fused_math.h"
#include "kernels/cpu/gemm.h"

namespace kiln::kernels::cpu {
namespace {

using runtime::KernelContext;

Status Quantize(KernelContext& ctx) {
  KILN_ASSIGN_OR_RETURN(QuantizePlan p, PlanQuantize(ctx));
  const Tensor& x = ctx.input(0);
  const DType dtype = p.dtype;
  const std::vector<float> values = x.ToFloatVector();
  Tensor& y = ctx.allocate_output(0, dtype, x.shape());
  for (int64_t i = 0; i < x.num_elements(); ++i) {
    const float s = p.scales[static_cast<size_t>((i / p.inner) % p.channels)];
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
  KILN_ASSIGN_OR_RETURN(QuantizedMatMulPlan q, PlanQuantizedMatMul(ctx));
  for (int i = 2; i < ctx.num_inputs(); ++i) {
    if (ctx.input(i).dtype() != DType::kFloat32) {
      return InvalidArgument("KilnQuantizedMatMul on the CPU computes float32; input " + std::to_string(i) + " is " +
                             ctx.input(i).DebugString());
    }
  }
  const int64_t m = q.m, k = q.k, n = q.n;
  const std::vector<float>& b_scales = q.b_scales;
  const Shape& shape = q.out_shape;
  Tensor out(DType::kFloat32, shape);
  const std::vector<float> acc =
      k > 0 ? Product(ctx.input(0), ctx.input(1), q.transpose_b, m, k, n) : std::vector<float>(m * n, 0.0f);
  float* y = out.data<float>();
  for (int64_t i = 0; i < m * n; ++i) y[i] = acc[i] * (q.a_scale * b_scales[b_scales.size() == 1 ? 0 : i % n]);
  KILN_ASSIGN_OR_RETURN(fused::EpilogueOperands p, fused::PlanEpilogue(ctx, q.epilogue, out));
  fused::ApplyEpilogue(q.epilogue, p, y);
  ctx.set_output(0, std::move(out));
  return OkStatus();
}

}  // namespace

StatusOr<QuantizePlan> PlanQuantize(const KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(1, 1));
  const Tensor& x = ctx.input(0);
  QuantizePlan p;
  KILN_ASSIGN_OR_RETURN(p.dtype, ctx.Attr<DType>("dtype"));
  KILN_ASSIGN_OR_RETURN(p.scales, ctx.Attr<std::vector<float>>("scale"));
  KILN_ASSIGN_OR_RETURN(int64_t axis, ctx.Attr<int64_t>("axis"));
  if (!IsFloating(x.dtype()) || !ir::IsQuantizedDType(p.dtype) || p.scales.empty()) {
    return InvalidArgument("KilnQuantize takes a floating-point tensor to int8 or float8_e4m3fn with scales, got " +
                           x.DebugString() + " to " + std::string(DTypeName(p.dtype)));
  }
  if (p.scales.size() > 1) {
    const int a = static_cast<int>(axis < 0 ? axis + x.rank() : axis);
    if (a < 0 || a >= x.rank() || x.dim(a) != static_cast<int64_t>(p.scales.size())) {
      return InvalidArgument("scale has " + std::to_string(p.scales.size()) + " values for axis " +
                             std::to_string(axis) + " of " + x.DebugString());
    }
    p.channels = x.dim(a);
    for (int d = a + 1; d < x.rank(); ++d) p.inner *= x.dim(d);
  }
  return p;
}

StatusOr<QuantizedMatMulPlan> PlanQuantizedMatMul(const KernelContext& ctx) {
  QuantizedMatMulPlan q;
  KILN_ASSIGN_OR_RETURN(q.epilogue, ir::ParseEpilogue(ctx.attrs()));
  const int expected = 2 + (q.epilogue.bias ? 1 : 0) + (q.epilogue.residual ? 1 : 0);
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(expected, expected));
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  KILN_ASSIGN_OR_RETURN(q.out_dtype, ctx.Attr<DType>("T"));
  KILN_ASSIGN_OR_RETURN(q.transpose_b, ctx.Attr<bool>("transpose_b"));
  KILN_ASSIGN_OR_RETURN(q.a_scale, ctx.Attr<float>("a_scale"));
  KILN_ASSIGN_OR_RETURN(q.b_scales, ctx.Attr<std::vector<float>>("b_scales"));
  if (!ir::IsQuantizedDType(a.dtype()) || b.dtype() != a.dtype() || a.rank() < 2 || b.rank() != 2) {
    return InvalidArgument("KilnQuantizedMatMul multiplies int8 or float8_e4m3fn a [..., K] by b [K, N], got " +
                           a.DebugString() + " and " + b.DebugString());
  }
  q.k = a.dim(a.rank() - 1);
  q.m = a.num_elements() / std::max<int64_t>(q.k, 1);
  q.n = b.dim(q.transpose_b ? 0 : 1);
  if (b.dim(q.transpose_b ? 1 : 0) != q.k) {
    return InvalidArgument("a " + a.DebugString() + " and b " + b.DebugString() +
                           " do not share their inner dimension");
  }
  if (q.b_scales.size() != 1 && static_cast<int64_t>(q.b_scales.size()) != q.n) {
    return InvalidArgument("b_scales has " + std::to_string(q.b_scales.size()) + " values for " +
                           std::to_string(q.n) + " output channels");
  }
  q.out_shape = a.shape();
  q.out_shape.back() = q.n;
  return q;
}

KILN_REGISTER_CPU_KERNEL("KilnQuantize", Quantize);
KILN_REGISTER_CPU_KERNEL("KilnQuantizedMatMul", QuantizedMatMul);

}  // namespace kiln::kernels::cpu
