#include "engine/cuda/cuda_backend.h"

#include <map>
#include <mutex>

#include "cuda/cuda_api.h"
#include "engine/segment_compiler.h"
#include "runtime/graph_replays.h"
#include "runtime/tactics.h"

namespace kiln::engine {
namespace {

// A compiled segment run on one GPU.
class CudaEngine : public GraphEngine {
 public:
  static StatusOr<std::unique_ptr<CudaEngine>> Create(ir::Graph graph, std::vector<ShapeProfile> profiles,
                                                      int device, bool allow_tf32) {
    std::unique_ptr<CudaEngine> e(new CudaEngine(std::move(graph), std::move(profiles)));
    e->settings().allow_tf32 = allow_tf32;
    KILN_RETURN_IF_ERROR(e->CreateExecutor({.device = Device::CUDA(device), .allow_tf32 = allow_tf32}));
    KILN_ASSIGN_OR_RETURN(e->replays_, runtime::CreateGraphReplays(e->executor()));
    return e;
  }
  // In a device run, on its stream with the outputs left on the device; called from the host, the
  // engine's own stream is waited for and the outputs come back to the host. Runs at shapes seen
  // before replay a CUDA graph of the whole engine, in an arena of their own.
  StatusOr<std::vector<Tensor>> Run(const std::vector<Tensor>& inputs, runtime::DeviceContext* device) const override {
    return replays_->Run(inputs, device);
  }
  runtime::ReplayStats replay_stats() const { return replays_->stats(); }

 private:
  CudaEngine(ir::Graph graph, std::vector<ShapeProfile> profiles)
      : GraphEngine("cuda", std::move(graph), std::move(profiles)) {}

  std::unique_ptr<runtime::GraphReplays> replays_;
};

// The nodes an engine's executor left on the host, as build notes ("on the host: Op (why)").
std::vector<std::string> HostNotes(const ir::Graph& graph, const runtime::Placement& placement) {
  std::map<std::string, int> seen;  // op and reason -> nodes
  for (const auto& [id, reason] : placement.host_reasons) seen[graph.node(id).op + " (" + reason + ")"]++;
  std::vector<std::string> notes;
  for (const auto& [what, count] : seen) notes.push_back("on the host: " + std::to_string(count) + " x " + what);
  return notes;
}

// Whether the CUDA kernel of `node` takes `storage` (the node then computes in it).
bool RunsReducedOnCuda(const ir::Node& node, DType storage) {
  const runtime::KernelDef* def = runtime::KernelRegistry::Global().FindDef(node.op, DeviceType::kCUDA);
  return def != nullptr && def->TakesDType(storage) && (!def->options.supports || def->options.supports(node).ok());
}

class CudaBackendImpl : public Backend {
 public:
  explicit CudaBackendImpl(int device) : device_(device) {}

  DeviceInfo device() const override {
    DeviceInfo d;
    d.backend = "cuda";
    auto facts = cuda::GetGpuFacts(device_);
    if (!facts.ok()) {
      d.name = "unusable: " + facts.status().message();
      return d;
    }
    d.name = facts->name;
    d.compute_capability = facts->compute_capability;
    d.library_versions = facts->versions;
    return d;
  }

  Status Validate(const ir::Graph& graph, const ir::Node& node) const override {
    return ValidateEngineNode(graph, node, "cuda");
  }

  StatusOr<std::unique_ptr<Engine>> Build(const ir::Graph& segment, const BuildConfig& config) const override {
    KILN_RETURN_IF_ERROR(CheckDeviceUsable(Device::CUDA(device_)));
    // cuDNN's fused convolutions take channel counts that are multiples of 8.
    const CompileOptions options{.runs_reduced = RunsReducedOnCuda,
                                 .quantized_ops = true,
                                 .channels_last = true,
                                 .conv_channel_multiple = 8};
    KILN_ASSIGN_OR_RETURN(CompiledSegment compiled, CompileSegment(segment, config, options));
    KILN_ASSIGN_OR_RETURN(std::unique_ptr<CudaEngine> engine,
                          CudaEngine::Create(std::move(compiled.graph), config.profiles, device_, config.allow_tf32));
    std::vector<std::string> notes = std::move(compiled.notes);
    for (std::string& n : HostNotes(engine->graph(), engine->executor().placement())) notes.push_back(std::move(n));
    KILN_RETURN_IF_ERROR(CheckWorkspace(engine->executor(), config));
    if (Status tuned = Tune(*engine); !tuned.ok()) {
      notes.push_back("tactics are chosen at the first run: the build's tuning run failed: " + tuned.ToString());
    }
    engine->set_notes(std::move(notes));
    return std::unique_ptr<Engine>(std::move(engine));
  }

  StatusOr<std::unique_ptr<Engine>> Deserialize(const std::vector<ShapeProfile>& profiles,
                                                std::string_view payload) const override {
    EngineSettings settings;
    KILN_ASSIGN_OR_RETURN(ir::Graph graph, DeserializeGraph(payload, "cuda", &settings));
    KILN_ASSIGN_OR_RETURN(std::unique_ptr<CudaEngine> engine,
                          CudaEngine::Create(std::move(graph), profiles, device_, settings.allow_tf32));
    runtime::AddTactics(device_, settings.tactics);  // the engine runs without timing anything
    engine->settings() = std::move(settings);
    return std::unique_ptr<Engine>(std::move(engine));
  }

 private:
  // Runs the engine once at each profile's optimal shapes, on zeros, so that its kernels choose
  // their tactics (timing the candidates, or from the timing cache) at build time; the engine keeps
  // the choices for its file.
  Status Tune(CudaEngine& engine) const {
    runtime::TacticRecorder recorder;
    const ir::Graph& graph = engine.graph();
    for (const ShapeProfile& profile : engine.profiles()) {
      if (profile.inputs.size() != graph.inputs().size()) return InvalidArgument("a profile does not fit the inputs");
      std::vector<Tensor> zeros;
      for (size_t i = 0; i < graph.inputs().size(); ++i) {
        const DType dtype = graph.output_info(graph.inputs()[i].value).dtype;
        zeros.emplace_back(dtype, profile.inputs[i].opt);
      }
      KILN_RETURN_IF_ERROR(engine.executor().Run(zeros).status());
    }
    engine.settings().tactics = recorder.tactics();
    return OkStatus();
  }

  int device_;
};

}  // namespace

const Backend& CudaBackend(int device) {
  static std::mutex mu;
  static auto* backends = new std::map<int, std::unique_ptr<CudaBackendImpl>>();
  std::lock_guard<std::mutex> lock(mu);
  auto& backend = (*backends)[device];
  if (backend == nullptr) backend = std::make_unique<CudaBackendImpl>(device);
  return *backend;
}

}  // namespace kiln::engine
