// OnnxReshape and OnnxSlice: ONNX's Reshape (0 copies a dim unless allowzero) and Slice (per-axis
// starts/ends/steps with ONNX's clamping), sharing their shape rules with the shape functions.
#include "ir/ops/onnx_shape_rules.h"
#include "kernels/cpu/array_util.h"
#include "kernels/cpu/kernel_util.h"
#include "runtime/kernel.h"

namespace kiln::kernels::cpu {
namespace {

using runtime::KernelContext;

// Vector input i as int64 values; an empty vector (an absent input) of any dtype gives {}.
StatusOr<std::vector<int64_t>> VectorInput(const KernelContext& ctx, int i, const char* what) {
  const Tensor& t = ctx.input(i);
  if (t.rank() != 1) return InvalidArgument(std::string(what) + " must be a vector, got " + t.DebugString());
  if (t.num_elements() == 0) return std::vector<int64_t>{};
  if (t.dtype() != DType::kInt32 && t.dtype() != DType::kInt64) {
    return InvalidArgument(std::string(what) + " must be int32 or int64, got " + t.DebugString());
  }
  return t.ToInt64Vector();
}

Status OnnxReshapeKernel(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  const Tensor& in = ctx.input(0);
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> shape, VectorInput(ctx, 1, "shape"));
  KILN_ASSIGN_OR_RETURN(int64_t allowzero, ctx.Attr<int64_t>("allowzero"));
  KILN_ASSIGN_OR_RETURN(PartialShape out, ir::OnnxReshapeShape(PartialShape::Known(in.shape()), shape, allowzero != 0));
  KILN_ASSIGN_OR_RETURN(Tensor reshaped, in.Reshaped(out.dims));
  ctx.set_output(0, std::move(reshaped));
  return OkStatus();
}

Status OnnxSliceKernel(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(5, 5));
  const Tensor& in = ctx.input(0);
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> starts, VectorInput(ctx, 1, "starts"));
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> ends, VectorInput(ctx, 2, "ends"));
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> axes, VectorInput(ctx, 3, "axes"));
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> steps, VectorInput(ctx, 4, "steps"));
  KILN_ASSIGN_OR_RETURN(std::vector<ir::OnnxSliceDim> dims,
                        ir::ResolveOnnxSlice(in.shape(), starts, ends, axes, steps));
  std::vector<std::vector<int64_t>> maps(in.rank());
  bool whole = true;
  for (int d = 0; d < in.rank(); ++d) {
    const ir::OnnxSliceDim& s = dims[d];
    whole &= s.start == 0 && s.step == 1 && s.count == in.dim(d);
    for (int64_t k = 0; k < s.count; ++k) maps[d].push_back(s.start + k * s.step);
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

KILN_REGISTER_CPU_KERNEL("OnnxReshape", OnnxReshapeKernel);
KILN_REGISTER_CPU_KERNEL("OnnxSlice", OnnxSliceKernel);

}  // namespace kiln::kernels::cpu
