#include "cuda/timing.h"

#include <limits>

#include "cuda/check.h"

namespace kiln::cuda {

StatusOr<int> FastestCandidate(cudaStream_t stream, int count, const std::function<bool(int)>& run) {
  cudaEvent_t start = nullptr, stop = nullptr;
  KILN_CUDA_RETURN_IF_ERROR(cudaEventCreate(&start));
  if (cudaError_t err = cudaEventCreate(&stop); err != cudaSuccess) {
    cudaEventDestroy(start);
    return CudaStatus(err, "cudaEventCreate");
  }
  int best = -1;
  float best_ms = std::numeric_limits<float>::infinity();
  for (int i = 0; i < count; ++i) {
    if (!run(i)) continue;
    cudaEventRecord(start, stream);
    bool ok = true;
    for (int r = 0; r < 3 && ok; ++r) ok = run(i);
    cudaEventRecord(stop, stream);
    float ms = 0;
    if (ok && cudaEventSynchronize(stop) == cudaSuccess && cudaEventElapsedTime(&ms, start, stop) == cudaSuccess &&
        ms < best_ms) {
      best_ms = ms;
      best = i;
    }
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  return best;
}

}  // namespace kiln::cuda
