#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace kiln {

enum class DType : uint8_t {
  kInvalid = 0,
  kFloat32,
  kFloat16,
  kBFloat16,
  kFloat64,
  kInt8,
  kUInt8,
  kInt16,
  kUInt16,
  kInt32,
  kInt64,
  kUInt32,
  kUInt64,
  kBool,
  kString,
  // FP8 E4M3FN (OCP): storage for the activations and weights of FP8 engines; kernels compute
  // with it, nothing converts to or from it but quantization.
  kFloat8E4M3FN,
  // A value that is not an array of numbers: a scalar holding a list of tensors (TensorFlow's
  // TensorList, which RNN layers and TensorArrays make). It lives on the host.
  kVariant,
};

// Bytes per element; 0 for kInvalid, kString and kVariant (not stored inline).
size_t DTypeSize(DType dtype);
// "float32", "float16", "int32", ... (numpy's names).
std::string_view DTypeName(DType dtype);
bool IsFloating(DType dtype);
// Strings and variants: tensors with no bytes of their own, which stay on the host.
inline bool IsHostOnly(DType dtype) { return dtype == DType::kString || dtype == DType::kVariant; }
bool IsInteger(DType dtype);

// IEEE binary16 stored as its bits; conversions round to nearest even.
struct Half {
  uint16_t bits = 0;
};
float HalfToFloat(Half h);
Half FloatToHalf(float f);

// FP8 E4M3FN stored as its bits: 1 sign, 4 exponent (bias 7) and 3 mantissa bits, no infinities,
// largest finite 448, NaN 0x7f/0xff. Conversion rounds to nearest even and saturates to +-448
// (infinities too); NaN stays NaN.
struct Float8E4M3 {
  uint8_t bits = 0;
};
float Float8E4M3ToFloat(Float8E4M3 f);
Float8E4M3 FloatToFloat8E4M3(float f);

// bfloat16 stored as its bits; conversion rounds to nearest even.
struct BFloat16 {
  uint16_t bits = 0;
};
float BFloat16ToFloat(BFloat16 b);
BFloat16 FloatToBFloat16(float f);

template <typename T>
constexpr DType DTypeOf();
template <> constexpr DType DTypeOf<float>() { return DType::kFloat32; }
template <> constexpr DType DTypeOf<double>() { return DType::kFloat64; }
template <> constexpr DType DTypeOf<Half>() { return DType::kFloat16; }
template <> constexpr DType DTypeOf<BFloat16>() { return DType::kBFloat16; }
template <> constexpr DType DTypeOf<int8_t>() { return DType::kInt8; }
template <> constexpr DType DTypeOf<uint8_t>() { return DType::kUInt8; }
template <> constexpr DType DTypeOf<int16_t>() { return DType::kInt16; }
template <> constexpr DType DTypeOf<uint16_t>() { return DType::kUInt16; }
template <> constexpr DType DTypeOf<int32_t>() { return DType::kInt32; }
template <> constexpr DType DTypeOf<int64_t>() { return DType::kInt64; }
template <> constexpr DType DTypeOf<uint32_t>() { return DType::kUInt32; }
template <> constexpr DType DTypeOf<uint64_t>() { return DType::kUInt64; }
template <> constexpr DType DTypeOf<bool>() { return DType::kBool; }
template <> constexpr DType DTypeOf<Float8E4M3>() { return DType::kFloat8E4M3FN; }

}  // namespace kiln
