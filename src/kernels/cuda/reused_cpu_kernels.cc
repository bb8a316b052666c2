// Array kernels whose CPU kernels move elements only through the primitives of
// kernels/cpu/array_util.h: on the GPU they run the same host logic (validation, index maps) and the
// device context moves the elements, so the two devices cannot disagree about shapes or errors.
#include "kernels/cuda/kernel_util.h"

namespace kiln::cuda {
namespace {

using runtime::KernelOptions;

void Register(const char* op, std::vector<int> host_inputs,
              std::function<Status(const ir::Node&)> supports = nullptr) {
  runtime::KernelRegistry::Global().Register(
      {op, DeviceType::kCUDA, CpuKernelOnDevice(op),
       KernelOptions{.host_inputs = std::move(host_inputs), .dtypes = AllDTypes(), .supports = std::move(supports)}});
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
