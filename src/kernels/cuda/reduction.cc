// Registrations of the CUDA reductions, arg-reductions, scans and softmax. Arguments are read and
// checked by the CPU kernels' own planning (kernels/cpu/reduction_plan.h).
#include "kernels/cpu/reduction_plan.h"
#include "kernels/cuda/array_moves.h"
#include "kernels/cuda/kernel_util.h"
#include "kernels/cuda/reduce.h"

namespace kiln::cuda {
namespace {

using runtime::KernelContext;
using runtime::KernelFn;
using runtime::KernelOptions;

KernelFn Reduction(ReduceOp op) {
  return [op](KernelContext& ctx) -> Status {
    KILN_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
    const bool boolean = op == ReduceOp::kAll || op == ReduceOp::kAny;
    if (boolean != (ctx.input(0).dtype() == DType::kBool)) {
      return InvalidArgument(ctx.node().op + " does not take " + ctx.input(0).DebugString());
    }
    KILN_ASSIGN_OR_RETURN(kernels::cpu::ReducePlan plan, kernels::cpu::PlanReduction(ctx));
    const Tensor& in = ctx.input(0);
    if (plan.reduce == 1 && op != ReduceOp::kEuclideanNorm) {  // nothing to reduce
      KILN_ASSIGN_OR_RETURN(Tensor out, in.Reshaped(plan.out_shape));
      ctx.set_output(0, std::move(out));
      return OkStatus();
    }
    Tensor src = in;
    if (!plan.perm.empty()) {
      KILN_ASSIGN_OR_RETURN(src, TransposeOnDevice(Ctx(ctx), in, plan.perm));
    }
    KILN_ASSIGN_OR_RETURN(Tensor * out, ctx.AllocateOutput(0, in.dtype(), plan.out_shape));
    KILN_CUDA_RETURN_IF_ERROR(LaunchReduce(op, in.dtype(), src.raw_data(), out->raw_data(), plan.outer, plan.reduce,
                                           plan.inner, StreamOf(ctx)));
    return OkStatus();
  };
}

template <bool kMax>
Status ArgReduction(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  const Tensor& in = ctx.input(0);
  KILN_ASSIGN_OR_RETURN(DType out_type, ctx.Attr<DType>("output_type"));
  if (out_type != DType::kInt32 && out_type != DType::kInt64) {
    return Unimplemented("output_type " + std::string(DTypeName(out_type)) + " is not supported (int32, int64)");
  }
  if (in.rank() == 0) return InvalidArgument(ctx.node().op + " needs an input of rank >= 1");
  KILN_ASSIGN_OR_RETURN(int axis, kernels::cpu::ScalarAxis(ctx, 1, in.rank(), "dimension"));
  if (in.dim(axis) == 0) {
    return InvalidArgument("reduction axis " + std::to_string(axis) + " is empty in shape " +
                           ShapeToString(in.shape()));
  }
  int64_t outer, inner;
  kernels::cpu::SplitAroundAxis(in.shape(), axis, outer, inner);
  Shape out_shape = in.shape();
  out_shape.erase(out_shape.begin() + axis);
  KILN_ASSIGN_OR_RETURN(Tensor * out, ctx.AllocateOutput(0, out_type, out_shape));
  KILN_CUDA_RETURN_IF_ERROR(LaunchArgReduce(kMax, in.dtype(), out_type, in.raw_data(), out->raw_data(), outer,
                                            in.dim(axis), inner, StreamOf(ctx)));
  return OkStatus();
}

template <bool kProduct>
Status Scan(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  const Tensor& in = ctx.input(0);
  KILN_ASSIGN_OR_RETURN(bool exclusive, ctx.Attr<bool>("exclusive"));
  KILN_ASSIGN_OR_RETURN(bool reverse, ctx.Attr<bool>("reverse"));
  if (in.rank() == 0) return InvalidArgument(ctx.node().op + " needs an input of rank >= 1");
  KILN_ASSIGN_OR_RETURN(int axis, kernels::cpu::ScalarAxis(ctx, 1, in.rank(), "axis"));
  int64_t outer, inner;
  kernels::cpu::SplitAroundAxis(in.shape(), axis, outer, inner);
  KILN_ASSIGN_OR_RETURN(Tensor * out, ctx.AllocateOutput(0, in.dtype(), in.shape()));
  KILN_CUDA_RETURN_IF_ERROR(LaunchScan(kProduct, in.dtype(), in.raw_data(), out->raw_data(), outer, in.dim(axis),
                                       inner, exclusive, reverse, StreamOf(ctx)));
  return OkStatus();
}

template <bool kLog>
Status Softmax(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(1, 1));
  const Tensor& x = ctx.input(0);
  if (x.rank() < 1) return InvalidArgument("logits must have rank 1 or more, got " + x.DebugString());
  const int64_t cols = x.dim(x.rank() - 1);
  const int64_t rows = cols == 0 ? 0 : x.num_elements() / cols;
  KILN_ASSIGN_OR_RETURN(Tensor * out, ctx.AllocateOutput(0, x.dtype(), x.shape()));
  KILN_CUDA_RETURN_IF_ERROR(LaunchSoftmax(kLog, x.dtype(), x.raw_data(), out->raw_data(), rows, cols, StreamOf(ctx)));
  return OkStatus();
}

KernelOptions ReduceOptions(ReduceOp op) { return {.host_inputs = {1}, .dtypes = ReduceDTypes(op)}; }

}  // namespace

KILN_REGISTER_CUDA_KERNEL("Sum", Reduction(ReduceOp::kSum), ReduceOptions(ReduceOp::kSum));
KILN_REGISTER_CUDA_KERNEL("Mean", Reduction(ReduceOp::kMean), ReduceOptions(ReduceOp::kMean));
KILN_REGISTER_CUDA_KERNEL("Prod", Reduction(ReduceOp::kProd), ReduceOptions(ReduceOp::kProd));
KILN_REGISTER_CUDA_KERNEL("Max", Reduction(ReduceOp::kMax), ReduceOptions(ReduceOp::kMax));
KILN_REGISTER_CUDA_KERNEL("Min", Reduction(ReduceOp::kMin), ReduceOptions(ReduceOp::kMin));
KILN_REGISTER_CUDA_KERNEL("EuclideanNorm", Reduction(ReduceOp::kEuclideanNorm),
                          ReduceOptions(ReduceOp::kEuclideanNorm));
KILN_REGISTER_CUDA_KERNEL("All", Reduction(ReduceOp::kAll), ReduceOptions(ReduceOp::kAll));
KILN_REGISTER_CUDA_KERNEL("Any", Reduction(ReduceOp::kAny), ReduceOptions(ReduceOp::kAny));
KILN_REGISTER_CUDA_KERNEL("ArgMax", ArgReduction<true>,
                          KernelOptions{.host_inputs = {1}, .dtypes = ArgReduceDTypes()});
KILN_REGISTER_CUDA_KERNEL("ArgMin", ArgReduction<false>,
                          KernelOptions{.host_inputs = {1}, .dtypes = ArgReduceDTypes()});
KILN_REGISTER_CUDA_KERNEL("Cumsum", Scan<false>, KernelOptions{.host_inputs = {1}, .dtypes = ScanDTypes()});
KILN_REGISTER_CUDA_KERNEL("Cumprod", Scan<true>, KernelOptions{.host_inputs = {1}, .dtypes = ScanDTypes()});
// Each row is read in full before any of it is written: softmax can run in place.
KILN_REGISTER_CUDA_KERNEL("Softmax", Softmax<false>, KernelOptions{.dtypes = FloatDTypes(), .forwardable_inputs = {0}});
KILN_REGISTER_CUDA_KERNEL("LogSoftmax", Softmax<true>,
                          KernelOptions{.dtypes = FloatDTypes(), .forwardable_inputs = {0}});

}  // namespace kiln::cuda
