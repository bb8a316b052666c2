#pragma once
// Convolutions on cuDNN for the CUDA kernels: forward (dense, grouped, depthwise, dilated; 1 to 3
// spatial dims; NHWC or NCHW) and the transposed convolution (backward data). Filters come in
// kiln's layout [spatial..., in/groups, out] and are rearranged for cuDNN on the device. cuDNN's
// fastest algorithm for each problem is measured once per process and remembered.

#include <vector>

#include "cuda/stream_context.h"
#include "ir/ops/conv_geometry.h"

namespace kiln::cuda {

struct ConvGeometry {
  bool channels_first = false;
  int64_t batch = 0, in_c = 0, out_c = 0, groups = 1;
  std::vector<ir::WindowDim> dims;  // one per spatial dim (1 to 3)
};

// out = conv(x, filter): x [batch, spatial..., in_c] (or [batch, in_c, spatial...]), out the same
// layout with out_c channels and the windows' output sizes.
Status ConvForward(StreamContext& ctx, const ConvGeometry& g, const Tensor& x, const Tensor& filter, Tensor& out);

// dx = the transposed convolution of dy by filter [spatial..., dx channels, dy channels], the
// gradient of ConvForward with respect to its input (groups of 1).
Status ConvBackwardData(StreamContext& ctx, const ConvGeometry& g, const Tensor& dy, const Tensor& filter, Tensor& dx);

std::vector<DType> ConvDTypes();

}  // namespace kiln::cuda
