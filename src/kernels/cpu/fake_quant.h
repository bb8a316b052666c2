#pragma once
// Scalar rounding of reduced-precision emulation (the KilnFakeQuant op): float32 -> float16, int8
// or FP8 E4M3FN and back to float32, exactly as a conversion on the device rounds.

namespace kiln::kernels::cpu {

// x rounded to the nearest-even IEEE binary16 value (overflow gives +-inf, NaN stays NaN).
float RoundToHalf(float x);
// x rounded to the nearest-even E4M3FN value, saturating to +-448 (infinities included);
// NaN stays NaN and negative zero stays negative.
float RoundToE4M3(float x);
// clamp(round_half_to_even(x / scale), -128, 127) * scale; NaN quantizes to 0, as int8 holds no NaN.
float FakeQuantInt8(float x, float scale);
// RoundToE4M3(x / scale) * scale.
float FakeQuantE4M3(float x, float scale);

}  // namespace kiln::kernels::cpu
