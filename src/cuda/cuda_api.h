#pragma once
// Host-side facts about the CUDA devices, callable from code built without CUDA: without CUDA (or
// without a GPU) CudaDeviceCount() is 0 and the rest return Unavailable.

#include <map>
#include <string>

#include "kiln/status.h"

namespace kiln::cuda {

// e.g. "NVIDIA H100 80GB HBM3 (compute capability 9.0, 132 SMs, 79 GiB)"
StatusOr<std::string> DeviceDescription(int device);
// "CUDA runtime 13.0, driver 13.0, cuDNN 9.19.0, cuBLAS 13.1.0"
std::string LibraryVersions();

// What an engine file records about the GPU it was built for.
struct GpuFacts {
  std::string name;                                     // "NVIDIA H100 80GB HBM3"
  std::string compute_capability;                       // "9.0"
  std::map<std::string, std::string> versions;  // cuda, driver, cudnn, cublas -> "13.0", ...
};
StatusOr<GpuFacts> GetGpuFacts(int device);

}  // namespace kiln::cuda
