#include "runtime/first_fit.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace kiln::runtime {
namespace {

TEST(FirstFitTest, ReusesTheLowestRangeThatHoldsAnAllocation) {
  FirstFit plan;
  EXPECT_EQ(plan.Allocate(100), 0u);   // rounded up to 256
  EXPECT_EQ(plan.Allocate(300), 256u);  // 512
  EXPECT_EQ(plan.Allocate(256), 768u);
  EXPECT_EQ(plan.high_water(), 1024u);
  plan.Free(0);
  plan.Free(256);                      // merges with [0, 256): [0, 768) is free
  EXPECT_EQ(plan.Allocate(600), 0u);   // 768 fits exactly
  EXPECT_EQ(plan.Allocate(1), 1024u);  // nothing free below the top
  EXPECT_EQ(plan.high_water(), 1280u);
}

TEST(FirstFitTest, FreeingTheTopShrinksTheBlockInUse) {
  FirstFit plan;
  const size_t a = *plan.Allocate(256), b = *plan.Allocate(256);
  plan.Free(b);
  plan.Free(a);
  EXPECT_EQ(plan.Allocate(1024), 0u);  // everything was free again: starts at 0
  EXPECT_EQ(plan.high_water(), 1024u);
}

TEST(FirstFitTest, RefusesWhatTheCapacityCannotHold) {
  FirstFit plan(1024);
  EXPECT_EQ(plan.Allocate(512), 0u);
  EXPECT_FALSE(plan.Allocate(768).has_value());
  EXPECT_EQ(plan.Allocate(512), 512u);
  EXPECT_FALSE(plan.Allocate(1).has_value());
  EXPECT_FALSE(FirstFit(100).Allocate(200).has_value());
  EXPECT_EQ(plan.capacity(), 1024u);
}

TEST(FirstFitTest, ZeroBytesStillTakeARange) {
  FirstFit plan;
  const size_t a = *plan.Allocate(0), b = *plan.Allocate(0);
  EXPECT_NE(a, b);
  plan.Free(12345);  // not an allocation: ignored
  EXPECT_EQ(plan.high_water(), 512u);
}

// The property the CUDA graph replays rely on: the same sequence of allocations and frees gives the
// same offsets in a block of exactly the recorded high water, and ranges live at once never overlap.
TEST(FirstFitTest, ReplayingASequenceInItsHighWaterGivesTheSameOffsets) {
  std::mt19937 rng(7);
  struct Event {
    bool allocate;
    size_t bytes_or_index;
  };
  std::vector<Event> events;
  int live = 0;
  for (int i = 0; i < 400; ++i) {
    if (live > 0 && rng() % 3 == 0) {
      events.push_back({false, rng() % 1000});
      --live;
    } else {
      events.push_back({true, 1 + rng() % 100000});
      ++live;
    }
  }
  auto run = [&](FirstFit& plan) {
    std::vector<size_t> offsets, sizes;
    std::vector<size_t> live_index;
    for (const Event& e : events) {
      if (e.allocate) {
        auto offset = plan.Allocate(e.bytes_or_index);
        EXPECT_TRUE(offset.has_value());
        if (!offset) return offsets;
        for (size_t k : live_index) {
          EXPECT_TRUE(*offset + e.bytes_or_index <= offsets[k] || offsets[k] + sizes[k] <= *offset);
        }
        live_index.push_back(offsets.size());
        offsets.push_back(*offset);
        sizes.push_back(e.bytes_or_index);
      } else {
        const size_t pick = e.bytes_or_index % live_index.size();
        plan.Free(offsets[live_index[pick]]);
        live_index.erase(live_index.begin() + static_cast<std::ptrdiff_t>(pick));
      }
    }
    return offsets;
  };
  FirstFit recording;
  const std::vector<size_t> recorded = run(recording);
  FirstFit serving(recording.high_water());
  EXPECT_EQ(run(serving), recorded);
  EXPECT_EQ(serving.high_water(), recording.high_water());
}

}  // namespace
}  // namespace kiln::runtime
