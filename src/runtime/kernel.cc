#include "runtime/kernel.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>

namespace kiln::runtime {

const char* DeviceTypeName(DeviceType type) { return type == DeviceType::kCPU ? "CPU" : "CUDA"; }

Tensor& KernelContext::allocate_output(int i, DType dtype, Shape shape) {
  static const bool poison = [] {
    const char* v = std::getenv("KILN_POISON_OUTPUTS");
    return v != nullptr && std::string_view(v) == "1";
  }();
  outputs_[i] = Tensor::Empty(dtype, std::move(shape));
  if (poison && outputs_[i].byte_size() > 0) std::memset(outputs_[i].raw_data(), 0xff, outputs_[i].byte_size());
  return outputs_[i];
}

StatusOr<Tensor*> KernelContext::AllocateOutput(int i, DType dtype, Shape shape) {
  if (i == 0 && forward_input_ >= 0 && !IsHostOnly(dtype)) {
    const Tensor& in = input(forward_input_);
    const Device where = device_ == nullptr ? Device::CPU() : device_->device();
    if (in.buffer() != nullptr && in.device() == where && in.byte_size() == NumElements(shape) * DTypeSize(dtype)) {
      KILN_ASSIGN_OR_RETURN(outputs_[0], Tensor::FromBuffer(dtype, std::move(shape), in.buffer()));
      forward_input_ = -1;
      forwarded_ = true;
      return &outputs_[0];
    }
  }
  if (device_ == nullptr) return &allocate_output(i, dtype, std::move(shape));
  KILN_ASSIGN_OR_RETURN(outputs_[i], device_->Allocate(dtype, shape));
  return &outputs_[i];
}

Status KernelContext::ExpectInputs(int min, int max) const {
  if (num_inputs() < min || num_inputs() > max) {
    std::string want = min == max ? std::to_string(min) : std::to_string(min) + " to " + std::to_string(max);
    return InvalidArgument("expects " + want + " inputs, got " + std::to_string(num_inputs()));
  }
  return OkStatus();
}

bool KernelDef::IsHostInput(int index, int num_inputs) const {
  if (options.all_inputs_on_host || device == DeviceType::kCPU) return true;
  for (int i : options.host_inputs)
    if ((i >= 0 ? i : num_inputs + i) == index) return true;
  return false;
}

bool KernelDef::TakesDType(DType dtype) const {
  const auto& dtypes = options.dtypes;
  return dtypes.empty() || std::find(dtypes.begin(), dtypes.end(), dtype) != dtypes.end();
}

Status KernelDef::CheckSupported(const ir::Graph& graph, const ir::Node& node) const {
  if (options.supports) KILN_RETURN_IF_ERROR(options.supports(node));
  if (options.dtypes.empty()) return OkStatus();
  auto takes = [&](DType d) { return d == DType::kInvalid || TakesDType(d); };
  auto refuse = [&](DType d) {
    std::string list;
    for (DType t : options.dtypes) list += (list.empty() ? "" : ", ") + std::string(DTypeName(t));
    return Unimplemented("the " + std::string(DeviceTypeName(device)) + " kernel for " + op + " takes " + list +
                         ", not " + std::string(DTypeName(d)));
  };
  const int n = static_cast<int>(node.inputs.size());
  for (int i = 0; i < n; ++i) {
    const DType d = graph.output_info(node.inputs[i]).dtype;
    if (!IsHostInput(i, n) && !options.reads_shapes_only && !takes(d)) return refuse(d);
  }
  for (const auto& out : node.outputs)
    if (!takes(out.dtype)) return refuse(out.dtype);
  return OkStatus();
}

KernelRegistry& KernelRegistry::Global() {
  static KernelRegistry* registry = new KernelRegistry();
  return *registry;
}

void KernelRegistry::Register(KernelDef def) {
  auto key = std::make_pair(def.op, def.device);
  if (auto it = index_.find(key); it != index_.end()) {
    *it->second = std::move(def);
    return;
  }
  entries_.push_back(std::move(def));
  index_.emplace(std::move(key), &entries_.back());
}

const KernelDef* KernelRegistry::FindDef(std::string_view op, DeviceType device) const {
  auto it = index_.find(std::make_pair(std::string(op), device));
  return it == index_.end() ? nullptr : it->second;
}

const KernelFn* KernelRegistry::Find(std::string_view op, DeviceType device) const {
  const KernelDef* def = FindDef(op, device);
  return def ? &def->fn : nullptr;
}

std::vector<std::string> KernelRegistry::Ops(DeviceType device) const {
  std::vector<std::string> ops;
  for (const auto& e : entries_)
    if (e.device == device) ops.push_back(e.op);
  std::sort(ops.begin(), ops.end());
  return ops;
}

Status RunKernel(const KernelFn& kernel, KernelContext& ctx) {
  try {
    return kernel(ctx);
  } catch (const std::bad_alloc&) {
  } catch (const std::length_error&) {
  }
  std::string outputs;
  for (const ir::OutputInfo& out : ctx.node().outputs) {
    outputs += (outputs.empty() ? "" : ", ") + std::string(DTypeName(out.dtype)) + out.shape.ToString();
  }
  return ResourceExhausted("out of host memory computing " + (outputs.empty() ? "the op" : "outputs " + outputs));
}

}  // namespace kiln::runtime
