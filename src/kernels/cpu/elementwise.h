#pragma once
// Shared machinery of the elementwise kernels: dispatch on a tensor's dtype over a list of C++
// types, the type each storage type computes in (float16/bfloat16 compute in float32 and round
// once per op, as TensorFlow does), integer arithmetic that wraps instead of overflowing into
// undefined behaviour, and the unary/binary loops.

#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>

#include "kernels/cpu/broadcast.h"
#include "kernels/cpu/kernel_util.h"
#include "kiln/dtype.h"
#include "runtime/kernel.h"

namespace kiln::kernels::cpu {

template <typename T>
struct TypeTag {
  using type = T;
};
template <typename... Ts>
struct TypeList {};
template <typename... A, typename... B>
constexpr TypeList<A..., B...> operator+(TypeList<A...>, TypeList<B...>) {
  return {};
}

inline constexpr TypeList<float, double, Half, BFloat16> kFloatTypes;
inline constexpr TypeList<int8_t, int16_t, int32_t, int64_t> kSignedTypes;
// The integer dtypes most kernels compute with; the wider unsigned ones only convert (Cast), move
// (Select) and take part in the basic arithmetic and comparisons (kArithmeticTypes), which keeps
// the number of instantiated loops, and the build time, down.
inline constexpr auto kIntTypes = kSignedTypes + TypeList<uint8_t>{};
inline constexpr auto kAllIntTypes = kSignedTypes + TypeList<uint8_t, uint16_t, uint32_t, uint64_t>{};
inline constexpr auto kNumericTypes = kFloatTypes + kIntTypes;
inline constexpr auto kArithmeticTypes = kFloatTypes + kAllIntTypes;
inline constexpr TypeList<bool> kBoolTypes;
inline constexpr TypeList<std::string> kStringTypes;

template <typename T>
constexpr DType DTypeFor() {
  if constexpr (std::is_same_v<T, std::string>) {
    return DType::kString;
  } else {
    return DTypeOf<T>();
  }
}

template <typename... Ts>
std::string DTypeNames(TypeList<Ts...>) {
  std::string s;
  ((s += (s.empty() ? "" : ", ") + std::string(DTypeName(DTypeFor<Ts>()))), ...);
  return s;
}

template <typename Types>
Status UnsupportedDType(DType dtype, Types types) {
  return InvalidArgument("unsupported dtype " + std::string(DTypeName(dtype)) + " (supported: " + DTypeNames(types) +
                         ")");
}

// Calls fn(TypeTag<T>{}) for the T in `types` whose dtype is `dtype`; any other dtype is an
// InvalidArgument that lists the supported ones.
template <typename... Ts, typename Fn>
Status DispatchDType(TypeList<Ts...> types, DType dtype, Fn&& fn) {
  Status result;
  const bool matched = ((DTypeFor<Ts>() == dtype ? (result = fn(TypeTag<Ts>{}), true) : false) || ...);
  if (!matched) return UnsupportedDType(dtype, types);
  return result;
}

template <typename T>
const T* Data(const Tensor& t) {
  if constexpr (std::is_same_v<T, std::string>) {
    return t.strings().data();
  } else {
    return t.data<T>();
  }
}
template <typename T>
T* MutableData(Tensor& t) {
  if constexpr (std::is_same_v<T, std::string>) {
    return t.strings().data();
  } else {
    return t.data<T>();
  }
}

template <typename T>
struct ComputeTypeOf {
  using type = T;
};
template <>
struct ComputeTypeOf<Half> {
  using type = float;
};
template <>
struct ComputeTypeOf<BFloat16> {
  using type = float;
};
template <typename T>
using ComputeType = typename ComputeTypeOf<T>::type;

template <typename T>
inline constexpr bool kIsNarrowFloat = std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>;

// A stored value as its compute type (a reference for types that compute as themselves).
template <typename T>
inline decltype(auto) Load(const T& v) {
  if constexpr (std::is_same_v<T, Half>) {
    return HalfToFloat(v);
  } else if constexpr (std::is_same_v<T, BFloat16>) {
    return BFloat16ToFloat(v);
  } else {
    return (v);
  }
}

template <typename T, typename V>
inline T StoreAs(V&& v) {
  if constexpr (std::is_same_v<T, Half>) {
    return FloatToHalf(static_cast<float>(v));
  } else if constexpr (std::is_same_v<T, BFloat16>) {
    return FloatToBFloat16(static_cast<float>(v));
  } else {
    return static_cast<T>(std::forward<V>(v));
  }
}

// Integer arithmetic in an unsigned type wide enough to avoid int promotion, so overflow wraps
// (as TensorFlow's results do) instead of being undefined.
template <typename T>
using WrapType = std::conditional_t<(sizeof(T) < sizeof(unsigned)), unsigned, std::make_unsigned_t<T>>;

template <typename T>
inline T WrapAdd(T a, T b) {
  if constexpr (std::is_integral_v<T>) {
    return static_cast<T>(static_cast<WrapType<T>>(a) + static_cast<WrapType<T>>(b));
  } else {
    return a + b;
  }
}
template <typename T>
inline T WrapSub(T a, T b) {
  if constexpr (std::is_integral_v<T>) {
    return static_cast<T>(static_cast<WrapType<T>>(a) - static_cast<WrapType<T>>(b));
  } else {
    return a - b;
  }
}
template <typename T>
inline T WrapMul(T a, T b) {
  if constexpr (std::is_integral_v<T>) {
    return static_cast<T>(static_cast<WrapType<T>>(a) * static_cast<WrapType<T>>(b));
  } else {
    return a * b;
  }
}
template <typename T>
inline T WrapNeg(T a) {
  if constexpr (std::is_integral_v<T>) {
    return WrapSub(T(0), a);
  } else {
    return -a;
  }
}

// out[i] = f(x[i]), f taking and returning compute types.
template <typename T, typename Out, typename Fn>
void MapUnary(const Tensor& x, Tensor& out, const Fn& f) {
  const T* in = Data<T>(x);
  Out* o = MutableData<Out>(out);
  const int64_t n = x.num_elements();
  for (int64_t i = 0; i < n; ++i) o[i] = StoreAs<Out>(f(Load(in[i])));
}

// z = f(a, b) over a two-input plan; the row loops cover same-shape, scalar and row/column
// broadcasting as plain contiguous loops.
template <typename T, typename Out, typename Fn>
void MapBinary(const BroadcastPlan& plan, const T* a, const T* b, Out* z, const Fn& f) {
  const int64_t n = plan.row_length();
  const bool step_a = plan.row_contiguous(0);
  const bool step_b = plan.row_contiguous(1);
  auto g = [&f](const T& x, const T& y) -> Out { return StoreAs<Out>(f(Load(x), Load(y))); };
  plan.ForEachRow([&](int64_t o, const int64_t* off) {
    const T* pa = a + off[0];
    const T* pb = b + off[1];
    Out* pz = z + o;
    if (step_a && step_b) {
      for (int64_t i = 0; i < n; ++i) pz[i] = g(pa[i], pb[i]);
    } else if (step_a) {
      const T y = *pb;
      for (int64_t i = 0; i < n; ++i) pz[i] = g(pa[i], y);
    } else if (step_b) {
      const T x = *pa;
      for (int64_t i = 0; i < n; ++i) pz[i] = g(x, pb[i]);
    } else {
      const Out v = g(*pa, *pb);
      for (int64_t i = 0; i < n; ++i) pz[i] = v;
    }
  });
}

// Result storage of an elementwise op on T whose compute function returns R: bool stays bool
// (predicates), anything else is stored back as T.
template <typename T, typename R>
using ResultStorage = std::conditional_t<std::is_same_v<std::decay_t<R>, bool>, bool, T>;

// Output 0 = f(input 0) for the dtypes in `types`.
template <typename Types, typename Fn>
Status RunUnary(runtime::KernelContext& ctx, Types types, const Fn& f) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(1, 1));
  const Tensor& x = ctx.input(0);
  return DispatchDType(types, x.dtype(), [&](auto tag) -> Status {
    using T = typename decltype(tag)::type;
    using Out = ResultStorage<T, decltype(f(Load(std::declval<const T&>())))>;
    if constexpr (kIsNarrowFloat<T>) {
      const Tensor wide = ToFloat32(x);
      using WideOut = ResultStorage<float, Out>;
      Tensor out(DTypeFor<WideOut>(), x.shape());
      MapUnary<float, WideOut>(wide, out, f);
      ctx.set_output(0, FromFloat32(out, DTypeFor<T>()));
    } else {
      Tensor& out = ctx.allocate_output(0, DTypeFor<Out>(), x.shape());
      MapUnary<T, Out>(x, out, f);
    }
    return OkStatus();
  });
}

// Inputs first..last must share one dtype, as TensorFlow's single type attr "T" demands.
inline Status CheckSameDTypes(const runtime::KernelContext& ctx, int first, int last) {
  for (int i = first + 1; i <= last; ++i) {
    if (ctx.input(i).dtype() != ctx.input(first).dtype()) {
      return InvalidArgument("input " + std::to_string(i) + " has dtype " +
                             std::string(DTypeName(ctx.input(i).dtype())) + " but input " + std::to_string(first) +
                             " has " + std::string(DTypeName(ctx.input(first).dtype())));
    }
  }
  return OkStatus();
}

// Output 0 = f(input 0, input 1) with broadcasting, for the dtypes in `types`.
template <typename Types, typename Fn>
Status RunBinary(runtime::KernelContext& ctx, Types types, const Fn& f) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  KILN_RETURN_IF_ERROR(CheckSameDTypes(ctx, 0, 1));
  const Tensor& x = ctx.input(0);
  const Tensor& y = ctx.input(1);
  KILN_ASSIGN_OR_RETURN(BroadcastPlan plan, BroadcastPlan::Make({x.shape(), y.shape()}));
  return DispatchDType(types, x.dtype(), [&](auto tag) -> Status {
    using T = typename decltype(tag)::type;
    using Out = ResultStorage<T, decltype(f(Load(std::declval<const T&>()), Load(std::declval<const T&>())))>;
    if constexpr (kIsNarrowFloat<T>) {
      const Tensor wx = ToFloat32(x);
      const Tensor wy = ToFloat32(y);
      using WideOut = ResultStorage<float, Out>;
      Tensor z(DTypeFor<WideOut>(), plan.output_shape());
      MapBinary<float, WideOut>(plan, wx.data<float>(), wy.data<float>(), z.data<WideOut>(), f);
      ctx.set_output(0, FromFloat32(z, DTypeFor<T>()));
    } else {
      Tensor& z = ctx.allocate_output(0, DTypeFor<Out>(), plan.output_shape());
      MapBinary<T, Out>(plan, Data<T>(x), Data<T>(y), MutableData<Out>(z), f);
    }
    return OkStatus();
  });
}

}  // namespace kiln::kernels::cpu
