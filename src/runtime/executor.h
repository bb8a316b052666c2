#pragma once
// Runs an IR graph op by op on one device's kernels.

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "ir/graph.h"
#include "runtime/kernel.h"

namespace kiln::runtime {

class Executor {
 public:
  // Checks that every node has a kernel on `device` (listing all that do not, at once) and plans
  // when each intermediate value can be released. The graph must outlive the executor and have
  // had its shapes inferred.
  static StatusOr<std::unique_ptr<Executor>> Create(const ir::Graph& graph, Device device = Device::kCPU);
  // As above, with kernels for particular nodes (node id -> kernel) that take precedence over the
  // registry: how stateful ops such as KilnEngineOp run.
  static StatusOr<std::unique_ptr<Executor>> Create(const ir::Graph& graph, Device device,
                                                    std::map<int, KernelFn> node_kernels);

  // Sees every value a Run computes (calibration collects statistics with it).
  using ValueObserver = std::function<void(const ir::Node& node, int output, const Tensor& value)>;

  // Runs the graph on values for graph.inputs() (in order) and returns graph.outputs() (in order).
  // Input dtypes and shapes are checked against the graph's Placeholders.
  StatusOr<std::vector<Tensor>> Run(const std::vector<Tensor>& inputs, const ValueObserver* observer = nullptr) const;

  // The most intermediate bytes the memory plan holds at once, from the inferred shapes (what an
  // engine reserves); nullopt when some intermediate's shape is not fully known.
  std::optional<size_t> PlannedPeakBytes() const;

  // The largest number of intermediate bytes held at once in the last Run (memory-plan check).
  size_t peak_live_bytes() const { return peak_live_bytes_; }

 private:
  struct Step {
    int node;
    const KernelFn* kernel;                   // nullptr for Const and Placeholder
    std::vector<ir::ValueRef> release_after;  // values whose last use is this step
  };
  explicit Executor(const ir::Graph& graph) : graph_(graph) {}

  const ir::Graph& graph_;
  std::map<int, KernelFn> node_kernels_;
  std::vector<Step> steps_;
  mutable size_t peak_live_bytes_ = 0;
};

// Const and Placeholder: values the executor takes as given rather than computes.
bool IsSourceOp(const std::string& op);

// Lists nodes whose op has no kernel on `device`: "node 'a' (Op), node 'b' (Op2)"; OK when none.
// Nodes in `exempt` (ids) are not checked.
Status CheckKernelsAvailable(const ir::Graph& graph, Device device, const std::map<int, KernelFn>& exempt = {});

}  // namespace kiln::runtime
