#pragma once
// INT8/FP8 calibration: runs the native graph over the calibration inputs, collects statistics of
// every floating-point tensor the engines will see, and derives each one's range (amax) with the
// chosen calibrator.

#include <map>
#include <set>
#include <string>
#include <vector>

#include "calibrate/tensor_stats.h"
#include "ir/graph.h"
#include "kiln/converter.h"

namespace kiln::convert {

struct CalibrationResult {
  std::map<std::string, float> amax;  // tensor name "node:index" -> max |x| to represent
  // Per-channel statistics of the tensors asked for (those whose every batch had the same last dim).
  std::map<std::string, calibrate::ChannelStats> channels;
  int batches = 0;
};

// `tensors` names the tensors to calibrate, `channel_tensors` those whose per-channel statistics
// are also recorded. Every input set must name each graph input once with the dtype and a shape the
// graph accepts; errors say which set and which input.
StatusOr<CalibrationResult> Calibrate(const ir::Graph& graph, const std::set<std::string>& tensors,
                                      const std::set<std::string>& channel_tensors, const InputFn& inputs,
                                      CalibratorKind calibrator, const ProgressFn& progress);

// The graph's inputs, in order, from a named input set; `where` prefixes errors ("calibration
// input set 3").
StatusOr<std::vector<Tensor>> OrderInputs(const ir::Graph& graph, const InputSet& set, const std::string& where);

}  // namespace kiln::convert
