// KilnQuantize and KilnQuantizedMatMul (ir/ops/quantized_ops.h): their attributes and shapes.
#include "ir/ops/quantized_ops.h"

#include <cmath>

#include "ir/op_registry.h"
#include "ir/ops/fused_ops.h"
#include "ir/shape_fns.h"

namespace kiln::ir {
namespace {

bool IsFloatStorage(DType d) { return d == DType::kFloat32 || d == DType::kFloat16 || d == DType::kBFloat16; }

Status CheckScales(const std::vector<float>& scales, const std::string& name) {
  if (scales.empty()) return InvalidArgument(name + " must not be empty");
  for (float s : scales) {
    if (!(s > 0.0f) || !std::isfinite(s)) {
      return InvalidArgument(name + " must hold positive finite values, got " + std::to_string(s));
    }
  }
  return OkStatus();
}

Status QuantizeShape(InferenceContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(1, 1));
  if (!IsFloatStorage(ctx.input_dtype(0))) {
    return InvalidArgument("KilnQuantize takes float32, float16 or bfloat16, got " +
                           std::string(DTypeName(ctx.input_dtype(0))));
  }
  KILN_ASSIGN_OR_RETURN(DType dtype, ctx.Attr<DType>("dtype"));
  if (!IsQuantizedDType(dtype)) {
    return InvalidArgument("KilnQuantize makes int8 or float8_e4m3fn, not " + std::string(DTypeName(dtype)));
  }
  KILN_ASSIGN_OR_RETURN(std::vector<float> scale, ctx.Attr<std::vector<float>>("scale"));
  KILN_ASSIGN_OR_RETURN(int64_t axis, ctx.Attr<int64_t>("axis"));
  KILN_RETURN_IF_ERROR(CheckQuantizationScales(scale, axis, ctx.input_shape(0)));
  ctx.set_output(0, dtype, ctx.input_shape(0));
  return OkStatus();
}

Status QuantizedMatMulShape(InferenceContext& ctx) {
  KILN_ASSIGN_OR_RETURN(Epilogue e, ParseEpilogue(ctx.attrs()));
  const int expected = 2 + (e.bias ? 1 : 0) + (e.residual ? 1 : 0);
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(expected, expected));
  const DType q = ctx.input_dtype(0);
  if (!IsQuantizedDType(q) || ctx.input_dtype(1) != q) {
    return InvalidArgument("KilnQuantizedMatMul multiplies two int8 or two float8_e4m3fn operands, got " +
                           std::string(DTypeName(q)) + " and " + std::string(DTypeName(ctx.input_dtype(1))));
  }
  KILN_ASSIGN_OR_RETURN(DType t, ctx.Attr<DType>("T"));
  if (!IsFloatStorage(t)) {
    return InvalidArgument("KilnQuantizedMatMul computes float32, float16 or bfloat16, not " +
                           std::string(DTypeName(t)));
  }
  KILN_ASSIGN_OR_RETURN(float a_scale, ctx.Attr<float>("a_scale"));
  KILN_RETURN_IF_ERROR(CheckScales({a_scale}, "a_scale"));
  KILN_ASSIGN_OR_RETURN(std::vector<float> b_scales, ctx.Attr<std::vector<float>>("b_scales"));
  KILN_RETURN_IF_ERROR(CheckScales(b_scales, "b_scales"));
  KILN_ASSIGN_OR_RETURN(bool transpose_b, ctx.Attr<bool>("transpose_b"));
  const PartialShape& a = ctx.input_shape(0);
  const PartialShape& b = ctx.input_shape(1);
  if (!b.rank_known || b.rank() != 2) return InvalidArgument("b must be a matrix, got " + b.ToString());
  if (a.rank_known && a.rank() < 2) return InvalidArgument("a must have rank 2 or more, got " + a.ToString());
  const int64_t k = b.dims[transpose_b ? 1 : 0], n = b.dims[transpose_b ? 0 : 1];
  if (a.rank_known && a.dims.back() >= 0 && k >= 0 && a.dims.back() != k) {
    return InvalidArgument("a " + a.ToString() + " and b " + b.ToString() + " do not share their inner dimension");
  }
  if (b_scales.size() != 1 && n >= 0 && static_cast<int64_t>(b_scales.size()) != n) {
    return InvalidArgument("b_scales has " + std::to_string(b_scales.size()) + " values for " + std::to_string(n) +
                           " output channels");
  }
  PartialShape out = a;
  if (out.rank_known) out.dims.back() = n;
  int next = 2;
  if (e.bias) {
    const PartialShape& bias = ctx.input_shape(next);
    if (ctx.input_dtype(next) != t) return InvalidArgument("the bias must be " + std::string(DTypeName(t)));
    if (bias.rank_known && (bias.rank() != 1 || (bias.dims[0] >= 0 && n >= 0 && bias.dims[0] != n))) {
      return InvalidArgument("the bias " + bias.ToString() + " must be a vector of the " + std::to_string(n) +
                             " output channels");
    }
    ++next;
  }
  if (e.residual) {
    if (ctx.input_dtype(next) != t) return InvalidArgument("the residual must be " + std::string(DTypeName(t)));
    const PartialShape& res = ctx.input_shape(next);
    if (res.rank_known && out.rank_known) {
      bool same = res.rank() == out.rank();
      for (int i = 0; same && i < res.rank(); ++i) {
        same = res.dims[i] < 0 || out.dims[i] < 0 || res.dims[i] == out.dims[i];
      }
      if (!same) {
        return InvalidArgument("residual " + res.ToString() + " does not have the output's shape " + out.ToString());
      }
    }
  }
  ctx.set_output(0, t, out);
  return OkStatus();
}

}  // namespace

bool IsQuantizedDType(DType d) { return d == DType::kInt8 || d == DType::kFloat8E4M3FN; }

Status CheckQuantizationScales(const std::vector<float>& scale, int64_t axis, const PartialShape& x) {
  KILN_RETURN_IF_ERROR(CheckScales(scale, "scale"));
  if (scale.size() > 1 && x.rank_known) {
    KILN_ASSIGN_OR_RETURN(int a, NormalizeAxis(axis, x.rank()));
    if (x.dims[a] >= 0 && x.dims[a] != static_cast<int64_t>(scale.size())) {
      return InvalidArgument("scale has " + std::to_string(scale.size()) + " values; input " + x.ToString() +
                             " has " + std::to_string(x.dims[a]) + " channels along axis " + std::to_string(a));
    }
  }
  return OkStatus();
}

int8_t QuantizeToInt8(float x, float scale) {
  const float v = x / scale;
  if (std::isnan(v)) return 0;
  return static_cast<int8_t>(std::fmin(std::fmax(std::nearbyint(v), -128.0f), 127.0f));
}

KILN_REGISTER_OP(OpDefBuilder(kQuantizeOp)
                     .Attr("dtype")
                     .Attr("scale")
                     .Attr("axis", int64_t{-1})
                     .Output("y")
                     .Shape(QuantizeShape));
KILN_REGISTER_OP(OpDefBuilder(kQuantizedMatMulOp)
                     .Attr("T", DType::kFloat32)
                     .Attr("transpose_b", false)
                     .Attr("a_scale")
                     .Attr("b_scales")
                     .Attr("fused_ops", std::vector<std::string>{})
                     .Attr("leakyrelu_alpha", 0.2f)
                     .Output("output")
                     .Shape(QuantizedMatMulShape));

}  // namespace kiln::ir
