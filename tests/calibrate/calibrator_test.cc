// TensorStats and the calibrators: max, histogram growth independent of batching, percentile on
// known data, and the entropy search on Gaussian data with outliers and on uniform data; the
// per-channel statistics that INT8 smoothing is chosen from.
#include "calibrate/calibrator.h"

#include <cmath>
#include <limits>
#include <random>

#include "util/test_util.h"

namespace kiln {
namespace {

using calibrate::ComputeAmax;
using calibrate::TensorStats;

std::vector<float> Gaussian(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> d(0.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

TEST(TensorStatsTest, MinMaxIsTheLargestMagnitudeAndSkipsNonFinite) {
  TensorStats stats;
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  const std::vector<float> a = {0.5f, -2.75f, nan, 1.0f}, b = {inf, -inf, 2.5f, -0.0f};
  stats.Add(a.data(), 4);
  KILN_ASSERT_OK(stats.Add(Tensor::FromVector<float>({4}, b)));
  EXPECT_EQ(stats.count(), 5);
  EXPECT_EQ(stats.nonfinite_count(), 3);
  EXPECT_EQ(stats.amax(), 2.75f);
  EXPECT_EQ(stats.range(), 4.0);  // the smallest power of two above 2.75
  KILN_ASSERT_OK_AND_ASSIGN(float amax, ComputeAmax(stats, CalibratorKind::kMinMax));
  EXPECT_EQ(amax, 2.75f);
  EXPECT_FALSE(stats.Add(Tensor::FromVector<int32_t>({1}, {3})).ok());
}

TEST(TensorStatsTest, BatchesGiveTheHistogramOfTheirConcatenation) {
  // Growing ranges force two rounds of bin merging; a zero-only batch comes first.
  std::vector<std::vector<float>> batches = {{0.0f, 0.0f}, Gaussian(3000, 1), Gaussian(3000, 2), Gaussian(3000, 3)};
  for (float& x : batches[2]) x *= 7.0f;
  for (float& x : batches[3]) x *= 300.0f;
  batches[1].push_back(std::numeric_limits<float>::quiet_NaN());
  TensorStats split, whole;
  std::vector<float> all;
  for (const auto& batch : batches) {
    split.Add(batch.data(), static_cast<int64_t>(batch.size()));
    all.insert(all.end(), batch.begin(), batch.end());
  }
  whole.Add(all.data(), static_cast<int64_t>(all.size()));
  EXPECT_EQ(split.amax(), whole.amax());
  EXPECT_EQ(split.range(), whole.range());
  EXPECT_EQ(split.count(), whole.count());
  EXPECT_EQ(split.nonfinite_count(), 1);
  EXPECT_EQ(split.histogram(), whole.histogram());
  EXPECT_EQ(split.num_bins(), 2048);
  EXPECT_GT(split.range(), split.amax());
  EXPECT_LE(split.range(), 2.0 * split.amax());
  int64_t total = 0;
  for (int64_t c : split.histogram()) total += c;
  EXPECT_EQ(total, split.count());
}

TEST(ChannelStatsTest, MaxPerChannelOfTheLastAxisAndRowsFromEveryBatch) {
  calibrate::ChannelStats stats(/*max_rows=*/4);
  KILN_ASSERT_OK(stats.Add(Tensor::FromVector<float>({2, 2, 3}, {1, -7, 0, 2, 3, 1, -4, NAN, 0.5f, 0, 0, 8})));
  EXPECT_EQ(stats.channels(), 3);
  EXPECT_EQ(stats.amax(), (std::vector<float>{4, 7, 8}));
  // At most half of max_rows from one batch: rows 0 and 2 of four, evenly spaced; NaN reads as 0.
  ASSERT_EQ(stats.num_rows(), 2);
  EXPECT_EQ(stats.rows(), (std::vector<float>{1, -7, 0, -4, 0, 0.5f}));
  KILN_ASSERT_OK(stats.Add(Tensor::FromVector<float>({1, 3}, {-9, 0, 0})));
  EXPECT_EQ(stats.amax(), (std::vector<float>{9, 7, 8}));
  EXPECT_EQ(stats.row_batches(), (std::vector<int>{0, 0, 1}));

  const Status s = stats.Add(Tensor::FromVector<float>({1, 2}, {1, 2}));
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("last dim changed between calibration batches, from 3 to 2"), std::string::npos)
      << s.ToString();
  EXPECT_FALSE(stats.Add(Tensor::FromVector<int32_t>({1, 3}, {1, 2, 3})).ok());
}

TEST(CalibratorTest, PercentileOnKnownData) {
  // |x| = 1 .. 10000: range 16384, bins of width 8.
  std::vector<float> v;
  for (int i = 1; i <= 10000; ++i) v.push_back(i % 2 ? static_cast<float>(i) : -static_cast<float>(i));
  TensorStats stats;
  stats.Add(v.data(), static_cast<int64_t>(v.size()));
  ASSERT_EQ(stats.bin_width(), 8.0);
  // The 5000th value (5000) lies in bin [5000, 5008): its upper edge.
  KILN_ASSERT_OK_AND_ASSIGN(float p50, ComputeAmax(stats, CalibratorKind::kPercentile, 50));
  EXPECT_EQ(p50, 5008.0f);
  KILN_ASSERT_OK_AND_ASSIGN(float p90, ComputeAmax(stats, CalibratorKind::kPercentile, 90));
  EXPECT_EQ(p90, 9008.0f);  // the 9000th value (9000) lies in bin [9000, 9008)
  KILN_ASSERT_OK_AND_ASSIGN(float p100, ComputeAmax(stats, CalibratorKind::kPercentile, 100));
  EXPECT_EQ(p100, 10000.0f);
  KILN_ASSERT_OK_AND_ASSIGN(float dflt, ComputeAmax(stats, CalibratorKind::kPercentile));
  EXPECT_EQ(dflt, 10000.0f);  // 99.99%: the 9999th value, in the last bin; capped at max |x|
  EXPECT_FALSE(ComputeAmax(stats, CalibratorKind::kPercentile, 0).ok());
  EXPECT_FALSE(ComputeAmax(stats, CalibratorKind::kPercentile, 100.5).ok());
}

TEST(CalibratorTest, EntropyClipsGaussianOutliers) {
  std::vector<float> v = Gaussian(200000, 4);
  for (int i = 0; i < 10; ++i) v.push_back(i % 2 ? 50.0f : -50.0f);
  TensorStats stats;
  for (size_t i = 0; i < v.size(); i += 10000) {
    stats.Add(v.data() + i, static_cast<int64_t>(std::min<size_t>(10000, v.size() - i)));
  }
  EXPECT_EQ(stats.amax(), 50.0f);
  KILN_ASSERT_OK_AND_ASSIGN(float amax, ComputeAmax(stats, CalibratorKind::kEntropy));
  EXPECT_GT(amax, 2.0f);   // above 2 sigma
  EXPECT_LT(amax, 12.5f);  // well below the outliers
  KILN_ASSERT_OK_AND_ASSIGN(float p, ComputeAmax(stats, CalibratorKind::kPercentile, 99.99));
  EXPECT_LT(p, 10.0f);
}

TEST(CalibratorTest, EntropyKeepsUniformDataNearItsMax) {
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<float> d(-1.0f, 1.0f);
  std::vector<float> v(200000);
  for (float& x : v) x = d(rng);
  TensorStats stats;
  stats.Add(v.data(), static_cast<int64_t>(v.size()));
  KILN_ASSERT_OK_AND_ASSIGN(float amax, ComputeAmax(stats, CalibratorKind::kEntropy));
  EXPECT_GT(amax, 0.9f * stats.amax());
  EXPECT_LE(amax, stats.amax());
}

TEST(CalibratorTest, EmptyAndZeroStatistics) {
  TensorStats empty;
  const float nan = std::numeric_limits<float>::quiet_NaN();
  empty.Add(&nan, 1);
  for (CalibratorKind kind : {CalibratorKind::kEntropy, CalibratorKind::kPercentile, CalibratorKind::kMinMax}) {
    auto r = ComputeAmax(empty, kind);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("no finite values"), std::string::npos) << r.status().ToString();
  }
  TensorStats zeros;
  const std::vector<float> z(100, 0.0f);
  zeros.Add(z.data(), 100);
  for (CalibratorKind kind : {CalibratorKind::kEntropy, CalibratorKind::kPercentile, CalibratorKind::kMinMax}) {
    KILN_ASSERT_OK_AND_ASSIGN(float amax, ComputeAmax(zeros, kind));
    EXPECT_EQ(amax, 0.0f) << CalibratorName(kind);
  }
}

TEST(CalibratorTest, NamesRoundTrip) {
  for (CalibratorKind kind : {CalibratorKind::kEntropy, CalibratorKind::kPercentile, CalibratorKind::kMinMax}) {
    KILN_ASSERT_OK_AND_ASSIGN(CalibratorKind parsed, ParseCalibrator(CalibratorName(kind)));
    EXPECT_EQ(parsed, kind);
  }
  EXPECT_FALSE(ParseCalibrator("mse").ok());
}

}  // namespace
}  // namespace kiln
