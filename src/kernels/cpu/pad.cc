// Pad, PadV2 and MirrorPad, as copies through per-axis index maps (array_util.h): a padded
// position maps to -1 (the constant) or, for MirrorPad, to its mirrored source.
#include <limits>

#include "ir/ops/array_shape_util.h"
#include "kernels/cpu/array_util.h"
#include "kernels/cpu/kernel_util.h"
#include "kiln/limits.h"
#include "runtime/kernel.h"

namespace kiln::kernels::cpu {
namespace {

using runtime::KernelContext;

enum class PadMode { kConstant, kReflect, kSymmetric };

StatusOr<Tensor> PadTensor(KernelContext& ctx, PadMode mode, const Tensor* fill) {
  const Tensor& in = ctx.input(0);
  const Tensor& pads_t = ctx.input(1);
  if (pads_t.rank() != 2 || pads_t.dim(0) != in.rank() || pads_t.dim(1) != 2) {
    return InvalidArgument("paddings must have shape [" + std::to_string(in.rank()) + ",2], got " +
                           pads_t.DebugString());
  }
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> pads, InputInt64s(ctx, 1));
  Shape out_shape;
  for (int d = 0; d < in.rank(); ++d) {
    const int64_t before = pads[2 * d], after = pads[2 * d + 1];
    if (before < 0 || after < 0) {
      return InvalidArgument("paddings must be non-negative, got " + std::to_string(before) + " and " +
                             std::to_string(after) + " for dim " + std::to_string(d));
    }
    const int64_t big = std::numeric_limits<int64_t>::max() / 4;
    out_shape.push_back(before > big || after > big ? -1 : in.dim(d) + before + after);
  }
  if (!ir::CheckedNumElements(out_shape).ok()) {
    return InvalidArgument("paddings " + ShapeToString(pads) + " of " + ShapeToString(in.shape()) +
                           " give too large an output");
  }
  // The index maps below are as long as the output's dims: an empty output needs none, and one past
  // the tensor limit is refused before they are built.
  const int64_t out_elements = NumElements(out_shape);
  if (out_elements == 0) return Tensor(in.dtype(), out_shape);
  const uint64_t element = in.dtype() == DType::kString ? sizeof(std::string) : DTypeSize(in.dtype());
  if (static_cast<uint64_t>(out_elements) > MaxTensorBytes() / element) {
    return ResourceExhausted("paddings " + ShapeToString(pads) + " of " + ShapeToString(in.shape()) +
                             " give an output of " + std::to_string(out_elements) +
                             " elements, past the tensor limit of " + std::to_string(MaxTensorBytes()) +
                             " bytes (KILN_MAX_TENSOR_BYTES)");
  }
  std::vector<std::vector<int64_t>> maps(in.rank());
  bool any = false;
  for (int d = 0; d < in.rank(); ++d) {
    const int64_t before = pads[2 * d], after = pads[2 * d + 1], dim = in.dim(d);
    if (mode != PadMode::kConstant) {
      const int64_t limit = mode == PadMode::kReflect ? dim - 1 : dim;
      if (before > limit || after > limit) {
        return InvalidArgument(std::string(mode == PadMode::kReflect ? "REFLECT" : "SYMMETRIC") + " paddings (" +
                               std::to_string(before) + ", " + std::to_string(after) + ") for dim " +
                               std::to_string(d) + " must be <= " + std::to_string(limit) + " for size " +
                               std::to_string(dim));
      }
    }
    any |= before != 0 || after != 0;
    // Edge offset: REFLECT skips the edge element itself, SYMMETRIC repeats it.
    const int64_t skip = mode == PadMode::kReflect ? 1 : 0;
    std::vector<int64_t>& m = maps[d];
    m.reserve(static_cast<size_t>(before + dim + after));
    for (int64_t o = 0; o < before; ++o) m.push_back(mode == PadMode::kConstant ? -1 : before - 1 - o + skip);
    for (int64_t i = 0; i < dim; ++i) m.push_back(i);
    for (int64_t t = 0; t < after; ++t) m.push_back(mode == PadMode::kConstant ? -1 : dim - 1 - t - skip);
  }
  if (!any) return in;
  return CopyByAxisMapsOn(ctx, in, maps, fill);
}

Status PadKernel(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  KILN_ASSIGN_OR_RETURN(Tensor out, PadTensor(ctx, PadMode::kConstant, nullptr));
  ctx.set_output(0, std::move(out));
  return OkStatus();
}

Status PadV2Kernel(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(3, 3));
  const Tensor& c = ctx.input(2);
  if (c.rank() != 0 || c.dtype() != ctx.input(0).dtype()) {
    return InvalidArgument("constant_values must be a scalar of the input's dtype, got " + c.DebugString());
  }
  KILN_ASSIGN_OR_RETURN(Tensor out, PadTensor(ctx, PadMode::kConstant, &c));
  ctx.set_output(0, std::move(out));
  return OkStatus();
}

Status MirrorPadKernel(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  KILN_ASSIGN_OR_RETURN(std::string mode, ctx.Attr<std::string>("mode"));
  if (mode != "REFLECT" && mode != "SYMMETRIC") {
    return InvalidArgument("mode must be REFLECT or SYMMETRIC, got '" + mode + "'");
  }
  KILN_ASSIGN_OR_RETURN(Tensor out,
                        PadTensor(ctx, mode == "REFLECT" ? PadMode::kReflect : PadMode::kSymmetric, nullptr));
  ctx.set_output(0, std::move(out));
  return OkStatus();
}

}  // namespace

KILN_REGISTER_CPU_KERNEL("Pad", PadKernel);
KILN_REGISTER_CPU_KERNEL("PadV2", PadV2Kernel);
KILN_REGISTER_CPU_KERNEL("MirrorPad", MirrorPadKernel);

}  // namespace kiln::kernels::cpu
