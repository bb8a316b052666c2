// Cast between every numeric dtype and bool, and ZerosLike/OnesLike.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/kernel_util.h"

namespace kiln::kernels::cpu {
namespace {

using runtime::KernelContext;

constexpr auto kCastTypes = kFloatTypes + kAllIntTypes + kBoolTypes;

// Truncation toward zero into a 32- or 64-bit signed integer; NaN and out-of-range values give
// the minimum, the x86 "integer indefinite" value TensorFlow's CPU results carry.
template <typename I, typename F>
I TruncateToSigned(F v) {
  constexpr F lo = static_cast<F>(std::numeric_limits<I>::min());  // -2^(bits-1), exact
  if (!(v >= lo && v < -lo)) return std::numeric_limits<I>::min();
  return static_cast<I>(v);
}

// Float to integer, defined for every input and matching TensorFlow on x86: targets narrower
// than 32 bits wrap the int32 conversion (300.7 -> uint8 44, -2.9 -> uint8 254), uint32 wraps
// the int64 one, and uint64 converts [2^63, 2^64) exactly.
template <typename D, typename F>
D FloatToInt(F v) {
  if constexpr (sizeof(D) < 4 || std::is_same_v<D, int32_t>) {
    return static_cast<D>(TruncateToSigned<int32_t>(v));
  } else if constexpr (std::is_same_v<D, uint64_t>) {
    if (v >= F(9223372036854775808.0) && v < F(18446744073709551616.0)) return static_cast<uint64_t>(v);
    return static_cast<uint64_t>(TruncateToSigned<int64_t>(v));
  } else {
    return static_cast<D>(TruncateToSigned<int64_t>(v));
  }
}

// Cast's Truncate=true: round toward zero instead of to nearest even.
Half TruncateToHalf(float f) {
  Half h = FloatToHalf(f);
  if (std::isfinite(f) && std::fabs(HalfToFloat(h)) > std::fabs(f)) --h.bits;
  return h;
}
BFloat16 TruncateToBFloat16(float f) {
  if (std::isnan(f)) return FloatToBFloat16(f);
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  return {static_cast<uint16_t>(bits >> 16)};
}

// float16/bfloat16 sources go through float32, like every narrow-float conversion in TensorFlow
// (so float64 -> float16 rounds twice, as it does there).
template <typename D, typename S>
D CastValue(const S& v, bool truncate) {
  if constexpr (std::is_same_v<D, S>) {
    return v;
  } else if constexpr (std::is_same_v<S, Half> || std::is_same_v<S, BFloat16>) {
    return CastValue<D>(Load(v), truncate);
  } else if constexpr (std::is_same_v<D, bool>) {
    return v != S(0);
  } else if constexpr (std::is_same_v<D, Half>) {
    const float f = static_cast<float>(v);
    return truncate && std::is_floating_point_v<S> ? TruncateToHalf(f) : FloatToHalf(f);
  } else if constexpr (std::is_same_v<D, BFloat16>) {
    const float f = static_cast<float>(v);
    return truncate && std::is_floating_point_v<S> ? TruncateToBFloat16(f) : FloatToBFloat16(f);
  } else if constexpr (std::is_integral_v<D> && std::is_floating_point_v<S>) {
    return FloatToInt<D>(v);
  } else {
    return static_cast<D>(v);  // integer narrowing wraps (C++20); int -> float rounds to nearest
  }
}

Status Cast(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(1, 1));
  KILN_ASSIGN_OR_RETURN(DType dst, ctx.Attr<DType>("DstT"));
  KILN_ASSIGN_OR_RETURN(bool truncate, ctx.attrs().GetOr<bool>("Truncate", false));
  KILN_ASSIGN_OR_RETURN(Tensor out, CastTensor(ctx.input(0), dst, truncate));
  ctx.set_output(0, std::move(out));
  return OkStatus();
}

Status ZerosLike(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(1, 1));
  const Tensor& x = ctx.input(0);
  if (x.dtype() != DType::kString) {
    KILN_RETURN_IF_ERROR(DispatchDType(kCastTypes, x.dtype(), [](auto) { return OkStatus(); }));
  }
  Tensor& out = ctx.allocate_output(0, x.dtype(), x.shape());  // strings start empty
  if (out.byte_size() > 0) std::memset(out.raw_data(), 0, out.byte_size());
  return OkStatus();
}

Status OnesLike(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(1, 1));
  const Tensor& x = ctx.input(0);
  return DispatchDType(kCastTypes, x.dtype(), [&](auto tag) -> Status {
    using T = typename decltype(tag)::type;
    Tensor& out = ctx.allocate_output(0, x.dtype(), x.shape());
    std::fill(out.data<T>(), out.data<T>() + out.num_elements(), StoreAs<T>(1));
    return OkStatus();
  });
}

}  // namespace

StatusOr<Tensor> CastTensor(const Tensor& x, DType dst, bool truncate) {
  if (x.dtype() == dst) return x;
  Tensor out(dst, x.shape());
  KILN_RETURN_IF_ERROR(DispatchDType(kCastTypes, x.dtype(), [&](auto src_tag) -> Status {
    return DispatchDType(kCastTypes, dst, [&](auto dst_tag) -> Status {
      using S = typename decltype(src_tag)::type;
      using D = typename decltype(dst_tag)::type;
      const S* in = x.data<S>();
      D* o = out.data<D>();
      const int64_t n = x.num_elements();
      for (int64_t i = 0; i < n; ++i) o[i] = CastValue<D>(in[i], truncate);
      return OkStatus();
    });
  }));
  return out;
}

KILN_REGISTER_CPU_KERNEL("Cast", Cast);
KILN_REGISTER_CPU_KERNEL("ZerosLike", ZerosLike);
KILN_REGISTER_CPU_KERNEL("OnesLike", OnesLike);

}  // namespace kiln::kernels::cpu
