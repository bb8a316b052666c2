#include "cuda/allocator.h"

#include <cstring>
#include <limits>

#include "cuda/check.h"

namespace kiln::cuda {

class DeviceBuffer final : public Buffer {
 public:
  DeviceBuffer(void* data, size_t size, DeviceAllocator* allocator, cudaStream_t stream)
      : Buffer(data, size, Device::CUDA(allocator->device())), allocator_(allocator), stream_(stream) {}
  ~DeviceBuffer() override {
    // Stream-ordered: the memory returns to the pool once the work queued on the stream so far,
    // which includes every use of this buffer by kiln, has run. Errors here (a torn-down context
    // at process exit) have no one to go to.
    cudaFreeAsync(data(), stream_);
    allocator_->Released(size());
  }

 private:
  DeviceAllocator* allocator_;
  cudaStream_t stream_;
};

StatusOr<DeviceAllocator*> DeviceAllocator::ForDevice(int device) {
  static std::mutex mu;
  static std::map<int, DeviceAllocator*>* allocators = new std::map<int, DeviceAllocator*>();
  std::lock_guard<std::mutex> lock(mu);
  if (auto it = allocators->find(device); it != allocators->end()) return it->second;
  cudaMemPoolProps props{};
  props.allocType = cudaMemAllocationTypePinned;
  props.location.type = cudaMemLocationTypeDevice;
  props.location.id = device;
  cudaMemPool_t pool = nullptr;
  KILN_CUDA_RETURN_IF_ERROR(cudaMemPoolCreate(&pool, &props));
  uint64_t keep_everything = std::numeric_limits<uint64_t>::max();
  KILN_CUDA_RETURN_IF_ERROR(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &keep_everything));
  auto* allocator = new DeviceAllocator(device, pool);  // lives as long as the process
  (*allocators)[device] = allocator;
  return allocator;
}

StatusOr<std::shared_ptr<Buffer>> DeviceAllocator::Allocate(size_t bytes, cudaStream_t stream) {
  if (bytes == 0) return Buffer::Borrow(nullptr, 0, Device::CUDA(device_));
  void* p = nullptr;
  const cudaError_t err = cudaMallocFromPoolAsync(&p, bytes, pool_, stream);
  if (err != cudaSuccess) {
    cudaGetLastError();  // clear the sticky-free error so later calls do not see it
    Status s = CudaStatus(err, "cudaMallocFromPoolAsync");
    if (err == cudaErrorMemoryAllocation) {
      return ResourceExhausted("out of memory on cuda:" + std::to_string(device_) + " allocating " +
                               std::to_string(bytes) + " bytes (kiln holds " + std::to_string(in_use_.load()) +
                               " bytes in use)");
    }
    return s;
  }
  const int64_t now = in_use_ += static_cast<int64_t>(bytes);
  int64_t peak = peak_.load();
  while (now > peak && !peak_.compare_exchange_weak(peak, now)) {
  }
  return std::shared_ptr<Buffer>(std::make_shared<DeviceBuffer>(p, bytes, this, stream));
}

DeviceMemoryStats DeviceAllocator::Stats() const {
  DeviceMemoryStats s;
  s.in_use_bytes = in_use_.load();
  s.peak_bytes = peak_.load();
  uint64_t reserved = 0;
  if (cudaMemPoolGetAttribute(pool_, cudaMemPoolAttrReservedMemCurrent, &reserved) == cudaSuccess) {
    s.reserved_bytes = static_cast<int64_t>(reserved);
  }
  return s;
}

void DeviceAllocator::ResetPeak() { peak_ = in_use_.load(); }

class PinnedBuffer final : public Buffer {
 public:
  PinnedBuffer(PinnedPool::Block block, size_t size) : Buffer(block.data, size, Device::CPU()), block_(block) {}
  ~PinnedBuffer() override { PinnedPool::Global().Give(block_); }

 private:
  PinnedPool::Block block_;
};

PinnedPool& PinnedPool::Global() {
  static PinnedPool* pool = new PinnedPool();  // lives as long as the process
  return *pool;
}

namespace {
size_t SizeClass(size_t bytes) {
  size_t size = 4096;
  while (size < bytes) size <<= 1;
  return size;
}
}  // namespace

StatusOr<PinnedPool::Block> PinnedPool::Take(size_t bytes) {
  const size_t size = SizeClass(bytes);
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto& blocks = free_[size];
    for (size_t i = 0; i < blocks.size(); ++i) {
      if (blocks[i].pending != nullptr && cudaEventQuery(blocks[i].pending) != cudaSuccess) continue;
      Block b = blocks[i];
      blocks.erase(blocks.begin() + static_cast<std::ptrdiff_t>(i));
      return b;
    }
  }
  Block b;
  b.size = size;
  KILN_CUDA_RETURN_IF_ERROR(cudaHostAlloc(&b.data, size, cudaHostAllocDefault));
  return b;
}

void PinnedPool::Give(Block block) {
  std::lock_guard<std::mutex> lock(mu_);
  free_[block.size].push_back(block);
}

StatusOr<std::shared_ptr<Buffer>> PinnedPool::Allocate(size_t bytes) {
  KILN_ASSIGN_OR_RETURN(Block b, Take(bytes));
  return std::shared_ptr<Buffer>(std::make_shared<PinnedBuffer>(b, bytes));
}

Status PinnedPool::StageToDevice(const void* host, size_t bytes, void* device_dst, cudaStream_t stream) {
  if (bytes == 0) return OkStatus();
  KILN_ASSIGN_OR_RETURN(Block b, Take(bytes));
  std::memcpy(b.data, host, bytes);
  Status s = [&]() -> Status {
    KILN_CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(device_dst, b.data, bytes, cudaMemcpyHostToDevice, stream));
    if (b.pending == nullptr) KILN_CUDA_RETURN_IF_ERROR(cudaEventCreateWithFlags(&b.pending, cudaEventDisableTiming));
    KILN_CUDA_RETURN_IF_ERROR(cudaEventRecord(b.pending, stream));
    return OkStatus();
  }();
  if (!s.ok()) cudaStreamSynchronize(stream);  // the block may still be read: let the copy finish first
  Give(b);
  return s;
}

}  // namespace kiln::cuda
