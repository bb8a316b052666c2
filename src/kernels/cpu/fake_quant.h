#pragma once
// Scalar rounding of reduced-precision emulation (the KilnFakeQuant op): float32 -> float16,
// bfloat16, int8 or FP8 E4M3FN and back to float32, exactly as a conversion on the device rounds.

#include <utility>

#include "runtime/kernel.h"

namespace kiln::kernels::cpu {

// x rounded to the nearest-even IEEE binary16 value (overflow gives +-inf, NaN stays NaN).
float RoundToHalf(float x);
// x rounded to the nearest-even bfloat16 value (float32's exponent range: overflow only past
// float32's own largest values); NaN stays NaN.
float RoundToBFloat16(float x);
// x rounded to the nearest-even E4M3FN value, saturating to +-448 (infinities included);
// NaN stays NaN and negative zero stays negative.
float RoundToE4M3(float x);
// clamp(round_half_to_even(x / scale), -128, 127) * scale; NaN quantizes to 0, as int8 holds no NaN.
float FakeQuantInt8(float x, float scale);
// RoundToE4M3(x / scale) * scale.
float FakeQuantE4M3(float x, float scale);

// TensorFlow's FakeQuantWithMinMax*: a (min, max) range nudged so that zero is exactly
// representable, and the level of real zero.
struct Nudged {
  float min = 0, max = 0, scale = 0, inv_scale = 0, quant_zero = 0;
  bool all_zero = false;  // min == max == 0: the output is zero (the Vars ops only)
};
Nudged Nudge(float min, float max, int quant_min, int quant_max);
// [quant_min, quant_max] from the num_bits and narrow_range attributes.
StatusOr<std::pair<int, int>> QuantRange(const runtime::KernelContext& ctx);

// ONNX QuantizeLinear / DequantizeLinear: maps element i of x (input 0) to the entry of its scale
// (input 1) and zero point (input 2): per tensor, per axis, or blocked along the axis.
enum class QuantLayoutKind { kPerTensor, kPerAxis, kBlocked };
struct QuantParamIndex {
  QuantLayoutKind layout = QuantLayoutKind::kPerTensor;
  int64_t axis_dim = 1, inner = 1, block_size = 1, blocks = 1;
};
// Validates scale and zero point (unless absent: an empty vector) against x; the names are the
// inputs' names in errors.
StatusOr<QuantParamIndex> MakeQuantParamIndex(const runtime::KernelContext& ctx, const char* scale_name,
                                              const char* zp_name);
// Whether an optional input was left out (an empty vector stands for it).
inline bool IsAbsentInput(const Tensor& t) { return t.rank() == 1 && t.dim(0) == 0; }

}  // namespace kiln::kernels::cpu
