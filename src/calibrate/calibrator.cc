// Calibrators over TensorStats histograms: max, percentile and TensorRT's entropy (KL divergence).
#include "calibrate/calibrator.h"

#include <cmath>
#include <limits>
#include <vector>

namespace kiln::calibrate {
namespace {

constexpr int kQuantizedBins = 128;  // 8 bits: 127 levels and a sign, as TensorRT counts them

float PercentileAmax(const TensorStats& stats, double percentile) {
  const std::vector<int64_t>& hist = stats.histogram();
  const double target = static_cast<double>(stats.count()) * percentile / 100.0;
  int64_t cumulative = 0;
  size_t bin = hist.size() - 1;
  for (size_t i = 0; i < hist.size(); ++i) {
    cumulative += hist[i];
    if (static_cast<double>(cumulative) >= target) {
      bin = i;
      break;
    }
  }
  const double edge = static_cast<double>(bin + 1) * stats.bin_width();
  return static_cast<float>(std::min(edge, static_cast<double>(stats.amax())));
}

// KL(p || q) of two unnormalised distributions: infinite where p has mass and q has none.
double KlDivergence(const std::vector<double>& p, const std::vector<double>& q, size_t n) {
  double p_sum = 0, q_sum = 0;
  for (size_t j = 0; j < n; ++j) {
    p_sum += p[j];
    q_sum += q[j];
  }
  double kl = 0;
  for (size_t j = 0; j < n; ++j) {
    if (p[j] == 0) continue;
    if (q[j] == 0) return std::numeric_limits<double>::infinity();
    const double pj = p[j] / p_sum;
    kl += pj * std::log(pj / (q[j] / q_sum));
  }
  return kl;
}

// For each threshold of i bins: the reference p is the first i bins with every count beyond them
// folded into bin i - 1; the candidate q merges the first i bins into 128 groups and spreads each
// group's count evenly over its non-empty bins. The empty first bins of ReLU outputs would dominate,
// so bin 0 is given bin 1's count first, as pytorch-quantization does.
float EntropyAmax(const TensorStats& stats) {
  std::vector<double> bins(stats.histogram().begin(), stats.histogram().end());
  const size_t n = bins.size();
  if (n < static_cast<size_t>(kQuantizedBins) || stats.amax() == 0) return stats.amax();
  bins[0] = bins[1];
  std::vector<double> suffix(n + 1, 0.0);  // suffix[i] = sum of bins[i:]
  for (size_t i = n; i-- > 0;) suffix[i] = suffix[i + 1] + bins[i];

  std::vector<double> p(n), q(n), group_sum(kQuantizedBins), group_nonzero(kQuantizedBins);
  double best_kl = std::numeric_limits<double>::infinity();
  size_t best = n;
  for (size_t i = kQuantizedBins; i <= n; ++i) {
    std::fill(group_sum.begin(), group_sum.end(), 0.0);
    std::fill(group_nonzero.begin(), group_nonzero.end(), 0.0);
    for (size_t j = 0; j < i; ++j) {
      if (bins[j] == 0) continue;
      const size_t g = j * kQuantizedBins / i;
      group_sum[g] += bins[j];
      group_nonzero[g] += 1;
    }
    for (size_t j = 0; j < i; ++j) {
      const size_t g = j * kQuantizedBins / i;
      q[j] = bins[j] == 0 ? 0.0 : group_sum[g] / group_nonzero[g];
      p[j] = bins[j];
    }
    p[i - 1] += suffix[i];
    const double kl = KlDivergence(p, q, i);
    if (kl <= best_kl) {
      best_kl = kl;
      best = i;
    }
  }
  const double edge = static_cast<double>(best) * stats.bin_width();
  return static_cast<float>(std::min(edge, static_cast<double>(stats.amax())));
}

}  // namespace

StatusOr<float> ComputeAmax(const TensorStats& stats, CalibratorKind kind, double percentile) {
  if (stats.count() == 0) {
    return FailedPrecondition("no finite values were recorded (" + std::to_string(stats.nonfinite_count()) +
                              " NaN or infinite)");
  }
  switch (kind) {
    case CalibratorKind::kMinMax:
      return stats.amax();
    case CalibratorKind::kPercentile:
      if (!(percentile > 0.0 && percentile <= 100.0)) {
        return InvalidArgument("percentile must be in (0, 100], got " + std::to_string(percentile));
      }
      return PercentileAmax(stats, percentile);
    case CalibratorKind::kEntropy:
      return EntropyAmax(stats);
  }
  return InvalidArgument("unknown calibrator kind");
}

}  // namespace kiln::calibrate
