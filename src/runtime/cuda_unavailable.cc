// Without the CUDA backend compiled in, the CUDA entry points report that no device exists.
#ifndef KILN_HAVE_CUDA
#include "kernels/cuda/cuda_api.h"

namespace kiln::cuda {

int DeviceCount() { return 0; }
StatusOr<std::string> DeviceDescription(int) {
  return Status(StatusCode::kUnavailable, "kiln was built without CUDA");
}
StatusOr<Tensor> Relu(const Tensor&) { return Status(StatusCode::kUnavailable, "kiln was built without CUDA"); }

}  // namespace kiln::cuda
#endif
