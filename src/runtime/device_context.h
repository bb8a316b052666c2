#pragma once
// A run's hold on a device other than the host, as kernels and the executor see it.

#include <memory>
#include <string>
#include <vector>

#include "kiln/device.h"
#include "kiln/status.h"
#include "kiln/tensor.h"

namespace kiln::runtime {

// How a scatter combines an update with the element already there.
enum class ScatterReduction { kNone, kAdd, kMul, kMax, kMin };

// One run's hold on a device other than the host: the memory and the stream that the kernels on it
// use, and the copies in and out. CUDA's is cuda::StreamContext.
class DeviceContext {
 public:
  virtual ~DeviceContext() = default;
  virtual Device device() const = 0;
  // The stream the run's work is ordered on.
  virtual CudaStream stream() const = 0;
  // Whether FP32 matrix products and convolutions may use TF32.
  virtual bool allow_tf32() const = 0;
  // Uninitialised memory on the device, ordered on the run's stream.
  virtual StatusOr<Tensor> Allocate(DType dtype, const Shape& shape) = 0;
  // Host to device, ordered on the run's stream (through pinned staging memory).
  virtual StatusOr<Tensor> ToDevice(const Tensor& host) = 0;
  // Device to host: the copies are queued together, and the call waits for them once.
  virtual StatusOr<std::vector<Tensor>> ToHost(const std::vector<Tensor>& tensors) = 0;
  // Waits for everything queued on the run's stream; reports errors the device raised meanwhile.
  virtual Status Synchronize() = 0;

  // Element movement on the device, for kernels that share a CPU kernel's host logic (the
  // primitives of kernels/cpu/array_util.h, with the same meanings).
  virtual StatusOr<Tensor> Transpose(const Tensor& in, const std::vector<int>& perm) = 0;
  virtual StatusOr<Tensor> CopyByAxisMaps(const Tensor& in, const std::vector<std::vector<int64_t>>& maps,
                                          const Tensor* fill) = 0;
  virtual Status ConcatInto(const std::vector<const Tensor*>& parts, int axis, Tensor& out) = 0;
  virtual StatusOr<std::vector<Tensor>> SplitAlong(const Tensor& in, int axis, const std::vector<int64_t>& sizes) = 0;
  virtual StatusOr<Tensor> GatherSlices(const Tensor& data, const std::vector<int64_t>& offsets, int64_t slice,
                                        const Shape& out_shape) = 0;
  virtual StatusOr<Tensor> ScatterSlices(const Tensor& data, const std::vector<int64_t>& offsets, int64_t slice,
                                         const Tensor& updates, ScatterReduction reduction) = 0;
  // Arithmetic that composite kernels (Einsum) are built from: out [outer] = sum over the rows of
  // t viewed as [outer, inner]; and a batched matrix product (kernels/cpu/matmul.h's rules).
  virtual StatusOr<Tensor> SumRows(const Tensor& t, int64_t outer, int64_t inner, const Shape& out_shape) = 0;
  virtual StatusOr<Tensor> BatchMatMul(const Tensor& x, const Tensor& y, bool adj_x, bool adj_y, bool broadcast,
                                       const std::string& op) = 0;
};

// A context on `device` for one run, on the caller's `stream` or, when null, on one of kiln's own
// streams. Fails with a message that says why when the device cannot be used.
StatusOr<std::unique_ptr<DeviceContext>> OpenDeviceContext(Device device, CudaStream stream, bool allow_tf32);

}  // namespace kiln::runtime
