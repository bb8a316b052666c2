// Joining and splitting along an axis: ConcatV2, Concat, Pack, Unpack, Split, SplitV.
#include "ir/shape_fns.h"
#include "kernels/cpu/array_util.h"
#include "kernels/cpu/kernel_util.h"
#include "runtime/kernel.h"

namespace kiln::kernels::cpu {
namespace {

using runtime::KernelContext;

StatusOr<int64_t> ScalarInput(const KernelContext& ctx, int i, const char* what) {
  if (ctx.input(i).rank() != 0)
    return InvalidArgument(std::string(what) + " must be a scalar, got " + ctx.input(i).DebugString());
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> v, InputInt64s(ctx, i));
  return v[0];
}

// Concatenates inputs [first, first + n) along the axis held by input `axis_input`.
Status ConcatImpl(KernelContext& ctx, int first, int n, int axis_input) {
  if (n < 1) return InvalidArgument("concat needs at least one value");
  KILN_ASSIGN_OR_RETURN(int64_t axis_value, ScalarInput(ctx, axis_input, "axis"));
  const Tensor& t0 = ctx.input(first);
  if (t0.rank() == 0) return InvalidArgument("cannot concatenate scalars (use Pack instead)");
  KILN_ASSIGN_OR_RETURN(int axis, ir::NormalizeAxis(axis_value, t0.rank()));
  Shape out_shape = t0.shape();
  std::vector<const Tensor*> parts;
  for (int i = first; i < first + n; ++i) {
    const Tensor& t = ctx.input(i);
    if (t.dtype() != t0.dtype() || t.rank() != t0.rank()) {
      return InvalidArgument("concat values must share dtype and rank: " + t0.DebugString() + " vs " + t.DebugString());
    }
    for (int d = 0; d < t.rank(); ++d) {
      if (d != axis && t.dim(d) != t0.dim(d)) {
        return InvalidArgument("concat values must match outside axis " + std::to_string(axis) + ": " +
                               ShapeToString(t0.shape()) + " vs " + ShapeToString(t.shape()) + " differ in dim " +
                               std::to_string(d));
      }
    }
    if (i != first) out_shape[axis] += t.dim(axis);
    parts.push_back(&t);
  }
  if (n == 1) {
    ctx.set_output(0, t0);
    return OkStatus();
  }
  return ConcatOn(ctx, parts, axis, out_shape);
}

Status ConcatV2Kernel(KernelContext& ctx) { return ConcatImpl(ctx, 0, ctx.num_inputs() - 1, ctx.num_inputs() - 1); }
Status ConcatKernel(KernelContext& ctx) { return ConcatImpl(ctx, 1, ctx.num_inputs() - 1, 0); }

Status PackKernel(KernelContext& ctx) {
  if (ctx.num_inputs() < 1) return InvalidArgument("Pack needs at least one input");
  KILN_ASSIGN_OR_RETURN(int64_t axis_value, ctx.Attr<int64_t>("axis"));
  const Tensor& t0 = ctx.input(0);
  KILN_ASSIGN_OR_RETURN(int axis, ir::NormalizeAxis(axis_value, t0.rank() + 1));
  Shape piece_shape = t0.shape();
  piece_shape.insert(piece_shape.begin() + axis, 1);
  std::vector<Tensor> pieces;
  for (int i = 0; i < ctx.num_inputs(); ++i) {
    const Tensor& t = ctx.input(i);
    if (t.dtype() != t0.dtype() || t.shape() != t0.shape()) {
      return InvalidArgument("all Pack inputs must have one shape and dtype: values[0] is " + t0.DebugString() +
                             " but values[" + std::to_string(i) + "] is " + t.DebugString());
    }
    KILN_ASSIGN_OR_RETURN(Tensor p, t.Reshaped(piece_shape));
    pieces.push_back(std::move(p));
  }
  std::vector<const Tensor*> parts;
  for (const Tensor& p : pieces) parts.push_back(&p);
  Shape out_shape = piece_shape;
  out_shape[axis] = ctx.num_inputs();
  return ConcatOn(ctx, parts, axis, out_shape);
}

Status UnpackKernel(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(1, 1));
  const Tensor& in = ctx.input(0);
  KILN_ASSIGN_OR_RETURN(int64_t axis_value, ctx.Attr<int64_t>("axis"));
  if (in.rank() == 0) return InvalidArgument("cannot Unpack a scalar");
  KILN_ASSIGN_OR_RETURN(int axis, ir::NormalizeAxis(axis_value, in.rank()));
  const int num = ctx.num_outputs();
  if (in.dim(axis) != num) {
    return InvalidArgument("Unpack of " + std::to_string(num) + " values needs dim " + std::to_string(axis) + " of " +
                           ShapeToString(in.shape()) + " to be " + std::to_string(num));
  }
  Shape out_shape = in.shape();
  out_shape.erase(out_shape.begin() + axis);
  KILN_ASSIGN_OR_RETURN(std::vector<Tensor> pieces, SplitOn(ctx, in, axis, std::vector<int64_t>(num, 1)));
  for (int i = 0; i < num; ++i) {
    KILN_ASSIGN_OR_RETURN(Tensor p, pieces[i].Reshaped(out_shape));
    ctx.set_output(i, std::move(p));
  }
  return OkStatus();
}

Status EmitSplit(KernelContext& ctx, const Tensor& in, int axis, const std::vector<int64_t>& sizes) {
  if (sizes.size() == 1) {
    ctx.set_output(0, in);
    return OkStatus();
  }
  KILN_ASSIGN_OR_RETURN(std::vector<Tensor> pieces, SplitOn(ctx, in, axis, sizes));
  for (size_t i = 0; i < pieces.size(); ++i) ctx.set_output(static_cast<int>(i), std::move(pieces[i]));
  return OkStatus();
}

Status SplitKernel(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  const Tensor& in = ctx.input(1);
  KILN_ASSIGN_OR_RETURN(int64_t axis_value, ScalarInput(ctx, 0, "split_dim"));
  KILN_ASSIGN_OR_RETURN(int axis, ir::NormalizeAxis(axis_value, in.rank()));
  const int num = ctx.num_outputs();
  if (num < 1 || in.dim(axis) % num != 0) {
    return InvalidArgument("cannot split dim " + std::to_string(axis) + " of size " + std::to_string(in.dim(axis)) +
                           " evenly into " + std::to_string(num) + " pieces");
  }
  return EmitSplit(ctx, in, axis, std::vector<int64_t>(num, in.dim(axis) / num));
}

Status SplitVKernel(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(3, 3));
  const Tensor& in = ctx.input(0);
  if (ctx.input(1).rank() != 1)
    return InvalidArgument("size_splits must be a vector, got " + ctx.input(1).DebugString());
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> sizes, InputInt64s(ctx, 1));
  KILN_ASSIGN_OR_RETURN(int64_t axis_value, ScalarInput(ctx, 2, "split_dim"));
  KILN_ASSIGN_OR_RETURN(int axis, ir::NormalizeAxis(axis_value, in.rank()));
  const int num = ctx.num_outputs();
  if (static_cast<int>(sizes.size()) != num) {
    return InvalidArgument("size_splits has " + std::to_string(sizes.size()) + " entries but num_split is " +
                           std::to_string(num));
  }
  const int64_t dim = in.dim(axis);
  int unknown = -1;
  int64_t sum = 0;
  bool too_big = false;
  for (int i = 0; i < num; ++i) {
    if (sizes[i] == -1) {
      if (unknown >= 0) return InvalidArgument("size_splits may contain only one -1");
      unknown = i;
    } else if (sizes[i] < 0) {
      return InvalidArgument("size_splits[" + std::to_string(i) + "] must be >= 0, got " + std::to_string(sizes[i]));
    } else if (sizes[i] > dim - sum) {
      too_big = true;
    } else {
      sum += sizes[i];
    }
  }
  if (too_big || (unknown < 0 && sum != dim)) {
    return InvalidArgument("size_splits " + ShapeToString(sizes) + " do not add up to dim " + std::to_string(axis) +
                           " of size " + std::to_string(dim));
  }
  if (unknown >= 0) sizes[unknown] = dim - sum;
  return EmitSplit(ctx, in, axis, sizes);
}

}  // namespace

KILN_REGISTER_CPU_KERNEL("ConcatV2", ConcatV2Kernel);
KILN_REGISTER_CPU_KERNEL("Concat", ConcatKernel);
KILN_REGISTER_CPU_KERNEL("Pack", PackKernel);
KILN_REGISTER_CPU_KERNEL("Unpack", UnpackKernel);
KILN_REGISTER_CPU_KERNEL("Split", SplitKernel);
KILN_REGISTER_CPU_KERNEL("SplitV", SplitVKernel);

}  // namespace kiln::kernels::cpu
