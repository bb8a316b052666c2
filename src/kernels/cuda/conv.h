#pragma once
// Convolutions on cuDNN for the CUDA kernels: forward (dense, grouped, depthwise, dilated; 1 to 3
// spatial dims; NHWC or NCHW) and the transposed convolution (backward data). Filters come in
// kiln's layout [spatial..., in/groups, out] and are rearranged for cuDNN on the device, once at
// load time for constant filters (ArrangeFilter) and on every call otherwise. cuDNN's fastest
// algorithm for each problem is measured once per process and remembered.

#include <vector>

#include "cuda/stream_context.h"
#include "ir/ops/conv_geometry.h"
#include "ir/ops/fused_ops.h"
#include "kernels/cpu/conv_plan.h"
#include "runtime/kernel.h"

namespace kiln::cuda {

struct ConvGeometry {
  bool channels_first = false;
  int64_t batch = 0, in_c = 0, out_c = 0, groups = 1;
  std::vector<ir::WindowDim> dims;  // one per spatial dim (1 to 3)
};

// A filter in kiln's layout, on the device or (when `arranged` holds it already in cuDNN's layout)
// only its shape.
struct ConvFilter {
  const Tensor& filter;
  const Tensor* arranged = nullptr;  // ArrangeFilter(filter), made ahead; nullptr: arranged per call
};

// kiln's filter [spatial..., in/groups, out] rearranged to cuDNN's [out, spatial..., in/groups]
// (NHWC) or [out, in/groups, spatial...] (NCHW).
StatusOr<Tensor> ArrangeFilter(StreamContext& ctx, const Tensor& filter, bool channels_first);

// out = conv(x, filter): x [batch, spatial..., in_c] (or [batch, in_c, spatial...]), out the same
// layout with out_c channels and the windows' output sizes.
Status ConvForward(StreamContext& ctx, const ConvGeometry& g, const Tensor& x, ConvFilter filter, Tensor& out);

// dx = the transposed convolution of dy by filter [spatial..., dx channels, dy channels], the
// gradient of ConvForward with respect to its input (groups of 1).
Status ConvBackwardData(StreamContext& ctx, const ConvGeometry& g, const Tensor& dy, ConvFilter filter, Tensor& dx);

std::vector<DType> ConvDTypes();

// A fused convolution (input 0 the image, 1 the filter, then the epilogue's bias and residual) as
// one cuDNN graph with runtime fusion, for 2-D channels-last float16/bfloat16 convolutions with
// channel counts that are multiples of 8 and an activation cuDNN fuses (conv_graph.cc). False when
// the problem is not one of those or no cuDNN engine takes it: the caller runs the convolution and
// its epilogue itself (and sets output 0).
StatusOr<bool> TryFusedConvGraph(runtime::KernelContext& ctx, kernels::cpu::nn::ConvKind kind, const ir::Epilogue& e);

// For the kernels whose input 1 is a filter in kiln's layout: a constant filter arranged for cuDNN
// once, at load time (see KernelOptions::prepared_inputs). Depthwise filters [kh, kw, channels,
// multiplier] are read as [kh, kw, 1, channels * multiplier].
runtime::KernelOptions::PreparedInput ArrangedFilterInput(bool depthwise);

}  // namespace kiln::cuda
