#include "kiln/model.h"

#include <filesystem>

#include "api/model_impl.h"
#include "convert/attach.h"
#include "convert/record.h"
#include "convert/segments.h"
#include "frontends/onnx/importer.h"
#include "frontends/onnx/onnx_model.h"
#include "frontends/savedmodel/saved_model.h"
#include "ir/op_registry.h"
#include "passes/fusion.h"
#include "passes/passes.h"
#include "runtime/executor.h"

namespace kiln {

Model::Model(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Model::~Model() = default;

StatusOr<std::vector<MetaGraphInfo>> InspectSavedModel(const std::string& dir) {
  KILN_ASSIGN_OR_RETURN(auto model, savedmodel::ReadSavedModel(dir));
  return savedmodel::DescribeSavedModel(model);
}

bool IsOnnxModelPath(const std::string& path) { return onnx::IsOnnxPath(path); }

StatusOr<OnnxModelInfo> InspectOnnxModel(const std::string& path) {
  KILN_ASSIGN_OR_RETURN(auto model, onnx::ReadModelProto(path));
  OnnxModelInfo info;
  info.ir_version = model.ir_version();
  info.producer = model.producer_name() + (model.producer_version().empty() ? "" : " " + model.producer_version());
  for (const auto& op : model.opset_import()) info.opsets[op.domain() == "ai.onnx" ? "" : op.domain()] = op.version();
  auto sig = onnx::DescribeGraph(model.graph());
  if (!sig.ok()) {
    Status s = sig.status();
    return s.InFile(path);
  }
  info.signature = std::move(*sig);
  for (const auto& n : model.graph().node()) {
    const std::string domain = n.domain() == "ai.onnx" ? "" : n.domain();
    ++info.op_counts[domain.empty() ? n.op_type() : domain + "." + n.op_type()];
  }
  info.num_initializers = model.graph().initializer_size();
  return info;
}

namespace api {

StatusOr<ImportedModel> ImportModel(const std::string& path, const LoadOptions& options) {
  ImportedModel m;
  if (onnx::IsOnnxPath(path)) {
    KILN_ASSIGN_OR_RETURN(auto imported, onnx::ImportOnnxModel(path));
    m.graph = std::move(imported.graph);
    m.signature = std::move(imported.signature);
  } else {
    KILN_ASSIGN_OR_RETURN(auto saved, savedmodel::ReadSavedModel(path));
    KILN_ASSIGN_OR_RETURN(const auto* meta, savedmodel::SelectMetaGraph(saved, options.tags));
    KILN_ASSIGN_OR_RETURN(m.graph, savedmodel::LoadSignatureGraph(path, *meta, options.signature_key));
    m.signature = savedmodel::DescribeSignature(options.signature_key, meta->signature_def().at(options.signature_key));
    // A model converted from ONNX keeps its symbolic dim names in the conversion record.
    if (const std::string record = convert::ConversionRecordPath(path); std::filesystem::exists(record)) {
      KILN_ASSIGN_OR_RETURN(convert::ConversionRecord r, convert::ReadConversionRecord(record));
      convert::RestoreDimNames(r, m.signature);
    }
    for (const auto& f : meta->graph_def().library().function()) m.functions[f.signature().name()] = f;
  }
  // Refuse graphs with ops kiln cannot run before anything else, listing them all. Engine ops
  // get their kernels when the model's engines are attached.
  std::map<int, runtime::KernelFn> engine_ops;
  for (int i = 0; i < m.graph.num_nodes(); ++i) {
    if (m.graph.node(i).op == "KilnEngineOp") engine_ops[i] = nullptr;
  }
  KILN_RETURN_IF_ERROR(runtime::CheckKernelsAvailable(m.graph, DeviceType::kCPU, engine_ops));
  KILN_RETURN_IF_ERROR(passes::OptimizeForInference(m.graph));
  return m;
}

StatusOr<std::unique_ptr<Model::Impl>> LoadModel(const std::string& path, const LoadOptions& options) {
  KILN_ASSIGN_OR_RETURN(ImportedModel imported, ImportModel(path, options));
  auto impl = std::make_unique<Model::Impl>();
  impl->signature = std::move(imported.signature);
  impl->graph = std::move(imported.graph);
  // On a GPU the native runtime runs the engine's fusion passes too (batch norms folded into filters,
  // conv/matmul epilogues and elementwise chains fused), as TensorFlow's GPU runtime fuses conv +
  // bias + activation: each fused node is one pass over memory instead of several. The fused ops
  // compute what the ops they replace compute.
  if (options.device.is_cuda() && convert::CountEngineOps(impl->graph) == 0) {
    KILN_RETURN_IF_ERROR(passes::FuseForEngine(impl->graph));
  }
  if (convert::CountEngineOps(impl->graph) > 0) {
    auto ops = convert::AttachEngineOps(impl->graph, imported.functions, path, options);
    if (!ops.ok()) {
      Status s = ops.status();
      return s.InFile(path);
    }
    impl->engine_ops = std::move(ops).value();
  }
  KILN_RETURN_IF_ERROR(impl->Prepare(options));
  return impl;
}

}  // namespace api

Status Model::Impl::Prepare(const LoadOptions& options) {
  runtime::ExecutorOptions exec;
  exec.device = options.device;
  exec.allow_tf32 = options.allow_tf32;
  exec.max_loop_iterations = options.max_loop_iterations;
  exec.node_kernels_on_device = !options.device.is_cpu();  // engine ops take and return device tensors
  for (const auto& op : engine_ops) {
    for (int i = 0; i < graph.num_nodes(); ++i) {
      if (graph.node(i).op == "KilnEngineOp" && graph.node(i).name == op->spec().name) {
        exec.node_kernels[i] = op->AsKernel();
      }
    }
  }
  KILN_ASSIGN_OR_RETURN(executor, runtime::Executor::Create(graph, std::move(exec)));
  return OkStatus();
}

StatusOr<std::unique_ptr<Model>> Model::Load(const std::string& path, const LoadOptions& options) {
  KILN_ASSIGN_OR_RETURN(auto impl, api::LoadModel(path, options));
  return std::unique_ptr<Model>(new Model(std::move(impl)));
}

namespace {

// Dims that share a symbolic name (ONNX dim_param) must have one value across the inputs.
Status CheckSymbolicDims(const std::vector<TensorSpec>& specs, const std::map<std::string, Tensor>& inputs) {
  std::map<std::string, std::pair<int64_t, std::string>> seen;  // name -> (value, where)
  for (const auto& spec : specs) {
    const Tensor& t = inputs.at(spec.name);
    for (size_t d = 0; d < spec.dim_names.size(); ++d) {
      const std::string& sym = spec.dim_names[d];
      if (sym.empty() || static_cast<int>(d) >= t.rank()) continue;
      const std::string where = "dim " + std::to_string(d) + " of input '" + spec.name + "'";
      auto [it, fresh] = seen.emplace(sym, std::make_pair(t.dim(static_cast<int>(d)), where));
      if (!fresh && it->second.first != t.dim(static_cast<int>(d))) {
        return InvalidArgument("symbolic dimension '" + sym + "' is " + std::to_string(it->second.first) + " in " +
                               it->second.second + " but " + std::to_string(t.dim(static_cast<int>(d))) + " in " +
                               where);
      }
    }
  }
  return OkStatus();
}

}  // namespace

const SignatureInfo& Model::signature() const { return impl_->signature; }

std::map<std::string, int> Model::OpCounts() const { return impl_->graph.OpCounts(); }

StatusOr<std::map<std::string, Tensor>> Model::Run(const std::map<std::string, Tensor>& inputs,
                                                    const RunOptions& options) const {
  return impl_->Run(inputs, options);
}

Device Model::device() const { return impl_->executor->placement().device; }

std::vector<HostNode> Model::host_nodes() const {
  std::vector<HostNode> nodes;
  for (const auto& [id, reason] : impl_->executor->placement().host_reasons) {
    const ir::Node& n = impl_->graph.node(id);
    nodes.push_back({n.name, n.op, reason});
  }
  return nodes;
}

std::vector<EngineOpStats> Model::engine_stats() const {
  std::vector<EngineOpStats> stats;
  for (const auto& op : impl_->engine_ops) stats.push_back(op->stats());
  return stats;
}

StatusOr<std::map<std::string, Tensor>> Model::Impl::Run(const std::map<std::string, Tensor>& inputs,
                                                          const RunOptions& options) const {
  const auto& specs = signature.inputs;
  std::string missing, extra;
  for (const auto& spec : specs)
    if (!inputs.count(spec.name)) missing += (missing.empty() ? "'" : ", '") + spec.name + "'";
  for (const auto& [name, _] : inputs) {
    bool known = false;
    for (const auto& spec : specs) known |= spec.name == name;
    if (!known) extra += (extra.empty() ? "'" : ", '") + name + "'";
  }
  std::string expected;
  for (const auto& spec : specs) expected += (expected.empty() ? "'" : ", '") + spec.name + "'";
  if (!missing.empty()) return InvalidArgument("missing input(s) " + missing + "; the signature takes " + expected);
  if (!extra.empty()) return InvalidArgument("unknown input(s) " + extra + "; the signature takes " + expected);

  KILN_RETURN_IF_ERROR(CheckSymbolicDims(specs, inputs));
  // Graph inputs carry the signature's names, so the executor's checks name them too.
  std::vector<Tensor> feeds;
  for (const auto& in : graph.inputs()) {
    auto it = inputs.find(in.name);
    if (it == inputs.end()) return Internal("graph input '" + in.name + "' is not in the signature");
    feeds.push_back(it->second);
  }
  runtime::RunOptions run;
  run.stream = options.stream;
  run.outputs_on_device = options.outputs_on_device;
  run.op_times = options.op_times;
  KILN_ASSIGN_OR_RETURN(std::vector<Tensor> outs, executor->Run(feeds, run));
  std::map<std::string, Tensor> result;
  for (size_t i = 0; i < outs.size(); ++i) result[graph.outputs()[i].name] = std::move(outs[i]);
  return result;
}

}  // namespace kiln
