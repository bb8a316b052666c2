#pragma once
// The memory of one run that is captured as a CUDA graph. A captured graph keeps the addresses it
// was captured with, so everything the run allocates must stay where it was put for as long as the
// graph lives: one block (the arena), laid out first-fit in the order the run allocates and frees.
// A run in recording mode takes its memory from the pool as usual and notes the layout the arena
// would have; its high water is the size of the arena a later run of the same shapes is served from.

#include <cuda_runtime.h>

#include <memory>
#include <mutex>
#include <vector>

#include "cuda/allocator.h"
#include "runtime/first_fit.h"

namespace kiln::cuda {

class RunMemory : public std::enable_shared_from_this<RunMemory> {
 public:
  // Memory from `allocator`'s pool, the layout recorded.
  static std::shared_ptr<RunMemory> Recording(DeviceAllocator* allocator);
  // Memory from `arena`, laid out as a recording of the same allocations would; an allocation that
  // does not fit fails with ResourceExhausted.
  static std::shared_ptr<RunMemory> Serving(std::shared_ptr<Buffer> arena);

  // `bytes` of uninitialised device memory; in recording mode ordered on `stream` like the pool's.
  StatusOr<std::shared_ptr<Buffer>> Allocate(size_t bytes, cudaStream_t stream);
  // Keeps `buffer` (pinned host memory a captured copy reads, a library workspace) until TakeKept,
  // which whoever holds this memory calls once the run is done (kept ranges of the arena hold the
  // memory itself).
  void Keep(std::shared_ptr<Buffer> buffer);
  std::vector<std::shared_ptr<Buffer>> TakeKept();

  // Whether this memory serves a captured run (else it records).
  bool serving() const { return arena_ != nullptr; }

  // The size of arena the allocations so far need.
  size_t high_water() const;

 private:
  friend class ArenaBuffer;
  RunMemory(DeviceAllocator* allocator, std::shared_ptr<Buffer> arena);
  void Release(size_t offset);

  DeviceAllocator* allocator_;    // recording: where the memory comes from
  std::shared_ptr<Buffer> arena_;  // serving: the block
  mutable std::mutex mu_;
  runtime::FirstFit layout_;
  std::vector<std::shared_ptr<Buffer>> kept_;
};

}  // namespace kiln::cuda
