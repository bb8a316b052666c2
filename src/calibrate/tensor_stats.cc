// TensorStats: max |x| and a power-of-two-ranged histogram of |x| over calibration batches.
#include "calibrate/tensor_stats.h"

#include <algorithm>
#include <cmath>

namespace kiln::calibrate {

namespace {

int PowerOfTwoAtLeast(int n) {
  int p = 2;
  while (p < n) p *= 2;
  return p;
}

}  // namespace

TensorStats::TensorStats(int num_bins) : histogram_(static_cast<size_t>(PowerOfTwoAtLeast(num_bins)), 0) {}

// Doubles the range (merging bin pairs) until `value` lies below it.
void TensorStats::GrowTo(double value) {
  if (range_ == 0) {
    // Every value so far was 0 and sits in bin 0, which stays bin 0 for any range.
    int exponent;
    std::frexp(value, &exponent);  // value = m * 2^exponent, m in [0.5, 1)
    range_ = std::ldexp(1.0, exponent);
    return;
  }
  const size_t n = histogram_.size();
  while (value >= range_) {
    for (size_t i = 0; i < n / 2; ++i) histogram_[i] = histogram_[2 * i] + histogram_[2 * i + 1];
    std::fill(histogram_.begin() + static_cast<std::ptrdiff_t>(n / 2), histogram_.end(), 0);
    range_ *= 2;
  }
}

void TensorStats::Add(const float* data, int64_t n) {
  float batch_max = 0;
  for (int64_t i = 0; i < n; ++i) {
    const float a = std::fabs(data[i]);
    if (std::isfinite(a)) batch_max = std::max(batch_max, a);
  }
  if (batch_max > 0 && batch_max >= range_) GrowTo(batch_max);
  amax_ = std::max(amax_, batch_max);
  const int64_t last = static_cast<int64_t>(histogram_.size()) - 1;
  // The width is a power of two, so a / width is exact and bin indices match any batch split.
  const double inv_width = range_ > 0 ? static_cast<double>(histogram_.size()) / range_ : 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const float a = std::fabs(data[i]);
    if (!std::isfinite(a)) {
      ++nonfinite_;
      continue;
    }
    ++count_;
    const int64_t bin = std::min(static_cast<int64_t>(static_cast<double>(a) * inv_width), last);
    ++histogram_[bin];
  }
}

Status TensorStats::Add(const Tensor& t) {
  if (t.dtype() == DType::kFloat32) {
    Add(t.data<float>(), t.num_elements());
    return OkStatus();
  }
  if (!IsFloating(t.dtype())) {
    return InvalidArgument("calibration statistics need a floating-point tensor, got " + t.DebugString());
  }
  const std::vector<float> values = t.ToFloatVector();
  Add(values.data(), static_cast<int64_t>(values.size()));
  return OkStatus();
}

Status ChannelStats::Add(const Tensor& t) {
  if (!IsFloating(t.dtype()) || t.rank() < 1) {
    return InvalidArgument("per-channel calibration needs a floating-point tensor of rank 1 or more, got " +
                           t.DebugString());
  }
  const int64_t channels = t.dim(t.rank() - 1);
  if (batches_ == 0) {
    amax_.assign(static_cast<size_t>(channels), 0.0f);
  } else if (static_cast<int64_t>(amax_.size()) != channels) {
    return InvalidArgument("the last dim changed between calibration batches, from " + std::to_string(amax_.size()) +
                           " to " + std::to_string(channels));
  }
  if (channels == 0) return OkStatus();
  std::vector<float> converted;
  const float* data = nullptr;
  if (t.dtype() == DType::kFloat32) {
    data = t.data<float>();
  } else {
    converted = t.ToFloatVector();
    data = converted.data();
  }
  for (int64_t i = 0; i < t.num_elements(); ++i) {
    const float a = std::fabs(data[i]);
    float& m = amax_[static_cast<size_t>(i % channels)];
    if (std::isfinite(a)) m = std::max(m, a);
  }
  const int64_t batch_rows = t.num_elements() / channels;
  const int64_t take = std::min({batch_rows, max_rows_ - num_rows(), std::max<int64_t>(1, max_rows_ / 2)});
  for (int64_t r = 0; r < take; ++r) {
    const float* row = data + (r * batch_rows / take) * channels;
    for (int64_t c = 0; c < channels; ++c) rows_.push_back(std::isfinite(row[c]) ? row[c] : 0.0f);
    row_batches_.push_back(batches_);
  }
  ++batches_;
  return OkStatus();
}

}  // namespace kiln::calibrate
