// BiasAdd (NHWC: bias on the last axis; NCHW: on axis 1) and BiasAddV1 (last axis).
#include <type_traits>

#include "kernels/cpu/nn_util.h"
#include "runtime/kernel.h"

namespace kiln::kernels::cpu::nn {
namespace {

using runtime::KernelContext;

template <typename T>
T Add(T a, T b) {
  if constexpr (std::is_integral_v<T>) {
    // Wraps like TensorFlow without signed-overflow UB.
    using W = std::conditional_t<(sizeof(T) <= 4), uint32_t, uint64_t>;
    return static_cast<T>(static_cast<W>(a) + static_cast<W>(b));
  } else {
    return a + b;
  }
}

// value viewed as [outer, channels, inner].
template <typename T>
void RunBiasAdd(const T* value, const T* bias, T* out, int64_t outer, int64_t channels, int64_t inner) {
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t c = 0; c < channels; ++c) {
      const int64_t base = (o * channels + c) * inner;
      const T b = bias[c];
      if (inner == 1) {
        out[base] = Add(value[base], b);
      } else {
        for (int64_t i = 0; i < inner; ++i) out[base + i] = Add(value[base + i], b);
      }
    }
  }
}

// BiasAddV1 has no data_format and is always NHWC.
StatusOr<bool> ChannelsFirst(const KernelContext& ctx) {
  const ir::AttrValue* v = ctx.attrs().Find("data_format");
  if (v == nullptr) return false;
  const std::string* format = std::get_if<std::string>(v);
  if (format == nullptr) return InvalidArgument("attribute 'data_format' must be a string");
  if (*format == "NHWC") return false;
  if (*format == "NCHW") return true;
  return InvalidArgument("unsupported data_format '" + *format + "'");
}

Status BiasAddTensors(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  const Tensor& value = ctx.input(0);
  const Tensor& bias = ctx.input(1);
  KILN_ASSIGN_OR_RETURN(const bool channels_first, ChannelsFirst(ctx));
  if (value.dtype() != bias.dtype()) {
    return InvalidArgument("value and bias dtypes differ: " + value.DebugString() + " and " + bias.DebugString());
  }
  if (value.rank() < 2) return InvalidArgument("value must have rank 2 or more, got " + value.DebugString());
  if (bias.rank() != 1) return InvalidArgument("bias must be a vector, got " + bias.DebugString());
  const int axis = channels_first && value.rank() >= 3 ? 1 : value.rank() - 1;
  const int64_t channels = value.dim(axis);
  if (bias.dim(0) != channels) {
    return InvalidArgument("bias length " + std::to_string(bias.dim(0)) + " does not match the channel dimension " +
                           std::to_string(channels) + " of value " + value.DebugString());
  }
  int64_t outer = 1, inner = 1;
  for (int i = 0; i < axis; ++i) outer *= value.dim(i);
  for (int i = axis + 1; i < value.rank(); ++i) inner *= value.dim(i);
  Tensor out(value.dtype(), value.shape());
  KILN_RETURN_IF_ERROR(
      DispatchReal(value.dtype(), kInt32 | kInt64 | kSmallInts | kUnsignedWide, ctx.node().op, [&](auto tag) {
        using T = typename decltype(tag)::type;
        RunBiasAdd<T>(value.data<T>(), bias.data<T>(), out.data<T>(), outer, channels, inner);
        return OkStatus();
      }));
  ctx.set_output(0, std::move(out));
  return OkStatus();
}

}  // namespace

KILN_REGISTER_CPU_KERNEL("BiasAdd", [](KernelContext& ctx) { return RunHalfInFloat32(ctx, BiasAddTensors); });
KILN_REGISTER_CPU_KERNEL("BiasAddV1", [](KernelContext& ctx) { return RunHalfInFloat32(ctx, BiasAddTensors); });

}  // namespace kiln::kernels::cpu::nn
