#include "kiln/model.h"

#include "frontends/savedmodel/saved_model.h"
#include "ir/op_registry.h"
#include "passes/passes.h"
#include "runtime/executor.h"

namespace kiln {

struct Model::Impl {
  SignatureInfo signature;
  ir::Graph graph;
  std::unique_ptr<runtime::Executor> executor;
};

Model::Model(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Model::~Model() = default;

StatusOr<std::vector<MetaGraphInfo>> InspectSavedModel(const std::string& dir) {
  KILN_ASSIGN_OR_RETURN(auto model, savedmodel::ReadSavedModel(dir));
  return savedmodel::DescribeSavedModel(model);
}

StatusOr<std::unique_ptr<Model>> Model::Load(const std::string& path, const LoadOptions& options) {
  auto impl = std::make_unique<Impl>();
  KILN_ASSIGN_OR_RETURN(auto saved, savedmodel::ReadSavedModel(path));
  KILN_ASSIGN_OR_RETURN(const auto* meta, savedmodel::SelectMetaGraph(saved, options.tags));
  KILN_ASSIGN_OR_RETURN(impl->graph, savedmodel::LoadSignatureGraph(path, *meta, options.signature_key));
  impl->signature = savedmodel::DescribeSignature(options.signature_key, meta->signature_def().at(options.signature_key));
  // Refuse graphs with ops kiln cannot run before anything else, listing them all.
  KILN_RETURN_IF_ERROR(runtime::CheckKernelsAvailable(impl->graph, runtime::Device::kCPU));
  KILN_RETURN_IF_ERROR(passes::OptimizeForInference(impl->graph));
  KILN_ASSIGN_OR_RETURN(impl->executor, runtime::Executor::Create(impl->graph));
  return std::unique_ptr<Model>(new Model(std::move(impl)));
}

const SignatureInfo& Model::signature() const { return impl_->signature; }

std::map<std::string, int> Model::OpCounts() const { return impl_->graph.OpCounts(); }

StatusOr<std::map<std::string, Tensor>> Model::Run(const std::map<std::string, Tensor>& inputs) const {
  const auto& specs = impl_->signature.inputs;
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

  // Graph inputs carry the signature's names, so the executor's checks name them too.
  std::vector<Tensor> feeds;
  for (const auto& in : impl_->graph.inputs()) {
    auto it = inputs.find(in.name);
    if (it == inputs.end()) return Internal("graph input '" + in.name + "' is not in the signature");
    feeds.push_back(it->second);
  }
  KILN_ASSIGN_OR_RETURN(std::vector<Tensor> outs, impl_->executor->Run(feeds));
  std::map<std::string, Tensor> result;
  for (size_t i = 0; i < outs.size(); ++i) result[impl_->graph.outputs()[i].name] = std::move(outs[i]);
  return result;
}

}  // namespace kiln
