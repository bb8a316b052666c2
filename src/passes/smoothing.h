#pragma once
// INT8 smoothing (SmoothQuant) of matrix products: an activation's outlier channels are divided
// down and the weight rows they meet multiplied up by the same factors, which leaves the product
// unchanged in exact arithmetic and lets one INT8 scale fit the whole activation. The precision
// pass applies it (passes/precision.h); the converter chooses alpha per activation
// (convert/smoothing.h).

#include <optional>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "kiln/tensor.h"

namespace kiln::passes {

// The matrix products (and their fused forms) whose activations INT8 smoothing may scale.
bool IsSmoothableProduct(const std::string& op);

// The constant weights of a smoothable layer: a matrix product that contracts its activation's last
// axis with constant float32 weights.
struct SmoothableWeights {
  Tensor weights;
  int row_axis = -1;  // the weights' axis met by the activation's last axis
  int out_axis = -1;  // the weights' output-channel axis
};
// nullopt when `layer` (input 0 the activation, input 1 the weights) is not smoothable.
std::optional<SmoothableWeights> SmoothableWeightsOf(const ir::Graph& graph, const ir::Node& layer);

// max |w| per row (index along row_axis); non-finite values skipped.
std::vector<float> WeightRowAmax(const Tensor& w, int row_axis);

// How one activation is smoothed.
struct Smoothing {
  std::vector<float> factors;  // s_j, per channel of the activation's last axis
  float amax = 0;              // the smoothed activation's range, max_j a_j / s_j
};
// s_j = a_j^alpha / w_j^(1 - alpha) from the activation's channel ranges a_j and the max |w| of the
// rows they meet, w_j (over every layer reading the activation); 1 where either is 0, and within
// [1e-6, 1e6]. nullopt when the sizes differ or the smoothed range is 0.
std::optional<Smoothing> ComputeSmoothing(const std::vector<float>& channel_amax,
                                          const std::vector<float>& weight_row_amax, float alpha);

// w * s along row_axis.
Tensor ScaleRows(const Tensor& w, int row_axis, const std::vector<float>& factors);

}  // namespace kiln::passes
