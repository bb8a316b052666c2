// Kernels whose CPU kernels move and combine elements only through the primitives of
// kernels/cpu/array_util.h (and, for Einsum, the device context's row sums and products): on the
// GPU they run the same host logic (validation, index maps, contraction plans) and the device
// context does the work, so the two devices cannot disagree about shapes or errors.
#include "kernels/cuda/kernel_util.h"

namespace kiln::cuda {
namespace {

using runtime::KernelOptions;

void Register(const char* op, std::vector<int> host_inputs,
              std::function<Status(const ir::Node&)> supports = nullptr, std::vector<DType> dtypes = AllDTypes()) {
  runtime::KernelRegistry::Global().Register(
      {op, DeviceType::kCUDA, CpuKernelOnDevice(op),
       KernelOptions{.host_inputs = std::move(host_inputs), .dtypes = std::move(dtypes), .supports = std::move(supports)}});
}

[[maybe_unused]] const bool kRegistered = [] {
  Register("Transpose", {1});
  Register("Tile", {1});
  Register("BroadcastTo", {1});
  Register("ReverseV2", {1});
  Register("Slice", {1, 2});
  Register("StridedSlice", {1, 2, 3});
  Register("OnnxSlice", {1, 2, 3, 4});
  Register("Pad", {1});
  Register("PadV2", {1, 2});
  Register("MirrorPad", {1});
  Register("ConcatV2", {-1});
  Register("Concat", {0});
  Register("Pack", {});
  Register("Unpack", {});
  Register("Split", {0});
  Register("SplitV", {1, 2});
  // Indices are read and checked on the host (the CPU kernels' own messages for bad ones).
  Register("Gather", {1});
  Register("GatherV2", {1, 2});
  Register("GatherElements", {1});
  Register("GatherND", {1});
  Register("ScatterND", {1});
  Register("ScatterElements", {1});
  Register("ResizeNearestNeighbor", {1});
  Register("SpaceToBatchND", {1, 2});
  Register("BatchToSpaceND", {1, 2});
  Register("SpaceToBatch", {1});
  Register("BatchToSpace", {1});
  Register("SpaceToDepth", {});
  Register("DepthToSpace", {});
  // Transposes, row sums and one batched product (cuBLAS), in float32 and float64.
  Register("Einsum", {}, nullptr, {DType::kFloat32, DType::kFloat64});
  // Nearest-neighbour resizing moves elements; the interpolating modes stay on the host.
  Register("OnnxResize", {1, 2, 3}, [](const ir::Node& node) -> Status {
    auto mode = node.attrs.GetOr<std::string>("mode", "nearest");
    if (mode.ok() && *mode == "nearest") return OkStatus();
    return Unimplemented("the CUDA kernel for OnnxResize runs mode nearest only");
  });
  return true;
}();

}  // namespace
}  // namespace kiln::cuda
