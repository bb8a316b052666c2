#pragma once
// The CUDA runtime's DeviceContext: one run's stream, with the cuBLAS and cuDNN handles and the
// memory its kernels use. Handles are expensive to create, so each device keeps a pool of them;
// a run takes one set for its duration, on the caller's stream or the set's own.

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include <memory>

#include "cuda/allocator.h"
#include "cuda/run_memory.h"
#include "runtime/device_context.h"

namespace kiln::cuda {

struct Handles;

class StreamContext final : public runtime::DeviceContext {
 public:
  ~StreamContext() override;
  static StatusOr<std::unique_ptr<StreamContext>> Open(int device, cudaStream_t stream, bool allow_tf32);

  Device device() const override { return Device::CUDA(allocator_->device()); }
  bool allow_tf32() const override { return allow_tf32_; }
  StatusOr<Tensor> Allocate(DType dtype, const Shape& shape) override;
  StatusOr<Tensor> ToDevice(const Tensor& host) override;
  StatusOr<std::vector<Tensor>> ToHost(const std::vector<Tensor>& tensors) override;
  Status Synchronize() override;
  StatusOr<Tensor> Transpose(const Tensor& in, const std::vector<int>& perm) override;
  StatusOr<Tensor> CopyByAxisMaps(const Tensor& in, const std::vector<std::vector<int64_t>>& maps,
                                  const Tensor* fill) override;
  Status ConcatInto(const std::vector<const Tensor*>& parts, int axis, Tensor& out) override;
  StatusOr<std::vector<Tensor>> SplitAlong(const Tensor& in, int axis, const std::vector<int64_t>& sizes) override;
  StatusOr<Tensor> GatherSlices(const Tensor& data, const std::vector<int64_t>& offsets, int64_t slice,
                                const Shape& out_shape) override;
  StatusOr<Tensor> ScatterSlices(const Tensor& data, const std::vector<int64_t>& offsets, int64_t slice,
                                 const Tensor& updates, runtime::ScatterReduction reduction) override;
  StatusOr<Tensor> SumRows(const Tensor& t, int64_t outer, int64_t inner, const Shape& out_shape) override;
  StatusOr<Tensor> BatchMatMul(const Tensor& x, const Tensor& y, bool adj_x, bool adj_y, bool broadcast,
                               const std::string& op) override;

  cudaStream_t stream() const override { return stream_; }
  // Scratch device memory (library workspaces), freed in stream order when the buffer goes.
  StatusOr<std::shared_ptr<Buffer>> Scratch(size_t bytes) { return Memory(bytes); }
  // From now on the run's memory (tensors, scratch, cuBLAS's workspace) comes from `memory`, and,
  // when it serves a captured run, copies from the host read pinned memory that it keeps.
  Status UseRunMemory(std::shared_ptr<RunMemory> memory);
  // The handles, bound to this run's stream; created on first use.
  StatusOr<cublasHandle_t> cublas();
  StatusOr<cudnnHandle_t> cudnn();
  const cudaDeviceProp& properties() const;

 private:
  StreamContext(Handles* handles, DeviceAllocator* allocator, cudaStream_t stream, bool allow_tf32)
      : handles_(handles), allocator_(allocator), stream_(stream), allow_tf32_(allow_tf32) {}
  StatusOr<std::shared_ptr<Buffer>> Memory(size_t bytes);

  Handles* handles_;
  DeviceAllocator* allocator_;
  cudaStream_t stream_;
  bool allow_tf32_;
  std::shared_ptr<RunMemory> memory_;
};

// The StreamContext behind a kernel's DeviceContext (CUDA kernels run only under one).
inline StreamContext& Ctx(runtime::DeviceContext* context) { return *static_cast<StreamContext*>(context); }

}  // namespace kiln::cuda
