// Devices, copies and memory statistics: the public entry points of the CUDA runtime.
#include <cublas_v2.h>
#include <cudnn.h>

#include "cuda/allocator.h"
#include "cuda/check.h"
#include "cuda/cuda_api.h"
#include "cuda/stream_context.h"

namespace kiln {

int CudaDeviceCount() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();
    return 0;
  }
  return n;
}

Status CheckDeviceUsable(Device device) {
  if (device.is_cpu()) return OkStatus();
  int n = 0;
  const cudaError_t err = cudaGetDeviceCount(&n);
  if (err != cudaSuccess) {
    cudaGetLastError();
    return Unavailable("cannot use " + device.ToString() + ": no usable CUDA driver or GPU on this machine (" +
                       cudaGetErrorName(err) + ": " + cudaGetErrorString(err) + ")");
  }
  if (n == 0) return Unavailable("cannot use " + device.ToString() + ": this machine has no CUDA GPU");
  if (device.index >= n) {
    return Unavailable("cannot use " + device.ToString() + ": this machine has " + std::to_string(n) +
                       " CUDA GPU(s) (cuda:0" + (n > 1 ? " to cuda:" + std::to_string(n - 1) : std::string()) + ")");
  }
  return OkStatus();
}

StatusOr<DeviceMemoryStats> GetDeviceMemoryStats(Device device) {
  KILN_RETURN_IF_ERROR(CheckDeviceUsable(device));
  if (device.is_cpu()) return InvalidArgument("memory statistics are kept for CUDA devices only");
  KILN_ASSIGN_OR_RETURN(cuda::DeviceAllocator * allocator, cuda::DeviceAllocator::ForDevice(device.index));
  return allocator->Stats();
}

Status ResetPeakDeviceMemory(Device device) {
  KILN_RETURN_IF_ERROR(CheckDeviceUsable(device));
  if (device.is_cpu()) return InvalidArgument("memory statistics are kept for CUDA devices only");
  KILN_ASSIGN_OR_RETURN(cuda::DeviceAllocator * allocator, cuda::DeviceAllocator::ForDevice(device.index));
  allocator->ResetPeak();
  return OkStatus();
}

StatusOr<Tensor> CopyTensor(const Tensor& tensor, Device device, CudaStream stream) {
  if (tensor.device() == device || IsHostOnly(tensor.dtype())) {
    if (IsHostOnly(tensor.dtype()) && !device.is_cpu()) {
      return InvalidArgument(std::string(DTypeName(tensor.dtype())) + " tensors stay on the host");
    }
    return tensor;
  }
  const Device gpu = device.is_cpu() ? tensor.device() : device;
  KILN_RETURN_IF_ERROR(CheckDeviceUsable(gpu));
  KILN_ASSIGN_OR_RETURN(auto ctx, cuda::StreamContext::Open(gpu.index, stream, /*allow_tf32=*/false));
  if (device.is_cpu()) {
    KILN_ASSIGN_OR_RETURN(std::vector<Tensor> host, ctx->ToHost({tensor}));
    return host[0];
  }
  if (!tensor.on_host()) {  // between two GPUs
    KILN_ASSIGN_OR_RETURN(Tensor t, ctx->Allocate(tensor.dtype(), tensor.shape()));
    KILN_CUDA_RETURN_IF_ERROR(cudaMemcpyPeerAsync(t.raw_data(), device.index, tensor.raw_data(),
                                                  tensor.device().index, tensor.byte_size(), ctx->stream()));
    if (stream == nullptr) KILN_RETURN_IF_ERROR(ctx->Synchronize());
    return t;
  }
  KILN_ASSIGN_OR_RETURN(Tensor t, ctx->ToDevice(tensor));
  if (stream == nullptr) KILN_RETURN_IF_ERROR(ctx->Synchronize());
  return t;
}

namespace runtime {

StatusOr<std::unique_ptr<DeviceContext>> OpenDeviceContext(Device device, CudaStream stream, bool allow_tf32) {
  if (!device.is_cuda()) return InvalidArgument("no device context for " + device.ToString());
  KILN_RETURN_IF_ERROR(CheckDeviceUsable(device));
  KILN_ASSIGN_OR_RETURN(auto ctx, cuda::StreamContext::Open(device.index, stream, allow_tf32));
  return std::unique_ptr<DeviceContext>(std::move(ctx));
}

}  // namespace runtime

namespace cuda {

StatusOr<std::string> DeviceDescription(int device) {
  cudaDeviceProp prop{};
  KILN_CUDA_RETURN_IF_ERROR(cudaGetDeviceProperties(&prop, device));
  return std::string(prop.name) + " (compute capability " + std::to_string(prop.major) + "." +
         std::to_string(prop.minor) + ", " + std::to_string(prop.multiProcessorCount) + " SMs, " +
         std::to_string(prop.totalGlobalMem >> 30) + " GiB)";
}

namespace {

std::map<std::string, std::string> Versions() {
  auto dotted = [](int v) { return std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10); };
  int runtime = 0, driver = 0;
  cudaRuntimeGetVersion(&runtime);
  cudaDriverGetVersion(&driver);
  const size_t cudnn = cudnnGetVersion();
  int cublas[3] = {0, 0, 0};
  cublasGetProperty(MAJOR_VERSION, &cublas[0]);
  cublasGetProperty(MINOR_VERSION, &cublas[1]);
  cublasGetProperty(PATCH_LEVEL, &cublas[2]);
  return {{"cuda", dotted(runtime)},
          {"driver", dotted(driver)},
          {"cudnn", std::to_string(cudnn / 10000) + "." + std::to_string(cudnn % 10000 / 100) + "." +
                        std::to_string(cudnn % 100)},
          {"cublas", std::to_string(cublas[0]) + "." + std::to_string(cublas[1]) + "." + std::to_string(cublas[2])}};
}

}  // namespace

std::string LibraryVersions() {
  auto v = Versions();
  return "CUDA runtime " + v["cuda"] + ", driver " + v["driver"] + ", cuDNN " + v["cudnn"] + ", cuBLAS " + v["cublas"];
}

StatusOr<GpuFacts> GetGpuFacts(int device) {
  KILN_RETURN_IF_ERROR(CheckDeviceUsable(Device::CUDA(device)));
  cudaDeviceProp prop{};
  KILN_CUDA_RETURN_IF_ERROR(cudaGetDeviceProperties(&prop, device));
  return GpuFacts{prop.name, std::to_string(prop.major) + "." + std::to_string(prop.minor), Versions()};
}

}  // namespace cuda
}  // namespace kiln
