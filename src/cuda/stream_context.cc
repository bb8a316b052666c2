#include "cuda/stream_context.h"

#include <cstring>
#include <mutex>
#include <vector>

#include "cuda/check.h"
#include "kernels/cpu/matmul.h"
#include "kernels/cuda/array_moves.h"
#include "kernels/cuda/matmul.h"
#include "kernels/cuda/reduce.h"

namespace kiln::cuda {

// One set of library handles with a stream of its own. A set serves one run at a time; when a
// run binds it to another stream, that stream first waits for the set's last use to finish, so the
// handles' internal workspaces are never used by two streams at once.
struct Handles {
  int device = 0;
  cudaStream_t own_stream = nullptr;
  cudaStream_t last_stream = nullptr;
  cudaEvent_t last_use = nullptr;
  cublasHandle_t cublas = nullptr;
  cudnnHandle_t cudnn = nullptr;
  cudaDeviceProp properties{};
};

namespace {

class HandlePool {
 public:
  StatusOr<Handles*> Take(int device) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (size_t i = 0; i < free_.size(); ++i) {
        if (free_[i]->device == device) {
          Handles* h = free_[i];
          free_.erase(free_.begin() + static_cast<std::ptrdiff_t>(i));
          return h;
        }
      }
    }
    auto h = std::make_unique<Handles>();
    h->device = device;
    KILN_CUDA_RETURN_IF_ERROR(cudaGetDeviceProperties(&h->properties, device));
    KILN_CUDA_RETURN_IF_ERROR(cudaStreamCreateWithFlags(&h->own_stream, cudaStreamNonBlocking));
    KILN_CUDA_RETURN_IF_ERROR(cudaEventCreateWithFlags(&h->last_use, cudaEventDisableTiming));
    h->last_stream = h->own_stream;
    return h.release();  // pooled for the life of the process
  }
  void Give(Handles* h) {
    std::lock_guard<std::mutex> lock(mu_);
    free_.push_back(h);
  }

 private:
  std::mutex mu_;
  std::vector<Handles*> free_;
};

HandlePool& Pool() {
  static HandlePool* pool = new HandlePool();
  return *pool;
}

}  // namespace

StatusOr<std::unique_ptr<StreamContext>> StreamContext::Open(int device, cudaStream_t stream, bool allow_tf32) {
  KILN_CUDA_RETURN_IF_ERROR(cudaSetDevice(device));
  KILN_ASSIGN_OR_RETURN(DeviceAllocator * allocator, DeviceAllocator::ForDevice(device));
  KILN_ASSIGN_OR_RETURN(Handles * h, Pool().Take(device));
  const cudaStream_t s = stream != nullptr ? stream : h->own_stream;
  if (s != h->last_stream) {
    const cudaError_t err = cudaStreamWaitEvent(s, h->last_use, 0);
    if (err != cudaSuccess) {
      Pool().Give(h);
      return CudaStatus(err, "cudaStreamWaitEvent");
    }
  }
  std::unique_ptr<StreamContext> ctx(new StreamContext(h, allocator, s, allow_tf32));
  if (h->cublas != nullptr) KILN_CUBLAS_RETURN_IF_ERROR(cublasSetStream(h->cublas, s));
  if (h->cudnn != nullptr) KILN_CUDNN_RETURN_IF_ERROR(cudnnSetStream(h->cudnn, s));
  return ctx;
}

StreamContext::~StreamContext() {
  cudaEventRecord(handles_->last_use, stream_);
  handles_->last_stream = stream_;
  Pool().Give(handles_);
}

const cudaDeviceProp& StreamContext::properties() const { return handles_->properties; }

StatusOr<cublasHandle_t> StreamContext::cublas() {
  if (handles_->cublas == nullptr) {
    KILN_CUBLAS_RETURN_IF_ERROR(cublasCreate(&handles_->cublas));
    KILN_CUBLAS_RETURN_IF_ERROR(cublasSetStream(handles_->cublas, stream_));
  }
  return handles_->cublas;
}

StatusOr<cudnnHandle_t> StreamContext::cudnn() {
  if (handles_->cudnn == nullptr) {
    KILN_CUDNN_RETURN_IF_ERROR(cudnnCreate(&handles_->cudnn));
    KILN_CUDNN_RETURN_IF_ERROR(cudnnSetStream(handles_->cudnn, stream_));
  }
  return handles_->cudnn;
}

StatusOr<std::shared_ptr<Buffer>> StreamContext::Memory(size_t bytes) {
  if (memory_ != nullptr) return memory_->Allocate(bytes, stream_);
  return allocator_->Allocate(bytes, stream_);
}

Status StreamContext::UseRunMemory(std::shared_ptr<RunMemory> memory) {
  // The handles are made now: creating one allocates, which a capture does not allow.
  KILN_ASSIGN_OR_RETURN(cublasHandle_t cublas, this->cublas());
  KILN_RETURN_IF_ERROR(cudnn().status());
  memory_ = std::move(memory);
  // cuBLAS's own workspace belongs to the handle, which other runs use once this one is done; a
  // captured product must keep using memory of its own. (The next Open's cublasSetStream returns the
  // handle to its default workspace.)
  constexpr size_t kCublasWorkspaceBytes = 32 << 20;  // what cuBLAS asks for on Hopper
  KILN_ASSIGN_OR_RETURN(std::shared_ptr<Buffer> workspace, Memory(kCublasWorkspaceBytes));
  KILN_CUBLAS_RETURN_IF_ERROR(cublasSetWorkspace(cublas, workspace->data(), workspace->size()));
  memory_->Keep(std::move(workspace));
  return OkStatus();
}

StatusOr<Tensor> StreamContext::Allocate(DType dtype, const Shape& shape) {
  if (IsHostOnly(dtype)) return InvalidArgument(std::string(DTypeName(dtype)) + " tensors cannot live on a GPU");
  KILN_ASSIGN_OR_RETURN(auto buffer, Memory(static_cast<size_t>(NumElements(shape)) * DTypeSize(dtype)));
  return Tensor::FromBuffer(dtype, shape, std::move(buffer));
}

StatusOr<Tensor> StreamContext::ToDevice(const Tensor& host) {
  if (!host.on_host()) {
    if (host.device() == device()) return host;
    return InvalidArgument(host.DebugString() + " is on another device than " + device().ToString());
  }
  KILN_ASSIGN_OR_RETURN(Tensor t, Allocate(host.dtype(), host.shape()));
  if (memory_ != nullptr && host.byte_size() > 0) {
    if (!memory_->serving()) {
      memory_->NoteStaging(host.byte_size());
    } else {
      // A captured copy reads its source again at every replay: a pinned buffer the memory keeps.
      KILN_ASSIGN_OR_RETURN(std::shared_ptr<Buffer> pinned, memory_->TakeStaging(host.byte_size()));
      std::memcpy(pinned->data(), host.raw_data(), host.byte_size());
      KILN_CUDA_RETURN_IF_ERROR(
          cudaMemcpyAsync(t.raw_data(), pinned->data(), host.byte_size(), cudaMemcpyHostToDevice, stream_));
      return t;
    }
  }
  KILN_RETURN_IF_ERROR(PinnedPool::Global().StageToDevice(host.raw_data(), host.byte_size(), t.raw_data(), stream_));
  return t;
}

StatusOr<std::vector<Tensor>> StreamContext::ToHost(const std::vector<Tensor>& tensors) {
  // A run captured as a CUDA graph cannot wait for the device; asking would end the capture with an
  // error that leaves its mark on the thread's CUDA state.
  cudaStreamCaptureStatus capturing = cudaStreamCaptureStatusNone;
  KILN_CUDA_RETURN_IF_ERROR(cudaStreamIsCapturing(stream_, &capturing));
  if (capturing != cudaStreamCaptureStatusNone) {
    return Unimplemented("the run reads a device value on the host before it ends, which a CUDA graph cannot capture");
  }
  std::vector<Tensor> out;
  out.reserve(tensors.size());
  for (const Tensor& t : tensors) {
    if (t.on_host()) {
      out.push_back(t);
      continue;
    }
    KILN_ASSIGN_OR_RETURN(auto buffer, PinnedPool::Global().Allocate(t.byte_size()));
    if (t.byte_size() > 0) {
      KILN_CUDA_RETURN_IF_ERROR(
          cudaMemcpyAsync(buffer->data(), t.raw_data(), t.byte_size(), cudaMemcpyDeviceToHost, stream_));
    }
    KILN_ASSIGN_OR_RETURN(Tensor host, Tensor::FromBuffer(t.dtype(), t.shape(), std::move(buffer)));
    out.push_back(std::move(host));
  }
  KILN_RETURN_IF_ERROR(Synchronize());
  return out;
}

Status StreamContext::Synchronize() {
  KILN_CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(stream_));
  return OkStatus();
}

StatusOr<Tensor> StreamContext::Transpose(const Tensor& in, const std::vector<int>& perm) {
  return TransposeOnDevice(*this, in, perm);
}

StatusOr<Tensor> StreamContext::CopyByAxisMaps(const Tensor& in, const std::vector<std::vector<int64_t>>& maps,
                                               const Tensor* fill) {
  return CopyByAxisMapsOnDevice(*this, in, maps, fill);
}

Status StreamContext::ConcatInto(const std::vector<const Tensor*>& parts, int axis, Tensor& out) {
  return ConcatOnDevice(*this, parts, axis, out);
}

StatusOr<std::vector<Tensor>> StreamContext::SplitAlong(const Tensor& in, int axis, const std::vector<int64_t>& sizes) {
  return SplitOnDevice(*this, in, axis, sizes);
}

StatusOr<Tensor> StreamContext::GatherSlices(const Tensor& data, const std::vector<int64_t>& offsets, int64_t slice,
                                             const Shape& out_shape) {
  return GatherSlicesOnDevice(*this, data, offsets, slice, out_shape);
}

StatusOr<Tensor> StreamContext::ScatterSlices(const Tensor& data, const std::vector<int64_t>& offsets, int64_t slice,
                                              const Tensor& updates, runtime::ScatterReduction reduction) {
  return ScatterSlicesOnDevice(*this, data, offsets, slice, updates, reduction);
}

StatusOr<Tensor> StreamContext::SumRows(const Tensor& t, int64_t outer, int64_t inner, const Shape& out_shape) {
  KILN_ASSIGN_OR_RETURN(Tensor out, Allocate(t.dtype(), out_shape));
  KILN_CUDA_RETURN_IF_ERROR(LaunchReduce(ReduceOp::kSum, t.dtype(), t.raw_data(), out.raw_data(), outer, inner, 1, stream_));
  return out;
}

StatusOr<Tensor> StreamContext::BatchMatMul(const Tensor& x, const Tensor& y, bool adj_x, bool adj_y, bool broadcast,
                                            const std::string& op) {
  KILN_ASSIGN_OR_RETURN(kernels::cpu::nn::MatMulPlan p,
                        kernels::cpu::nn::PlanBatchMatMul(x, y, adj_x, adj_y, broadcast, op));
  KILN_ASSIGN_OR_RETURN(Tensor out, Allocate(x.dtype(), p.out_shape));
  KILN_RETURN_IF_ERROR(BatchMatMulOnDevice(*this, x, y, adj_x, adj_y, broadcast, op, out));
  return out;
}

}  // namespace kiln::cuda
