#pragma once
// Offsets in one block of memory, handed out first-fit: each allocation takes the lowest free range
// that holds it. A run that allocates and frees in the same order gets the same offsets every time,
// so one run's record says how large a block the next needs, and where each of its values goes.

#include <cstddef>
#include <limits>
#include <map>
#include <optional>

namespace kiln::runtime {

class FirstFit {
 public:
  // Offsets are multiples of `alignment` (a power of two); nothing ends beyond `capacity`.
  explicit FirstFit(size_t capacity = std::numeric_limits<size_t>::max(), size_t alignment = 256);

  // The offset of `bytes` (at least one alignment unit is taken); nullopt when no range within the
  // capacity holds them.
  std::optional<size_t> Allocate(size_t bytes);
  // Returns the range that starts at `offset` (given by Allocate and not freed yet).
  void Free(size_t offset);

  // The highest end any allocation has reached: the size of block the allocations so far need.
  size_t high_water() const { return high_water_; }
  size_t capacity() const { return capacity_; }

 private:
  size_t capacity_;
  size_t alignment_;
  size_t top_ = 0;  // the end of the highest range in use
  size_t high_water_ = 0;
  std::map<size_t, size_t> free_;  // offset -> size, of free ranges below top_ (never adjacent)
  std::map<size_t, size_t> used_;  // offset -> size
};

}  // namespace kiln::runtime
