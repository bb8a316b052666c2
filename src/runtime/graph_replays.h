#pragma once
// Runs of one executor on a CUDA device, replayed as CUDA graphs: after a few ordinary runs at a set
// of input shapes (which settle the libraries' algorithm choices and record the run's memory
// layout), a run at those shapes is captured once into a graph whose memory is one arena of its own,
// and every later run at them copies its inputs in, launches the graph and copies its outputs out,
// with no per-op work on the host. Each run that finds no idle captured graph for its shapes takes
// a new one, so concurrent runs never share an arena, while the executor's weights are shared. A run
// that cannot be captured (an op that waits for the device, reads device values on the host, or
// needs more memory than recorded) still runs, uncaptured; after repeated failures the shapes stay
// uncaptured, with a warning saying why. KILN_CUDA_GRAPHS=0 in the environment turns capture off.

#include <memory>
#include <vector>

#include "kiln/status.h"
#include "kiln/tensor.h"
#include "runtime/device_context.h"
#include "runtime/executor.h"

namespace kiln::runtime {

struct ReplayStats {
  int64_t uncaptured_runs = 0;
  int64_t captures = 0;          // graphs captured (one per shape and concurrent run)
  int64_t failed_captures = 0;
  int64_t replays = 0;           // runs answered by launching a captured graph
  size_t arena_bytes = 0;        // the arenas of the graphs held now, together
};

class GraphReplays {
 public:
  virtual ~GraphReplays() = default;
  // As Executor::RunInContext: on `device`'s stream with the outputs left there, or from the host.
  virtual StatusOr<std::vector<Tensor>> Run(const std::vector<Tensor>& inputs, DeviceContext* device) = 0;
  virtual ReplayStats stats() const = 0;
};

// Replays of `executor`, which runs on a CUDA device and must outlive them. Unavailable without CUDA.
StatusOr<std::unique_ptr<GraphReplays>> CreateGraphReplays(const Executor& executor);

}  // namespace kiln::runtime
