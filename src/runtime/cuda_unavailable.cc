// Without the CUDA runtime compiled in, every CUDA entry point reports that there is no device.
#ifndef KILN_HAVE_CUDA
#include "cuda/cuda_api.h"
#include "runtime/device_context.h"
#include "runtime/graph_replays.h"

namespace kiln {
namespace {
Status NoCuda(Device device) {
  return Unavailable("cannot use " + device.ToString() + ": kiln was built without CUDA");
}
}  // namespace

int CudaDeviceCount() { return 0; }
Status CheckDeviceUsable(Device device) { return device.is_cpu() ? OkStatus() : NoCuda(device); }
StatusOr<DeviceMemoryStats> GetDeviceMemoryStats(Device device) { return NoCuda(device); }
Status ResetPeakDeviceMemory(Device device) { return NoCuda(device); }
StatusOr<Tensor> CopyTensor(const Tensor& tensor, Device device, CudaStream) {
  if (tensor.device() == device) return tensor;
  return NoCuda(device.is_cpu() ? tensor.device() : device);
}

namespace runtime {
StatusOr<std::unique_ptr<DeviceContext>> OpenDeviceContext(Device device, CudaStream, bool) { return NoCuda(device); }
StatusOr<std::unique_ptr<GraphReplays>> CreateGraphReplays(const Executor& executor) {
  return NoCuda(executor.placement().device);
}
}  // namespace runtime

namespace cuda {
StatusOr<std::string> DeviceDescription(int device) { return NoCuda(Device::CUDA(device)); }
std::string LibraryVersions() { return "none (kiln was built without CUDA)"; }
StatusOr<GpuFacts> GetGpuFacts(int device) { return NoCuda(Device::CUDA(device)); }
}  // namespace cuda
}  // namespace kiln
#endif
