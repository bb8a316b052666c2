#pragma once
// The CUDA backend's host-side entry points, callable from code built without CUDA.
// Without CUDA (or without a GPU) DeviceCount() is 0 and the rest return Unavailable.

#include <string>

#include "kiln/status.h"
#include "kiln/tensor.h"

namespace kiln::cuda {

int DeviceCount();
// e.g. "NVIDIA H100 80GB HBM3 (compute capability 9.0, 132 SMs, 79 GiB)"
StatusOr<std::string> DeviceDescription(int device);
// Elementwise max(x, 0) of a float32 tensor on the GPU, copying through device memory.
StatusOr<Tensor> Relu(const Tensor& input);

}  // namespace kiln::cuda
