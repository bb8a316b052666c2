#pragma once
// Memory for the CUDA runtime. Device memory comes from one stream-ordered memory pool per GPU
// that keeps what is freed (cudaMallocAsync's pools with the release threshold at its maximum), so
// runs in a steady state make no cudaMalloc or cudaFree calls. Pinned host memory, for staging
// copies and for outputs copied back, comes from a cache of cudaHostAlloc blocks that are reused
// once the copies that use them have finished.

#include <cuda_runtime.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "kiln/device.h"
#include "kiln/status.h"
#include "kiln/tensor.h"

namespace kiln::cuda {

class DeviceAllocator {
 public:
  // The allocator of device `device`, created on first use and kept for the life of the process.
  static StatusOr<DeviceAllocator*> ForDevice(int device);

  // `bytes` of uninitialised device memory, ordered on `stream`: the memory is freed, when the
  // last tensor using it lets go, on that same stream.
  StatusOr<std::shared_ptr<Buffer>> Allocate(size_t bytes, cudaStream_t stream);

  DeviceMemoryStats Stats() const;
  void ResetPeak();
  int device() const { return device_; }

 private:
  friend class DeviceBuffer;
  DeviceAllocator(int device, cudaMemPool_t pool) : device_(device), pool_(pool) {}
  void Released(size_t bytes) { in_use_ -= static_cast<int64_t>(bytes); }

  int device_;
  cudaMemPool_t pool_;
  std::atomic<int64_t> in_use_{0};
  std::atomic<int64_t> peak_{0};
};

class PinnedPool {
 public:
  static PinnedPool& Global();

  // A host buffer of at least `bytes` in pinned memory, with no copy pending on it. It goes back
  // to the pool when the last tensor using it lets go.
  StatusOr<std::shared_ptr<Buffer>> Allocate(size_t bytes);
  // Copies `bytes` from pageable host memory to the device through a pinned staging block, queued
  // on `stream`; the block is reused only after the copy has finished.
  Status StageToDevice(const void* host, size_t bytes, void* device_dst, cudaStream_t stream);

 private:
  struct Block {
    void* data = nullptr;
    size_t size = 0;
    cudaEvent_t pending = nullptr;  // recorded after the last copy that used the block
  };
  friend class PinnedBuffer;
  StatusOr<Block> Take(size_t bytes);
  void Give(Block block);

  std::mutex mu_;
  std::map<size_t, std::vector<Block>> free_;  // by size class
};

}  // namespace kiln::cuda
