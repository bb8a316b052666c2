#include "engine/cpu/cpu_backend.h"

#include <cblas.h>

#include "engine/segment_compiler.h"

namespace kiln::engine {
namespace {

// A compiled segment run on the host.
class CpuEngine : public GraphEngine {
 public:
  static StatusOr<std::unique_ptr<CpuEngine>> Create(ir::Graph graph, std::vector<ShapeProfile> profiles) {
    std::unique_ptr<CpuEngine> e(new CpuEngine(std::move(graph), std::move(profiles)));
    KILN_RETURN_IF_ERROR(e->CreateExecutor({}));
    return e;
  }
  // On the host only: a model on a device attaches that device's backend (BackendFor).
  StatusOr<std::vector<Tensor>> Run(const std::vector<Tensor>& inputs, runtime::DeviceContext* device) const override {
    if (device != nullptr) return FailedPrecondition("cpu engines run on the host, not in a run on a device");
    return executor().Run(inputs);
  }

 private:
  CpuEngine(ir::Graph graph, std::vector<ShapeProfile> profiles)
      : GraphEngine("cpu", std::move(graph), std::move(profiles)) {}
};

class CpuBackendImpl : public Backend {
 public:
  DeviceInfo device() const override {
    DeviceInfo d;
    d.backend = "cpu";
#if defined(__x86_64__)
    d.name = "x86_64 CPU";
#elif defined(__aarch64__)
    d.name = "aarch64 CPU";
#else
    d.name = "CPU";
#endif
    d.library_versions["openblas"] = openblas_get_config();
    return d;
  }

  Status Validate(const ir::Graph& graph, const ir::Node& node) const override {
    return ValidateEngineNode(graph, node, "cpu");
  }

  StatusOr<std::unique_ptr<Engine>> Build(const ir::Graph& segment, const BuildConfig& config) const override {
    KILN_ASSIGN_OR_RETURN(CompiledSegment compiled, CompileSegment(segment, config));
    KILN_ASSIGN_OR_RETURN(std::unique_ptr<CpuEngine> engine,
                          CpuEngine::Create(std::move(compiled.graph), config.profiles));
    engine->set_notes(std::move(compiled.notes));
    KILN_RETURN_IF_ERROR(CheckWorkspace(engine->executor(), config));
    return std::unique_ptr<Engine>(std::move(engine));
  }

  StatusOr<std::unique_ptr<Engine>> Deserialize(const std::vector<ShapeProfile>& profiles,
                                                std::string_view payload) const override {
    KILN_ASSIGN_OR_RETURN(ir::Graph graph, DeserializeGraph(payload, "cpu"));
    KILN_ASSIGN_OR_RETURN(std::unique_ptr<CpuEngine> engine, CpuEngine::Create(std::move(graph), profiles));
    return std::unique_ptr<Engine>(std::move(engine));
  }
};

}  // namespace

const Backend& CpuBackend() {
  static const CpuBackendImpl* backend = new CpuBackendImpl();
  return *backend;
}

}  // namespace kiln::engine
