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

StatusOr<PrecisionPin> ParsePrecisionPin(const std::string& text) {
  const size_t colon = text.find(':');
  if (colon == std::string::npos || colon + 1 == text.size()) {
    return InvalidArgument("keep_precision '" + text + "' is not PRECISION:LAYER (e.g. fp16:conv2d/Conv2D)");
  }
  PrecisionPin pin;
  auto precision = ParsePrecision(text.substr(0, colon));
  if (!precision.ok()) return InvalidArgument("keep_precision '" + text + "': " + precision.status().message());
  if (*precision == Precision::kINT8 || *precision == Precision::kFP8) {
    return InvalidArgument("keep_precision '" + text + "' keeps a layer in fp32, fp16 or bf16, not " +
                           PrecisionName(*precision));
  }
  pin.precision = *precision;
  pin.layer = text.substr(colon + 1);
  return pin;
}

std::string PrecisionPinToString(const PrecisionPin& pin) {
  return std::string(PrecisionName(pin.precision)) + ":" + pin.layer;
}

StatusOr<std::vector<PrecisionPin>> ParsePrecisionPins(const std::vector<std::string>& texts) {
  std::vector<PrecisionPin> pins;
  for (const std::string& text : texts) {
    KILN_ASSIGN_OR_RETURN(PrecisionPin pin, ParsePrecisionPin(text));
    pins.push_back(std::move(pin));
  }
  return pins;
}

std::vector<std::string> PrecisionPinStrings(const std::vector<PrecisionPin>& pins) {
  std::vector<std::string> texts;
  for (const PrecisionPin& pin : pins) texts.push_back(PrecisionPinToString(pin));
  return texts;
}

}  // namespace kiln
