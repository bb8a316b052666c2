#pragma once
// Runs an IR graph op by op, on the host or on a device with the host beside it.

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "ir/graph.h"
#include "runtime/kernel.h"
#include "runtime/placement.h"

namespace kiln::runtime {

struct RunOptions {
  // A device run's stream: the caller's, or when null one of kiln's own (waited for before Run
  // returns). Device tensors a run returns are freed, stream-ordered, on the stream of the run
  // that made them: release them before destroying the stream.
  CudaStream stream = nullptr;
  // A device run on this context (its stream and memory) instead of one the run opens; stream is
  // then ignored, and the run does not wait for its work.
  DeviceContext* context = nullptr;
  // Outputs stay on the run's device (no copy to the host, no wait on the caller's stream).
  bool outputs_on_device = false;
  // When set: each step's time in ms (device steps wait for their work) added to its op type. Runs
  // nested in a step (an engine's own executor) add theirs too, as "in engines: " + op type, and
  // run op by op (no CUDA graph replays) so that each op is seen.
  std::map<std::string, double>* op_times = nullptr;
};

// The op times of the profiled run whose step runs on this thread, else null (see
// RunOptions::op_times): what nested runs add to.
std::map<std::string, double>* ProfiledStepTimes();

struct ExecutorOptions {
  Device device = Device::CPU();
  // FP32 matrix products and convolutions on the device may use TF32 (faster, ~1e-3 relative error).
  bool allow_tf32 = false;
  // Node id -> kernel, ahead of the registry: how stateful ops such as KilnEngineOp run. They run
  // on the host, or with node_kernels_on_device on the run's device (taking and returning tensors
  // there).
  std::map<int, KernelFn> node_kernels;
  bool node_kernels_on_device = false;
  // A control-flow loop (Loop) that runs this many iterations without finishing is stopped with an
  // error naming the node, instead of running on.
  int64_t max_loop_iterations = 10'000'000;
};

class Executor {
 public:
  // Places every node for a run on options.device (see placement.h), makes executors for the
  // bodies of its control-flow nodes (control_flow.h), checks that each node has a
  // kernel where it runs (listing all that do not, at once), plans when each intermediate value can
  // be released, and copies the constants that device kernels read to the device (arranged as the
  // kernel asks, for KernelOptions::prepared_inputs). The graph must outlive the executor and have
  // had its shapes inferred.
  static StatusOr<std::unique_ptr<Executor>> Create(const ir::Graph& graph, ExecutorOptions options = {});

  // Sees every value a Run computes, on the host (calibration collects statistics with it).
  using ValueObserver = std::function<void(const ir::Node& node, int output, const Tensor& value)>;

  // Runs the graph on values for graph.inputs() (in order, on the host or on the run's device) and
  // returns graph.outputs() (in order). Input dtypes and shapes are checked against the graph's
  // Placeholders.
  StatusOr<std::vector<Tensor>> Run(const std::vector<Tensor>& inputs, const RunOptions& options = {},
                                    const ValueObserver* observer = nullptr) const;

  // Run() as a kernel on `device` calls it: on the device context's stream with the outputs left on
  // the device; with no context, on the host (or the executor's own stream, waited for).
  StatusOr<std::vector<Tensor>> RunInContext(const std::vector<Tensor>& inputs, DeviceContext* device) const;

  const Placement& placement() const { return placement_; }
  bool allow_tf32() const { return allow_tf32_; }

  // The most intermediate bytes the memory plan holds at once, from the inferred shapes (what an
  // engine reserves); nullopt when some intermediate's shape is not fully known.
  std::optional<size_t> PlannedPeakBytes() const;

  // The largest number of intermediate bytes held at once in the last Run (memory-plan check).
  size_t peak_live_bytes() const { return peak_live_bytes_.load(); }

 private:
  struct Step {
    int node;
    const KernelFn* kernel;  // nullptr for Const and Placeholder
    // Where each input is read: kCPU, the device, or nullopt for inputs whose shape alone is read.
    std::vector<std::optional<DeviceType>> input_at;
    std::vector<ir::ValueRef> release_after;  // values whose last use is this step
    // An input whose buffer the kernel's output 0 may take over (its last use, not a constant or a
    // graph input or output); -1 for none.
    int forwardable_input = -1;
    // Constant inputs the device kernel takes in its own arrangement, and (indexed by input) the
    // arrangements UploadConstants made; empty when none.
    std::vector<const KernelOptions::PreparedInput*> to_prepare;
    std::vector<Tensor> prepared;
  };
  struct Slot;
  explicit Executor(const ir::Graph& graph) : graph_(graph) {}
  Status UploadConstants();

  const ir::Graph& graph_;
  bool allow_tf32_ = false;
  Placement placement_;
  std::map<int, KernelFn> node_kernels_;
  std::vector<Step> steps_;
  std::map<int, Tensor> device_constants_;  // Const node id -> its value on the device
  mutable std::atomic<size_t> peak_live_bytes_{0};
};

// Const and Placeholder: values the executor takes as given rather than computes.
bool IsSourceOp(const std::string& op);

// Lists nodes whose op has no kernel on `device`: "node 'a' (Op), node 'b' (Op2)"; OK when none.
// Nodes in `exempt` (ids) are not checked.
Status CheckKernelsAvailable(const ir::Graph& graph, DeviceType device, const std::map<int, KernelFn>& exempt = {});

}  // namespace kiln::runtime
