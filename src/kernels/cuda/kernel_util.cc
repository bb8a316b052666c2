#include "kernels/cuda/kernel_util.h"

namespace kiln::cuda {

runtime::KernelFn CpuKernelOnDevice(std::string op) {
  return [op](runtime::KernelContext& ctx) -> Status {
    const runtime::KernelFn* cpu = runtime::KernelRegistry::Global().Find(op, DeviceType::kCPU);
    if (cpu == nullptr) return Internal("no CPU kernel for " + op + " to relabel with");
    return (*cpu)(ctx);
  };
}

StatusOr<std::vector<int64_t>> HostInt64s(const runtime::KernelContext& ctx, int input) {
  const Tensor& t = ctx.input(input);
  auto values = t.ToInt64Vector();
  if (!values.ok()) return InvalidArgument("input " + std::to_string(input) + ": " + values.status().message());
  return values;
}

std::vector<DType> WithBool(std::vector<DType> list) {
  list.push_back(DType::kBool);
  return list;
}

const std::vector<DType>& FloatDTypes() {
  static const std::vector<DType> list = {DType::kFloat32, DType::kFloat16, DType::kBFloat16, DType::kFloat64};
  return list;
}

const std::vector<DType>& NumericDTypes() {
  static const std::vector<DType> list = {DType::kFloat32, DType::kFloat16, DType::kBFloat16, DType::kFloat64,
                                          DType::kInt8,    DType::kInt16,   DType::kInt32,    DType::kInt64,
                                          DType::kUInt8};
  return list;
}

const std::vector<DType>& AllDTypes() {
  static const std::vector<DType> list = {DType::kFloat32, DType::kFloat16, DType::kBFloat16, DType::kFloat64,
                                          DType::kInt8,    DType::kInt16,   DType::kInt32,    DType::kInt64,
                                          DType::kUInt8,   DType::kUInt16,  DType::kUInt32,   DType::kUInt64,
                                          DType::kBool};
  return list;
}

}  // namespace kiln::cuda
