#include "runtime/executor.h"

#include <map>
#include <set>

namespace kiln::runtime {

bool IsSourceOp(const std::string& op) { return op == "Const" || op == "Placeholder"; }

namespace {

std::string DescribeSpec(const ir::OutputInfo& info) {
  return std::string(DTypeName(info.dtype)) + " " + info.shape.ToString();
}

}  // namespace

Status CheckKernelsAvailable(const ir::Graph& graph, Device device, const std::map<int, KernelFn>& exempt) {
  std::vector<std::string> missing;
  std::set<std::string> ops;
  for (int i = 0; i < graph.num_nodes(); ++i) {
    const ir::Node& n = graph.node(i);
    if (IsSourceOp(n.op) || exempt.count(i) || KernelRegistry::Global().Find(n.op, device) != nullptr) continue;
    missing.push_back("node '" + n.name + "' (" + n.op + ")");
    ops.insert(n.op);
  }
  if (missing.empty()) return OkStatus();
  std::string msg = "kiln cannot run " + std::to_string(missing.size()) + " node(s) of " + std::to_string(ops.size()) +
                    " unsupported op type(s) on " + DeviceName(device) + ": ";
  for (size_t i = 0; i < missing.size(); ++i) msg += (i ? ", " : "") + missing[i];
  return Unimplemented(msg);
}

StatusOr<std::unique_ptr<Executor>> Executor::Create(const ir::Graph& graph, Device device) {
  return Create(graph, device, {});
}

StatusOr<std::unique_ptr<Executor>> Executor::Create(const ir::Graph& graph, Device device,
                                                     std::map<int, KernelFn> node_kernels) {
  KILN_RETURN_IF_ERROR(CheckKernelsAvailable(graph, device, node_kernels));
  KILN_ASSIGN_OR_RETURN(std::vector<int> order, graph.TopologicalOrder());
  std::unique_ptr<Executor> ex(new Executor(graph));
  ex->node_kernels_ = std::move(node_kernels);

  // Memory plan: each value is released right after its last consumer runs. Graph outputs and
  // constants (owned by the graph) are never released.
  std::set<ir::ValueRef> pinned;
  for (const auto& out : graph.outputs()) pinned.insert(out.value);
  std::map<ir::ValueRef, size_t> last_use;
  for (size_t step = 0; step < order.size(); ++step) {
    for (const auto& in : graph.node(order[step]).inputs) last_use[in] = step;
  }
  ex->steps_.resize(order.size());
  for (size_t step = 0; step < order.size(); ++step) {
    const ir::Node& n = graph.node(order[step]);
    ex->steps_[step].node = n.id;
    auto own = ex->node_kernels_.find(n.id);
    ex->steps_[step].kernel = IsSourceOp(n.op)                 ? nullptr
                              : own != ex->node_kernels_.end() ? &own->second
                                                               : KernelRegistry::Global().Find(n.op, device);
  }
  for (const auto& [value, step] : last_use) {
    if (pinned.count(value) || graph.node(value.node).op == "Const") continue;
    ex->steps_[step].release_after.push_back(value);
  }
  return ex;
}

std::optional<size_t> Executor::PlannedPeakBytes() const {
  auto bytes = [&](const ir::OutputInfo& info) -> std::optional<size_t> {
    if (!info.shape.IsFullyDefined() || info.dtype == DType::kInvalid) return std::nullopt;
    return static_cast<size_t>(NumElements(info.shape.dims)) * DTypeSize(info.dtype);
  };
  size_t live = 0, peak = 0;
  for (const Step& step : steps_) {
    const ir::Node& node = graph_.node(step.node);
    if (IsSourceOp(node.op)) continue;
    for (const auto& out : node.outputs) {
      auto b = bytes(out);
      if (!b) return std::nullopt;
      live += *b;
    }
    peak = std::max(peak, live);
    for (const auto& v : step.release_after) {
      auto b = bytes(graph_.output_info(v));
      if (b && graph_.node(v.node).op != "Placeholder") live -= std::min(live, *b);
    }
  }
  return peak;
}

StatusOr<std::vector<Tensor>> Executor::Run(const std::vector<Tensor>& inputs, const ValueObserver* observer) const {
  const auto& graph_inputs = graph_.inputs();
  if (inputs.size() != graph_inputs.size()) {
    return InvalidArgument("expected " + std::to_string(graph_inputs.size()) + " inputs, got " +
                           std::to_string(inputs.size()));
  }
  std::vector<std::vector<Tensor>> values(static_cast<size_t>(graph_.num_nodes()));
  std::vector<bool> fed(static_cast<size_t>(graph_.num_nodes()), false);
  for (size_t i = 0; i < inputs.size(); ++i) {
    const ir::ValueRef v = graph_inputs[i].value;
    const ir::OutputInfo& spec = graph_.output_info(v);
    const Tensor& t = inputs[i];
    if (t.dtype() != spec.dtype || !spec.shape.Accepts(t.shape())) {
      return InvalidArgument("input '" + graph_inputs[i].name + "' expects " + DescribeSpec(spec) + ", got " +
                             std::string(DTypeName(t.dtype())) + " " + ShapeToString(t.shape()));
    }
    values[v.node].resize(graph_.node(v.node).outputs.size());
    values[v.node][v.index] = t;
    fed[v.node] = true;
    if (observer != nullptr) (*observer)(graph_.node(v.node), v.index, t);
  }

  size_t live = 0;
  peak_live_bytes_ = 0;
  for (const Step& step : steps_) {
    const ir::Node& node = graph_.node(step.node);
    if (node.op == "Placeholder") {
      if (!fed[node.id]) return InvalidArgument("graph input '" + node.name + "' was not fed");
      continue;
    }
    if (node.op == "Const") {
      const ir::AttrValue* v = node.attrs.Find("value");
      const Tensor* t = v ? std::get_if<Tensor>(v) : nullptr;
      if (t == nullptr) return Internal("Const has no tensor value").AtNode(node.name, node.op);
      values[node.id] = {*t};
      continue;
    }
    std::vector<const Tensor*> args;
    args.reserve(node.inputs.size());
    for (const auto& in : node.inputs) {
      const auto& produced = values[in.node];
      if (in.index >= static_cast<int>(produced.size()) || !produced[in.index].valid()) {
        return Internal("input " + std::to_string(args.size()) + " was not computed").AtNode(node.name, node.op);
      }
      args.push_back(&produced[in.index]);
    }
    KernelContext ctx(node, std::move(args));
    Status s = (*step.kernel)(ctx);
    if (!s.ok()) return s.AtNode(node.name, node.op);
    for (int i = 0; i < ctx.num_outputs(); ++i) {
      const Tensor& out = ctx.outputs()[i];
      const ir::OutputInfo& spec = node.outputs[i];
      if (!out.valid()) return Internal("kernel did not set output " + std::to_string(i)).AtNode(node.name, node.op);
      if ((spec.dtype != DType::kInvalid && out.dtype() != spec.dtype) || !spec.shape.Accepts(out.shape())) {
        return Internal("kernel produced " + out.DebugString() + " for output " + std::to_string(i) +
                        " but shape inference says " + DescribeSpec(spec))
            .AtNode(node.name, node.op);
      }
      live += out.byte_size();
      if (observer != nullptr) (*observer)(node, i, out);
    }
    values[node.id] = std::move(ctx.outputs());
    peak_live_bytes_ = std::max(peak_live_bytes_, live);
    for (const auto& v : step.release_after) {
      Tensor& t = values[v.node][v.index];
      live -= std::min(live, t.byte_size());
      t = Tensor();
    }
  }

  std::vector<Tensor> outputs;
  for (const auto& out : graph_.outputs()) {
    const auto& produced = values[out.value.node];
    if (out.value.index >= static_cast<int>(produced.size()) || !produced[out.value.index].valid()) {
      return Internal("graph output '" + out.name + "' was not computed");
    }
    outputs.push_back(produced[out.value.index]);
  }
  return outputs;
}

}  // namespace kiln::runtime
