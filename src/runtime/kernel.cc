#include "runtime/kernel.h"

#include <algorithm>

namespace kiln::runtime {

const char* DeviceName(Device device) { return device == Device::kCPU ? "CPU" : "CUDA"; }

Status KernelContext::ExpectInputs(int min, int max) const {
  if (num_inputs() < min || num_inputs() > max) {
    std::string want = min == max ? std::to_string(min) : std::to_string(min) + " to " + std::to_string(max);
    return InvalidArgument("expects " + want + " inputs, got " + std::to_string(num_inputs()));
  }
  return OkStatus();
}

KernelRegistry& KernelRegistry::Global() {
  static KernelRegistry* registry = new KernelRegistry();
  return *registry;
}

void KernelRegistry::Register(std::string op, Device device, KernelFn fn) {
  for (auto& e : entries_) {
    if (e.op == op && e.device == device) {
      e.fn = std::move(fn);
      return;
    }
  }
  entries_.push_back({std::move(op), device, std::move(fn)});
}

const KernelFn* KernelRegistry::Find(std::string_view op, Device device) const {
  for (const auto& e : entries_)
    if (e.op == op && e.device == device) return &e.fn;
  return nullptr;
}

std::vector<std::string> KernelRegistry::Ops(Device device) const {
  std::vector<std::string> ops;
  for (const auto& e : entries_)
    if (e.device == device) ops.push_back(e.op);
  std::sort(ops.begin(), ops.end());
  return ops;
}

}  // namespace kiln::runtime
