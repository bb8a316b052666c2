// The CUDA kernels' index maps, on the host: 32-bit index arithmetic through FastDivmod gives the
// same offsets as 64-bit division, and maps too large for it keep 64-bit indexing.
#if KILN_HAVE_CUDA
#include <gtest/gtest.h>

#include <random>

#include "kernels/cuda/strided.h"
#include "util/test_util.h"

namespace kiln::cuda {
namespace {

TEST(FastDivmodTest, MatchesDivisionForEveryDivisorSize) {
  std::mt19937 rng(7);
  std::vector<uint32_t> divisors = {1, 2, 3, 5, 7, 10, 64, 100, 768, 3072, 65537, 1000003, (1u << 30) + 3,
                                    (1u << 31) - 1, 1u << 31};
  for (int i = 0; i < 200; ++i) divisors.push_back(1 + rng() % (1u << (1 + i % 31)));
  for (uint32_t d : divisors) {
    const FastDivmod f(d);
    std::vector<uint32_t> dividends = {0, 1, d - 1, d, (1u << 31) - 1};
    if (d < (1u << 30)) dividends.insert(dividends.end(), {d + 1, 2 * d - 1, 2 * d, 2 * d + 1});
    for (int i = 0; i < 2000; ++i) dividends.push_back(rng() & 0x7fffffffu);
    for (uint32_t n : dividends) {
      if (n >= (1u << 31)) continue;
      ASSERT_EQ(f.Div(n), n / d) << n << " / " << d;
    }
  }
}

// Offsets of every index, once through the map as built and once forced to 64-bit arithmetic.
template <int N>
void ExpectSameOffsets(const StridedMap<N>& map) {
  StridedMap<N> wide = map;
  wide.index32 = false;
  for (int64_t i = 0; i < map.size(); ++i) {
    int64_t a[N], b[N];
    map.Locate(i, a);
    wide.Locate(i, b);
    for (int k = 0; k < N; ++k) ASSERT_EQ(a[k], b[k]) << "index " << i << " operand " << k;
  }
}

TEST(StridedMapTest, TransposeAndBroadcastMapsIndexIn32Bits) {
  // A [2, 3, 5, 7] tensor transposed by (3, 1, 0, 2), read backwards along one dim from an offset.
  const Shape out = {7, 3, 2, 5};
  const std::vector<int64_t> in_strides = {1, 35, 105, -7};
  KILN_ASSERT_OK_AND_ASSIGN(auto map, MakeStridedMap<2>(out, {ContiguousStrides(out), in_strides}, {0, 28}));
  EXPECT_TRUE(map.index32);
  EXPECT_EQ(map.rank, 4);
  ExpectSameOffsets(map);

  KILN_ASSERT_OK_AND_ASSIGN(auto broadcast, BroadcastMap<3>({4, 6, 9}, {{6, 1}, {4, 1, 9}}));
  EXPECT_TRUE(broadcast.index32);
  ExpectSameOffsets(broadcast);
}

TEST(StridedMapTest, EmptyMapsBuildWithoutDividing) {
  KILN_ASSERT_OK_AND_ASSIGN(auto empty, MakeStridedMap<2>({3, 0, 5}, {{0, 5, 1}, {5, 1, 0}}, {0, 0}));
  EXPECT_EQ(empty.size(), 0);
  EXPECT_FALSE(empty.index32);
  EXPECT_EQ(FastDivmod(0).Div(7), 7u);
}

TEST(StridedMapTest, LargeMapsKeep64BitIndexing) {
  KILN_ASSERT_OK_AND_ASSIGN(auto big, BroadcastMap<2>({int64_t{1} << 16, int64_t{1} << 15}, {{int64_t{1} << 15}}));
  EXPECT_FALSE(big.index32);
  // Small enough to count, but an operand's offsets reach past 2^31.
  KILN_ASSERT_OK_AND_ASSIGN(auto far, MakeStridedMap<2>({8, 8}, {{8, 1}, {int64_t{1} << 29, 1}}, {0, 0}));
  EXPECT_FALSE(far.index32);
  KILN_ASSERT_OK_AND_ASSIGN(auto near, MakeStridedMap<2>({8, 8}, {{8, 1}, {int64_t{1} << 27, 1}}, {0, 0}));
  EXPECT_TRUE(near.index32);
  ExpectSameOffsets(near);
}

}  // namespace
}  // namespace kiln::cuda
#endif  // KILN_HAVE_CUDA
