#pragma once
// Launchers of the quantization kernels: KilnFakeQuant (float16, int8, FP8 E4M3 round trips),
// TensorFlow's FakeQuantWithMinMax* and ONNX's QuantizeLinear / DequantizeLinear.

#include <cuda_runtime.h>

#include <cstdint>

#include "kiln/dtype.h"

namespace kiln::cuda {

enum class FakeQuantMode : uint8_t { kFp16, kBf16, kInt8, kE4M3 };

// y = fake_quant(x) with scale[(i / inner) % channels] (one scale: channels = 1); scales on the device.
cudaError_t LaunchKilnFakeQuant(FakeQuantMode mode, const float* x, float* y, int64_t n, const float* scales,
                                int64_t channels, int64_t inner, cudaStream_t stream);

// One (min, max) pair of TensorFlow's fake quantization, nudged so that zero is exact.
struct NudgedRange {
  float min = 0, max = 0, scale = 0, inv_scale = 0, quant_zero = 0;
  bool all_zero = false;  // min == max == 0: zeros
  bool divide = false;    // the Vars op divides by the scale; the others multiply by its inverse
};
// y[i] = fake_quant(x[i]) with ranges[i % channels]; ranges on the device.
cudaError_t LaunchTfFakeQuant(const float* x, float* y, int64_t n, const NudgedRange* ranges, int64_t channels,
                              cudaStream_t stream);

// Maps element i of x to its scale / zero point entry (per tensor, per axis or blocked).
struct QuantIndex {
  int layout = 0;  // 0 per tensor, 1 per axis, 2 blocked
  int64_t axis_dim = 1, inner = 1, block_size = 1, blocks = 1;
};

// y = saturate(round_half_even(x / scale) + zero_point); the quotient is rounded to the scale's
// dtype (`scale_dtype`) first. x: float32/float16/bfloat16/float64 or int32; y: int8, uint8,
// int16 or uint16. scales (float32) and zero points (int64) on the device.
cudaError_t LaunchQuantizeLinear(DType x_dtype, DType y_dtype, DType scale_dtype, const void* x, void* y, int64_t n,
                                 const float* scales, const int64_t* zero_points, const QuantIndex& index,
                                 cudaStream_t stream);
// y = (x - zero_point) * scale in float64 (int32 x widened through float32 first), stored as y_dtype.
cudaError_t LaunchDequantizeLinear(DType x_dtype, DType y_dtype, const void* x, void* y, int64_t n,
                                   const float* scales, const int64_t* zero_points, const QuantIndex& index,
                                   cudaStream_t stream);

}  // namespace kiln::cuda
