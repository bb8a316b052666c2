#include "cuda/run_memory.h"

#include <string>

namespace kiln::cuda {

// A range of a RunMemory's layout: in the arena when serving, over memory from the pool when
// recording. Letting go returns the range to the layout.
class ArenaBuffer final : public Buffer {
 public:
  ArenaBuffer(void* data, size_t size, Device device, std::shared_ptr<RunMemory> memory, size_t offset,
              std::shared_ptr<Buffer> pooled)
      : Buffer(data, size, device), memory_(std::move(memory)), offset_(offset), pooled_(std::move(pooled)) {}
  ~ArenaBuffer() override { memory_->Release(offset_); }

 private:
  std::shared_ptr<RunMemory> memory_;
  size_t offset_;
  std::shared_ptr<Buffer> pooled_;  // recording: the memory itself
};

RunMemory::RunMemory(DeviceAllocator* allocator, std::shared_ptr<Buffer> arena,
                     std::vector<std::shared_ptr<Buffer>> staging)
    : allocator_(allocator),
      arena_(std::move(arena)),
      layout_(arena_ != nullptr ? arena_->size() : std::numeric_limits<size_t>::max()),
      staging_(std::move(staging)) {}

std::shared_ptr<RunMemory> RunMemory::Recording(DeviceAllocator* allocator) {
  return std::shared_ptr<RunMemory>(new RunMemory(allocator, nullptr, {}));
}

std::shared_ptr<RunMemory> RunMemory::Serving(std::shared_ptr<Buffer> arena,
                                              std::vector<std::shared_ptr<Buffer>> staging) {
  return std::shared_ptr<RunMemory>(new RunMemory(nullptr, std::move(arena), std::move(staging)));
}

void RunMemory::NoteStaging(size_t bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  staging_sizes_.push_back(bytes);
}

StatusOr<std::shared_ptr<Buffer>> RunMemory::TakeStaging(size_t bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  if (next_staging_ >= staging_.size() || staging_[next_staging_]->size() < bytes) {
    return ResourceExhausted("the run copies more from the host than its recording (" +
                             std::to_string(staging_.size()) + " staging buffers)");
  }
  std::shared_ptr<Buffer> buffer = std::move(staging_[next_staging_++]);
  kept_.push_back(buffer);
  return buffer;
}

StatusOr<std::shared_ptr<Buffer>> RunMemory::Allocate(size_t bytes, cudaStream_t stream) {
  std::optional<size_t> offset;
  {
    std::lock_guard<std::mutex> lock(mu_);
    offset = layout_.Allocate(bytes);
  }
  if (!offset) {
    return ResourceExhausted("the run's arena of " + std::to_string(layout_.capacity()) + " bytes cannot hold " +
                             std::to_string(bytes) + " more bytes");
  }
  if (arena_ != nullptr) {
    void* data = static_cast<char*>(arena_->data()) + *offset;
    return std::shared_ptr<Buffer>(
        std::make_shared<ArenaBuffer>(data, bytes, arena_->device(), shared_from_this(), *offset, nullptr));
  }
  auto pooled = allocator_->Allocate(bytes, stream);
  if (!pooled.ok()) {
    Release(*offset);
    return pooled.status();
  }
  std::shared_ptr<Buffer> memory = std::move(pooled).value();
  void* data = memory->data();
  const Device device = Device::CUDA(allocator_->device());
  return std::shared_ptr<Buffer>(
      std::make_shared<ArenaBuffer>(data, bytes, device, shared_from_this(), *offset, std::move(memory)));
}

void RunMemory::Release(size_t offset) {
  std::lock_guard<std::mutex> lock(mu_);
  layout_.Free(offset);
}

void RunMemory::Keep(std::shared_ptr<Buffer> buffer) {
  std::lock_guard<std::mutex> lock(mu_);
  kept_.push_back(std::move(buffer));
}

std::vector<std::shared_ptr<Buffer>> RunMemory::TakeKept() {
  std::lock_guard<std::mutex> lock(mu_);
  return std::move(kept_);
}

size_t RunMemory::high_water() const {
  std::lock_guard<std::mutex> lock(mu_);
  return layout_.high_water();
}

}  // namespace kiln::cuda
