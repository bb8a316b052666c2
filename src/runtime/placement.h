#pragma once
// Placement: which device each node of a graph runs on when the graph runs on a device. A node runs
// on the device when the device has a kernel for it, except nodes that only compute shapes (their
// values feed nothing but inputs read on the host), which stay on the host with the nodes that
// have no device kernel. Every node left on the host carries the reason.

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "kiln/device.h"
#include "runtime/kernel.h"

namespace kiln::runtime {

struct Placement {
  Device device;                     // the run's device
  std::vector<DeviceType> node_on;   // per node id; sources (Const, Placeholder) are kCPU
  std::map<int, std::string> host_reasons;  // for a device run: nodes left on the host, and why

  bool OnDevice(int node) const { return node_on[node] != DeviceType::kCPU; }
};

// Places every node of `graph` for a run on `device`. `host_nodes` (id -> reason) stay on the host
// and `device_nodes` go to the device, whatever the registry says (nodes with kernels of their own,
// such as the engine ops of converted models). Nodes that end up on the host must have a CPU
// kernel, or be in `host_nodes`.
Placement PlaceNodes(const ir::Graph& graph, Device device, const std::map<int, std::string>& host_nodes = {},
                     const std::set<int>& device_nodes = {});

// Where consumer `node` reads its input `index` under `placement`: kCPU, kCUDA, or nullopt when it
// reads only the input's shape (any location will do).
std::optional<DeviceType> InputLocation(const ir::Graph& graph, const Placement& placement, int node, int index);

}  // namespace kiln::runtime
