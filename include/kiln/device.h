#pragma once
// Where a tensor's bytes live and where a model runs: the host, or CUDA device N.

#include <cstdint>
#include <string>
#include <string_view>

#include "kiln/status.h"

// CUDA's stream handle type (cudaStream_t), named without including CUDA's headers.
struct CUstream_st;

namespace kiln {

using CudaStream = CUstream_st*;

enum class DeviceType : uint8_t { kCPU, kCUDA };

struct Device {
  DeviceType type = DeviceType::kCPU;
  int index = 0;

  static Device CPU() { return {}; }
  static Device CUDA(int index = 0) { return {DeviceType::kCUDA, index}; }
  bool is_cpu() const { return type == DeviceType::kCPU; }
  bool is_cuda() const { return type == DeviceType::kCUDA; }
  // "cpu", "cuda:0"
  std::string ToString() const;
  bool operator==(const Device& o) const = default;
};

// "cpu", "cuda" (device 0) or "cuda:N". Does not check that the device exists.
StatusOr<Device> ParseDevice(std::string_view text);

// The CUDA devices kiln can use: 0 when kiln was built without CUDA, or there is no driver or GPU.
int CudaDeviceCount();
// OK when `device` can run work: always for the CPU; for CUDA, when the driver answers and the
// device exists. The error says which of those is missing.
Status CheckDeviceUsable(Device device);

// What kiln holds in a GPU's memory: tensors, constants and library workspaces.
struct DeviceMemoryStats {
  int64_t in_use_bytes = 0;    // allocated to kiln's tensors and workspaces now
  int64_t peak_bytes = 0;      // the most in use at once since the last ResetPeakDeviceMemory
  int64_t reserved_bytes = 0;  // held by kiln's memory pool (in use, or kept for reuse)
};
StatusOr<DeviceMemoryStats> GetDeviceMemoryStats(Device device);
// Starts a new peak: peak_bytes becomes in_use_bytes.
Status ResetPeakDeviceMemory(Device device);

}  // namespace kiln
