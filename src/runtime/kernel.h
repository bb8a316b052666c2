#pragma once
// Kernels: one function per (op, device), registered from src/kernels/<device>/*.cc with
// KILN_REGISTER_KERNEL. The executor calls them with a KernelContext.

#include <deque>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ir/graph.h"
#include "kiln/device.h"
#include "kiln/status.h"
#include "kiln/tensor.h"
#include "runtime/device_context.h"

namespace kiln::runtime {

const char* DeviceTypeName(DeviceType type);

class KernelContext {
 public:
  KernelContext(const ir::Node& node, std::vector<const Tensor*> inputs, DeviceContext* device = nullptr)
      : node_(node), inputs_(std::move(inputs)), outputs_(node.outputs.size()), device_(device) {}

  const ir::Node& node() const { return node_; }
  const ir::AttrMap& attrs() const { return node_.attrs; }
  template <typename T>
  StatusOr<T> Attr(const std::string& name) const {
    return node_.attrs.Get<T>(name);
  }
  int num_inputs() const { return static_cast<int>(inputs_.size()); }
  const Tensor& input(int i) const { return *inputs_[i]; }
  int num_outputs() const { return static_cast<int>(outputs_.size()); }
  // The device the kernel runs on; nullptr for host kernels.
  DeviceContext* device_context() const { return device_; }

  void set_output(int i, Tensor t) { outputs_[i] = std::move(t); }
  // Allocates output i on the host, uninitialised, for a kernel that writes every element. With
  // KILN_POISON_OUTPUTS=1 in the environment the bytes are 0xff, so a kernel that leaves elements
  // unwritten shows up in tests as NaNs and -1s.
  Tensor& allocate_output(int i, DType dtype, Shape shape);
  // Allocates output i, uninitialised, where the kernel runs (the host, or its device). Output 0
  // takes over the buffer of the input the executor forwards, when it has the same bytes.
  StatusOr<Tensor*> AllocateOutput(int i, DType dtype, Shape shape);
  // Lets output 0 take over input i's buffer (the executor's call: no one reads the input after
  // this kernel, and no other tensor shares its buffer).
  void forward_input(int i) { forward_input_ = i; }
  // Whether output 0 took over an input's buffer.
  bool forwarded() const { return forwarded_; }
  // Fails unless the op has between min and max inputs.
  Status ExpectInputs(int min, int max) const;

  std::vector<Tensor>& outputs() { return outputs_; }

  // Input i as the kernel arranged it on its device when the executor was created (see
  // KernelOptions::prepared_inputs); nullptr when input i is not a prepared constant, and the
  // kernel arranges input(i) itself.
  const Tensor* prepared(int i) const {
    return i < static_cast<int>(prepared_.size()) && prepared_[i].valid() ? &prepared_[i] : nullptr;
  }
  std::span<const Tensor> all_prepared() const { return prepared_; }
  void set_prepared(std::span<const Tensor> prepared) { prepared_ = prepared; }

 private:
  const ir::Node& node_;
  std::vector<const Tensor*> inputs_;
  std::span<const Tensor> prepared_;
  std::vector<Tensor> outputs_;
  DeviceContext* device_;
  int forward_input_ = -1;
  bool forwarded_ = false;
};

using KernelFn = std::function<Status(KernelContext&)>;

// Runs `kernel`; a tensor too large for the host's memory (std::bad_alloc, std::length_error)
// becomes a ResourceExhausted error instead of ending the process.
Status RunKernel(const KernelFn& kernel, KernelContext& ctx);

// How a kernel takes its inputs, for placement: a device kernel may read some inputs (axes,
// shapes, paddings) on the host, and some kernels read only their inputs' shapes.
struct KernelOptions {
  std::vector<int> host_inputs;     // input indices read on the host; negative ones count from the end
  bool all_inputs_on_host = false;  // every input read on the host (variadic shape arguments)
  bool reads_shapes_only = false;   // Shape, Size, Rank: the inputs' bytes are never read
  // The dtypes a device kernel takes in the inputs it reads on the device and in its outputs; a
  // node with any other stays on the host. Empty: any dtype.
  std::vector<DType> dtypes;
  // For a device kernel that takes only some attribute values: OK when it takes `node`, else why
  // not (the node then stays on the host). Null: every node.
  std::function<Status(const ir::Node& node)> supports;
  // Inputs whose buffer output 0 may take over when nothing else reads them: the kernel reads each
  // element of such an input only before it writes the same element of output 0 (elementwise and
  // row-wise kernels), so it can run in place.
  std::vector<int> forwardable_inputs;
  // Inputs a device kernel reads in an arrangement of its own (a convolution's filter in cuDNN's
  // layout). When such an input is a constant, the executor makes the arrangement once, when it is
  // created, and passes it through KernelContext::prepared; the input itself is then passed on the
  // host, for its shape, and its bytes are not copied to the device.
  struct PreparedInput {
    int input;
    std::function<StatusOr<Tensor>(DeviceContext& device, const ir::Node& node, const Tensor& value)> prepare;
  };
  std::vector<PreparedInput> prepared_inputs;
};

struct KernelDef {
  std::string op;
  DeviceType device;
  KernelFn fn;
  KernelOptions options;

  // Whether input `index` of `num_inputs` is read on the host.
  bool IsHostInput(int index, int num_inputs) const;
  // Whether `dtype` is among KernelOptions::dtypes (any dtype when the list is empty).
  bool TakesDType(DType dtype) const;
  // OK when the kernel takes `node`: its dtypes (KernelOptions::dtypes) and attributes
  // (KernelOptions::supports); else why not.
  Status CheckSupported(const ir::Graph& graph, const ir::Node& node) const;
};

class KernelRegistry {
 public:
  static KernelRegistry& Global();
  void Register(KernelDef def);
  const KernelDef* FindDef(std::string_view op, DeviceType device) const;
  const KernelFn* Find(std::string_view op, DeviceType device) const;
  std::vector<std::string> Ops(DeviceType device) const;

 private:
  std::deque<KernelDef> entries_;  // a deque: definitions stay put as more are registered
  std::map<std::pair<std::string, DeviceType>, KernelDef*, std::less<>> index_;
};

struct KernelRegistration {
  KernelRegistration(std::string op, DeviceType device, KernelFn fn, KernelOptions options = {}) {
    KernelRegistry::Global().Register({std::move(op), device, std::move(fn), std::move(options)});
  }
};

}  // namespace kiln::runtime

#define KILN_REGISTER_KERNEL(op, device, ...)                                       \
  static ::kiln::runtime::KernelRegistration KILN_CONCAT(kiln_kernel_registration_, \
                                                         __COUNTER__)(op, device, __VA_ARGS__)
#define KILN_REGISTER_CPU_KERNEL(op, ...) KILN_REGISTER_KERNEL(op, ::kiln::DeviceType::kCPU, __VA_ARGS__)
#define KILN_REGISTER_CUDA_KERNEL(op, ...) KILN_REGISTER_KERNEL(op, ::kiln::DeviceType::kCUDA, __VA_ARGS__)
