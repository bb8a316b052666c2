#include "convert/calibration.h"

#include "calibrate/calibrator.h"
#include "calibrate/tensor_stats.h"
#include "runtime/executor.h"

namespace kiln::convert {
StatusOr<std::vector<Tensor>> OrderInputs(const ir::Graph& graph, const InputSet& set, const std::string& where) {
  std::vector<Tensor> feeds;
  std::string expected;
  for (const auto& in : graph.inputs()) expected += (expected.empty() ? "'" : ", '") + in.name + "'";
  for (const auto& in : graph.inputs()) {
    auto it = set.find(in.name);
    if (it == set.end()) return InvalidArgument(where + " lacks input '" + in.name + "'; the model takes " + expected);
    feeds.push_back(it->second);
  }
  for (const auto& [name, _] : set) {
    bool known = false;
    for (const auto& in : graph.inputs()) known |= in.name == name;
    if (!known)
      return InvalidArgument(where + " has input '" + name + "', which the model does not take; it takes " + expected);
  }
  return feeds;
}

StatusOr<CalibrationResult> Calibrate(const ir::Graph& graph, const std::set<std::string>& tensors,
                                      const std::set<std::string>& channel_tensors, const InputFn& inputs,
                                      CalibratorKind calibrator, const ProgressFn& progress) {
  KILN_ASSIGN_OR_RETURN(auto executor, runtime::Executor::Create(graph));
  std::map<std::string, calibrate::TensorStats> stats;
  std::map<std::string, calibrate::ChannelStats> channels;
  std::set<std::string> channels_dropped;  // the last dim changed between batches
  Status observe_status;
  const runtime::Executor::ValueObserver observer = [&](const ir::Node& node, int output, const Tensor& value) {
    if (value.dtype() != DType::kFloat32 && value.dtype() != DType::kFloat16 && value.dtype() != DType::kBFloat16) {
      return;
    }
    const std::string name = node.name + ":" + std::to_string(output);
    if (!tensors.count(name)) return;
    Status s = stats[name].Add(value);
    if (!s.ok() && observe_status.ok()) observe_status = s.AtNode(node.name, node.op);
    if (channel_tensors.count(name) && !channels_dropped.count(name) && value.rank() >= 1 &&
        !channels[name].Add(value).ok()) {
      channels_dropped.insert(name);
      channels.erase(name);
    }
  };

  CalibrationResult result;
  while (auto set = inputs()) {
    const std::string where = "calibration input set " + std::to_string(result.batches + 1);
    KILN_ASSIGN_OR_RETURN(std::vector<Tensor> feeds, OrderInputs(graph, *set, where));
    auto outs = executor->Run(feeds, {}, &observer);
    if (!outs.ok()) {
      Status s = outs.status();
      return s.Prepend(where);
    }
    KILN_RETURN_IF_ERROR(observe_status);
    ++result.batches;
    if (progress) progress("calibrate", result.batches, 0);
  }
  if (result.batches == 0) return InvalidArgument("the calibration inputs are empty");
  for (const auto& [name, s] : stats) {
    if (s.count() == 0) continue;
    auto amax = calibrate::ComputeAmax(s, calibrator);
    if (!amax.ok()) {
      Status st = amax.status();
      return st.Prepend("calibrating tensor '" + name + "'");
    }
    if (*amax > 0) result.amax[name] = *amax;
  }
  for (auto& [name, c] : channels) {
    if (result.amax.count(name) && c.channels() > 0) result.channels.emplace(name, std::move(c));
  }
  return result;
}

}  // namespace kiln::convert
