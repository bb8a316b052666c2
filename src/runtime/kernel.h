#pragma once
// Kernels: one function per (op, device), registered from src/kernels/<device>/*.cc with
// KILN_REGISTER_KERNEL. The executor calls them with a KernelContext.

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "ir/graph.h"
#include "kiln/status.h"
#include "kiln/tensor.h"

namespace kiln::runtime {

enum class Device { kCPU, kCUDA };
const char* DeviceName(Device device);

class KernelContext {
 public:
  KernelContext(const ir::Node& node, std::vector<const Tensor*> inputs)
      : node_(node), inputs_(std::move(inputs)), outputs_(node.outputs.size()) {}

  const ir::Node& node() const { return node_; }
  const ir::AttrMap& attrs() const { return node_.attrs; }
  template <typename T>
  StatusOr<T> Attr(const std::string& name) const {
    return node_.attrs.Get<T>(name);
  }
  int num_inputs() const { return static_cast<int>(inputs_.size()); }
  const Tensor& input(int i) const { return *inputs_[i]; }
  int num_outputs() const { return static_cast<int>(outputs_.size()); }

  void set_output(int i, Tensor t) { outputs_[i] = std::move(t); }
  // Allocates output i (zero-filled) and returns it for the kernel to fill.
  Tensor& allocate_output(int i, DType dtype, Shape shape) {
    outputs_[i] = Tensor(dtype, std::move(shape));
    return outputs_[i];
  }
  // Fails unless the op has between min and max inputs.
  Status ExpectInputs(int min, int max) const;

  std::vector<Tensor>& outputs() { return outputs_; }

 private:
  const ir::Node& node_;
  std::vector<const Tensor*> inputs_;
  std::vector<Tensor> outputs_;
};

using KernelFn = std::function<Status(KernelContext&)>;

class KernelRegistry {
 public:
  static KernelRegistry& Global();
  void Register(std::string op, Device device, KernelFn fn);
  const KernelFn* Find(std::string_view op, Device device) const;
  std::vector<std::string> Ops(Device device) const;

 private:
  struct Entry {
    std::string op;
    Device device;
    KernelFn fn;
  };
  std::vector<Entry> entries_;
};

struct KernelRegistration {
  KernelRegistration(std::string op, Device device, KernelFn fn) {
    KernelRegistry::Global().Register(std::move(op), device, std::move(fn));
  }
};

}  // namespace kiln::runtime

#define KILN_REGISTER_KERNEL(op, device, fn)                                              \
  static ::kiln::runtime::KernelRegistration KILN_CONCAT(kiln_kernel_registration_, \
                                                         __COUNTER__)(op, device, fn)
#define KILN_REGISTER_CPU_KERNEL(op, fn) KILN_REGISTER_KERNEL(op, ::kiln::runtime::Device::kCPU, fn)
