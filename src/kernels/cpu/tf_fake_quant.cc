// TensorFlow's fake quantization kernels with TensorFlow's float32 arithmetic: min and max are
// nudged so that zero is exactly representable, inputs are clamped to the nudged range and
// rounded to one of the 2^num_bits (or 2^num_bits - 1 with narrow_range) levels.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "kernels/cpu/fake_quant.h"
#include "runtime/kernel.h"

namespace kiln::kernels::cpu {
namespace {

using runtime::KernelContext;

}  // namespace

StatusOr<std::pair<int, int>> QuantRange(const KernelContext& ctx) {
  KILN_ASSIGN_OR_RETURN(int64_t num_bits, ctx.Attr<int64_t>("num_bits"));
  KILN_ASSIGN_OR_RETURN(bool narrow_range, ctx.Attr<bool>("narrow_range"));
  if (num_bits < 2 || num_bits > 16) {
    return InvalidArgument("num_bits must be between 2 and 16, inclusive, got " + std::to_string(num_bits));
  }
  return std::make_pair(narrow_range ? 1 : 0, (1 << num_bits) - 1);
}

Nudged Nudge(float min, float max, int quant_min, int quant_max) {
  Nudged n;
  const float qmin = static_cast<float>(quant_min);
  const float qmax = static_cast<float>(quant_max);
  n.scale = (max - min) / (qmax - qmin);
  n.inv_scale = (qmax - qmin) / (max - min);
  const float zero_point_from_min = qmin - min / n.scale;
  uint16_t zero_point;
  if (zero_point_from_min < qmin) {
    zero_point = static_cast<uint16_t>(quant_min);
  } else if (zero_point_from_min > qmax) {
    zero_point = static_cast<uint16_t>(quant_max);
  } else {
    zero_point = static_cast<uint16_t>(std::round(zero_point_from_min));
  }
  n.min = (qmin - zero_point) * n.scale;
  n.max = (qmax - zero_point) * n.scale;
  n.quant_zero = std::floor(-n.min * n.inv_scale + 0.5f);
  return n;
}

namespace {

float Clamp(float x, const Nudged& n) { return std::max(std::min(x, n.max), n.min); }

// The Args and per-channel kernels multiply by the reciprocal scale.
float QuantizeByInverse(float x, const Nudged& n) {
  return std::floor((Clamp(x, n) - n.min) * n.inv_scale - n.quant_zero + 0.5f) * n.scale;
}
// The Vars kernel divides by the scale.
float QuantizeByDivision(float x, const Nudged& n) {
  return std::floor((Clamp(x, n) - n.min) / n.scale - n.quant_zero + 0.5f) * n.scale;
}

Status CheckFloat32(const Tensor& t, const char* name) {
  if (t.dtype() != DType::kFloat32)
    return InvalidArgument(std::string(name) + " must be float32, got " + t.DebugString());
  return OkStatus();
}

Status FakeQuantArgsKernel(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(1, 1));
  const Tensor& x = ctx.input(0);
  KILN_RETURN_IF_ERROR(CheckFloat32(x, "inputs"));
  KILN_ASSIGN_OR_RETURN(auto range, QuantRange(ctx));
  KILN_ASSIGN_OR_RETURN(float min, ctx.Attr<float>("min"));
  KILN_ASSIGN_OR_RETURN(float max, ctx.Attr<float>("max"));
  if (!(min < max)) {
    return InvalidArgument("min has to be smaller than max, was: " + std::to_string(min) +
                           " >= " + std::to_string(max));
  }
  const Nudged n = Nudge(min, max, range.first, range.second);
  Tensor& y = ctx.allocate_output(0, DType::kFloat32, x.shape());
  for (int64_t i = 0; i < x.num_elements(); ++i) y.data<float>()[i] = QuantizeByInverse(x.data<float>()[i], n);
  return OkStatus();
}

Status FakeQuantVarsKernel(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(3, 3));
  const Tensor& x = ctx.input(0);
  KILN_RETURN_IF_ERROR(CheckFloat32(x, "inputs"));
  KILN_ASSIGN_OR_RETURN(auto range, QuantRange(ctx));
  for (int i : {1, 2}) {
    const char* name = i == 1 ? "min" : "max";
    KILN_RETURN_IF_ERROR(CheckFloat32(ctx.input(i), name));
    if (ctx.input(i).rank() != 0) {
      return InvalidArgument("`" + std::string(name) + "` must be rank 0 but is rank " +
                             std::to_string(ctx.input(i).rank()));
    }
  }
  const float min = ctx.input(1).data<float>()[0];
  const float max = ctx.input(2).data<float>()[0];
  Tensor& y = ctx.allocate_output(0, DType::kFloat32, x.shape());
  if (min == 0.0f && max == 0.0f) {
    std::fill(y.data<float>(), y.data<float>() + y.num_elements(), 0.0f);
    return OkStatus();
  }
  const Nudged n = Nudge(min, max, range.first, range.second);
  for (int64_t i = 0; i < x.num_elements(); ++i) y.data<float>()[i] = QuantizeByDivision(x.data<float>()[i], n);
  return OkStatus();
}

Status FakeQuantVarsPerChannelKernel(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(3, 3));
  const Tensor& x = ctx.input(0);
  KILN_RETURN_IF_ERROR(CheckFloat32(x, "inputs"));
  if (x.rank() < 1) return InvalidArgument("inputs must have rank 1 or more, got " + x.DebugString());
  KILN_ASSIGN_OR_RETURN(auto range, QuantRange(ctx));
  const int64_t depth = x.dim(x.rank() - 1);
  for (int i : {1, 2}) {
    const char* name = i == 1 ? "min" : "max";
    KILN_RETURN_IF_ERROR(CheckFloat32(ctx.input(i), name));
    if (ctx.input(i).rank() != 1 || ctx.input(i).dim(0) != depth) {
      return InvalidArgument(std::string(name) + " has incorrect size, expected " + std::to_string(depth) + " was " +
                             ctx.input(i).DebugString());
    }
  }
  std::vector<Nudged> channels(depth);
  for (int64_t c = 0; c < depth; ++c) {
    const float min = ctx.input(1).data<float>()[c];
    const float max = ctx.input(2).data<float>()[c];
    if (min == 0.0f && max == 0.0f) {
      channels[c].all_zero = true;
    } else {
      channels[c] = Nudge(min, max, range.first, range.second);
    }
  }
  Tensor& y = ctx.allocate_output(0, DType::kFloat32, x.shape());
  for (int64_t i = 0; i < x.num_elements(); ++i) {
    const Nudged& n = channels[i % depth];
    y.data<float>()[i] = n.all_zero ? 0.0f : QuantizeByInverse(x.data<float>()[i], n);
  }
  return OkStatus();
}

}  // namespace

KILN_REGISTER_CPU_KERNEL("FakeQuantWithMinMaxArgs", FakeQuantArgsKernel);
KILN_REGISTER_CPU_KERNEL("FakeQuantWithMinMaxVars", FakeQuantVarsKernel);
KILN_REGISTER_CPU_KERNEL("FakeQuantWithMinMaxVarsPerChannel", FakeQuantVarsPerChannelKernel);

}  // namespace kiln::kernels::cpu
