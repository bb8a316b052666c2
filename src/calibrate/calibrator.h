#pragma once
// Calibrators: the amax (clipping threshold of |x|) of a tensor from its statistics.

#include <string>

#include "calibrate/tensor_stats.h"
#include "kiln/precision.h"
#include "kiln/status.h"

namespace kiln::calibrate {

// kMinMax: max |x|. kPercentile: the upper edge of the histogram bin where the cumulative share
// of |x| reaches `percentile` percent (at most max |x|). kEntropy: TensorRT's KL-divergence
// search (8 bits: 128 levels) over thresholds of 128 bins up to the whole histogram, the one of
// least divergence (the largest among equals), at most max |x|.
// An error when no finite value was recorded or percentile is outside (0, 100].
StatusOr<float> ComputeAmax(const TensorStats& stats, CalibratorKind kind, double percentile = 99.99);

}  // namespace kiln::calibrate
