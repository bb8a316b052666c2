#include <memory>

#include "kernels/cuda/cuda_api.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/launch.h"

namespace kiln::cuda {
namespace {

struct DeviceFree {
  void operator()(void* p) const { cudaFree(p); }
};
using DeviceBuffer = std::unique_ptr<void, DeviceFree>;

StatusOr<DeviceBuffer> Allocate(size_t bytes) {
  void* p = nullptr;
  KILN_CUDA_RETURN_IF_ERROR(cudaMalloc(&p, bytes == 0 ? 1 : bytes));
  return DeviceBuffer(p);
}

}  // namespace

int DeviceCount() {
  int n = 0;
  return cudaGetDeviceCount(&n) == cudaSuccess ? n : 0;
}

StatusOr<std::string> DeviceDescription(int device) {
  cudaDeviceProp prop{};
  KILN_CUDA_RETURN_IF_ERROR(cudaGetDeviceProperties(&prop, device));
  return std::string(prop.name) + " (compute capability " + std::to_string(prop.major) + "." +
         std::to_string(prop.minor) + ", " + std::to_string(prop.multiProcessorCount) + " SMs, " +
         std::to_string(prop.totalGlobalMem >> 30) + " GiB)";
}

StatusOr<Tensor> Relu(const Tensor& input) {
  if (input.dtype() != DType::kFloat32) return InvalidArgument("CUDA Relu takes float32, got " + input.DebugString());
  if (DeviceCount() == 0) return Status(StatusCode::kUnavailable, "no CUDA device");
  Tensor output(DType::kFloat32, input.shape());
  KILN_ASSIGN_OR_RETURN(DeviceBuffer in, Allocate(input.byte_size()));
  KILN_ASSIGN_OR_RETURN(DeviceBuffer out, Allocate(input.byte_size()));
  KILN_CUDA_RETURN_IF_ERROR(cudaMemcpy(in.get(), input.raw_data(), input.byte_size(), cudaMemcpyHostToDevice));
  KILN_CUDA_RETURN_IF_ERROR(LaunchRelu(static_cast<const float*>(in.get()), static_cast<float*>(out.get()),
                                       input.num_elements(), nullptr));
  KILN_CUDA_RETURN_IF_ERROR(cudaDeviceSynchronize());
  KILN_CUDA_RETURN_IF_ERROR(cudaMemcpy(output.raw_data(), out.get(), output.byte_size(), cudaMemcpyDeviceToHost));
  return output;
}

}  // namespace kiln::cuda
