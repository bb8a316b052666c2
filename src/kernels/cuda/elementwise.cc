// Registrations of the elementwise CUDA kernels: unary and binary ops, comparisons, selection,
// clipping, BiasAdd, AddN, casts, fills and the ops that only relabel their input.
#include <cstring>

#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/kernel_util.h"
#include "kernels/cuda/elementwise.h"
#include "kernels/cuda/kernel_util.h"

namespace kiln::cuda {
namespace {

using runtime::KernelContext;
using runtime::KernelFn;
using runtime::KernelOptions;

KernelFn Unary(UnaryOp op) {
  return [op](KernelContext& ctx) -> Status {
    KILN_RETURN_IF_ERROR(ctx.ExpectInputs(1, 1));
    const Tensor& x = ctx.input(0);
    float alpha = 0;
    if (op == UnaryOp::kLeakyRelu) {
      KILN_ASSIGN_OR_RETURN(alpha, ctx.Attr<float>("alpha"));
    }
    KILN_ASSIGN_OR_RETURN(Tensor * out,
                          ctx.AllocateOutput(0, UnaryIsPredicate(op) ? DType::kBool : x.dtype(), x.shape()));
    KILN_CUDA_RETURN_IF_ERROR(
        LaunchUnary(op, x.dtype(), x.raw_data(), out->raw_data(), x.num_elements(), alpha, StreamOf(ctx)));
    return OkStatus();
  };
}

KernelOptions UnaryOptions(UnaryOp op) {
  return {.dtypes = UnaryIsPredicate(op) ? WithBool(UnaryDTypes(op)) : UnaryDTypes(op), .forwardable_inputs = {0}};
}

Status RunBinary(KernelContext& ctx, BinaryOp op, const Tensor& a, const Tensor& b) {
  KILN_ASSIGN_OR_RETURN(Shape shape, BroadcastShapes({a.shape(), b.shape()}));
  KILN_ASSIGN_OR_RETURN(auto map, BroadcastMap<3>(shape, {a.shape(), b.shape()}));
  KILN_ASSIGN_OR_RETURN(Tensor * out, ctx.AllocateOutput(0, BinaryIsPredicate(op) ? DType::kBool : a.dtype(), shape));
  KILN_CUDA_RETURN_IF_ERROR(LaunchBinary(op, a.dtype(), a.raw_data(), b.raw_data(), out->raw_data(), map, StreamOf(ctx)));
  return OkStatus();
}

KernelFn Binary(BinaryOp op) {
  return [op](KernelContext& ctx) -> Status {
    KILN_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
    KILN_RETURN_IF_ERROR(kernels::cpu::CheckSameDTypes(ctx, 0, 1));
    return RunBinary(ctx, op, ctx.input(0), ctx.input(1));
  };
}

KernelOptions BinaryOptions(BinaryOp op) {
  return {.dtypes = BinaryIsPredicate(op) ? WithBool(BinaryDTypes(op)) : BinaryDTypes(op),
          .forwardable_inputs = {0, 1}};
}

// Bits of a scalar of `dtype` holding `value`, converted with the CPU's Cast.
StatusOr<uint64_t> ScalarBits(DType dtype, const Tensor& value) {
  KILN_ASSIGN_OR_RETURN(Tensor v, kernels::cpu::CastTensor(value, dtype));
  uint64_t bits = 0;
  std::memcpy(&bits, v.raw_data(), DTypeSize(dtype));
  return bits;
}

Status FillOutput(KernelContext& ctx, DType dtype, const Shape& shape, const Tensor& value) {
  KILN_ASSIGN_OR_RETURN(uint64_t bits, ScalarBits(dtype, value));
  KILN_ASSIGN_OR_RETURN(Tensor * out, ctx.AllocateOutput(0, dtype, shape));
  KILN_CUDA_RETURN_IF_ERROR(LaunchFill(DTypeSize(dtype), bits, out->raw_data(), out->num_elements(), StreamOf(ctx)));
  return OkStatus();
}

// With incompatible_shape_error=false, shapes that do not broadcast compare as wholly unequal.
template <bool kEqual>
Status Equality(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  KILN_RETURN_IF_ERROR(kernels::cpu::CheckSameDTypes(ctx, 0, 1));
  KILN_ASSIGN_OR_RETURN(bool strict, ctx.attrs().GetOr<bool>("incompatible_shape_error", true));
  if (!strict && !BroadcastShapes({ctx.input(0).shape(), ctx.input(1).shape()}).ok()) {
    return FillOutput(ctx, DType::kBool, {}, Tensor::Scalar<bool>(!kEqual));
  }
  return RunBinary(ctx, kEqual ? BinaryOp::kEqual : BinaryOp::kNotEqual, ctx.input(0), ctx.input(1));
}

Status CheckBool(const Tensor& cond) {
  if (cond.dtype() != DType::kBool) return InvalidArgument("condition must be bool, got " + cond.DebugString());
  return OkStatus();
}

Status RunSelect(KernelContext& ctx, const Shape& shape, const Shape& cond_shape) {
  const Tensor &c = ctx.input(0), &a = ctx.input(1), &b = ctx.input(2);
  KILN_ASSIGN_OR_RETURN(auto map, BroadcastMap<4>(shape, {cond_shape, a.shape(), b.shape()}));
  KILN_ASSIGN_OR_RETURN(Tensor * out, ctx.AllocateOutput(0, a.dtype(), shape));
  KILN_CUDA_RETURN_IF_ERROR(LaunchSelect(DTypeSize(a.dtype()), c.data<bool>(), a.raw_data(), b.raw_data(),
                                         out->raw_data(), map, StreamOf(ctx)));
  return OkStatus();
}

// TensorFlow's Select: a scalar condition, one per row of 'then', or one per element.
Status Select(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(3, 3));
  const Tensor &cond = ctx.input(0), &t = ctx.input(1), &e = ctx.input(2);
  KILN_RETURN_IF_ERROR(CheckBool(cond));
  KILN_RETURN_IF_ERROR(kernels::cpu::CheckSameDTypes(ctx, 1, 2));
  if (t.shape() != e.shape()) {
    return InvalidArgument("'then' and 'else' must have the same shape, but got " + ShapeToString(t.shape()) + " vs. " +
                           ShapeToString(e.shape()));
  }
  Shape cond_shape = cond.shape();
  if (cond.rank() == 1 && t.rank() > 1) {
    if (cond.dim(0) != t.dim(0)) {
      return InvalidArgument("the condition vector has " + std::to_string(cond.dim(0)) + " elements but 'then' has " +
                             std::to_string(t.dim(0)) + " rows");
    }
    cond_shape.resize(static_cast<size_t>(t.rank()), 1);
  } else if (cond.rank() != 0 && cond.shape() != t.shape()) {
    return InvalidArgument("condition " + ShapeToString(cond.shape()) + " must be a scalar, a vector of " +
                           "length dim 0 of 'then', or the shape of 'then' " + ShapeToString(t.shape()));
  }
  return RunSelect(ctx, t.shape(), cond_shape);
}

Status SelectV2(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(3, 3));
  KILN_RETURN_IF_ERROR(CheckBool(ctx.input(0)));
  KILN_RETURN_IF_ERROR(kernels::cpu::CheckSameDTypes(ctx, 1, 2));
  KILN_ASSIGN_OR_RETURN(Shape shape,
                        BroadcastShapes({ctx.input(0).shape(), ctx.input(1).shape(), ctx.input(2).shape()}));
  return RunSelect(ctx, shape, ctx.input(0).shape());
}

Status ClipByValue(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(3, 3));
  KILN_RETURN_IF_ERROR(kernels::cpu::CheckSameDTypes(ctx, 0, 2));
  const Tensor &x = ctx.input(0), &lo = ctx.input(1), &hi = ctx.input(2);
  for (const Tensor* bound : {&lo, &hi}) {
    if (bound->rank() != 0 && bound->shape() != x.shape()) {
      return InvalidArgument("clip_value_min and clip_value_max must be scalars or have the input's shape " +
                             ShapeToString(x.shape()) + ", got " + ShapeToString(lo.shape()) + " and " +
                             ShapeToString(hi.shape()));
    }
  }
  KILN_ASSIGN_OR_RETURN(auto map, BroadcastMap<4>(x.shape(), {x.shape(), lo.shape(), hi.shape()}));
  KILN_ASSIGN_OR_RETURN(Tensor * out, ctx.AllocateOutput(0, x.dtype(), x.shape()));
  KILN_CUDA_RETURN_IF_ERROR(
      LaunchClip(x.dtype(), x.raw_data(), lo.raw_data(), hi.raw_data(), out->raw_data(), map, StreamOf(ctx)));
  return OkStatus();
}

Status BiasAdd(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  KILN_RETURN_IF_ERROR(kernels::cpu::CheckSameDTypes(ctx, 0, 1));
  const Tensor &x = ctx.input(0), &bias = ctx.input(1);
  KILN_ASSIGN_OR_RETURN(std::string format, ctx.attrs().GetOr<std::string>("data_format", "NHWC"));
  if (x.rank() < 2) return InvalidArgument("input must be at least 2-D, got " + ShapeToString(x.shape()));
  const int channel = format.size() > 1 && format[1] == 'C' ? 1 : x.rank() - 1;
  if (bias.rank() != 1 || bias.dim(0) != x.dim(channel)) {
    return InvalidArgument("bias " + ShapeToString(bias.shape()) + " must be a vector of the " +
                           std::to_string(x.dim(channel)) + " channels of " + ShapeToString(x.shape()));
  }
  Shape spread(static_cast<size_t>(x.rank()), 1);
  spread[channel] = bias.dim(0);
  KILN_ASSIGN_OR_RETURN(auto map, BroadcastMap<3>(x.shape(), {x.shape(), spread}));
  KILN_ASSIGN_OR_RETURN(Tensor * out, ctx.AllocateOutput(0, x.dtype(), x.shape()));
  KILN_CUDA_RETURN_IF_ERROR(LaunchBinary(BinaryOp::kAdd, x.dtype(), x.raw_data(), bias.raw_data(), out->raw_data(),
                                         map, StreamOf(ctx)));
  return OkStatus();
}

Status AddN(KernelContext& ctx) {
  const int n = ctx.num_inputs();
  if (n < 1) return InvalidArgument("AddN needs at least one input");
  KILN_RETURN_IF_ERROR(kernels::cpu::CheckSameDTypes(ctx, 0, n - 1));
  const Tensor& first = ctx.input(0);
  std::vector<const void*> inputs;
  for (int i = 0; i < n; ++i) {
    if (ctx.input(i).shape() != first.shape()) {
      return InvalidArgument("inputs to AddN must have the same shape, but input 0 is " + ShapeToString(first.shape()) +
                             " and input " + std::to_string(i) + " is " + ShapeToString(ctx.input(i).shape()));
    }
    inputs.push_back(ctx.input(i).raw_data());
  }
  if (n == 1) {
    ctx.set_output(0, first);
    return OkStatus();
  }
  KILN_ASSIGN_OR_RETURN(Tensor * out, ctx.AllocateOutput(0, first.dtype(), first.shape()));
  KILN_CUDA_RETURN_IF_ERROR(LaunchAddN(first.dtype(), inputs, out->raw_data(), first.num_elements(), StreamOf(ctx)));
  return OkStatus();
}

Status Cast(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(1, 1));
  KILN_ASSIGN_OR_RETURN(DType dst, ctx.Attr<DType>("DstT"));
  KILN_ASSIGN_OR_RETURN(bool truncate, ctx.attrs().GetOr<bool>("Truncate", false));
  const Tensor& x = ctx.input(0);
  if (x.dtype() == dst) {
    ctx.set_output(0, x);
    return OkStatus();
  }
  KILN_ASSIGN_OR_RETURN(Tensor * out, ctx.AllocateOutput(0, dst, x.shape()));
  KILN_CUDA_RETURN_IF_ERROR(
      LaunchCast(x.dtype(), dst, x.raw_data(), out->raw_data(), x.num_elements(), truncate, StreamOf(ctx)));
  return OkStatus();
}

KernelFn FillLike(int value) {
  return [value](KernelContext& ctx) -> Status {
    KILN_RETURN_IF_ERROR(ctx.ExpectInputs(1, 1));
    return FillOutput(ctx, ctx.input(0).dtype(), ctx.input(0).shape(), Tensor::Scalar<int32_t>(value));
  };
}

Status Fill(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  if (ctx.input(0).rank() != 1) return InvalidArgument("dims must be a vector, got " + ctx.input(0).DebugString());
  const Tensor& value = ctx.input(1);
  if (value.rank() != 0) return InvalidArgument("value must be a scalar, got " + value.DebugString());
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> dims, HostInt64s(ctx, 0));
  for (int64_t d : dims)
    if (d < 0) return InvalidArgument("dims must not be negative, got " + ctx.input(0).DebugString());
  return FillOutput(ctx, value.dtype(), dims, value);
}

}  // namespace

#define KILN_REGISTER_UNARY(name, op) KILN_REGISTER_CUDA_KERNEL(name, Unary(op), UnaryOptions(op))
KILN_REGISTER_UNARY("Relu", UnaryOp::kRelu);
KILN_REGISTER_UNARY("Relu6", UnaryOp::kRelu6);
KILN_REGISTER_UNARY("Elu", UnaryOp::kElu);
KILN_REGISTER_UNARY("Selu", UnaryOp::kSelu);
KILN_REGISTER_UNARY("LeakyRelu", UnaryOp::kLeakyRelu);
KILN_REGISTER_UNARY("Softplus", UnaryOp::kSoftplus);
KILN_REGISTER_UNARY("Softsign", UnaryOp::kSoftsign);
KILN_REGISTER_UNARY("Sigmoid", UnaryOp::kSigmoid);
KILN_REGISTER_UNARY("Tanh", UnaryOp::kTanh);
KILN_REGISTER_UNARY("Erf", UnaryOp::kErf);
KILN_REGISTER_UNARY("Erfc", UnaryOp::kErfc);
KILN_REGISTER_UNARY("Exp", UnaryOp::kExp);
KILN_REGISTER_UNARY("Expm1", UnaryOp::kExpm1);
KILN_REGISTER_UNARY("Log", UnaryOp::kLog);
KILN_REGISTER_UNARY("Log1p", UnaryOp::kLog1p);
KILN_REGISTER_UNARY("Sqrt", UnaryOp::kSqrt);
KILN_REGISTER_UNARY("Rsqrt", UnaryOp::kRsqrt);
KILN_REGISTER_UNARY("Reciprocal", UnaryOp::kReciprocal);
KILN_REGISTER_UNARY("Inv", UnaryOp::kReciprocal);
KILN_REGISTER_UNARY("Floor", UnaryOp::kFloor);
KILN_REGISTER_UNARY("Ceil", UnaryOp::kCeil);
KILN_REGISTER_UNARY("Rint", UnaryOp::kRint);
KILN_REGISTER_UNARY("Round", UnaryOp::kRound);
KILN_REGISTER_UNARY("Sin", UnaryOp::kSin);
KILN_REGISTER_UNARY("Cos", UnaryOp::kCos);
KILN_REGISTER_UNARY("Tan", UnaryOp::kTan);
KILN_REGISTER_UNARY("Asin", UnaryOp::kAsin);
KILN_REGISTER_UNARY("Acos", UnaryOp::kAcos);
KILN_REGISTER_UNARY("Atan", UnaryOp::kAtan);
KILN_REGISTER_UNARY("Sinh", UnaryOp::kSinh);
KILN_REGISTER_UNARY("Cosh", UnaryOp::kCosh);
KILN_REGISTER_UNARY("Asinh", UnaryOp::kAsinh);
KILN_REGISTER_UNARY("Acosh", UnaryOp::kAcosh);
KILN_REGISTER_UNARY("Atanh", UnaryOp::kAtanh);
KILN_REGISTER_UNARY("Neg", UnaryOp::kNeg);
KILN_REGISTER_UNARY("Abs", UnaryOp::kAbs);
KILN_REGISTER_UNARY("Sign", UnaryOp::kSign);
KILN_REGISTER_UNARY("Square", UnaryOp::kSquare);
KILN_REGISTER_UNARY("IsNan", UnaryOp::kIsNan);
KILN_REGISTER_UNARY("IsInf", UnaryOp::kIsInf);
KILN_REGISTER_UNARY("IsFinite", UnaryOp::kIsFinite);
KILN_REGISTER_UNARY("LogicalNot", UnaryOp::kLogicalNot);

#define KILN_REGISTER_BINARY(name, op) KILN_REGISTER_CUDA_KERNEL(name, Binary(op), BinaryOptions(op))
KILN_REGISTER_BINARY("Add", BinaryOp::kAdd);
KILN_REGISTER_BINARY("AddV2", BinaryOp::kAdd);
KILN_REGISTER_BINARY("Sub", BinaryOp::kSub);
KILN_REGISTER_BINARY("Mul", BinaryOp::kMul);
KILN_REGISTER_BINARY("Div", BinaryOp::kDiv);
KILN_REGISTER_BINARY("RealDiv", BinaryOp::kDiv);
KILN_REGISTER_BINARY("FloorDiv", BinaryOp::kFloorDiv);
KILN_REGISTER_BINARY("FloorMod", BinaryOp::kFloorMod);
KILN_REGISTER_BINARY("TruncateDiv", BinaryOp::kTruncateDiv);
KILN_REGISTER_BINARY("TruncateMod", BinaryOp::kTruncateMod);
KILN_REGISTER_BINARY("Mod", BinaryOp::kTruncateMod);
KILN_REGISTER_BINARY("Maximum", BinaryOp::kMaximum);
KILN_REGISTER_BINARY("Minimum", BinaryOp::kMinimum);
KILN_REGISTER_BINARY("Pow", BinaryOp::kPow);
KILN_REGISTER_BINARY("SquaredDifference", BinaryOp::kSquaredDifference);
KILN_REGISTER_BINARY("Atan2", BinaryOp::kAtan2);
KILN_REGISTER_BINARY("DivNoNan", BinaryOp::kDivNoNan);
KILN_REGISTER_BINARY("MulNoNan", BinaryOp::kMulNoNan);
KILN_REGISTER_BINARY("Xdivy", BinaryOp::kXdivy);
KILN_REGISTER_BINARY("Xlogy", BinaryOp::kXlogy);
KILN_REGISTER_BINARY("LogicalAnd", BinaryOp::kLogicalAnd);
KILN_REGISTER_BINARY("LogicalOr", BinaryOp::kLogicalOr);
KILN_REGISTER_BINARY("Less", BinaryOp::kLess);
KILN_REGISTER_BINARY("LessEqual", BinaryOp::kLessEqual);
KILN_REGISTER_BINARY("Greater", BinaryOp::kGreater);
KILN_REGISTER_BINARY("GreaterEqual", BinaryOp::kGreaterEqual);
KILN_REGISTER_CUDA_KERNEL("Equal", Equality<true>, BinaryOptions(BinaryOp::kEqual));
KILN_REGISTER_CUDA_KERNEL("NotEqual", Equality<false>, BinaryOptions(BinaryOp::kNotEqual));

KILN_REGISTER_CUDA_KERNEL("Select", Select, KernelOptions{.dtypes = AllDTypes()});
KILN_REGISTER_CUDA_KERNEL("SelectV2", SelectV2, KernelOptions{.dtypes = AllDTypes()});
KILN_REGISTER_CUDA_KERNEL("ClipByValue", ClipByValue, KernelOptions{.dtypes = NumericDTypes()});
KILN_REGISTER_CUDA_KERNEL("BiasAdd", BiasAdd, KernelOptions{.dtypes = NumericDTypes()});
KILN_REGISTER_CUDA_KERNEL("BiasAddV1", BiasAdd, KernelOptions{.dtypes = NumericDTypes()});
KILN_REGISTER_CUDA_KERNEL("AddN", AddN, KernelOptions{.dtypes = NumericDTypes()});
KILN_REGISTER_CUDA_KERNEL("Cast", Cast, KernelOptions{.dtypes = CastDTypes(), .forwardable_inputs = {0}});
KILN_REGISTER_CUDA_KERNEL("ZerosLike", FillLike(0), KernelOptions{.dtypes = AllDTypes()});
KILN_REGISTER_CUDA_KERNEL("OnesLike", FillLike(1), KernelOptions{.dtypes = AllDTypes()});
KILN_REGISTER_CUDA_KERNEL("Fill", Fill, KernelOptions{.host_inputs = {0, 1}, .dtypes = AllDTypes()});

// Ops that only relabel their input run their CPU kernel on the device tensor.
KILN_REGISTER_CUDA_KERNEL("Identity", CpuKernelOnDevice("Identity"));
KILN_REGISTER_CUDA_KERNEL("IdentityN", CpuKernelOnDevice("IdentityN"));
KILN_REGISTER_CUDA_KERNEL("StopGradient", CpuKernelOnDevice("StopGradient"));
KILN_REGISTER_CUDA_KERNEL("PreventGradient", CpuKernelOnDevice("PreventGradient"));
KILN_REGISTER_CUDA_KERNEL("Snapshot", CpuKernelOnDevice("Snapshot"));
KILN_REGISTER_CUDA_KERNEL("EnsureShape", CpuKernelOnDevice("EnsureShape"));
KILN_REGISTER_CUDA_KERNEL("Reshape", CpuKernelOnDevice("Reshape"), KernelOptions{.host_inputs = {1}});
KILN_REGISTER_CUDA_KERNEL("OnnxReshape", CpuKernelOnDevice("OnnxReshape"), KernelOptions{.host_inputs = {1}});
KILN_REGISTER_CUDA_KERNEL("ExpandDims", CpuKernelOnDevice("ExpandDims"), KernelOptions{.host_inputs = {1}});
KILN_REGISTER_CUDA_KERNEL("Squeeze", CpuKernelOnDevice("Squeeze"));

}  // namespace kiln::cuda
