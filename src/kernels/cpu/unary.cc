// Unary elementwise kernels: activations, math functions, rounding and predicates.
#include <cmath>

#include "kernels/cpu/elementwise.h"

namespace kiln::kernels::cpu {
namespace {

using runtime::KernelContext;
using runtime::KernelFn;

template <typename Types, typename Fn>
KernelFn Unary(Types types, Fn f) {
  return [types, f](KernelContext& ctx) { return RunUnary(ctx, types, f); };
}

template <typename C>
bool IsNan(C x) {
  return x != x;  // false for integers; no -ffast-math in kiln
}

// max(x, 0) that keeps NaN and maps -0 to +0, as TensorFlow's Relu does.
template <typename C>
C Relu(C x) {
  return (x > C(0) || IsNan(x)) ? x : C(0);
}

// Machine epsilon of the storage type; Softplus switches formulas at thresholds derived from it.
template <typename T>
double StorageEpsilon() {
  if constexpr (std::is_same_v<T, Half>) {
    return 0.0009765625;  // 2^-10
  } else if constexpr (std::is_same_v<T, BFloat16>) {
    return 0.0078125;  // 2^-7
  } else {
    return std::numeric_limits<T>::epsilon();
  }
}

Status Softplus(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(1, 1));
  const Tensor& x = ctx.input(0);
  return DispatchDType(kFloatTypes, x.dtype(), [&](auto tag) -> Status {
    using T = typename decltype(tag)::type;
    using C = ComputeType<T>;
    // Past these thresholds log1p(exp(x)) equals x or exp(x) in T's precision; TensorFlow uses
    // the shortcuts, which also keeps exp from overflowing.
    const C threshold = static_cast<C>(std::log(StorageEpsilon<T>()) + 2.0);
    Tensor& out = ctx.allocate_output(0, x.dtype(), x.shape());
    MapUnary<T, T>(x, out, [threshold](C v) -> C {
      if (v > -threshold) return v;
      if (v < threshold) return std::exp(v);
      return std::log1p(std::exp(v));
    });
    return OkStatus();
  });
}

Status LeakyRelu(KernelContext& ctx) {
  KILN_ASSIGN_OR_RETURN(float alpha, ctx.Attr<float>("alpha"));
  return RunUnary(ctx, kFloatTypes, [alpha](auto x) {
    using C = decltype(x);
    return x > C(0) ? x : x * static_cast<C>(alpha);
  });
}

constexpr double kSeluScale = 1.0507009873554804934193349852946;
constexpr double kSeluAlpha = 1.6732632423543772848170429916717;

const auto kReluTypes = kFloatTypes + kIntTypes;
const auto kSignedNumericTypes = kFloatTypes + kSignedTypes;

}  // namespace

KILN_REGISTER_CPU_KERNEL("Relu", Unary(kReluTypes, [](auto x) { return Relu(x); }));
KILN_REGISTER_CPU_KERNEL("Relu6", Unary(kReluTypes, [](auto x) {
                           using C = decltype(x);
                           const C r = Relu(x);
                           return r > C(6) ? C(6) : r;
                         }));
KILN_REGISTER_CPU_KERNEL("Elu", Unary(kFloatTypes, [](auto x) { return x < 0 ? std::expm1(x) : x; }));
KILN_REGISTER_CPU_KERNEL("Selu", Unary(kFloatTypes, [](auto x) {
                           using C = decltype(x);
                           return x > 0 ? C(kSeluScale) * x : C(kSeluScale * kSeluAlpha) * std::expm1(x);
                         }));
KILN_REGISTER_CPU_KERNEL("LeakyRelu", LeakyRelu);
KILN_REGISTER_CPU_KERNEL("Softplus", Softplus);
KILN_REGISTER_CPU_KERNEL("Softsign", Unary(kFloatTypes, [](auto x) { return x / (1 + std::abs(x)); }));
KILN_REGISTER_CPU_KERNEL("Sigmoid", Unary(kFloatTypes, [](auto x) { return 1 / (1 + std::exp(-x)); }));
KILN_REGISTER_CPU_KERNEL("Tanh", Unary(kFloatTypes, [](auto x) { return std::tanh(x); }));
KILN_REGISTER_CPU_KERNEL("Erf", Unary(kFloatTypes, [](auto x) { return std::erf(x); }));
KILN_REGISTER_CPU_KERNEL("Erfc", Unary(kFloatTypes, [](auto x) { return std::erfc(x); }));
KILN_REGISTER_CPU_KERNEL("Exp", Unary(kFloatTypes, [](auto x) { return std::exp(x); }));
KILN_REGISTER_CPU_KERNEL("Expm1", Unary(kFloatTypes, [](auto x) { return std::expm1(x); }));
KILN_REGISTER_CPU_KERNEL("Log", Unary(kFloatTypes, [](auto x) { return std::log(x); }));
KILN_REGISTER_CPU_KERNEL("Log1p", Unary(kFloatTypes, [](auto x) { return std::log1p(x); }));
KILN_REGISTER_CPU_KERNEL("Sqrt", Unary(kFloatTypes, [](auto x) { return std::sqrt(x); }));
KILN_REGISTER_CPU_KERNEL("Rsqrt", Unary(kFloatTypes, [](auto x) { return 1 / std::sqrt(x); }));
KILN_REGISTER_CPU_KERNEL("Reciprocal", Unary(kFloatTypes, [](auto x) { return 1 / x; }));
KILN_REGISTER_CPU_KERNEL("Inv", Unary(kFloatTypes, [](auto x) { return 1 / x; }));
KILN_REGISTER_CPU_KERNEL("Floor", Unary(kFloatTypes, [](auto x) { return std::floor(x); }));
KILN_REGISTER_CPU_KERNEL("Ceil", Unary(kFloatTypes, [](auto x) { return std::ceil(x); }));
// nearbyint in the default rounding mode rounds halfway cases to even, as TensorFlow's Round does.
KILN_REGISTER_CPU_KERNEL("Rint", Unary(kFloatTypes, [](auto x) { return std::nearbyint(x); }));
KILN_REGISTER_CPU_KERNEL("Round", Unary(kSignedNumericTypes, [](auto x) {
                           if constexpr (std::is_integral_v<decltype(x)>) {
                             return x;
                           } else {
                             return std::nearbyint(x);
                           }
                         }));
KILN_REGISTER_CPU_KERNEL("Sin", Unary(kFloatTypes, [](auto x) { return std::sin(x); }));
KILN_REGISTER_CPU_KERNEL("Cos", Unary(kFloatTypes, [](auto x) { return std::cos(x); }));
KILN_REGISTER_CPU_KERNEL("Tan", Unary(kFloatTypes, [](auto x) { return std::tan(x); }));
KILN_REGISTER_CPU_KERNEL("Asin", Unary(kFloatTypes, [](auto x) { return std::asin(x); }));
KILN_REGISTER_CPU_KERNEL("Acos", Unary(kFloatTypes, [](auto x) { return std::acos(x); }));
KILN_REGISTER_CPU_KERNEL("Atan", Unary(kFloatTypes, [](auto x) { return std::atan(x); }));
KILN_REGISTER_CPU_KERNEL("Sinh", Unary(kFloatTypes, [](auto x) { return std::sinh(x); }));
KILN_REGISTER_CPU_KERNEL("Cosh", Unary(kFloatTypes, [](auto x) { return std::cosh(x); }));
KILN_REGISTER_CPU_KERNEL("Asinh", Unary(kFloatTypes, [](auto x) { return std::asinh(x); }));
KILN_REGISTER_CPU_KERNEL("Acosh", Unary(kFloatTypes, [](auto x) { return std::acosh(x); }));
KILN_REGISTER_CPU_KERNEL("Atanh", Unary(kFloatTypes, [](auto x) { return std::atanh(x); }));
KILN_REGISTER_CPU_KERNEL("Neg", Unary(kSignedNumericTypes, [](auto x) { return WrapNeg(x); }));
KILN_REGISTER_CPU_KERNEL("Abs", Unary(kSignedNumericTypes, [](auto x) {
                           if constexpr (std::is_integral_v<decltype(x)>) {
                             return x < 0 ? WrapNeg(x) : x;
                           } else {
                             return std::abs(x);
                           }
                         }));
KILN_REGISTER_CPU_KERNEL("Sign", Unary(kSignedNumericTypes, [](auto x) {
                           using C = decltype(x);
                           return x > C(0) ? C(1) : x < C(0) ? C(-1) : (IsNan(x) ? x : C(0));
                         }));
KILN_REGISTER_CPU_KERNEL("Square", Unary(kFloatTypes + kIntTypes, [](auto x) { return WrapMul(x, x); }));
KILN_REGISTER_CPU_KERNEL("IsNan", Unary(kFloatTypes, [](auto x) { return std::isnan(x); }));
KILN_REGISTER_CPU_KERNEL("IsInf", Unary(kFloatTypes, [](auto x) { return std::isinf(x); }));
KILN_REGISTER_CPU_KERNEL("IsFinite", Unary(kFloatTypes, [](auto x) { return std::isfinite(x); }));
KILN_REGISTER_CPU_KERNEL("LogicalNot", Unary(kBoolTypes, [](bool x) { return !x; }));

}  // namespace kiln::kernels::cpu
