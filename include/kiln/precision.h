#pragma once
// The precisions engines compute in and the calibrators that choose INT8/FP8 ranges, with their
// names as the CLI and saved files spell them.

#include <string>

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

}  // namespace kiln
