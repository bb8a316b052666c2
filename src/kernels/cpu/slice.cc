// StridedSlice and Slice, as copies through per-axis index maps (array_util.h).
#include "ir/ops/array_shape_util.h"
#include "kernels/cpu/array_util.h"
#include "kernels/cpu/kernel_util.h"
#include "runtime/kernel.h"

namespace kiln::kernels::cpu {
namespace {

using runtime::KernelContext;

StatusOr<std::vector<int64_t>> IndexVector(const KernelContext& ctx, int i, const char* what) {
  if (ctx.input(i).rank() != 1) {
    return InvalidArgument(std::string(what) + " must be a vector, got " + ctx.input(i).DebugString());
  }
  return InputInt64s(ctx, i);
}

Status StridedSliceKernel(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(4, 4));
  const Tensor& in = ctx.input(0);
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> begin, IndexVector(ctx, 1, "begin"));
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> end, IndexVector(ctx, 2, "end"));
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> strides, IndexVector(ctx, 3, "strides"));
  ir::StridedSliceMasks masks;
  KILN_ASSIGN_OR_RETURN(masks.begin, ctx.Attr<int64_t>("begin_mask"));
  KILN_ASSIGN_OR_RETURN(masks.end, ctx.Attr<int64_t>("end_mask"));
  KILN_ASSIGN_OR_RETURN(masks.ellipsis, ctx.Attr<int64_t>("ellipsis_mask"));
  KILN_ASSIGN_OR_RETURN(masks.new_axis, ctx.Attr<int64_t>("new_axis_mask"));
  KILN_ASSIGN_OR_RETURN(masks.shrink_axis, ctx.Attr<int64_t>("shrink_axis_mask"));
  KILN_ASSIGN_OR_RETURN(ir::StridedSliceSpec spec, ir::ResolveStridedSlice(in.shape(), &begin, &end, strides, masks));
  if (spec.is_identity) {
    KILN_ASSIGN_OR_RETURN(Tensor out, in.Reshaped(spec.final_shape));
    ctx.set_output(0, std::move(out));
    return OkStatus();
  }
  std::vector<std::vector<int64_t>> maps(in.rank());
  for (int d = 0; d < in.rank(); ++d) {
    for (int64_t k = 0; k < spec.processing_shape[d]; ++k) maps[d].push_back(spec.begin[d] + k * spec.strides[d]);
  }
  KILN_ASSIGN_OR_RETURN(Tensor sliced, CopyByAxisMapsOn(ctx, in, maps));
  KILN_ASSIGN_OR_RETURN(Tensor out, sliced.Reshaped(spec.final_shape));
  ctx.set_output(0, std::move(out));
  return OkStatus();
}

Status SliceKernel(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(3, 3));
  const Tensor& in = ctx.input(0);
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> begin, IndexVector(ctx, 1, "begin"));
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> size, IndexVector(ctx, 2, "size"));
  if (static_cast<int>(begin.size()) != in.rank() || static_cast<int>(size.size()) != in.rank()) {
    return InvalidArgument("begin and size must have one entry per input dim of " + ShapeToString(in.shape()) +
                           ", got " + std::to_string(begin.size()) + " and " + std::to_string(size.size()));
  }
  std::vector<std::vector<int64_t>> maps(in.rank());
  bool whole = true;
  for (int d = 0; d < in.rank(); ++d) {
    const int64_t dim = in.dim(d), b = begin[d];
    if (b < 0 || b > dim) {
      return InvalidArgument("begin[" + std::to_string(d) + "] = " + std::to_string(b) + " is not in [0, " +
                             std::to_string(dim) + "]");
    }
    const int64_t s = size[d] == -1 ? dim - b : size[d];
    if (s < 0 || s > dim - b) {
      return InvalidArgument("size[" + std::to_string(d) + "] = " + std::to_string(size[d]) + " is not in [0, " +
                             std::to_string(dim - b) + "] (or -1)");
    }
    whole &= s == dim;
    for (int64_t k = 0; k < s; ++k) maps[d].push_back(b + k);
  }
  if (whole) {
    ctx.set_output(0, in);
    return OkStatus();
  }
  KILN_ASSIGN_OR_RETURN(Tensor out, CopyByAxisMapsOn(ctx, in, maps));
  ctx.set_output(0, std::move(out));
  return OkStatus();
}

}  // namespace

KILN_REGISTER_CPU_KERNEL("StridedSlice", StridedSliceKernel);
KILN_REGISTER_CPU_KERNEL("Slice", SliceKernel);

}  // namespace kiln::kernels::cpu
