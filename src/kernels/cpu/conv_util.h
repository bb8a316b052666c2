#pragma once
// Window geometry of the conv and pooling kernels on channels-last tensors [N, spatial..., C].

#include <vector>

#include "ir/ops/conv_geometry.h"
#include "kiln/tensor.h"

namespace kiln::kernels::cpu::nn {

// One WindowDim per spatial dim of `input` (channels last), for kernel sizes `kernel`.
inline StatusOr<std::vector<ir::WindowDim>> SpatialWindows(const Shape& input, const std::vector<int64_t>& kernel,
                                                           const ir::WindowSpec& spec) {
  std::vector<ir::WindowDim> dims;
  for (size_t i = 0; i < kernel.size(); ++i) {
    KILN_ASSIGN_OR_RETURN(ir::WindowDim w, ir::ComputeWindowDim(input[i + 1], kernel[i], spec, static_cast<int>(i)));
    dims.push_back(w);
  }
  return dims;
}

// [batch, out spatial..., channels].
inline Shape WindowOutputShape(int64_t batch, const std::vector<ir::WindowDim>& dims, int64_t channels) {
  Shape s = {batch};
  for (const auto& w : dims) s.push_back(w.out);
  s.push_back(channels);
  return s;
}

}  // namespace kiln::kernels::cpu::nn
