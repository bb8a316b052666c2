#pragma once
// Chooses how INT8 engines smooth the activations of a model's matrix products (passes/smoothing.h)
// from the calibration statistics: per activation, the alpha whose quantized products of the
// sampled calibration rows come closest to the float32 ones.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "calibrate/table.h"
#include "calibrate/tensor_stats.h"
#include "ir/graph.h"
#include "kiln/precision.h"
#include "kiln/status.h"

namespace kiln::convert {

// The alphas tried per activation when the user gives none.
const std::vector<float>& SmoothingCandidates();

// For each activation in `channels` that smoothable layers of `graph` read (SmoothableWeightsOf,
// 2-D weights, not pinned by `pins`): with `alpha`, that alpha; without, the one of
// SmoothingCandidates(), or no smoothing, whose INT8 emulation of those layers on the sampled rows
// has the least relative squared error (summed over the layers), the unsmoothed activation
// quantized with its calibrated `amax`. Activations best left unsmoothed are not in the result.
StatusOr<std::map<std::string, calibrate::ChannelSmoothing>> ChooseSmoothing(
    const ir::Graph& graph, const std::map<std::string, calibrate::ChannelStats>& channels,
    const std::map<std::string, float>& amax, std::optional<float> alpha, const std::vector<PrecisionPin>& pins);

}  // namespace kiln::convert
