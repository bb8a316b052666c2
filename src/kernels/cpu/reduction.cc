// Reductions over axes (Sum, Mean, Prod, Max, Min, EuclideanNorm, All, Any), ArgMax/ArgMin and
// the scans Cumsum/Cumprod. Inputs are viewed as [outer, reduce, inner]; when reduced dims are
// not contiguous the input is first transposed to [kept..., reduced...].
#include <cmath>
#include <limits>

#include "ir/ops/array_shape_util.h"
#include "kernels/cpu/array_util.h"
#include "kernels/cpu/kernel_util.h"
#include "kernels/cpu/reduction_plan.h"
#include "runtime/kernel.h"

namespace kiln::kernels::cpu {
namespace {

using runtime::KernelContext;

// Accumulator type: floats accumulate in themselves, integers wrap like TensorFlow's (in the
// unsigned type, which has defined overflow).
template <typename T>
using AccOf = typename std::conditional_t<std::is_integral_v<T> && !std::is_same_v<T, bool>, std::make_unsigned<T>,
                                          std::type_identity<T>>::type;

template <typename T>
struct SumOp {
  using Acc = AccOf<T>;
  static Acc Init() { return Acc(0); }
  static Acc Step(Acc a, T x) { return a + static_cast<Acc>(x); }
  static Acc Combine(Acc a, Acc b) { return a + b; }
  static T Finish(Acc a, int64_t) { return static_cast<T>(a); }
};

template <typename T>
struct MeanOp : SumOp<T> {
  using Acc = AccOf<T>;
  static T Finish(Acc a, int64_t n) {
    if constexpr (std::is_floating_point_v<T>) {
      return a / static_cast<T>(n);
    } else {
      return n == 0 ? T(0) : static_cast<T>(static_cast<T>(a) / static_cast<T>(n));
    }
  }
};

template <typename T>
struct ProdOp {
  using Acc = AccOf<T>;
  static Acc Init() { return Acc(1); }
  static Acc Step(Acc a, T x) { return a * static_cast<Acc>(x); }
  static Acc Combine(Acc a, Acc b) { return a * b; }
  static T Finish(Acc a, int64_t) { return static_cast<T>(a); }
};

template <typename T>
struct EuclideanNormOp {
  using Acc = AccOf<T>;
  static Acc Init() { return Acc(0); }
  static Acc Step(Acc a, T x) { return a + static_cast<Acc>(x) * static_cast<Acc>(x); }
  static Acc Combine(Acc a, Acc b) { return a + b; }
  static T Finish(Acc a, int64_t) { return static_cast<T>(std::sqrt(static_cast<double>(a))); }
};

// Max and Min propagate NaN, as TensorFlow's do.
template <typename T>
struct MaxOp {
  using Acc = T;
  static T Init() {
    if constexpr (std::is_floating_point_v<T>) return -std::numeric_limits<T>::infinity();
    return std::numeric_limits<T>::lowest();
  }
  static T Step(T a, T x) { return (x > a || x != x) ? x : a; }
  static T Combine(T a, T b) { return Step(a, b); }
  static T Finish(T a, int64_t) { return a; }
};

template <typename T>
struct MinOp {
  using Acc = T;
  static T Init() {
    if constexpr (std::is_floating_point_v<T>) return std::numeric_limits<T>::infinity();
    return std::numeric_limits<T>::max();
  }
  static T Step(T a, T x) { return (x < a || x != x) ? x : a; }
  static T Combine(T a, T b) { return Step(a, b); }
  static T Finish(T a, int64_t) { return a; }
};

struct AllOp {
  using Acc = bool;
  static bool Init() { return true; }
  static bool Step(bool a, bool x) { return a && x; }
  static bool Combine(bool a, bool b) { return a && b; }
  static bool Finish(bool a, int64_t) { return a; }
};

struct AnyOp {
  using Acc = bool;
  static bool Init() { return false; }
  static bool Step(bool a, bool x) { return a || x; }
  static bool Combine(bool a, bool b) { return a || b; }
  static bool Finish(bool a, int64_t) { return a; }
};

// Reduces each row of `reduce` contiguous elements; four accumulators break the dependency chain.
template <typename Op, typename T>
void ReduceRows(const T* in, T* out, int64_t outer, int64_t reduce) {
  using Acc = typename Op::Acc;
  for (int64_t o = 0; o < outer; ++o) {
    const T* row = in + o * reduce;
    Acc a0 = Op::Init(), a1 = Op::Init(), a2 = Op::Init(), a3 = Op::Init();
    int64_t i = 0;
    for (; i + 4 <= reduce; i += 4) {
      a0 = Op::Step(a0, row[i]);
      a1 = Op::Step(a1, row[i + 1]);
      a2 = Op::Step(a2, row[i + 2]);
      a3 = Op::Step(a3, row[i + 3]);
    }
    for (; i < reduce; ++i) a0 = Op::Step(a0, row[i]);
    out[o] = Op::Finish(Op::Combine(Op::Combine(a0, a1), Op::Combine(a2, a3)), reduce);
  }
}

// Reduces the middle dim of [outer, reduce, inner], accumulating whole rows of `inner`.
template <typename Op, typename T>
void ReduceMiddle(const T* in, T* out, int64_t outer, int64_t reduce, int64_t inner) {
  using Acc = typename Op::Acc;
  std::vector<Acc> acc(static_cast<size_t>(inner));
  for (int64_t o = 0; o < outer; ++o) {
    std::fill(acc.begin(), acc.end(), Op::Init());
    const T* block = in + o * reduce * inner;
    for (int64_t r = 0; r < reduce; ++r) {
      const T* row = block + r * inner;
      for (int64_t j = 0; j < inner; ++j) acc[j] = Op::Step(acc[j], row[j]);
    }
    for (int64_t j = 0; j < inner; ++j) out[o * inner + j] = Op::Finish(acc[j], reduce);
  }
}

}  // namespace

StatusOr<ReducePlan> PlanReduction(const KernelContext& ctx) {
  const Tensor& in = ctx.input(0);
  if (ctx.input(1).rank() > 1) return InvalidArgument("reduction_indices must be a scalar or vector");
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> axes, InputInt64s(ctx, 1));
  KILN_ASSIGN_OR_RETURN(bool keep_dims, ctx.Attr<bool>("keep_dims"));
  KILN_ASSIGN_OR_RETURN(std::vector<bool> mask, ir::ReductionAxesMask(axes, in.rank()));
  ReducePlan plan;
  for (int d = 0; d < in.rank(); ++d) {
    if (!mask[d]) {
      plan.out_shape.push_back(in.dim(d));
    } else if (keep_dims) {
      plan.out_shape.push_back(1);
    }
  }
  // Merge runs of kept / reduced dims, ignoring size-1 dims.
  std::vector<std::pair<int64_t, bool>> runs;
  for (int d = 0; d < in.rank(); ++d) {
    if (in.dim(d) == 1) continue;
    if (!runs.empty() && runs.back().second == mask[d]) {
      runs.back().first *= in.dim(d);
    } else {
      runs.push_back({in.dim(d), mask[d]});
    }
  }
  for (int d = 0; d < in.rank(); ++d) (mask[d] ? plan.reduce : plan.outer) *= in.dim(d);
  if (runs.size() <= 1 || (runs.size() == 2 && !runs[0].second)) return plan;  // [K], [R], [K, R]
  if (runs.size() == 2 || (runs.size() == 3 && !runs[0].second)) {             // [R, K], [K, R, K]
    plan.outer = runs[0].second ? 1 : runs[0].first;
    plan.inner = runs.back().first;
    return plan;
  }
  for (int d = 0; d < in.rank(); ++d)
    if (!mask[d]) plan.perm.push_back(d);
  for (int d = 0; d < in.rank(); ++d)
    if (mask[d]) plan.perm.push_back(d);
  return plan;
}

namespace {

// Reducing over nothing (only size-1 dims) leaves the values unchanged, except for the norm.
template <typename Op>
constexpr bool kKeepsSingleValues = true;
template <typename T>
constexpr bool kKeepsSingleValues<EuclideanNormOp<T>> = false;

template <typename Op, typename T>
Status RunReduction(KernelContext& ctx, const ReducePlan& plan) {
  if (plan.reduce == 1 && kKeepsSingleValues<Op>) {
    KILN_ASSIGN_OR_RETURN(Tensor out, ctx.input(0).Reshaped(plan.out_shape));
    ctx.set_output(0, std::move(out));
    return OkStatus();
  }
  Tensor src = plan.perm.empty() ? ctx.input(0) : TransposeTensor(ctx.input(0), plan.perm);
  Tensor& out = ctx.allocate_output(0, DTypeOf<T>(), plan.out_shape);
  T* dst = out.data<T>();
  if (src.num_elements() == 0) {
    std::fill(dst, dst + out.num_elements(), Op::Finish(Op::Init(), plan.reduce));
  } else if (plan.inner == 1) {
    ReduceRows<Op>(src.data<T>(), dst, plan.outer, plan.reduce);
  } else {
    ReduceMiddle<Op>(src.data<T>(), dst, plan.outer, plan.reduce, plan.inner);
  }
  return OkStatus();
}

template <template <typename> class Op>
Status NumericReduction(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  const DType dtype = ctx.input(0).dtype();
  if (dtype == DType::kFloat16 || dtype == DType::kBFloat16) {
    return RunInFloat32(ctx, NumericReduction<Op>);
  }
  KILN_ASSIGN_OR_RETURN(ReducePlan plan, PlanReduction(ctx));
  switch (dtype) {
    case DType::kFloat32:
      return RunReduction<Op<float>, float>(ctx, plan);
    case DType::kFloat64:
      return RunReduction<Op<double>, double>(ctx, plan);
    case DType::kInt32:
      return RunReduction<Op<int32_t>, int32_t>(ctx, plan);
    case DType::kInt64:
      return RunReduction<Op<int64_t>, int64_t>(ctx, plan);
    default:
      return Unimplemented(ctx.node().op + " does not support " + std::string(DTypeName(dtype)) + " inputs");
  }
}

template <typename Op>
Status BoolReduction(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  if (ctx.input(0).dtype() != DType::kBool) {
    return InvalidArgument(ctx.node().op + " expects a bool input, got " + ctx.input(0).DebugString());
  }
  KILN_ASSIGN_OR_RETURN(ReducePlan plan, PlanReduction(ctx));
  return RunReduction<Op, bool>(ctx, plan);
}

}  // namespace

void SplitAroundAxis(const Shape& shape, int axis, int64_t& outer, int64_t& inner) {
  outer = inner = 1;
  for (int d = 0; d < axis; ++d) outer *= shape[d];
  for (int d = axis + 1; d < static_cast<int>(shape.size()); ++d) inner *= shape[d];
}

StatusOr<int> ScalarAxis(const KernelContext& ctx, int input, int rank, const char* what) {
  if (ctx.input(input).num_elements() != 1) {
    return InvalidArgument(std::string(what) + " must be a scalar, got " + ctx.input(input).DebugString());
  }
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> v, InputInt64s(ctx, input));
  if (v[0] < -rank || v[0] >= rank) {
    return InvalidArgument(std::string(what) + " " + std::to_string(v[0]) + " is out of range for input of rank " +
                           std::to_string(rank));
  }
  return static_cast<int>(v[0] < 0 ? v[0] + rank : v[0]);
}

namespace {

// True when x should replace the current best. NaNs never win unless the best is NaN (a
// leading NaN), matching TensorFlow's CPU ArgMax/ArgMin.
template <typename T, bool kMax>
bool Better(T x, T best) {
  if constexpr (std::is_floating_point_v<T>) {
    if (best != best) return x == x;
  }
  return kMax ? x > best : x < best;
}

template <typename T, typename Index, bool kMax>
void ArgReduce(const T* in, Index* out, int64_t outer, int64_t reduce, int64_t inner) {
  if (inner == 1) {
    for (int64_t o = 0; o < outer; ++o) {
      const T* row = in + o * reduce;
      int64_t best = 0;
      for (int64_t r = 1; r < reduce; ++r)
        if (Better<T, kMax>(row[r], row[best])) best = r;
      out[o] = static_cast<Index>(best);
    }
    return;
  }
  std::vector<T> best(static_cast<size_t>(inner));
  for (int64_t o = 0; o < outer; ++o) {
    const T* block = in + o * reduce * inner;
    Index* dst = out + o * inner;
    std::copy(block, block + inner, best.begin());
    std::fill(dst, dst + inner, Index(0));
    for (int64_t r = 1; r < reduce; ++r) {
      const T* row = block + r * inner;
      for (int64_t j = 0; j < inner; ++j) {
        if (Better<T, kMax>(row[j], best[j])) {
          best[j] = row[j];
          dst[j] = static_cast<Index>(r);
        }
      }
    }
  }
}

template <typename T, bool kMax>
Status RunArgReduce(KernelContext& ctx, int axis, DType out_type) {
  const Tensor& in = ctx.input(0);
  Shape out_shape = in.shape();
  out_shape.erase(out_shape.begin() + axis);
  int64_t outer, inner;
  SplitAroundAxis(in.shape(), axis, outer, inner);
  Tensor& out = ctx.allocate_output(0, out_type, out_shape);
  if (out.num_elements() == 0) return OkStatus();
  if (out_type == DType::kInt32) {
    ArgReduce<T, int32_t, kMax>(in.data<T>(), out.data<int32_t>(), outer, in.dim(axis), inner);
  } else {
    ArgReduce<T, int64_t, kMax>(in.data<T>(), out.data<int64_t>(), outer, in.dim(axis), inner);
  }
  return OkStatus();
}

template <bool kMax>
Status ArgReduction(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  const Tensor& in = ctx.input(0);
  if (in.dtype() == DType::kFloat16 || in.dtype() == DType::kBFloat16) return RunInFloat32(ctx, ArgReduction<kMax>);
  KILN_ASSIGN_OR_RETURN(DType out_type, ctx.Attr<DType>("output_type"));
  if (out_type != DType::kInt32 && out_type != DType::kInt64) {
    return Unimplemented("output_type " + std::string(DTypeName(out_type)) + " is not supported (int32, int64)");
  }
  if (in.rank() == 0) return InvalidArgument(ctx.node().op + " needs an input of rank >= 1");
  KILN_ASSIGN_OR_RETURN(int axis, ScalarAxis(ctx, 1, in.rank(), "dimension"));
  if (in.dim(axis) == 0) {
    return InvalidArgument("reduction axis " + std::to_string(axis) + " is empty in shape " +
                           ShapeToString(in.shape()));
  }
  switch (in.dtype()) {
    case DType::kFloat32:
      return RunArgReduce<float, kMax>(ctx, axis, out_type);
    case DType::kFloat64:
      return RunArgReduce<double, kMax>(ctx, axis, out_type);
    case DType::kInt32:
      return RunArgReduce<int32_t, kMax>(ctx, axis, out_type);
    case DType::kInt64:
      return RunArgReduce<int64_t, kMax>(ctx, axis, out_type);
    case DType::kBool:
      return RunArgReduce<bool, kMax>(ctx, axis, out_type);
    default:
      return Unimplemented(ctx.node().op + " does not support " + std::string(DTypeName(in.dtype())) + " inputs");
  }
}

template <typename T, bool kProduct>
void Scan(const T* in, T* out, int64_t outer, int64_t len, int64_t inner, bool exclusive, bool reverse) {
  using Acc = AccOf<T>;
  std::vector<Acc> acc(static_cast<size_t>(inner));
  for (int64_t o = 0; o < outer; ++o) {
    std::fill(acc.begin(), acc.end(), Acc(kProduct ? 1 : 0));
    for (int64_t step = 0; step < len; ++step) {
      const int64_t r = reverse ? len - 1 - step : step;
      const T* src = in + (o * len + r) * inner;
      T* dst = out + (o * len + r) * inner;
      for (int64_t j = 0; j < inner; ++j) {
        const Acc before = acc[j];
        acc[j] = kProduct ? before * static_cast<Acc>(src[j]) : before + static_cast<Acc>(src[j]);
        dst[j] = static_cast<T>(exclusive ? before : acc[j]);
      }
    }
  }
}

template <bool kProduct>
Status ScanKernel(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  const Tensor& in = ctx.input(0);
  if (in.dtype() == DType::kFloat16 || in.dtype() == DType::kBFloat16) return RunInFloat32(ctx, ScanKernel<kProduct>);
  KILN_ASSIGN_OR_RETURN(bool exclusive, ctx.Attr<bool>("exclusive"));
  KILN_ASSIGN_OR_RETURN(bool reverse, ctx.Attr<bool>("reverse"));
  if (in.rank() == 0) return InvalidArgument(ctx.node().op + " needs an input of rank >= 1");
  KILN_ASSIGN_OR_RETURN(int axis, ScalarAxis(ctx, 1, in.rank(), "axis"));
  int64_t outer, inner;
  SplitAroundAxis(in.shape(), axis, outer, inner);
  Tensor& out = ctx.allocate_output(0, in.dtype(), in.shape());
  if (out.num_elements() == 0) return OkStatus();
  auto run = [&]<typename T>() {
    Scan<T, kProduct>(in.data<T>(), out.data<T>(), outer, in.dim(axis), inner, exclusive, reverse);
    return OkStatus();
  };
  switch (in.dtype()) {
    case DType::kFloat32:
      return run.template operator()<float>();
    case DType::kFloat64:
      return run.template operator()<double>();
    case DType::kInt32:
      return run.template operator()<int32_t>();
    case DType::kInt64:
      return run.template operator()<int64_t>();
    default:
      return Unimplemented(ctx.node().op + " does not support " + std::string(DTypeName(in.dtype())) + " inputs");
  }
}

}  // namespace

KILN_REGISTER_CPU_KERNEL("Sum", NumericReduction<SumOp>);
KILN_REGISTER_CPU_KERNEL("Mean", NumericReduction<MeanOp>);
KILN_REGISTER_CPU_KERNEL("Prod", NumericReduction<ProdOp>);
KILN_REGISTER_CPU_KERNEL("Max", NumericReduction<MaxOp>);
KILN_REGISTER_CPU_KERNEL("Min", NumericReduction<MinOp>);
KILN_REGISTER_CPU_KERNEL("EuclideanNorm", NumericReduction<EuclideanNormOp>);
KILN_REGISTER_CPU_KERNEL("All", BoolReduction<AllOp>);
KILN_REGISTER_CPU_KERNEL("Any", BoolReduction<AnyOp>);

KILN_REGISTER_CPU_KERNEL("ArgMax", ArgReduction<true>);
KILN_REGISTER_CPU_KERNEL("ArgMin", ArgReduction<false>);
KILN_REGISTER_CPU_KERNEL("Cumsum", ScanKernel<false>);
KILN_REGISTER_CPU_KERNEL("Cumprod", ScanKernel<true>);

}  // namespace kiln::kernels::cpu
