// QuantizeLinear and DequantizeLinear with ONNX's semantics, per tensor, per axis or blocked:
//   y = saturate(round_half_to_even(x / scale) + zero_point),  y = (x - zero_point) * scale.
// x / scale has y_scale's precision (float32, or a float32 quotient rounded to float16/bfloat16);
// dequantization is computed exactly and rounded to float32, then to the output dtype.
#include <algorithm>
#include <cmath>
#include <limits>

#include "ir/ops/onnx_shape_rules.h"
#include "kernels/cpu/fake_quant.h"
#include "kernels/cpu/kernel_util.h"
#include "runtime/kernel.h"

namespace kiln::kernels::cpu {
namespace {

using runtime::KernelContext;

bool IsAbsent(const Tensor& t) { return IsAbsentInput(t); }

// Maps each element of x to the entry of its scale / zero point.
struct ParamIndex : QuantParamIndex {
  int64_t operator()(int64_t i) const {
    if (layout == QuantLayoutKind::kPerTensor) return 0;
    const int64_t a = (i / inner) % axis_dim;
    if (layout == QuantLayoutKind::kPerAxis) return a;
    const int64_t o = i / (inner * axis_dim);
    return (o * blocks + a / block_size) * inner + i % inner;
  }
};

StatusOr<ParamIndex> MakeParamIndex(const KernelContext& ctx, const char* scale_name, const char* zp_name) {
  KILN_ASSIGN_OR_RETURN(QuantParamIndex p, MakeQuantParamIndex(ctx, scale_name, zp_name));
  return ParamIndex{p};
}

// Values of an integer tensor (zero point or x) as int64; an absent zero point reads as zeros.
StatusOr<std::vector<int64_t>> IntValues(const Tensor& t, size_t absent_size) {
  if (IsAbsent(t)) return std::vector<int64_t>(absent_size, 0);
  return t.ToInt64Vector();
}

template <typename Q>
void WriteQuantized(Tensor& y, const std::vector<double>& q, const std::vector<int64_t>& zp, const ParamIndex& index) {
  const double lo = static_cast<double>(std::numeric_limits<Q>::lowest());
  const double hi = static_cast<double>(std::numeric_limits<Q>::max());
  Q* out = y.data<Q>();
  for (size_t i = 0; i < q.size(); ++i) {
    const double z = static_cast<double>(zp[index(static_cast<int64_t>(i))]);
    const double v = std::isnan(q[i]) ? z : std::nearbyint(q[i]) + z;
    out[i] = static_cast<Q>(std::clamp(v, lo, hi));
  }
}

Status QuantizeLinearKernel(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(3, 3));
  const Tensor& x = ctx.input(0);
  const Tensor& zp = ctx.input(2);
  KILN_ASSIGN_OR_RETURN(ParamIndex index, MakeParamIndex(ctx, "y_scale", "y_zero_point"));
  KILN_ASSIGN_OR_RETURN(DType out, ctx.Attr<DType>("output_dtype"));
  if (!IsAbsent(zp)) {
    if (out != DType::kInvalid && out != zp.dtype()) {
      return InvalidArgument("output_dtype " + std::string(DTypeName(out)) + " differs from y_zero_point's dtype " +
                             std::string(DTypeName(zp.dtype())));
    }
    out = zp.dtype();
  } else if (out == DType::kInvalid) {
    out = DType::kUInt8;
  }
  const std::vector<float> scale = ctx.input(1).ToFloatVector();
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> zero, IntValues(zp, scale.size()));
  std::vector<double> q(x.num_elements());
  if (x.dtype() == DType::kFloat64) {
    for (size_t i = 0; i < q.size(); ++i) q[i] = x.data<double>()[i] / static_cast<double>(scale[index(i)]);
  } else if (IsFloating(x.dtype()) || x.dtype() == DType::kInt32) {
    const Tensor xf =
        x.dtype() == DType::kInt32 ? Tensor::FromVector<float>(x.shape(), x.ToFloatVector()) : ToFloat32(x);
    Tensor quotient(DType::kFloat32, x.shape());
    for (size_t i = 0; i < q.size(); ++i) quotient.data<float>()[i] = xf.data<float>()[i] / scale[index(i)];
    // The division has y_scale's precision: a float16 scale rounds the quotient to float16.
    const Tensor rounded = ToFloat32(FromFloat32(quotient, ctx.input(1).dtype()));
    for (size_t i = 0; i < q.size(); ++i) q[i] = rounded.data<float>()[i];
  } else {
    return InvalidArgument("x must be floating point or int32, got " + x.DebugString());
  }
  Tensor& y = ctx.allocate_output(0, out, x.shape());
  switch (out) {
    case DType::kInt8:
      WriteQuantized<int8_t>(y, q, zero, index);
      break;
    case DType::kUInt8:
      WriteQuantized<uint8_t>(y, q, zero, index);
      break;
    case DType::kInt16:
      WriteQuantized<int16_t>(y, q, zero, index);
      break;
    case DType::kUInt16:
      WriteQuantized<uint16_t>(y, q, zero, index);
      break;
    default:
      return Unimplemented("QuantizeLinear to " + std::string(DTypeName(out)) +
                           " is not supported (int8, uint8, int16 or uint16)");
  }
  return OkStatus();
}

Status DequantizeLinearKernel(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(3, 3));
  const Tensor& x = ctx.input(0);
  const Tensor& zp = ctx.input(2);
  const DType xt = x.dtype();
  if (xt != DType::kInt8 && xt != DType::kUInt8 && xt != DType::kInt16 && xt != DType::kUInt16 && xt != DType::kInt32) {
    return Unimplemented("DequantizeLinear of " + std::string(DTypeName(xt)) +
                         " is not supported (int8, uint8, int16, uint16 or int32)");
  }
  if (!IsAbsent(zp) && zp.dtype() != xt) {
    return InvalidArgument("x_zero_point has dtype " + std::string(DTypeName(zp.dtype())) + " but x has " +
                           std::string(DTypeName(xt)));
  }
  KILN_ASSIGN_OR_RETURN(ParamIndex index, MakeParamIndex(ctx, "x_scale", "x_zero_point"));
  KILN_ASSIGN_OR_RETURN(DType out, ctx.Attr<DType>("output_dtype"));
  if (out == DType::kInvalid) out = ctx.input(1).dtype();
  if (!IsFloating(out))
    return InvalidArgument("output_dtype must be floating point, got " + std::string(DTypeName(out)));
  const std::vector<float> scale = ctx.input(1).ToFloatVector();
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> zero, IntValues(zp, scale.size()));
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> xv, x.ToInt64Vector());
  Tensor y(out == DType::kFloat64 ? DType::kFloat64 : DType::kFloat32, x.shape());
  for (size_t i = 0; i < xv.size(); ++i) {
    const int64_t p = index(static_cast<int64_t>(i));
    // int32 x is widened to float32 first, as the reference does.
    const double xd = xt == DType::kInt32 ? static_cast<double>(static_cast<float>(xv[i])) : static_cast<double>(xv[i]);
    const double v = (xd - static_cast<double>(zero[p])) * static_cast<double>(scale[p]);
    if (out == DType::kFloat64) {
      y.data<double>()[i] = v;
    } else {
      y.data<float>()[i] = static_cast<float>(v);
    }
  }
  ctx.set_output(0, FromFloat32(y, out));
  return OkStatus();
}

}  // namespace

StatusOr<QuantParamIndex> MakeQuantParamIndex(const KernelContext& ctx, const char* scale_name, const char* zp_name) {
  const Tensor& x = ctx.input(0);
  const Tensor& scale = ctx.input(1);
  const Tensor& zp = ctx.input(2);
  KILN_ASSIGN_OR_RETURN(int64_t axis, ctx.Attr<int64_t>("axis"));
  KILN_ASSIGN_OR_RETURN(int64_t block_size, ctx.Attr<int64_t>("block_size"));
  if (!IsFloating(scale.dtype())) {
    return InvalidArgument(std::string(scale_name) + " must be floating point, got " + scale.DebugString());
  }
  const PartialShape xs = PartialShape::Known(x.shape());
  KILN_ASSIGN_OR_RETURN(ir::QuantLayout layout,
                        ir::CheckQuantParam(xs, PartialShape::Known(scale.shape()), axis, block_size, scale_name));
  if (!IsAbsentInput(zp)) {
    KILN_RETURN_IF_ERROR(ir::CheckQuantParam(xs, PartialShape::Known(zp.shape()), axis, block_size, zp_name).status());
    if (zp.shape() != scale.shape()) {
      return InvalidArgument(std::string(zp_name) + " " + zp.DebugString() + " must have the shape of " + scale_name +
                             " " + scale.DebugString());
    }
  }
  QuantParamIndex p;
  if (layout == ir::QuantLayout::kPerTensor) return p;
  p.layout = layout == ir::QuantLayout::kPerAxis ? QuantLayoutKind::kPerAxis : QuantLayoutKind::kBlocked;
  const int a = static_cast<int>(axis < 0 ? axis + x.rank() : axis);
  p.axis_dim = x.dim(a);
  for (int d = a + 1; d < x.rank(); ++d) p.inner *= x.dim(d);
  if (p.layout == QuantLayoutKind::kBlocked) {
    p.block_size = block_size;
    p.blocks = scale.dim(a);
  }
  return p;
}

KILN_REGISTER_CPU_KERNEL("QuantizeLinear", QuantizeLinearKernel);
KILN_REGISTER_CPU_KERNEL("DequantizeLinear", DequantizeLinearKernel);

}  // namespace kiln::kernels::cpu
