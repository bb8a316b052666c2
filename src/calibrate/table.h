#pragma once
// Calibration tables: the amax of each calibrated tensor, saved as JSON:
//   {"format": "kiln-calibration", "version": 1, "calibrator": "entropy",
//    "tensors": {"conv1/Relu:0": {"amax": 1.5},
//                "ln/add:0": {"amax": 9.5, "smoothing": {"alpha": 0.7, "channel_amax": [0.7, 9.5, ...]}}, ...}}
// "smoothing" is there for the activations of matrix products that INT8 engines smooth; their
// quantized range then follows from channel_amax (and the weights), not from amax.

#include <map>
#include <string>
#include <vector>

#include "kiln/status.h"

namespace kiln::calibrate {

// How INT8 engines smooth one matrix-product activation (see passes/smoothing.h).
struct ChannelSmoothing {
  std::vector<float> channel_amax;  // max |x| per channel of the last axis
  float alpha = 0.5f;               // the share of the range moved into the weights, in (0, 1]
};

struct CalibrationTable {
  std::string calibrator;             // "entropy", "percentile", "minmax", ...
  std::map<std::string, float> amax;  // tensor name "node:index" -> amax
  // Tensor name (one in `amax`) -> its smoothing.
  std::map<std::string, ChannelSmoothing> smoothing;

  bool empty() const { return amax.empty(); }
};

// Errors name the file, and for a bad entry the tensor.
Status WriteCalibrationTable(const CalibrationTable& table, const std::string& path);
StatusOr<CalibrationTable> ReadCalibrationTable(const std::string& path);

}  // namespace kiln::calibrate
