#include "runtime/executor.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <set>

#include "runtime/control_flow.h"

namespace kiln::runtime {

bool IsSourceOp(const std::string& op) { return op == "Const" || op == "Placeholder"; }

namespace {

std::string DescribeSpec(const ir::OutputInfo& info) {
  return std::string(DTypeName(info.dtype)) + " " + info.shape.ToString();
}

bool IsAt(const Tensor& t, DeviceType where) { return t.device().type == where; }

// A Const node's value.
StatusOr<const Tensor*> ConstValue(const ir::Node& n) {
  const ir::AttrValue* v = n.attrs.Find("value");
  const Tensor* t = v ? std::get_if<Tensor>(v) : nullptr;
  if (t == nullptr) return Internal("Const has no tensor value").AtNode(n.name, n.op);
  return t;
}

// Nodes (not in `exempt`) without a kernel where `on` says they run.
Status CheckKernels(const ir::Graph& graph, const std::function<DeviceType(int)>& on,
                    const std::map<int, KernelFn>& exempt) {
  std::vector<std::string> missing;
  std::set<std::string> ops;
  std::set<DeviceType> devices;
  for (int i = 0; i < graph.num_nodes(); ++i) {
    const ir::Node& n = graph.node(i);
    if (IsSourceOp(n.op) || IsControlFlowOp(n.op) || exempt.count(i) ||
        KernelRegistry::Global().Find(n.op, on(i)) != nullptr) {
      continue;
    }
    missing.push_back("node '" + n.name + "' (" + n.op + ")");
    ops.insert(n.op);
    devices.insert(on(i));
  }
  if (missing.empty()) return OkStatus();
  std::string where;
  for (DeviceType d : devices) where += (where.empty() ? "" : " or ") + std::string(DeviceTypeName(d));
  std::string msg = "kiln cannot run " + std::to_string(missing.size()) + " node(s) of " + std::to_string(ops.size()) +
                    " unsupported op type(s) on " + where + ": ";
  for (size_t i = 0; i < missing.size(); ++i) msg += (i ? ", " : "") + missing[i];
  return Unimplemented(msg);
}

}  // namespace

Status CheckKernelsAvailable(const ir::Graph& graph, DeviceType device, const std::map<int, KernelFn>& exempt) {
  KILN_RETURN_IF_ERROR(CheckKernels(graph, [device](int) { return device; }, exempt));
  for (const auto& [name, body] : graph.functions()) {
    Status s = CheckKernelsAvailable(*body, device);
    if (!s.ok()) return s.Prepend("in function '" + name + "'");
  }
  return OkStatus();
}

StatusOr<std::unique_ptr<Executor>> Executor::Create(const ir::Graph& graph, ExecutorOptions options) {
  const Device device = options.device;
  if (!device.is_cpu()) KILN_RETURN_IF_ERROR(CheckDeviceUsable(device));
  KILN_ASSIGN_OR_RETURN(std::vector<int> order, graph.TopologicalOrder());
  std::unique_ptr<Executor> ex(new Executor(graph));
  ex->allow_tf32_ = options.allow_tf32;
  std::map<int, std::string> host_nodes;
  std::set<int> device_nodes;
  // Control-flow nodes run where the executor runs: their bodies' executors place their own nodes.
  std::map<int, KernelFn> control_flow;
  for (int id : order) {
    const ir::Node& n = graph.node(id);
    if (!IsControlFlowOp(n.op) || options.node_kernels.count(id)) continue;
    KILN_ASSIGN_OR_RETURN(KernelFn kernel, MakeControlFlowKernel(graph, n, options));
    if (device.is_cpu()) {
      host_nodes[id] = "runs its bodies";
    } else {
      device_nodes.insert(id);
    }
    control_flow[id] = std::move(kernel);
  }
  for (const auto& [id, _] : options.node_kernels) {
    if (options.node_kernels_on_device) {
      device_nodes.insert(id);
    } else {
      host_nodes[id] = "runs a kernel of its own on the host";
    }
  }
  ex->placement_ = PlaceNodes(graph, device, host_nodes, device_nodes);
  KILN_RETURN_IF_ERROR(
      CheckKernels(graph, [&](int i) { return ex->placement_.node_on[i]; }, options.node_kernels));
  ex->node_kernels_ = std::move(options.node_kernels);
  ex->node_kernels_.merge(control_flow);

  // Memory plan: each value is released right after its last consumer runs (with its copy on the
  // other side of the host/device line, if one was made). Graph outputs and constants (owned by
  // the graph) are never released.
  std::set<ir::ValueRef> pinned;
  for (const auto& out : graph.outputs()) pinned.insert(out.value);
  std::map<ir::ValueRef, size_t> last_use;
  for (size_t step = 0; step < order.size(); ++step) {
    for (const auto& in : graph.node(order[step]).inputs) last_use[in] = step;
  }
  ex->steps_.resize(order.size());
  for (size_t step = 0; step < order.size(); ++step) {
    const ir::Node& n = graph.node(order[step]);
    Step& s = ex->steps_[step];
    s.node = n.id;
    auto own = ex->node_kernels_.find(n.id);
    s.kernel = IsSourceOp(n.op)                   ? nullptr
               : own != ex->node_kernels_.end() ? &own->second
                                                : KernelRegistry::Global().Find(n.op, ex->placement_.node_on[n.id]);
    for (int k = 0; k < static_cast<int>(n.inputs.size()); ++k) {
      s.input_at.push_back(InputLocation(graph, ex->placement_, n.id, k));
    }
    // A constant that the device kernel takes in its own arrangement is read on the host, for its
    // shape; UploadConstants makes the arrangement.
    const DeviceType on = ex->placement_.node_on[n.id];
    const KernelDef* def = own != ex->node_kernels_.end() ? nullptr : KernelRegistry::Global().FindDef(n.op, on);
    if (def == nullptr || on == DeviceType::kCPU || IsSourceOp(n.op)) continue;
    for (const auto& prepared : def->options.prepared_inputs) {
      const int k = prepared.input;
      if (k >= static_cast<int>(n.inputs.size()) || s.input_at[k] != on) continue;
      if (graph.node(n.inputs[k].node).op != "Const") continue;
      s.input_at[k] = DeviceType::kCPU;
      s.to_prepare.push_back(&prepared);
    }
  }
  for (const auto& [value, step] : last_use) {
    if (pinned.count(value) || graph.node(value.node).op == "Const") continue;
    ex->steps_[step].release_after.push_back(value);
  }
  // In-place kernels: an input read for the last time, on the kernel's own device, that the
  // executor allocated (not a caller's input) may become the output.
  for (size_t step = 0; step < order.size(); ++step) {
    Step& s = ex->steps_[step];
    const ir::Node& n = graph.node(s.node);
    const DeviceType on = ex->placement_.node_on[n.id];
    const KernelDef* def = ex->node_kernels_.count(n.id) ? nullptr : KernelRegistry::Global().FindDef(n.op, on);
    if (def == nullptr || s.kernel == nullptr) continue;
    for (int k : def->options.forwardable_inputs) {
      if (k >= static_cast<int>(n.inputs.size()) || s.input_at[k] != on) continue;
      const ir::ValueRef v = n.inputs[k];
      const std::string& producer = graph.node(v.node).op;
      if (last_use[v] != step || pinned.count(v) || producer == "Const" || producer == "Placeholder") continue;
      // Prefer the input shaped like the output (the other may broadcast onto it).
      const ir::OutputInfo& in = graph.output_info(v);
      const bool like_output = !n.outputs.empty() && in.dtype == n.outputs[0].dtype && in.shape == n.outputs[0].shape;
      if (s.forwardable_input < 0 || like_output) s.forwardable_input = k;
      if (like_output) break;
    }
  }
  if (!device.is_cpu()) KILN_RETURN_IF_ERROR(ex->UploadConstants());
  return ex;
}

Status Executor::UploadConstants() {
  std::set<int> wanted;
  for (const Step& step : steps_) {
    const ir::Node& n = graph_.node(step.node);
    for (size_t k = 0; k < n.inputs.size(); ++k) {
      if (step.input_at[k] == placement_.device.type && graph_.node(n.inputs[k].node).op == "Const") {
        wanted.insert(n.inputs[k].node);
      }
    }
  }
  const bool any_prepared =
      std::any_of(steps_.begin(), steps_.end(), [](const Step& s) { return !s.to_prepare.empty(); });
  if (wanted.empty() && !any_prepared) return OkStatus();
  KILN_ASSIGN_OR_RETURN(std::unique_ptr<DeviceContext> ctx, OpenDeviceContext(placement_.device, nullptr, allow_tf32_));
  for (int id : wanted) {
    const ir::Node& n = graph_.node(id);
    KILN_ASSIGN_OR_RETURN(const Tensor* t, ConstValue(n));
    auto copy = ctx->ToDevice(*t);
    if (!copy.ok()) {
      Status s = copy.status();
      return s.Prepend("copying the constant to " + placement_.device.ToString()).AtNode(n.name, n.op);
    }
    device_constants_[id] = std::move(copy).value();
  }
  for (Step& step : steps_) {
    const ir::Node& n = graph_.node(step.node);
    for (const KernelOptions::PreparedInput* prepared : step.to_prepare) {
      KILN_ASSIGN_OR_RETURN(const Tensor* t, ConstValue(graph_.node(n.inputs[prepared->input].node)));
      auto arranged = prepared->prepare(*ctx, n, *t);
      if (!arranged.ok()) {
        Status s = arranged.status();
        return s.Prepend("preparing input " + std::to_string(prepared->input) + " on " + placement_.device.ToString())
            .AtNode(n.name, n.op);
      }
      step.prepared.resize(n.inputs.size());
      step.prepared[prepared->input] = std::move(arranged).value();
    }
  }
  return ctx->Synchronize();
}

namespace {

thread_local std::map<std::string, double>* profiled_step_times = nullptr;

// Makes `times` the profiled step's times on this thread while it lives (nothing when null).
class ProfiledStep {
 public:
  explicit ProfiledStep(std::map<std::string, double>* times) : before_(profiled_step_times) {
    if (times != nullptr) profiled_step_times = times;
  }
  ~ProfiledStep() { profiled_step_times = before_; }
  ProfiledStep(const ProfiledStep&) = delete;
  ProfiledStep& operator=(const ProfiledStep&) = delete;

 private:
  std::map<std::string, double>* before_;
};

}  // namespace

std::map<std::string, double>* ProfiledStepTimes() { return profiled_step_times; }

StatusOr<std::vector<Tensor>> Executor::RunInContext(const std::vector<Tensor>& inputs, DeviceContext* device) const {
  if (device == nullptr) return Run(inputs);
  return Run(inputs, {.stream = device->stream(), .outputs_on_device = true});
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

// A value of one run, and its copy on the other side of the host/device line once one is needed.
struct Executor::Slot {
  Tensor value;
  Tensor mirror;
};

StatusOr<std::vector<Tensor>> Executor::Run(const std::vector<Tensor>& inputs, const RunOptions& options,
                                            const ValueObserver* observer) const {
  // Where step times go: the run's own op_times, else those of the profiled step this run is in.
  std::map<std::string, double>* op_times = options.op_times;
  std::string op_prefix;
  if (op_times == nullptr && (op_times = ProfiledStepTimes()) != nullptr) op_prefix = "in engines: ";
  const auto& graph_inputs = graph_.inputs();
  if (inputs.size() != graph_inputs.size()) {
    return InvalidArgument("expected " + std::to_string(graph_inputs.size()) + " inputs, got " +
                           std::to_string(inputs.size()));
  }
  std::unique_ptr<DeviceContext> opened;
  DeviceContext* device = nullptr;
  if (!placement_.device.is_cpu()) {
    device = options.context;
    if (device == nullptr) {
      KILN_ASSIGN_OR_RETURN(opened, OpenDeviceContext(placement_.device, options.stream, allow_tf32_));
      device = opened.get();
    }
  }
  // A value where `where` reads it, copied across once per run when it lives on the other side.
  auto fetch = [&](Slot& slot, std::optional<DeviceType> where) -> StatusOr<const Tensor*> {
    if (!where || IsAt(slot.value, *where)) return &slot.value;
    if (!slot.mirror.valid()) {
      if (*where == DeviceType::kCPU) {
        if (device == nullptr) {
          KILN_ASSIGN_OR_RETURN(slot.mirror, CopyTensor(slot.value, Device::CPU()));
        } else {
          KILN_ASSIGN_OR_RETURN(std::vector<Tensor> host, device->ToHost({slot.value}));
          slot.mirror = std::move(host[0]);
        }
      } else {
        KILN_ASSIGN_OR_RETURN(slot.mirror, device->ToDevice(slot.value));
      }
    }
    return &slot.mirror;
  };
  auto observe = [&](const ir::Node& node, int index, Slot& slot) -> Status {
    if (observer == nullptr) return OkStatus();
    KILN_ASSIGN_OR_RETURN(const Tensor* host, fetch(slot, DeviceType::kCPU));
    (*observer)(node, index, *host);
    return OkStatus();
  };

  std::vector<std::vector<Slot>> values(static_cast<size_t>(graph_.num_nodes()));
  std::vector<bool> fed(static_cast<size_t>(graph_.num_nodes()), false);
  for (size_t i = 0; i < inputs.size(); ++i) {
    const ir::ValueRef v = graph_inputs[i].value;
    const ir::OutputInfo& spec = graph_.output_info(v);
    const Tensor& t = inputs[i];
    if (t.dtype() != spec.dtype || !spec.shape.Accepts(t.shape())) {
      return InvalidArgument("input '" + graph_inputs[i].name + "' expects " + DescribeSpec(spec) + ", got " +
                             std::string(DTypeName(t.dtype())) + " " + ShapeToString(t.shape()));
    }
    if (!t.on_host() && !placement_.device.is_cpu() && !(t.device() == placement_.device)) {
      return InvalidArgument("input '" + graph_inputs[i].name + "' is on " + t.device().ToString() +
                             " but the model runs on " + placement_.device.ToString());
    }
    values[v.node].resize(graph_.node(v.node).outputs.size());
    values[v.node][v.index].value = t;
    fed[v.node] = true;
    KILN_RETURN_IF_ERROR(observe(graph_.node(v.node), v.index, values[v.node][v.index]));
  }

  size_t live = 0, peak = 0;
  std::vector<const Tensor*> args;
  for (const Step& step : steps_) {
    const ir::Node& node = graph_.node(step.node);
    if (node.op == "Placeholder") {
      if (!fed[node.id]) return InvalidArgument("graph input '" + node.name + "' was not fed");
      continue;
    }
    if (node.op == "Const") {
      KILN_ASSIGN_OR_RETURN(const Tensor* t, ConstValue(node));
      values[node.id].resize(1);
      values[node.id][0].value = *t;
      if (auto it = device_constants_.find(node.id); it != device_constants_.end()) values[node.id][0].mirror = it->second;
      continue;
    }
    args.clear();
    for (size_t k = 0; k < node.inputs.size(); ++k) {
      const ir::ValueRef in = node.inputs[k];
      auto& produced = values[in.node];
      if (in.index >= static_cast<int>(produced.size()) || !produced[in.index].value.valid()) {
        return Internal("input " + std::to_string(k) + " was not computed").AtNode(node.name, node.op);
      }
      auto arg = fetch(produced[in.index], step.input_at[k]);
      if (!arg.ok()) {
        Status s = arg.status();
        return s.Prepend("input " + std::to_string(k)).AtNode(node.name, node.op);
      }
      args.push_back(*arg);
    }
    const DeviceType on = placement_.node_on[node.id];
    KernelContext ctx(node, args, on == DeviceType::kCPU ? nullptr : device);
    ctx.set_prepared(step.prepared);
    if (step.forwardable_input >= 0 && args[step.forwardable_input]->buffer().use_count() == 1) {
      ctx.forward_input(step.forwardable_input);
    }
    const auto started = std::chrono::steady_clock::now();
    Status s;
    {
      const ProfiledStep profiled(op_times);
      s = RunKernel(*step.kernel, ctx);
    }
    if (s.ok() && op_times != nullptr) {
      if (on != DeviceType::kCPU) s = device->Synchronize();
      (*op_times)[op_prefix + node.op] +=
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
    }
    if (!s.ok()) return s.AtNode(node.name, node.op);
    values[node.id].resize(static_cast<size_t>(ctx.num_outputs()));
    for (int i = 0; i < ctx.num_outputs(); ++i) {
      Tensor& out = ctx.outputs()[i];
      const ir::OutputInfo& spec = node.outputs[i];
      if (!out.valid()) return Internal("kernel did not set output " + std::to_string(i)).AtNode(node.name, node.op);
      if ((spec.dtype != DType::kInvalid && out.dtype() != spec.dtype) || !spec.shape.Accepts(out.shape())) {
        return Internal("kernel produced " + out.DebugString() + " for output " + std::to_string(i) +
                        " but shape inference says " + DescribeSpec(spec))
            .AtNode(node.name, node.op);
      }
      if (!IsHostOnly(out.dtype()) && !IsAt(out, on)) {
        return Internal("kernel for " + std::string(DeviceTypeName(on)) + " left output " + std::to_string(i) +
                        " on " + out.device().ToString())
            .AtNode(node.name, node.op);
      }
      live += out.byte_size();
      values[node.id][i].value = std::move(out);
      KILN_RETURN_IF_ERROR(observe(node, i, values[node.id][i]));
    }
    // An input whose buffer output 0 took over is counted once, as the output.
    const bool forwarded = ctx.forwarded();
    const ir::ValueRef forwarded_input = forwarded ? node.inputs[step.forwardable_input] : ir::ValueRef{-1, -1};
    if (forwarded) live -= std::min(live, values[node.id][0].value.byte_size());
    peak = std::max(peak, live);
    for (const auto& v : step.release_after) {
      Slot& slot = values[v.node][v.index];
      if (!forwarded || !(v == forwarded_input)) live -= std::min(live, slot.value.byte_size());
      slot = Slot();
    }
  }

  peak_live_bytes_ = peak;
  std::vector<Tensor> outputs;
  for (const auto& out : graph_.outputs()) {
    const auto& produced = values[out.value.node];
    if (out.value.index >= static_cast<int>(produced.size()) || !produced[out.value.index].value.valid()) {
      return Internal("graph output '" + out.name + "' was not computed");
    }
    outputs.push_back(produced[out.value.index].value);
  }
  if (device == nullptr) return outputs;
  if (options.outputs_on_device) {
    for (Tensor& t : outputs) {
      if (t.on_host() && !IsHostOnly(t.dtype())) {
        KILN_ASSIGN_OR_RETURN(t, device->ToDevice(t));
      }
    }
    if (options.stream == nullptr && options.context == nullptr) KILN_RETURN_IF_ERROR(device->Synchronize());
    return outputs;
  }
  std::vector<size_t> on_device;
  std::vector<Tensor> to_copy;
  for (size_t i = 0; i < outputs.size(); ++i) {
    if (!outputs[i].on_host()) {
      on_device.push_back(i);
      to_copy.push_back(outputs[i]);
    }
  }
  if (to_copy.empty()) {
    KILN_RETURN_IF_ERROR(device->Synchronize());
    return outputs;
  }
  KILN_ASSIGN_OR_RETURN(std::vector<Tensor> host, device->ToHost(to_copy));
  for (size_t k = 0; k < on_device.size(); ++k) outputs[on_device[k]] = std::move(host[k]);
  return outputs;
}

}  // namespace kiln::runtime
