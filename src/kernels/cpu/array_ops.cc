// Whole-tensor rearrangements: Transpose, Tile, BroadcastTo, ReverseV2, OneHot, Where. All but
// Where move elements by size only, so they serve every dtype (strings included).
#include <numeric>

#include "ir/ops/array_shape_util.h"
#include "ir/shape_fns.h"
#include "kernels/cpu/array_util.h"
#include "kernels/cpu/index_plans.h"
#include "kernels/cpu/kernel_util.h"
#include "runtime/kernel.h"

namespace kiln::kernels::cpu {
namespace {

using runtime::KernelContext;

StatusOr<std::vector<int64_t>> VectorInput(const KernelContext& ctx, int i, const char* what, int64_t want_length) {
  const Tensor& t = ctx.input(i);
  if (t.rank() != 1 || (want_length >= 0 && t.dim(0) != want_length)) {
    return InvalidArgument(std::string(what) + " must be a vector of " + std::to_string(want_length) +
                           " values (one per input dim), got " + t.DebugString());
  }
  return InputInt64s(ctx, i);
}

std::vector<int64_t> IdentityMap(int64_t n) {
  std::vector<int64_t> m(static_cast<size_t>(n));
  std::iota(m.begin(), m.end(), 0);
  return m;
}

Status TransposeKernel(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  const Tensor& in = ctx.input(0);
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> perm64, VectorInput(ctx, 1, "perm", in.rank()));
  std::vector<int> perm;
  std::vector<bool> seen(in.rank(), false);
  bool identity = true;
  for (int64_t p : perm64) {
    if (p < 0 || p >= in.rank() || seen[p]) {
      return InvalidArgument("perm " + ShapeToString(perm64) + " is not a permutation of [0, " +
                             std::to_string(in.rank()) + ")");
    }
    seen[p] = true;
    identity &= p == static_cast<int64_t>(perm.size());
    perm.push_back(static_cast<int>(p));
  }
  if (identity) {
    ctx.set_output(0, in);
    return OkStatus();
  }
  KILN_ASSIGN_OR_RETURN(Tensor out, TransposeOn(ctx, in, perm));
  ctx.set_output(0, std::move(out));
  return OkStatus();
}

Status TileKernel(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  const Tensor& in = ctx.input(0);
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> mult, VectorInput(ctx, 1, "multiples", in.rank()));
  Shape out_shape;
  for (int d = 0; d < in.rank(); ++d) {
    if (mult[d] < 0) {
      return InvalidArgument("multiples[" + std::to_string(d) + "] must be >= 0, got " + std::to_string(mult[d]));
    }
    out_shape.push_back(in.dim(d) * mult[d]);
    if (in.dim(d) != 0 && out_shape.back() / in.dim(d) != mult[d]) return InvalidArgument("Tile output is too large");
  }
  KILN_RETURN_IF_ERROR(ir::CheckedNumElements(out_shape).status());
  std::vector<std::vector<int64_t>> maps(in.rank());
  for (int d = 0; d < in.rank(); ++d) {
    for (int64_t o = 0; o < out_shape[d]; ++o) maps[d].push_back(o % in.dim(d));
  }
  KILN_ASSIGN_OR_RETURN(Tensor out, CopyByAxisMapsOn(ctx, in, maps));
  ctx.set_output(0, std::move(out));
  return OkStatus();
}

Status BroadcastToKernel(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  const Tensor& in = ctx.input(0);
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> target, VectorInput(ctx, 1, "shape", -1));
  KILN_RETURN_IF_ERROR(ir::CheckedNumElements(target).status());
  const int rank = static_cast<int>(target.size());
  if (in.rank() > rank) {
    return InvalidArgument("cannot broadcast shape " + ShapeToString(in.shape()) + " to lower-rank " +
                           ShapeToString(target));
  }
  Shape padded(rank - in.rank(), 1);
  padded.insert(padded.end(), in.shape().begin(), in.shape().end());
  std::vector<std::vector<int64_t>> maps(rank);
  for (int d = 0; d < rank; ++d) {
    if (padded[d] == target[d]) {
      maps[d] = IdentityMap(target[d]);
    } else if (padded[d] == 1) {
      maps[d].assign(static_cast<size_t>(target[d]), 0);
    } else {
      return InvalidArgument("cannot broadcast shape " + ShapeToString(in.shape()) + " to " + ShapeToString(target));
    }
  }
  KILN_ASSIGN_OR_RETURN(Tensor reshaped, in.Reshaped(padded));
  if (padded == target) {
    ctx.set_output(0, reshaped);
    return OkStatus();
  }
  KILN_ASSIGN_OR_RETURN(Tensor out, CopyByAxisMapsOn(ctx, reshaped, maps));
  ctx.set_output(0, std::move(out));
  return OkStatus();
}

Status ReverseKernel(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  const Tensor& in = ctx.input(0);
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> axes, VectorInput(ctx, 1, "axis", -1));
  std::vector<bool> reverse(in.rank(), false);
  for (int64_t a : axes) {
    KILN_ASSIGN_OR_RETURN(int d, ir::NormalizeAxis(a, in.rank()));
    if (reverse[d]) return InvalidArgument("axis " + std::to_string(d) + " is given more than once");
    reverse[d] = true;
  }
  std::vector<std::vector<int64_t>> maps(in.rank());
  bool any = false;
  for (int d = 0; d < in.rank(); ++d) {
    maps[d] = IdentityMap(in.dim(d));
    if (reverse[d] && in.dim(d) > 1) {
      std::reverse(maps[d].begin(), maps[d].end());
      any = true;
    }
  }
  if (!any) {
    ctx.set_output(0, in);
    return OkStatus();
  }
  KILN_ASSIGN_OR_RETURN(Tensor out, CopyByAxisMapsOn(ctx, in, maps));
  ctx.set_output(0, std::move(out));
  return OkStatus();
}

Status OneHotKernel(KernelContext& ctx) {
  KILN_ASSIGN_OR_RETURN(OneHotPlan p, PlanOneHot(ctx));
  const Tensor &on = ctx.input(2), &off = ctx.input(3);
  Tensor& out = ctx.allocate_output(0, on.dtype(), p.out_shape);
  return VisitByElementSize(on.dtype(), [&]<typename T>() {
    T* dst = Elements<T>(out);
    std::fill(dst, dst + out.num_elements(), Elements<T>(off)[0]);
    const T on_value = Elements<T>(on)[0];
    for (int64_t i0 = 0; i0 < p.prefix; ++i0) {
      for (int64_t s = 0; s < p.suffix; ++s) {
        const int64_t i = p.indices[i0 * p.suffix + s];
        if (i >= 0 && i < p.depth) dst[(i0 * p.depth + i) * p.suffix + s] = on_value;
      }
    }
    return OkStatus();
  });
}

// Nonzero test on raw elements; floating zeros are compared as values so -0.0 counts as zero.
std::vector<bool> NonZero(const Tensor& t) {
  const int64_t n = t.num_elements();
  std::vector<bool> nz(static_cast<size_t>(n));
  switch (t.dtype()) {
    case DType::kFloat32:
      for (int64_t i = 0; i < n; ++i) nz[i] = t.data<float>()[i] != 0.0f;
      break;
    case DType::kFloat64:
      for (int64_t i = 0; i < n; ++i) nz[i] = t.data<double>()[i] != 0.0;
      break;
    case DType::kFloat16:
    case DType::kBFloat16:
      for (int64_t i = 0; i < n; ++i) nz[i] = (t.data<uint16_t>()[i] & 0x7fffu) != 0;
      break;
    default: {
      const size_t size = DTypeSize(t.dtype());
      const uint8_t* p = static_cast<const uint8_t*>(t.raw_data());
      for (int64_t i = 0; i < n; ++i) {
        bool any = false;
        for (size_t b = 0; b < size; ++b) any |= p[i * size + b] != 0;
        nz[i] = any;
      }
    }
  }
  return nz;
}

Status WhereKernel(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(1, 1));
  const Tensor& in = ctx.input(0);
  if (in.rank() == 0) return InvalidArgument("Where needs an input of rank >= 1");
  if (in.dtype() == DType::kString) return InvalidArgument("Where does not take string tensors");
  const std::vector<bool> nz = NonZero(in);
  const int64_t count = std::count(nz.begin(), nz.end(), true);
  const int rank = in.rank();
  Tensor& out = ctx.allocate_output(0, DType::kInt64, {count, rank});
  int64_t* dst = out.data<int64_t>();
  std::vector<int64_t> coord(rank, 0);
  for (size_t i = 0; i < nz.size(); ++i) {
    if (nz[i]) dst = std::copy(coord.begin(), coord.end(), dst);
    for (int d = rank - 1; d >= 0; --d) {
      if (++coord[d] < in.dim(d)) break;
      coord[d] = 0;
    }
  }
  return OkStatus();
}

}  // namespace

StatusOr<OneHotPlan> PlanOneHot(const KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(4, 4));
  const Tensor& indices = ctx.input(0);
  const Tensor &on = ctx.input(2), &off = ctx.input(3);
  KILN_ASSIGN_OR_RETURN(int64_t axis, ctx.Attr<int64_t>("axis"));
  if (ctx.input(1).num_elements() != 1 || ctx.input(1).rank() != 0) return InvalidArgument("depth must be a scalar");
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> depth_v, InputInt64s(ctx, 1));
  OneHotPlan p;
  p.depth = depth_v[0];
  if (p.depth < 0) return InvalidArgument("depth must be non-negative, got " + std::to_string(p.depth));
  if (on.rank() != 0 || off.rank() != 0 || on.dtype() != off.dtype()) {
    return InvalidArgument("on_value and off_value must be scalars of one dtype, got " + on.DebugString() + " and " +
                           off.DebugString());
  }
  const DType idt = indices.dtype();
  if (idt != DType::kInt32 && idt != DType::kInt64 && idt != DType::kUInt8 && idt != DType::kInt8) {
    return InvalidArgument("indices must be uint8, int8, int32 or int64, got " + indices.DebugString());
  }
  if (axis < -1 || axis > indices.rank()) {
    return InvalidArgument("axis must be -1 or in [0, " + std::to_string(indices.rank()) + "], got " +
                           std::to_string(axis));
  }
  const int a = axis == -1 ? indices.rank() : static_cast<int>(axis);
  p.out_shape = indices.shape();
  p.out_shape.insert(p.out_shape.begin() + a, p.depth);
  KILN_RETURN_IF_ERROR(ir::CheckedNumElements(p.out_shape).status());
  for (int d = 0; d < a; ++d) p.prefix *= indices.dim(d);
  for (int d = a; d < indices.rank(); ++d) p.suffix *= indices.dim(d);
  KILN_ASSIGN_OR_RETURN(p.indices, indices.ToInt64Vector());
  return p;
}

KILN_REGISTER_CPU_KERNEL("Transpose", TransposeKernel);
KILN_REGISTER_CPU_KERNEL("Tile", TileKernel);
KILN_REGISTER_CPU_KERNEL("BroadcastTo", BroadcastToKernel);
KILN_REGISTER_CPU_KERNEL("ReverseV2", ReverseKernel);
KILN_REGISTER_CPU_KERNEL("OneHot", OneHotKernel);
KILN_REGISTER_CPU_KERNEL("Where", WhereKernel);

}  // namespace kiln::kernels::cpu
