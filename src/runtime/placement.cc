#include "runtime/placement.h"

#include <optional>

#include "runtime/executor.h"

namespace kiln::runtime {
namespace {

bool TouchesHostOnlyValues(const ir::Graph& graph, const ir::Node& node) {
  for (const auto& in : node.inputs)
    if (IsHostOnly(graph.output_info(in).dtype)) return true;
  for (const auto& out : node.outputs)
    if (IsHostOnly(out.dtype)) return true;
  return false;
}

const KernelDef* KernelFor(const ir::Node& node, const Placement& p) {
  return KernelRegistry::Global().FindDef(node.op, p.node_on[node.id]);
}

}  // namespace

std::optional<DeviceType> InputLocation(const ir::Graph& graph, const Placement& placement, int node, int index) {
  const ir::Node& n = graph.node(node);
  const KernelDef* def = KernelFor(n, placement);
  if (def != nullptr && def->options.reads_shapes_only) return std::nullopt;
  if (!placement.OnDevice(node)) return DeviceType::kCPU;
  // Strings and tensor lists stay on the host, even as inputs of a node on the device (a loop
  // that carries a list).
  if (IsHostOnly(graph.output_info(n.inputs[index]).dtype)) return DeviceType::kCPU;
  if (def != nullptr && def->IsHostInput(index, static_cast<int>(n.inputs.size()))) return DeviceType::kCPU;
  return placement.node_on[node];
}

Placement PlaceNodes(const ir::Graph& graph, Device device, const std::map<int, std::string>& host_nodes,
                     const std::set<int>& device_nodes) {
  Placement p;
  p.device = device;
  p.node_on.assign(static_cast<size_t>(graph.num_nodes()), DeviceType::kCPU);
  if (device.is_cpu()) return p;

  for (int i = 0; i < graph.num_nodes(); ++i) {
    const ir::Node& n = graph.node(i);
    if (IsSourceOp(n.op)) continue;
    if (device_nodes.count(i)) {
      p.node_on[i] = device.type;
    } else if (auto it = host_nodes.find(i); it != host_nodes.end()) {
      p.host_reasons[i] = it->second;
    } else if (TouchesHostOnlyValues(graph, n)) {
      p.host_reasons[i] = "string and variant (tensor list) values stay on the host";
    } else if (const KernelDef* def = KernelRegistry::Global().FindDef(n.op, device.type); def == nullptr) {
      const KernelDef* host = KernelRegistry::Global().FindDef(n.op, DeviceType::kCPU);
      p.host_reasons[i] = host != nullptr && host->options.reads_shapes_only
                              ? "reads only its inputs' shapes"
                              : std::string("no ") + DeviceTypeName(device.type) + " kernel for " + n.op;
    } else if (Status s = def->CheckSupported(graph, n); !s.ok()) {
      p.host_reasons[i] = s.message();
    } else {
      p.node_on[i] = device.type;
    }
  }

  // Shape computations stay on the host: walking consumers before producers, a device node whose
  // non-floating outputs are read only on the host moves there too, so chains such as
  // Shape -> StridedSlice -> Pack -> Reshape's shape input never visit the device.
  std::vector<std::vector<std::pair<int, int>>> consumers(static_cast<size_t>(graph.num_nodes()));
  for (int i = 0; i < graph.num_nodes(); ++i) {
    const auto& ins = graph.node(i).inputs;
    for (int k = 0; k < static_cast<int>(ins.size()); ++k) consumers[ins[k].node].push_back({i, k});
  }
  auto order = graph.TopologicalOrder();
  if (!order.ok()) return p;  // the executor reports the cycle
  for (auto it = order->rbegin(); it != order->rend(); ++it) {
    const ir::Node& n = graph.node(*it);
    if (!p.OnDevice(n.id) || device_nodes.count(n.id)) continue;
    bool floating = false;
    for (const auto& out : n.outputs) floating |= IsFloating(out.dtype) || out.dtype == DType::kInvalid;
    if (floating) continue;
    bool read_on_host = false, read_on_device = false;
    for (const auto& [consumer, index] : consumers[n.id]) {
      const std::optional<DeviceType> where = InputLocation(graph, p, consumer, index);
      if (!where) continue;
      (*where == DeviceType::kCPU ? read_on_host : read_on_device) = true;
    }
    if (read_on_host && !read_on_device) {
      p.node_on[n.id] = DeviceType::kCPU;
      p.host_reasons[n.id] = "computes a shape value that only the host reads";
    }
  }
  return p;
}

}  // namespace kiln::runtime
