#pragma once
// The precisions engines compute in and the calibrators that choose INT8/FP8 ranges, with their
// names as the CLI and saved files spell them.

#include <string>
#include <vector>

#include "kiln/status.h"

namespace kiln {

enum class Precision { kFP32, kFP16, kBF16, kINT8, kFP8 };
enum class CalibratorKind { kEntropy, kPercentile, kMinMax };

// "fp32", "fp16", "bf16", "int8", "fp8"; the parser's error lists them.
const char* PrecisionName(Precision p);
StatusOr<Precision> ParsePrecision(const std::string& name);
// "entropy", "percentile", "minmax".
const char* CalibratorName(CalibratorKind c);
StatusOr<CalibratorKind> ParseCalibrator(const std::string& name);

// A layer kept in a higher precision than its engine's (fp32, fp16 or bf16): in an INT8 or FP8
// engine it is not quantized; in an FP16 or BF16 engine, pinned to fp32, it computes and stores
// float32. `layer` is a node name (as the summary and `kiln compare` name a layer, or a node fused
// into it) or an op type (of the layer or of an op fused into it).
struct PrecisionPin {
  Precision precision = Precision::kFP16;
  std::string layer;
  bool operator==(const PrecisionPin& o) const = default;
};
// "fp16:NAME" (the CLI's --keep-precision form); the error names the text.
StatusOr<PrecisionPin> ParsePrecisionPin(const std::string& text);
std::string PrecisionPinToString(const PrecisionPin& pin);
StatusOr<std::vector<PrecisionPin>> ParsePrecisionPins(const std::vector<std::string>& texts);
std::vector<std::string> PrecisionPinStrings(const std::vector<PrecisionPin>& pins);

}  // namespace kiln
