#include "runtime/graph_replays.h"

#include <atomic>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>

#include "cuda/check.h"
#include "cuda/run_memory.h"
#include "cuda/stream_context.h"
#include "util/log.h"

namespace kiln::cuda {
namespace {

// Ordinary runs at a set of shapes before one is captured: the first chooses the libraries'
// algorithms (which allocates and waits), the next records the memory layout of a settled run.
constexpr int kRecordedRunsBeforeCapture = 2;
constexpr int kCaptureAttempts = 2;
// Sets of shapes whose captured graphs are kept; the least recently run set goes first.
constexpr size_t kMaxShapeSets = 8;

bool CaptureEnabled() {
  const char* v = std::getenv("KILN_CUDA_GRAPHS");
  return v == nullptr || std::string(v) != "0";
}

std::string ShapesKey(const std::vector<Tensor>& inputs) {
  std::string key;
  for (const Tensor& t : inputs) key += std::string(DTypeName(t.dtype())) + ShapeToString(t.shape()) + ";";
  return key;
}

// One captured run: its graph, the arena it runs in, and the buffers its inputs are copied into
// and its outputs read from. Used by one run at a time.
class Replay {
 public:
  ~Replay();
  // Captures a run of `executor` at the shapes and dtypes of `like`, in an arena of `arena_bytes`.
  // `staging` are the sizes of the run's copies from the host, as recorded.
  static StatusOr<std::unique_ptr<Replay>> Capture(const runtime::Executor& executor, const std::vector<Tensor>& like,
                                                   size_t arena_bytes, const std::vector<size_t>& staging);
  // Copies `inputs` in, launches the graph and copies the outputs out, all on `ctx`'s stream; the
  // outputs stay on the device or (waiting for them) come to the host.
  StatusOr<std::vector<Tensor>> Launch(const std::vector<Tensor>& inputs, StreamContext& ctx, bool outputs_on_device);
  size_t arena_bytes() const { return arena_ != nullptr ? arena_->size() : 0; }

 private:
  Replay() = default;

  cudaStream_t stream_ = nullptr;  // captured on; the arena and input buffers are freed on it
  cudaGraphExec_t exec_ = nullptr;
  cudaEvent_t done_ = nullptr;  // recorded after the last launch's output copies
  bool launched_ = false;
  std::shared_ptr<Buffer> arena_;
  std::vector<Tensor> inputs_, outputs_;
  std::vector<std::shared_ptr<Buffer>> kept_;  // pinned sources of captured copies, cuBLAS's workspace
};

Replay::~Replay() {
  // The memory goes only once the last launch has finished with it. Errors here have no one to go to.
  if (launched_) cudaEventSynchronize(done_);
  if (exec_ != nullptr) cudaGraphExecDestroy(exec_);
  outputs_.clear();
  kept_.clear();
  inputs_.clear();
  arena_.reset();
  if (done_ != nullptr) cudaEventDestroy(done_);
  if (stream_ != nullptr) cudaStreamDestroy(stream_);  // after its frees have run
}

StatusOr<std::unique_ptr<Replay>> Replay::Capture(const runtime::Executor& executor, const std::vector<Tensor>& like,
                                                  size_t arena_bytes, const std::vector<size_t>& staging) {
  const int device = executor.placement().device.index;
  std::unique_ptr<Replay> r(new Replay());
  KILN_CUDA_RETURN_IF_ERROR(cudaSetDevice(device));
  KILN_CUDA_RETURN_IF_ERROR(cudaStreamCreateWithFlags(&r->stream_, cudaStreamNonBlocking));
  KILN_CUDA_RETURN_IF_ERROR(cudaEventCreateWithFlags(&r->done_, cudaEventDisableTiming));
  KILN_ASSIGN_OR_RETURN(DeviceAllocator * allocator, DeviceAllocator::ForDevice(device));
  KILN_ASSIGN_OR_RETURN(r->arena_, allocator->Allocate(arena_bytes, r->stream_));
  for (const Tensor& t : like) {
    KILN_ASSIGN_OR_RETURN(std::shared_ptr<Buffer> buffer, allocator->Allocate(t.byte_size(), r->stream_));
    KILN_ASSIGN_OR_RETURN(Tensor in, Tensor::FromBuffer(t.dtype(), t.shape(), std::move(buffer)));
    r->inputs_.push_back(std::move(in));
  }
  // Launches come on other streams: the memory must be there before any of them.
  KILN_CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(r->stream_));

  std::vector<std::shared_ptr<Buffer>> pinned;
  for (size_t bytes : staging) {
    KILN_ASSIGN_OR_RETURN(pinned.emplace_back(), PinnedPool::Global().Allocate(bytes));
  }
  std::shared_ptr<RunMemory> memory = RunMemory::Serving(r->arena_, std::move(pinned));
  StatusOr<std::vector<Tensor>> outputs = InvalidArgument("not run");
  cudaGraph_t graph = nullptr;
  cudaError_t ended = cudaSuccess;
  {
    KILN_ASSIGN_OR_RETURN(std::unique_ptr<StreamContext> ctx,
                          StreamContext::Open(device, r->stream_, executor.allow_tf32()));
    KILN_RETURN_IF_ERROR(ctx->UseRunMemory(memory));
    KILN_CUDA_RETURN_IF_ERROR(cudaStreamBeginCapture(r->stream_, cudaStreamCaptureModeThreadLocal));
    outputs = executor.Run(r->inputs_, {.context = ctx.get(), .outputs_on_device = true});
    ended = cudaStreamEndCapture(r->stream_, &graph);
  }  // the context lets go of its handles only now, outside the capture
  r->kept_ = memory->TakeKept();
  if (!outputs.ok() || ended != cudaSuccess) {
    cudaGetLastError();  // a capture that went wrong leaves its error behind
    if (graph != nullptr) cudaGraphDestroy(graph);
    if (!outputs.ok()) return outputs.status();
    return CudaStatus(ended, "cudaStreamEndCapture");
  }
  const cudaError_t made = cudaGraphInstantiateWithFlags(&r->exec_, graph, 0);
  cudaGraphDestroy(graph);
  KILN_CUDA_RETURN_IF_ERROR(made);
  r->outputs_ = std::move(outputs).value();
  for (size_t i = 0; i < r->outputs_.size(); ++i) {
    if (r->outputs_[i].on_host()) return Unimplemented("output " + std::to_string(i) + " is a host value");
  }
  KILN_CUDA_RETURN_IF_ERROR(cudaGraphUpload(r->exec_, r->stream_));
  return r;
}

StatusOr<std::vector<Tensor>> Replay::Launch(const std::vector<Tensor>& inputs, StreamContext& ctx,
                                             bool outputs_on_device) {
  const cudaStream_t s = ctx.stream();
  if (launched_) KILN_CUDA_RETURN_IF_ERROR(cudaStreamWaitEvent(s, done_, 0));
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& in = inputs[i];
    if (in.byte_size() == 0) continue;
    if (in.on_host()) {
      KILN_RETURN_IF_ERROR(PinnedPool::Global().StageToDevice(in.raw_data(), in.byte_size(), inputs_[i].raw_data(), s));
    } else {
      KILN_CUDA_RETURN_IF_ERROR(
          cudaMemcpyAsync(inputs_[i].raw_data(), in.raw_data(), in.byte_size(), cudaMemcpyDeviceToDevice, s));
    }
  }
  KILN_CUDA_RETURN_IF_ERROR(cudaGraphLaunch(exec_, s));
  launched_ = true;
  std::vector<Tensor> outputs;
  if (outputs_on_device) {
    for (const Tensor& t : outputs_) {
      KILN_ASSIGN_OR_RETURN(Tensor out, ctx.Allocate(t.dtype(), t.shape()));
      if (t.byte_size() > 0) {
        KILN_CUDA_RETURN_IF_ERROR(
            cudaMemcpyAsync(out.raw_data(), t.raw_data(), t.byte_size(), cudaMemcpyDeviceToDevice, s));
      }
      outputs.push_back(std::move(out));
    }
  }
  KILN_CUDA_RETURN_IF_ERROR(cudaEventRecord(done_, s));
  if (outputs_on_device) return outputs;
  return ctx.ToHost(outputs_);  // waits, so the arena's outputs are read before the next launch
}

class GraphReplaysImpl final : public runtime::GraphReplays {
 public:
  explicit GraphReplaysImpl(const runtime::Executor& executor)
      : executor_(executor), device_(executor.placement().device), enabled_(CaptureEnabled()) {}

  StatusOr<std::vector<Tensor>> Run(const std::vector<Tensor>& inputs, runtime::DeviceContext* device) override {
    // Profiled runs go op by op, so that each op's time is seen.
    const bool profiled = runtime::ProfiledStepTimes() != nullptr;
    if (!enabled_ || profiled || (device != nullptr && !(device->device() == device_))) {
      return executor_.RunInContext(inputs, device);
    }
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (!inputs[i].on_host() && !(inputs[i].device() == device_)) return executor_.RunInContext(inputs, device);
    }
    const std::string key = ShapesKey(inputs);
    std::unique_ptr<Replay> replay;
    size_t arena_bytes = 0;
    std::vector<size_t> staging;
    bool capture = false, capturable = true;
    std::vector<std::unique_ptr<Replay>> evicted;
    {
      std::lock_guard<std::mutex> lock(mu_);
      ShapeSet& set = Touch(key, evicted);
      capturable = set.capturable;
      if (!set.idle.empty()) {
        replay = std::move(set.idle.back());
        set.idle.pop_back();
      } else if (set.capturable && set.recorded_runs >= kRecordedRunsBeforeCapture) {
        capture = true;
        arena_bytes = set.arena_bytes;
        staging = set.staging;
      }
    }
    evicted.clear();
    if (!capturable) {
      ++stats_.uncaptured_runs;
      return executor_.RunInContext(inputs, device);
    }
    if (capture) {
      auto captured = Replay::Capture(executor_, inputs, arena_bytes, staging);
      ++stats_.captures;
      if (captured.ok()) {
        replay = std::move(captured).value();
      } else {
        ++stats_.failed_captures;
        CaptureFailed(key, captured.status());
      }
    }
    if (replay == nullptr) return RecordedRun(key, inputs, device);
    auto outputs = Launch(*replay, inputs, device);
    if (!outputs.ok()) return outputs.status();  // the replay is dropped: it may be in any state
    ++stats_.replays;
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = sets_.find(key); it != sets_.end()) it->second.idle.push_back(std::move(replay));
    return outputs;
  }

  runtime::ReplayStats stats() const override {
    runtime::ReplayStats s;
    s.uncaptured_runs = stats_.uncaptured_runs.load();
    s.captures = stats_.captures.load() - stats_.failed_captures.load();
    s.failed_captures = stats_.failed_captures.load();
    s.replays = stats_.replays.load();
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [key, set] : sets_) {
      for (const auto& r : set.idle) s.arena_bytes += r->arena_bytes();
    }
    return s;
  }

 private:
  struct ShapeSet {
    int recorded_runs = 0;
    size_t arena_bytes = 0;        // the highest recorded need
    std::vector<size_t> staging;  // the sizes of the last recorded run's copies from the host
    int failed_captures = 0;
    bool capturable = true;
    uint64_t last_run = 0;
    std::vector<std::unique_ptr<Replay>> idle;  // captured graphs no run is using
  };

  // The set of `key`, made the most recently run; sets beyond the limit go to `evicted`.
  ShapeSet& Touch(const std::string& key, std::vector<std::unique_ptr<Replay>>& evicted) {
    ShapeSet& set = sets_[key];
    set.last_run = ++clock_;
    while (sets_.size() > kMaxShapeSets) {
      auto oldest = sets_.begin();
      for (auto it = sets_.begin(); it != sets_.end(); ++it) {
        if (it->second.last_run < oldest->second.last_run) oldest = it;
      }
      for (auto& r : oldest->second.idle) evicted.push_back(std::move(r));
      sets_.erase(oldest);
    }
    return set;
  }

  StatusOr<std::vector<Tensor>> Launch(Replay& replay, const std::vector<Tensor>& inputs,
                                       runtime::DeviceContext* device) {
    if (device != nullptr) return replay.Launch(inputs, Ctx(device), true);
    KILN_ASSIGN_OR_RETURN(std::unique_ptr<StreamContext> own,
                          StreamContext::Open(device_.index, nullptr, executor_.allow_tf32()));
    return replay.Launch(inputs, *own, false);
  }

  // An ordinary run whose memory layout is recorded for the capture to come.
  StatusOr<std::vector<Tensor>> RecordedRun(const std::string& key, const std::vector<Tensor>& inputs,
                                            runtime::DeviceContext* device) {
    KILN_ASSIGN_OR_RETURN(DeviceAllocator * allocator, DeviceAllocator::ForDevice(device_.index));
    KILN_ASSIGN_OR_RETURN(
        std::unique_ptr<StreamContext> ctx,
        StreamContext::Open(device_.index, device != nullptr ? device->stream() : nullptr, executor_.allow_tf32()));
    std::shared_ptr<RunMemory> memory = RunMemory::Recording(allocator);
    KILN_RETURN_IF_ERROR(ctx->UseRunMemory(memory));
    auto outputs = executor_.Run(inputs, {.context = ctx.get(), .outputs_on_device = device != nullptr});
    memory->TakeKept();  // the workspace goes back to the pool, in stream order
    ++stats_.uncaptured_runs;
    if (outputs.ok()) {
      std::lock_guard<std::mutex> lock(mu_);
      if (auto it = sets_.find(key); it != sets_.end()) {
        ++it->second.recorded_runs;
        it->second.arena_bytes = std::max(it->second.arena_bytes, memory->high_water());
        it->second.staging = memory->staging_sizes();
      }
    }
    return outputs;
  }

  void CaptureFailed(const std::string& key, const Status& why) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = sets_.find(key);
    if (it == sets_.end()) return;
    ShapeSet& set = it->second;
    // Recorded again before the next try; a run that outgrew its arena gets twice the room.
    set.recorded_runs = kRecordedRunsBeforeCapture - 1;
    if (why.code() == StatusCode::kResourceExhausted) set.arena_bytes *= 2;
    // Unimplemented: the run does what no capture can hold (reads values on the host midway).
    if (++set.failed_captures < kCaptureAttempts && why.code() != StatusCode::kUnimplemented) return;
    set.capturable = false;
    LogWarning("runs on " + device_.ToString() + " at input shapes " + key +
               " are not captured as a CUDA graph and run op by op: " + why.ToString());
  }

  const runtime::Executor& executor_;
  const Device device_;
  const bool enabled_;
  mutable std::mutex mu_;
  std::map<std::string, ShapeSet> sets_;
  uint64_t clock_ = 0;
  struct {
    std::atomic<int64_t> uncaptured_runs{0}, captures{0}, failed_captures{0}, replays{0};
  } stats_;
};

}  // namespace
}  // namespace kiln::cuda

namespace kiln::runtime {

StatusOr<std::unique_ptr<GraphReplays>> CreateGraphReplays(const Executor& executor) {
  if (!executor.placement().device.is_cuda()) {
    return InvalidArgument("CUDA graphs replay runs on a CUDA device, not " + executor.placement().device.ToString());
  }
  return std::unique_ptr<GraphReplays>(new cuda::GraphReplaysImpl(executor));
}

}  // namespace kiln::runtime
