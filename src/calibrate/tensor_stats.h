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

}  // namespace kiln::calibrate
