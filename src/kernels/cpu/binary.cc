// Binary arithmetic kernels with numpy/TensorFlow broadcasting, and AddN.
#include <cmath>

#include "kernels/cpu/elementwise.h"

namespace kiln::kernels::cpu {
namespace {

using runtime::KernelContext;
using runtime::KernelFn;

template <typename Types, typename Fn>
KernelFn Binary(Types types, Fn f) {
  return [types, f](KernelContext& ctx) { return RunBinary(ctx, types, f); };
}

template <typename C>
bool IsNan(C x) {
  return x != x;
}

// Integer division and remainder that never trap: a zero divisor is rejected before the loop
// runs, and x / -1 (which overflows for the minimum value) is computed as a wrapping negation.
template <typename T>
T TruncDiv(T x, T y) {
  if constexpr (std::is_signed_v<T>) {
    if (y == T(-1)) return WrapNeg(x);
  }
  return static_cast<T>(x / y);
}
template <typename T>
T TruncMod(T x, T y) {
  if constexpr (std::is_signed_v<T>) {
    if (y == T(-1)) return T(0);
  }
  return static_cast<T>(x % y);
}
// Python's // and %: the quotient rounds toward -inf and the remainder takes the divisor's sign.
template <typename T>
T FloorDivInt(T x, T y) {
  const T q = TruncDiv(x, y);
  if constexpr (std::is_signed_v<T>) {
    const T r = TruncMod(x, y);
    if (r != 0 && ((r < 0) != (y < 0))) return static_cast<T>(q - 1);
  }
  return q;
}
template <typename T>
T FloorModInt(T x, T y) {
  const T r = TruncMod(x, y);
  if constexpr (std::is_signed_v<T>) {
    if (r != 0 && ((r < 0) != (y < 0))) return static_cast<T>(r + y);
  }
  return r;
}
template <typename C>
C FloorModFloat(C x, C y) {
  const C r = std::fmod(x, y);
  return (r != 0 && ((y < 0) != (r < 0))) ? r + y : r;
}

// Fails when input 1 (an integer tensor) holds a value rejected by `bad`, unless the output is
// empty: TensorFlow checks element by element, so an empty output never errs.
template <typename Bad>
Status CheckIntegerOperand(const KernelContext& ctx, const std::string& message, Bad bad) {
  const Tensor& x = ctx.input(0);
  const Tensor& y = ctx.input(1);
  StatusOr<Shape> shape = BroadcastShape(x.shape(), y.shape());
  if (!shape.ok() || NumElements(*shape) == 0) return OkStatus();  // RunBinary reports bad shapes
  return DispatchDType(kAllIntTypes, y.dtype(), [&](auto tag) -> Status {
    using T = typename decltype(tag)::type;
    const T* p = y.data<T>();
    for (int64_t i = 0; i < y.num_elements(); ++i) {
      if (bad(p[i])) return InvalidArgument(message);
    }
    return OkStatus();
  });
}

// A division-like op: `float_fn` for floating dtypes, `int_fn` for integer ones after checking
// for zero divisors.
template <typename FloatFn, typename IntFn>
KernelFn Division(FloatFn float_fn, IntFn int_fn) {
  return [float_fn, int_fn](KernelContext& ctx) -> Status {
    KILN_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
    KILN_RETURN_IF_ERROR(CheckSameDTypes(ctx, 0, 1));
    const DType dtype = ctx.input(0).dtype();
    if (IsFloating(dtype)) return RunBinary(ctx, kFloatTypes, float_fn);
    if (!IsInteger(dtype)) return UnsupportedDType(dtype, kArithmeticTypes);
    KILN_RETURN_IF_ERROR(CheckIntegerOperand(ctx, "Integer division by zero", [](auto v) { return v == 0; }));
    return RunBinary(ctx, kAllIntTypes, int_fn);
  };
}

template <typename T>
T IntPow(T base, T exponent) {
  T result = 1;
  while (exponent > 0) {
    if (exponent & 1) result = WrapMul(result, base);
    base = WrapMul(base, base);
    exponent = static_cast<T>(exponent >> 1);
  }
  return result;
}

Status Pow(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  KILN_RETURN_IF_ERROR(CheckSameDTypes(ctx, 0, 1));
  const DType dtype = ctx.input(0).dtype();
  if (IsFloating(dtype)) return RunBinary(ctx, kFloatTypes, [](auto x, auto y) { return std::pow(x, y); });
  if (!IsInteger(dtype)) return UnsupportedDType(dtype, kFloatTypes + kIntTypes);
  KILN_RETURN_IF_ERROR(CheckIntegerOperand(ctx, "Integers to negative integer powers are not allowed", [](auto v) {
    if constexpr (std::is_signed_v<decltype(v)>) {
      return v < 0;
    } else {
      return false;
    }
  }));
  return RunBinary(ctx, kIntTypes, [](auto x, auto y) { return IntPow(x, y); });
}

Status AddN(KernelContext& ctx) {
  const int n = ctx.num_inputs();
  if (n < 1) return InvalidArgument("AddN needs at least one input");
  KILN_RETURN_IF_ERROR(CheckSameDTypes(ctx, 0, n - 1));
  const Tensor& first = ctx.input(0);
  for (int i = 1; i < n; ++i) {
    if (ctx.input(i).shape() != first.shape()) {
      return InvalidArgument("inputs to AddN must have the same shape, but input 0 is " + ShapeToString(first.shape()) +
                             " and input " + std::to_string(i) + " is " + ShapeToString(ctx.input(i).shape()));
    }
  }
  return DispatchDType(kNumericTypes, first.dtype(), [&](auto tag) -> Status {
    using T = typename decltype(tag)::type;
    if (n == 1) {
      ctx.set_output(0, first);
      return OkStatus();
    }
    Tensor& out = ctx.allocate_output(0, first.dtype(), first.shape());
    T* o = out.data<T>();
    const int64_t size = first.num_elements();
    // Rounds after every addition, like TensorFlow's chain of two-input adds.
    const T* a = first.data<T>();
    const T* b = ctx.input(1).data<T>();
    for (int64_t j = 0; j < size; ++j) o[j] = StoreAs<T>(WrapAdd(Load(a[j]), Load(b[j])));
    for (int i = 2; i < n; ++i) {
      const T* in = ctx.input(i).data<T>();
      for (int64_t j = 0; j < size; ++j) o[j] = StoreAs<T>(WrapAdd(Load(o[j]), Load(in[j])));
    }
    return OkStatus();
  });
}

auto Add = [](auto x, auto y) { return WrapAdd(x, y); };
auto Maximum = [](auto x, auto y) {
  if (IsNan(x)) return x;
  if (IsNan(y)) return y;
  return x > y ? x : y;
};
auto Minimum = [](auto x, auto y) {
  if (IsNan(x)) return x;
  if (IsNan(y)) return y;
  return x < y ? x : y;
};

}  // namespace

KILN_REGISTER_CPU_KERNEL("Add", Binary(kArithmeticTypes + kStringTypes, Add));
KILN_REGISTER_CPU_KERNEL("AddV2", Binary(kArithmeticTypes, Add));
KILN_REGISTER_CPU_KERNEL("Sub", Binary(kArithmeticTypes, [](auto x, auto y) { return WrapSub(x, y); }));
KILN_REGISTER_CPU_KERNEL("Mul", Binary(kArithmeticTypes, [](auto x, auto y) { return WrapMul(x, y); }));
KILN_REGISTER_CPU_KERNEL("MulNoNan",
                         Binary(kFloatTypes, [](auto x, auto y) { return y == 0 ? decltype(x)(0) : x * y; }));
KILN_REGISTER_CPU_KERNEL("DivNoNan",
                         Binary(kFloatTypes, [](auto x, auto y) { return y == 0 ? decltype(x)(0) : x / y; }));
KILN_REGISTER_CPU_KERNEL("Div",
                         Division([](auto x, auto y) { return x / y; }, [](auto x, auto y) { return TruncDiv(x, y); }));
KILN_REGISTER_CPU_KERNEL("RealDiv",
                         Division([](auto x, auto y) { return x / y; }, [](auto x, auto y) { return TruncDiv(x, y); }));
KILN_REGISTER_CPU_KERNEL("TruncateDiv", Division([](auto x, auto y) { return std::trunc(x / y); },
                                                 [](auto x, auto y) { return TruncDiv(x, y); }));
KILN_REGISTER_CPU_KERNEL("TruncateMod", Division([](auto x, auto y) { return std::fmod(x, y); },
                                                 [](auto x, auto y) { return TruncMod(x, y); }));
KILN_REGISTER_CPU_KERNEL("Mod", Division([](auto x, auto y) { return std::fmod(x, y); },
                                         [](auto x, auto y) { return TruncMod(x, y); }));
KILN_REGISTER_CPU_KERNEL("FloorDiv", Division([](auto x, auto y) { return std::floor(x / y); },
                                              [](auto x, auto y) { return FloorDivInt(x, y); }));
KILN_REGISTER_CPU_KERNEL("FloorMod", Division([](auto x, auto y) { return FloorModFloat(x, y); },
                                              [](auto x, auto y) { return FloorModInt(x, y); }));
KILN_REGISTER_CPU_KERNEL("Maximum", Binary(kArithmeticTypes, Maximum));
KILN_REGISTER_CPU_KERNEL("Minimum", Binary(kArithmeticTypes, Minimum));
KILN_REGISTER_CPU_KERNEL("Pow", Pow);
KILN_REGISTER_CPU_KERNEL("SquaredDifference", Binary(kFloatTypes + kSignedTypes, [](auto x, auto y) {
                           const auto d = WrapSub(x, y);
                           return WrapMul(d, d);
                         }));
KILN_REGISTER_CPU_KERNEL("Atan2", Binary(kFloatTypes, [](auto y, auto x) { return std::atan2(y, x); }));
KILN_REGISTER_CPU_KERNEL("Xlogy",
                         Binary(kFloatTypes, [](auto x, auto y) { return x == 0 ? decltype(x)(0) : x * std::log(y); }));
KILN_REGISTER_CPU_KERNEL("Xdivy", Binary(kFloatTypes, [](auto x, auto y) { return x == 0 ? decltype(x)(0) : x / y; }));
KILN_REGISTER_CPU_KERNEL("AddN", AddN);

}  // namespace kiln::kernels::cpu
