// KilnFakeQuant: rounds float32 values to float16, bfloat16, int8 (per tensor or per channel) or FP8 E4M3FN
// and back, so a float32 graph computes what an engine of that precision computes.
#include "kernels/cpu/fake_quant.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "kiln/dtype.h"
#include "runtime/kernel.h"

namespace kiln::kernels::cpu {

float RoundToHalf(float x) { return HalfToFloat(FloatToHalf(x)); }

float RoundToBFloat16(float x) { return BFloat16ToFloat(FloatToBFloat16(x)); }

float RoundToE4M3(float x) {
  if (std::isnan(x)) return x;
  return Float8E4M3ToFloat(FloatToFloat8E4M3(x));
}

float FakeQuantInt8(float x, float scale) {
  const float v = x / scale;
  if (std::isnan(v)) return 0.0f;
  // + 0.0f turns -0 into +0: int8 has no negative zero.
  const float q = std::clamp(std::nearbyint(v), -128.0f, 127.0f) + 0.0f;
  return q * scale;
}

float FakeQuantE4M3(float x, float scale) { return RoundToE4M3(x / scale) * scale; }

namespace {

using runtime::KernelContext;

Status KilnFakeQuantKernel(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(1, 1));
  const Tensor& x = ctx.input(0);
  if (x.dtype() != DType::kFloat32) return InvalidArgument("KilnFakeQuant takes float32, got " + x.DebugString());
  KILN_ASSIGN_OR_RETURN(std::string mode, ctx.Attr<std::string>("mode"));
  KILN_ASSIGN_OR_RETURN(std::vector<float> scale, ctx.Attr<std::vector<float>>("scale"));
  KILN_ASSIGN_OR_RETURN(int64_t axis, ctx.Attr<int64_t>("axis"));
  const int64_t n = x.num_elements();
  const float* in = x.data<float>();
  Tensor& y = ctx.allocate_output(0, DType::kFloat32, x.shape());
  float* out = y.data<float>();
  if (mode == "fp16" || mode == "bf16") {
    if (!scale.empty()) return InvalidArgument("mode " + mode + " takes no scale");
    float (*round)(float) = mode == "fp16" ? RoundToHalf : RoundToBFloat16;
    for (int64_t i = 0; i < n; ++i) out[i] = round(in[i]);
    return OkStatus();
  }
  float (*fn)(float, float) = nullptr;
  if (mode == "int8") {
    fn = FakeQuantInt8;
  } else if (mode == "fp8_e4m3") {
    fn = FakeQuantE4M3;
  } else {
    return InvalidArgument("mode must be fp16, bf16, int8 or fp8_e4m3, got '" + mode + "'");
  }
  if (scale.empty()) return InvalidArgument("mode " + mode + " needs a scale");
  for (float s : scale) {
    if (!(s > 0.0f) || !std::isfinite(s)) {
      return InvalidArgument("scale must hold positive finite values, got " + std::to_string(s));
    }
  }
  if (scale.size() == 1) {
    for (int64_t i = 0; i < n; ++i) out[i] = fn(in[i], scale[0]);
    return OkStatus();
  }
  if (axis < -x.rank() || axis >= x.rank()) {
    return InvalidArgument("axis " + std::to_string(axis) + " is out of range for " + x.DebugString());
  }
  const int a = static_cast<int>(axis < 0 ? axis + x.rank() : axis);
  const int64_t channels = x.dim(a);
  if (static_cast<int64_t>(scale.size()) != channels) {
    return InvalidArgument("scale has " + std::to_string(scale.size()) + " values; " + x.DebugString() + " has " +
                           std::to_string(channels) + " channels along axis " + std::to_string(a));
  }
  int64_t inner = 1;
  for (int d = a + 1; d < x.rank(); ++d) inner *= x.dim(d);
  for (int64_t i = 0; i < n; ++i) out[i] = fn(in[i], scale[(i / inner) % channels]);
  return OkStatus();
}

}  // namespace

KILN_REGISTER_CPU_KERNEL("KilnFakeQuant", KilnFakeQuantKernel);

}  // namespace kiln::kernels::cpu
