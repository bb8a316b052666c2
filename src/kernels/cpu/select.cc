// Three-input elementwise kernels: Select, SelectV2 and ClipByValue.
#include <algorithm>

#include "kernels/cpu/elementwise.h"

namespace kiln::kernels::cpu {
namespace {

using runtime::KernelContext;

// Selection only moves elements, so it runs on an unsigned type of the element's size (or
// std::string) rather than once per dtype.
template <typename Fn>
Status DispatchByElementSize(DType dtype, Fn&& fn) {
  if (dtype == DType::kString) return fn(TypeTag<std::string>{});
  switch (DTypeSize(dtype)) {
    case 1: return fn(TypeTag<uint8_t>{});
    case 2: return fn(TypeTag<uint16_t>{});
    case 4: return fn(TypeTag<uint32_t>{});
    case 8: return fn(TypeTag<uint64_t>{});
    default: return InvalidArgument("unsupported dtype " + std::string(DTypeName(dtype)));
  }
}

Status CheckCondition(const Tensor& cond) {
  if (cond.dtype() != DType::kBool) {
    return InvalidArgument("condition must be bool, got " + std::string(DTypeName(cond.dtype())));
  }
  return OkStatus();
}

Status Select(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(3, 3));
  const Tensor& cond = ctx.input(0);
  const Tensor& t = ctx.input(1);
  const Tensor& e = ctx.input(2);
  KILN_RETURN_IF_ERROR(CheckCondition(cond));
  KILN_RETURN_IF_ERROR(CheckSameDTypes(ctx, 1, 2));
  if (t.shape() != e.shape()) {
    return InvalidArgument("'then' and 'else' must have the same shape, but got " + ShapeToString(t.shape()) + " vs. " +
                           ShapeToString(e.shape()));
  }
  const bool* c = cond.data<bool>();
  if (cond.rank() == 0) {
    ctx.set_output(0, c[0] ? t : e);
    return OkStatus();
  }
  const bool by_rows = cond.rank() == 1 && t.rank() > 1;
  if (by_rows && cond.dim(0) != t.dim(0)) {
    return InvalidArgument("the condition vector has " + std::to_string(cond.dim(0)) + " elements but 'then' has " +
                           std::to_string(t.dim(0)) + " rows");
  }
  if (!by_rows && cond.shape() != t.shape()) {
    return InvalidArgument("condition " + ShapeToString(cond.shape()) + " must be a scalar, a vector of " +
                           "length dim 0 of 'then', or the shape of 'then' " + ShapeToString(t.shape()));
  }
  return DispatchByElementSize(t.dtype(), [&](auto tag) -> Status {
    using T = typename decltype(tag)::type;
    Tensor& out = ctx.allocate_output(0, t.dtype(), t.shape());
    const T* a = Data<T>(t);
    const T* b = Data<T>(e);
    T* o = MutableData<T>(out);
    const int64_t rows = by_rows ? cond.dim(0) : t.num_elements();
    const int64_t row = rows == 0 ? 0 : t.num_elements() / rows;
    for (int64_t r = 0; r < rows; ++r) {
      const T* src = (c[r] ? a : b) + r * row;
      std::copy(src, src + row, o + r * row);
    }
    return OkStatus();
  });
}

Status SelectV2(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(3, 3));
  const Tensor& cond = ctx.input(0);
  const Tensor& t = ctx.input(1);
  const Tensor& e = ctx.input(2);
  KILN_RETURN_IF_ERROR(CheckCondition(cond));
  KILN_RETURN_IF_ERROR(CheckSameDTypes(ctx, 1, 2));
  StatusOr<BroadcastPlan> plan_or = BroadcastPlan::Make({cond.shape(), t.shape(), e.shape()});
  if (!plan_or.ok()) {
    return InvalidArgument("condition " + ShapeToString(cond.shape()) + ", then " + ShapeToString(t.shape()) +
                           ", and else " + ShapeToString(e.shape()) + " must be broadcastable");
  }
  const BroadcastPlan& plan = *plan_or;
  return DispatchByElementSize(t.dtype(), [&](auto tag) -> Status {
    using T = typename decltype(tag)::type;
    Tensor& out = ctx.allocate_output(0, t.dtype(), plan.output_shape());
    const bool* c = cond.data<bool>();
    const T* a = Data<T>(t);
    const T* b = Data<T>(e);
    T* o = MutableData<T>(out);
    const int64_t sc = plan.row_contiguous(0), sa = plan.row_contiguous(1), sb = plan.row_contiguous(2);
    const int64_t n = plan.row_length();
    // Each s* is 1 where that input advances along the row and 0 where it repeats one value.
    plan.ForEachRow([&](int64_t off, const int64_t* in) {
      const bool* pc = c + in[0];
      const T* pa = a + in[1];
      const T* pb = b + in[2];
      T* po = o + off;
      for (int64_t i = 0; i < n; ++i) po[i] = pc[i * sc] ? pa[i * sa] : pb[i * sb];
    });
    return OkStatus();
  });
}

Status ClipByValue(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(3, 3));
  KILN_RETURN_IF_ERROR(CheckSameDTypes(ctx, 0, 2));
  const Tensor& t = ctx.input(0);
  const Tensor& lo = ctx.input(1);
  const Tensor& hi = ctx.input(2);
  for (const Tensor* bound : {&lo, &hi}) {
    if (bound->rank() != 0 && bound->shape() != t.shape()) {
      return InvalidArgument("clip_value_min and clip_value_max must be scalars or have the input's shape " +
                             ShapeToString(t.shape()) + ", got " + ShapeToString(lo.shape()) + " and " +
                             ShapeToString(hi.shape()));
    }
  }
  KILN_ASSIGN_OR_RETURN(BroadcastPlan plan, BroadcastPlan::Make({t.shape(), lo.shape(), hi.shape()}));
  return DispatchDType(kNumericTypes, t.dtype(), [&](auto tag) -> Status {
    using T = typename decltype(tag)::type;
    Tensor& out = ctx.allocate_output(0, t.dtype(), t.shape());
    const T* x = t.data<T>();
    const T* l = lo.data<T>();
    const T* h = hi.data<T>();
    T* o = out.data<T>();
    const int64_t sx = plan.row_contiguous(0), sl = plan.row_contiguous(1), sh = plan.row_contiguous(2);
    const int64_t n = plan.row_length();
    plan.ForEachRow([&](int64_t off, const int64_t* in) {
      for (int64_t i = 0; i < n; ++i) {
        // Ordered so NaN passes through, and min > max yields min, as in TensorFlow.
        const auto v = Load(x[in[0] + i * sx]);
        const auto upper = Load(h[in[2] + i * sh]);
        const auto lower = Load(l[in[1] + i * sl]);
        const auto clipped = upper < v ? upper : v;
        o[off + i] = StoreAs<T>(lower > clipped ? lower : clipped);
      }
    });
    return OkStatus();
  });
}

}  // namespace

KILN_REGISTER_CPU_KERNEL("Select", Select);
KILN_REGISTER_CPU_KERNEL("SelectV2", SelectV2);
KILN_REGISTER_CPU_KERNEL("ClipByValue", ClipByValue);

}  // namespace kiln::kernels::cpu
