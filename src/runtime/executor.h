#pragma once
// Runs an IR graph op by op on one device's kernels.

#include <memory>
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

  // Runs the graph on values for graph.inputs() (in order) and returns graph.outputs() (in order).
  // Input dtypes and shapes are checked against the graph's Placeholders.
  StatusOr<std::vector<Tensor>> Run(const std::vector<Tensor>& inputs) const;

  // The largest number of intermediate bytes held at once in the last Run (memory-plan check).
  size_t peak_live_bytes() const { return peak_live_bytes_; }

 private:
  struct Step {
    int node;
    const KernelFn* kernel;  // nullptr for Const and Placeholder
    std::vector<ir::ValueRef> release_after;  // values whose last use is this step
  };
  explicit Executor(const ir::Graph& graph) : graph_(graph) {}

  const ir::Graph& graph_;
  std::vector<Step> steps_;
  mutable size_t peak_live_bytes_ = 0;
};

// Lists nodes whose op has no kernel on `device`: "node 'a' (Op), node 'b' (Op2)"; OK when none.
Status CheckKernelsAvailable(const ir::Graph& graph, Device device);

}  // namespace kiln::runtime
