#include "kiln/precision.h"

namespace kiln {

const char* PrecisionName(Precision p) {
  switch (p) {
    case Precision::kFP32:
      return "fp32";
    case Precision::kFP16:
      return "fp16";
    case Precision::kBF16:
      return "bf16";
    case Precision::kINT8:
      return "int8";
    case Precision::kFP8:
      return "fp8";
  }
  return "?";
}

StatusOr<Precision> ParsePrecision(const std::string& name) {
  for (Precision p : {Precision::kFP32, Precision::kFP16, Precision::kBF16, Precision::kINT8, Precision::kFP8}) {
    if (name == PrecisionName(p)) return p;
  }
  return InvalidArgument("unknown precision '" + name + "'; expected fp32, fp16, bf16, int8 or fp8");
}

const char* CalibratorName(CalibratorKind c) {
  switch (c) {
    case CalibratorKind::kEntropy:
      return "entropy";
    case CalibratorKind::kPercentile:
      return "percentile";
    case CalibratorKind::kMinMax:
      return "minmax";
  }
  return "?";
}

StatusOr<CalibratorKind> ParseCalibrator(const std::string& name) {
  for (CalibratorKind c : {CalibratorKind::kEntropy, CalibratorKind::kPercentile, CalibratorKind::kMinMax}) {
    if (name == CalibratorName(c)) return c;
  }
  return InvalidArgument("unknown calibrator '" + name + "'; expected entropy, percentile or minmax");
}

}  // namespace kiln
