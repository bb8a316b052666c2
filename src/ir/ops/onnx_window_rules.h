#pragma once
// Geometry of the ONNX-semantics pooling and resize ops (onnx_nn_ops.cc): attribute parsing and
// output sizes, shared with their CPU kernels so that both agree. Sizes are -1 where unknown.

#include <cstdint>
#include <string>
#include <vector>

#include "ir/attr.h"
#include "kiln/status.h"
#include "kiln/tensor.h"

namespace kiln::ir {

enum class OnnxPoolMode { kMax, kAvg, kLp };

// OnnxPool's attributes, per spatial dim (defaults filled in).
struct OnnxPoolSpec {
  OnnxPoolMode mode = OnnxPoolMode::kMax;
  std::vector<int64_t> kernel, strides, dilations, pads_begin, pads_end;
  std::string auto_pad = "NOTSET";
  bool ceil_mode = false;
  bool count_include_pad = false;
  int64_t p = 2;
  // data_format "NHWC" (kiln's channels-last form, which engines use): X is [N, spatial..., C]
  // instead of ONNX's [N, C, spatial...].
  bool channels_last = false;
  // The axis of spatial dim i in X, and of its channels.
  int spatial_axis(int i) const { return (channels_last ? 1 : 2) + i; }
  int channel_axis() const { return channels_last ? static_cast<int>(kernel.size()) + 1 : 1; }
};
// The spatial rank is kernel_shape's length (1 to 3).
StatusOr<OnnxPoolSpec> ParseOnnxPoolSpec(const AttrMap& attrs);

// One spatial dim of a pooling window: output size and the padding in effect (SAME_* computes it).
struct OnnxPoolDim {
  int64_t out = -1;
  int64_t pad_begin = 0;
  int64_t pad_end = 0;
};
// ONNX's output size rules: explicit pads with floor or ceil (a last window that would start in the
// end padding is dropped), VALID, or SAME_UPPER/SAME_LOWER (ceil(in / stride)). `in` may be -1.
StatusOr<OnnxPoolDim> ComputeOnnxPoolDim(const OnnxPoolSpec& spec, int dim, int64_t in);

enum class ResizeMode { kNearest, kLinear, kCubic };

// OnnxResize's attributes, with axes normalised against the input rank.
struct OnnxResizeSpec {
  ResizeMode mode = ResizeMode::kNearest;
  std::string coordinate_mode = "half_pixel";
  std::string nearest_mode = "round_prefer_floor";
  double cubic_coeff_a = -0.75;
  bool exclude_outside = false;
  double extrapolation_value = 0.0;
  bool antialias = false;
  std::vector<int> axes;  // the resized axes, in the order scales/sizes/roi list them
  std::string keep_aspect_ratio_policy = "stretch";
};
StatusOr<OnnxResizeSpec> ParseOnnxResizeSpec(const AttrMap& attrs, int rank);

// Output size and scale (output / input, as ONNX uses it for coordinates) of every input dim.
struct ResizeTarget {
  std::vector<int64_t> out;
  std::vector<double> scale;
};
// From exactly one of `scales` (floor(in * scale)) or `sizes` (with keep_aspect_ratio_policy),
// each with one entry per spec.axes. Dims of `in` may be -1 (then those outputs are -1).
StatusOr<ResizeTarget> ResolveResizeTarget(const OnnxResizeSpec& spec, const std::vector<int64_t>& in,
                                           const std::vector<float>* scales, const std::vector<int64_t>* sizes);

}  // namespace kiln::ir
