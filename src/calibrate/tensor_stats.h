#pragma once
// Statistics of one tensor over calibration batches: max |x| and a histogram of |x|.

#include <cstdint>
#include <vector>

#include "kiln/status.h"
#include "kiln/tensor.h"

namespace kiln::calibrate {

// The histogram covers [0, range) in num_bins bins of equal width; range is the smallest power of
// two above max |x|. A batch beyond the range doubles it as often as needed, merging adjacent bin
// pairs, so the histogram does not depend on how the data was split into batches.
// NaN and infinities are not recorded, only counted.
class TensorStats {
 public:
  static constexpr int kDefaultNumBins = 2048;

  // num_bins is rounded up to a power of two.
  explicit TensorStats(int num_bins = kDefaultNumBins);

  void Add(const float* data, int64_t n);
  // Floating-point tensors only.
  Status Add(const Tensor& t);

  float amax() const { return amax_; }
  // Finite values recorded.
  int64_t count() const { return count_; }
  // NaN and infinite values seen (and ignored).
  int64_t nonfinite_count() const { return nonfinite_; }
  int num_bins() const { return static_cast<int>(histogram_.size()); }
  const std::vector<int64_t>& histogram() const { return histogram_; }
  // Upper edge of the histogram; 0 while every value seen is 0.
  double range() const { return range_; }
  double bin_width() const { return range_ / static_cast<double>(histogram_.size()); }

 private:
  void GrowTo(double value);

  std::vector<int64_t> histogram_;
  double range_ = 0;
  float amax_ = 0;
  int64_t count_ = 0;
  int64_t nonfinite_ = 0;
};

// max |x| per channel of a tensor's last axis over calibration batches (non-finite values skipped),
// and a sample of its rows (vectors along the last axis): what INT8 smoothing of a matrix product's
// activation is chosen from (convert/smoothing.h).
class ChannelStats {
 public:
  // Keeps at most `max_rows` rows, taken evenly from each batch, at most half of them per batch.
  explicit ChannelStats(int64_t max_rows = 1024) : max_rows_(max_rows) {}

  // Floating-point tensors of rank 1 or more; an error when the last dim differs from earlier batches'.
  Status Add(const Tensor& t);
  int64_t channels() const { return static_cast<int64_t>(amax_.size()); }
  const std::vector<float>& amax() const { return amax_; }
  // The sampled rows, [num_rows, channels] row-major, and the batch each came from.
  const std::vector<float>& rows() const { return rows_; }
  const std::vector<int>& row_batches() const { return row_batches_; }
  int64_t num_rows() const { return static_cast<int64_t>(row_batches_.size()); }

 private:
  int64_t max_rows_;
  std::vector<float> amax_, rows_;
  std::vector<int> row_batches_;
  int batches_ = 0;
};

}  // namespace kiln::calibrate
