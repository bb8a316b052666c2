// Comparison and logical kernels; all produce bool with numpy/TensorFlow broadcasting.
#include "kernels/cpu/elementwise.h"

namespace kiln::kernels::cpu {
namespace {

using runtime::KernelContext;
using runtime::KernelFn;

template <typename Types, typename Fn>
KernelFn Predicate(Types types, Fn f) {
  return [types, f](KernelContext& ctx) { return RunBinary(ctx, types, f); };
}

constexpr auto kEqualityTypes = kArithmeticTypes + kBoolTypes + kStringTypes;

// With incompatible_shape_error=false, shapes that do not broadcast compare as wholly unequal:
// a scalar false for Equal, true for NotEqual.
template <bool kEqual>
Status Equality(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  KILN_ASSIGN_OR_RETURN(bool strict, ctx.attrs().GetOr<bool>("incompatible_shape_error", true));
  if (!strict && !BroadcastPlan::Make({ctx.input(0).shape(), ctx.input(1).shape()}).ok()) {
    KILN_RETURN_IF_ERROR(CheckSameDTypes(ctx, 0, 1));
    ctx.allocate_output(0, DType::kBool, {}).data<bool>()[0] = !kEqual;
    return OkStatus();
  }
  return RunBinary(ctx, kEqualityTypes, [](const auto& x, const auto& y) { return kEqual ? x == y : x != y; });
}

}  // namespace

KILN_REGISTER_CPU_KERNEL("Greater", Predicate(kArithmeticTypes, [](auto x, auto y) { return x > y; }));
KILN_REGISTER_CPU_KERNEL("GreaterEqual", Predicate(kArithmeticTypes, [](auto x, auto y) { return x >= y; }));
KILN_REGISTER_CPU_KERNEL("Less", Predicate(kArithmeticTypes, [](auto x, auto y) { return x < y; }));
KILN_REGISTER_CPU_KERNEL("LessEqual", Predicate(kArithmeticTypes, [](auto x, auto y) { return x <= y; }));
KILN_REGISTER_CPU_KERNEL("Equal", Equality<true>);
KILN_REGISTER_CPU_KERNEL("NotEqual", Equality<false>);
KILN_REGISTER_CPU_KERNEL("LogicalAnd", Predicate(kBoolTypes, [](bool x, bool y) { return x && y; }));
KILN_REGISTER_CPU_KERNEL("LogicalOr", Predicate(kBoolTypes, [](bool x, bool y) { return x || y; }));

}  // namespace kiln::kernels::cpu
