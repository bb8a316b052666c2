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
  // does not fit fails with ResourceExhausted. `staging` are pinned host buffers for the run's
  // copies from the host, one per copy the recording noted, in order (a capture may not allocate
  // pinned memory).
  static std::shared_ptr<RunMemory> Serving(std::shared_ptr<Buffer> arena,
                                            std::vector<std::shared_ptr<Buffer>> staging = {});

  // `bytes` of uninitialised device memory; in recording mode ordered on `stream` like the pool's.
  StatusOr<std::shared_ptr<Buffer>> Allocate(size_t bytes, cudaStream_t stream);
  // Keeps `buffer` (pinned host memory a captured copy reads, a library workspace) until TakeKept,
  // which whoever holds this memory calls once the run is done (kept ranges of the arena hold the
  // memory itself).
  void Keep(std::shared_ptr<Buffer> buffer);
  std::vector<std::shared_ptr<Buffer>> TakeKept();

  // Whether this memory serves a captured run (else it records).
  bool serving() const { return arena_ != nullptr; }

  // Copies from the host: recording notes each one's size; serving hands out the next staging
  // buffer (kept with the memory, since a captured copy reads it at every replay).
  void NoteStaging(size_t bytes);
  const std::vector<size_t>& staging_sizes() const { return staging_sizes_; }
  StatusOr<std::shared_ptr<Buffer>> TakeStaging(size_t bytes);

  // The size of arena the allocations so far need.
  size_t high_water() const;

 private:
  friend class ArenaBuffer;
  RunMemory(DeviceAllocator* allocator, std::shared_ptr<Buffer> arena, std::vector<std::shared_ptr<Buffer>> staging);
  void Release(size_t offset);

  DeviceAllocator* allocator_;    // recording: where the memory comes from
  std::shared_ptr<Buffer> arena_;  // serving: the block
  mutable std::mutex mu_;
  runtime::FirstFit layout_;
  std::vector<std::shared_ptr<Buffer>> kept_;
  std::vector<size_t> staging_sizes_;                // recording
  std::vector<std::shared_ptr<Buffer>> staging_;  // serving, next first
  size_t next_staging_ = 0;
};

}  // namespace kiln::cuda
