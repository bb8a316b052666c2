#pragma once
// Calibration tables: the amax of each calibrated tensor, saved as JSON:
//   {"format": "kiln-calibration", "version": 1, "calibrator": "entropy",
//    "tensors": {"conv1/Relu:0": {"amax": 1.5}, ...}}

#include <map>
#include <string>

#include "kiln/status.h"

namespace kiln::calibrate {

struct CalibrationTable {
  std::string calibrator;             // "entropy", "percentile", "minmax", ...
  std::map<std::string, float> amax;  // tensor name "node:index" -> amax
};

// Errors name the file, and for a bad entry the tensor.
Status WriteCalibrationTable(const CalibrationTable& table, const std::string& path);
StatusOr<CalibrationTable> ReadCalibrationTable(const std::string& path);

}  // namespace kiln::calibrate
