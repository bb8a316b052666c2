#include "runtime/first_fit.h"

#include <algorithm>

namespace kiln::runtime {

FirstFit::FirstFit(size_t capacity, size_t alignment) : capacity_(capacity), alignment_(alignment) {}

std::optional<size_t> FirstFit::Allocate(size_t bytes) {
  const size_t size = std::max(alignment_, (bytes + alignment_ - 1) & ~(alignment_ - 1));
  for (auto it = free_.begin(); it != free_.end(); ++it) {
    if (it->second < size) continue;
    const size_t offset = it->first;
    if (it->second > size) free_[offset + size] = it->second - size;
    free_.erase(it);
    used_[offset] = size;
    return offset;
  }
  if (size > capacity_ || top_ > capacity_ - size) return std::nullopt;
  const size_t offset = top_;
  top_ += size;
  high_water_ = std::max(high_water_, top_);
  used_[offset] = size;
  return offset;
}

void FirstFit::Free(size_t offset) {
  auto used = used_.find(offset);
  if (used == used_.end()) return;
  size_t start = offset, size = used->second;
  used_.erase(used);
  // Merge with the free ranges on either side.
  auto next = free_.lower_bound(start);
  if (next != free_.end() && next->first == start + size) {
    size += next->second;
    next = free_.erase(next);
  }
  if (next != free_.begin()) {
    auto prev = std::prev(next);
    if (prev->first + prev->second == start) {
      start = prev->first;
      size += prev->second;
      free_.erase(prev);
    }
  }
  if (start + size == top_) {
    top_ = start;  // the top range is free: the block in use shrinks
  } else {
    free_[start] = size;
  }
}

}  // namespace kiln::runtime
