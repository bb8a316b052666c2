#pragma once
// Timing candidates on the GPU, for the kernels that choose among a library's algorithms (the
// tactics of runtime/tactics.h).

#include <cuda_runtime.h>

#include <functional>

#include "kiln/status.h"

namespace kiln::cuda {

// The index of the fastest of `count` candidates: `run(i)` queues candidate i on `stream` and says
// whether it could; each runs once to warm up, then three times under events. -1 when none ran.
// Waits for the stream (a first run only).
StatusOr<int> FastestCandidate(cudaStream_t stream, int count, const std::function<bool(int)>& run);

}  // namespace kiln::cuda
