#pragma once
// The ops of INT8 and FP8 engines that compute in those precisions (passes/precision.h lowers a
// quantized layer into them):
//  - KilnQuantize: x (float32, float16 or bfloat16) -> attr dtype (int8 or float8_e4m3fn), same
//    shape: y = saturate(round_half_even(x / scale)); `scale` holds one value per tensor, or one
//    per channel along `axis`. int8 saturates to [-128, 127], FP8 to +-448; NaN quantizes to int8 0.
//  - KilnQuantizedMatMul: a [..., K] and b [K, N] (or [N, K] with transpose_b), both of one
//    quantized dtype (int8 or float8_e4m3fn); then the bias [N] when fused_ops has "BiasAdd", the
//    residual (the output's shape) when it has "Add", both of dtype T; fused_ops ends with the
//    activation, as for the KilnFused* ops (ir/ops/fused_ops.h). Output T [..., N]:
//      y = act(a_scale * b_scales[n] * sum_k a[.., k] b[k, n] + bias[n] + residual[.., n]),
//    the sum exact in int32 for int8 and in float32 for FP8; b_scales holds N values or one.

#include <string>
#include <vector>

#include "ir/attr.h"
#include "kiln/dtype.h"
#include "kiln/status.h"
#include "kiln/tensor.h"

namespace kiln::ir {

inline constexpr char kQuantizeOp[] = "KilnQuantize";
inline constexpr char kQuantizedMatMulOp[] = "KilnQuantizedMatMul";

// int8 or float8_e4m3fn.
bool IsQuantizedDType(DType d);

// x / scale rounded half to even and saturated to [-128, 127]; NaN quantizes to 0.
int8_t QuantizeToInt8(float x, float scale);

// Checks quantization scales for an input shaped `x`: positive finite values, one per tensor or one
// per channel along `axis` (KilnQuantize and KilnFakeQuant share these rules). Empty is an error.
Status CheckQuantizationScales(const std::vector<float>& scale, int64_t axis, const PartialShape& x);

}  // namespace kiln::ir
