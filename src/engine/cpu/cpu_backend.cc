#include "engine/cpu/cpu_backend.h"

#include <cblas.h>

#include <set>

#include "frontends/savedmodel/graph_def_io.h"
#include "ir/op_registry.h"
#include "passes/fusion.h"
#include "passes/passes.h"
#include "passes/precision.h"
#include "runtime/executor.h"

namespace kiln::engine {
namespace {

// Ops with a CPU kernel that engines do not take, and why. Everything else with a kernel is
// claimed; the CUDA backend keeps the same set so that a model partitions the same way on both.
const std::map<std::string, std::string>& UnclaimedOps() {
  static const auto* ops = new std::map<std::string, std::string>{
      {"Where", "its output shape depends on the input values"},
      {"OnnxTopK", "the engine has no converter for top-k selection"},
      {"Cumsum", "the engine has no converter for cumulative sums"},
      {"Cumprod", "the engine has no converter for cumulative products"},
      {"GatherND", "the engine has no converter for GatherND"},
      {"ScatterND", "the engine has no converter for scatters"},
      {"ScatterElements", "the engine has no converter for scatters"},
      {"EnsureShape", "it checks shapes at run time"},
  };
  return *ops;
}

bool EngineDType(DType d) { return d != DType::kInvalid && d != DType::kString; }

// A compiled segment: the optimized graph and the executor that runs it with its memory plan.
class CpuEngine : public Engine {
 public:
  static StatusOr<std::unique_ptr<CpuEngine>> Create(ir::Graph graph, std::vector<ShapeProfile> profiles) {
    std::unique_ptr<CpuEngine> e(new CpuEngine(std::move(graph), std::move(profiles)));
    KILN_ASSIGN_OR_RETURN(e->executor_, runtime::Executor::Create(e->graph_));
    return e;
  }
  const std::vector<ShapeProfile>& profiles() const override { return profiles_; }
  StatusOr<std::vector<Tensor>> Run(const std::vector<Tensor>& inputs) const override { return executor_->Run(inputs); }
  StatusOr<std::string> SerializePayload() const override {
    KILN_ASSIGN_OR_RETURN(auto fn, savedmodel::GraphToFunctionDef(graph_, "kiln_cpu_engine"));
    return fn.SerializeAsString();
  }
  std::map<std::string, int> OpCounts() const override { return graph_.OpCounts(); }
  std::vector<std::string> BuildNotes() const override { return notes_; }
  void set_notes(std::vector<std::string> notes) { notes_ = std::move(notes); }
  const runtime::Executor& executor() const { return *executor_; }

 private:
  CpuEngine(ir::Graph graph, std::vector<ShapeProfile> profiles)
      : graph_(std::move(graph)), profiles_(std::move(profiles)) {}
  ir::Graph graph_;
  std::vector<ShapeProfile> profiles_;
  std::unique_ptr<runtime::Executor> executor_;
  std::vector<std::string> notes_;
};

// The shapes every profile admits, per input: known where all profiles agree.
StatusOr<std::vector<PartialShape>> InputEnvelope(const std::vector<ShapeProfile>& profiles, size_t num_inputs) {
  if (profiles.empty()) return InvalidArgument("an engine needs at least one shape profile");
  std::vector<PartialShape> env = profiles[0].Envelope();
  for (const ShapeProfile& p : profiles) {
    if (p.inputs.size() != num_inputs) {
      return InvalidArgument("a shape profile has " + std::to_string(p.inputs.size()) + " inputs, the segment " +
                             std::to_string(num_inputs));
    }
    std::vector<PartialShape> e = p.Envelope();
    for (size_t i = 0; i < num_inputs; ++i) {
      if (e[i].rank() != env[i].rank())
        return InvalidArgument("shape profiles disagree on the rank of input " + std::to_string(i));
      for (size_t d = 0; d < e[i].dims.size(); ++d) {
        if (e[i].dims[d] != env[i].dims[d]) env[i].dims[d] = -1;
      }
    }
  }
  return env;
}

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
    if (node.op == "Placeholder") return FailedPrecondition("graph inputs stay outside engines");
    if (auto it = UnclaimedOps().find(node.op); it != UnclaimedOps().end()) {
      return Unimplemented("the cpu engine does not take " + node.op + ": " + it->second);
    }
    if (node.op != "Const" && runtime::KernelRegistry::Global().Find(node.op, DeviceType::kCPU) == nullptr) {
      return Unimplemented("the cpu engine has no converter for " + node.op);
    }
    for (size_t i = 0; i < node.outputs.size(); ++i) {
      const ir::OutputInfo& out = node.outputs[i];
      if (!EngineDType(out.dtype)) {
        return Unimplemented("output " + std::to_string(i) + " is " + std::string(DTypeName(out.dtype)) +
                             ", which engines do not carry");
      }
      if (out.shape.rank() < 0) return Unimplemented("the rank of output " + std::to_string(i) + " is unknown");
    }
    for (const ir::ValueRef& in : node.inputs) {
      if (!EngineDType(graph.output_info(in).dtype)) {
        return Unimplemented("an input is " + std::string(DTypeName(graph.output_info(in).dtype)) +
                             ", which engines do not carry");
      }
    }
    return OkStatus();
  }

  StatusOr<std::unique_ptr<Engine>> Build(const ir::Graph& segment, const BuildConfig& config) const override {
    // A private copy of the segment, its inputs narrowed to the profiles' shapes.
    KILN_ASSIGN_OR_RETURN(auto fn, savedmodel::GraphToFunctionDef(segment, "segment"));
    KILN_ASSIGN_OR_RETURN(ir::Graph graph, savedmodel::GraphFromFunctionDef(fn));
    KILN_ASSIGN_OR_RETURN(std::vector<PartialShape> env, InputEnvelope(config.profiles, graph.inputs().size()));
    for (size_t i = 0; i < env.size(); ++i) {
      ir::Node& p = graph.node(graph.inputs()[i].value.node);
      p.attrs.Set("shape", env[i]);
      p.outputs[0].shape = env[i];
    }
    KILN_RETURN_IF_ERROR(passes::FuseForEngine(graph));  // infers shapes at the narrowed inputs first

    passes::PrecisionOptions precision;
    precision.precision = config.precision;
    precision.amax = config.amax;
    precision.explicit_quantization = config.explicit_quantization;
    KILN_ASSIGN_OR_RETURN(passes::PrecisionReport report, passes::InsertPrecisionEmulation(graph, precision));
    // Weights are rounded / quantized once, here, by folding their converters into constants.
    KILN_RETURN_IF_ERROR(passes::FoldConstants(graph));
    graph.RemoveDeadNodes();
    KILN_RETURN_IF_ERROR(ir::InferShapes(graph));

    KILN_ASSIGN_OR_RETURN(std::unique_ptr<CpuEngine> engine, CpuEngine::Create(std::move(graph), config.profiles));
    std::vector<std::string> notes;
    if ((config.precision == Precision::kINT8 || config.precision == Precision::kFP8) &&
        !config.explicit_quantization) {
      notes.push_back(std::to_string(report.quantized_layers) + " conv/matmul layer(s) computed in " +
                      PrecisionName(config.precision));
    }
    for (const std::string& layer : report.fp16_fallback) notes.push_back("left in fp16: " + layer);
    engine->set_notes(std::move(notes));
    if (auto peak = engine->executor().PlannedPeakBytes();
        peak && static_cast<int64_t>(*peak) > config.max_workspace_size_bytes) {
      return FailedPrecondition("the engine needs " + std::to_string(*peak) +
                                " bytes of intermediate memory at these shapes, more than max_workspace_size_bytes (" +
                                std::to_string(config.max_workspace_size_bytes) + ")");
    }
    return std::unique_ptr<Engine>(std::move(engine));
  }

  StatusOr<std::unique_ptr<Engine>> Deserialize(const std::vector<ShapeProfile>& profiles,
                                                std::string_view payload) const override {
    tfproto::FunctionDef fn;
    if (!fn.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
      return DataLoss("the cpu engine payload is not a serialized graph");
    }
    KILN_ASSIGN_OR_RETURN(ir::Graph graph, savedmodel::GraphFromFunctionDef(fn));
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
