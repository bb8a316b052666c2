// FusedBatchNorm, FusedBatchNormV2, FusedBatchNormV3 in float32. Inference normalises with the given
// mean/variance; training with the batch statistics over every axis but the channel axis (tf_keras'
// LayerNormalization relies on this with empty mean/variance inputs).
#include <cmath>

#include "kernels/cpu/kernel_util.h"
#include "kernels/cpu/nn_util.h"
#include "kernels/cpu/normalization_plan.h"
#include "runtime/kernel.h"

namespace kiln::kernels::cpu::nn {
namespace {

using runtime::KernelContext;

// x viewed as [outer, channels, inner]: NHWC has inner 1, NCHW has outer N.
struct Layout {
  int64_t outer = 0, channels = 0, inner = 0;
};

void ChannelStats(const float* x, const Layout& l, std::vector<float>& mean, std::vector<float>& var) {
  std::vector<double> sum(l.channels, 0.0), sq(l.channels, 0.0);
  for (int64_t o = 0; o < l.outer; ++o) {
    for (int64_t c = 0; c < l.channels; ++c) {
      const float* p = x + (o * l.channels + c) * l.inner;
      double s = 0;
      for (int64_t i = 0; i < l.inner; ++i) s += p[i];
      sum[c] += s;
    }
  }
  const double count = static_cast<double>(l.outer * l.inner);
  for (int64_t c = 0; c < l.channels; ++c) mean[c] = count > 0 ? static_cast<float>(sum[c] / count) : 0.0f;
  // A second pass around the mean avoids the cancellation of E[x^2] - E[x]^2.
  for (int64_t o = 0; o < l.outer; ++o) {
    for (int64_t c = 0; c < l.channels; ++c) {
      const float* p = x + (o * l.channels + c) * l.inner;
      double s = 0;
      for (int64_t i = 0; i < l.inner; ++i) {
        const double d = p[i] - mean[c];
        s += d * d;
      }
      sq[c] += s;
    }
  }
  for (int64_t c = 0; c < l.channels; ++c) var[c] = count > 0 ? static_cast<float>(sq[c] / count) : 0.0f;
}

Tensor Vector(const std::vector<float>& v, DType dtype) {
  return FromFloat32(Tensor::FromVector<float>({static_cast<int64_t>(v.size())}, v), dtype);
}

Status FusedBatchNorm(KernelContext& ctx) {
  KILN_ASSIGN_OR_RETURN(BatchNormPlan plan, PlanBatchNorm(ctx));
  const Tensor& x_in = ctx.input(0);
  const DType t = x_in.dtype(), u = ctx.input(1).dtype();
  Layout l{plan.outer, plan.channels, plan.inner};
  const bool is_training = plan.training;
  const float epsilon = plan.epsilon, factor = plan.factor;
  std::vector<std::vector<float>> params(5);
  for (int i = 1; i < 5; ++i) {
    if (i >= 3 && !plan.stats_needed && ctx.input(i).dim(0) == 0) continue;
    params[i] = ctx.input(i).ToFloatVector();
  }
  const std::vector<float>& scale = params[1];
  const std::vector<float>& offset = params[2];

  const Tensor x = ToFloat32(x_in);
  std::vector<float> mean(l.channels), var(l.channels);
  if (is_training) {
    ChannelStats(x.data<float>(), l, mean, var);
  } else {
    mean = params[3];
    var = params[4];
  }
  // y = x * a + b with per-channel a, b.
  std::vector<float> a(l.channels), b(l.channels);
  for (int64_t c = 0; c < l.channels; ++c) {
    a[c] = scale[c] / std::sqrt(var[c] + epsilon);
    b[c] = offset[c] - mean[c] * a[c];
  }
  Tensor y(DType::kFloat32, x.shape());
  const float* xd = x.data<float>();
  float* yd = y.data<float>();
  for (int64_t o = 0; o < l.outer; ++o) {
    for (int64_t c = 0; c < l.channels; ++c) {
      const int64_t base = (o * l.channels + c) * l.inner;
      if (l.inner == 1) {
        yd[base] = xd[base] * a[c] + b[c];
      } else {
        for (int64_t i = 0; i < l.inner; ++i) yd[base + i] = xd[base + i] * a[c] + b[c];
      }
    }
  }
  ctx.set_output(0, FromFloat32(y, t));

  std::vector<float> out_mean = mean, out_var = var, reserve_1(l.channels, 0.0f), reserve_2(l.channels, 0.0f);
  if (is_training) {
    // Running statistics use the unbiased variance; the reserve spaces keep the batch's own.
    const int64_t n = l.outer * l.inner;
    const float correction = n > 1 ? static_cast<float>(n) / static_cast<float>(n - 1) : 1.0f;
    for (int64_t c = 0; c < l.channels; ++c) {
      reserve_1[c] = mean[c];
      reserve_2[c] = var[c];
      out_var[c] = var[c] * correction;
      if (factor != 1.0f) {
        out_mean[c] = (1.0f - factor) * params[3][c] + factor * mean[c];
        out_var[c] = (1.0f - factor) * params[4][c] + factor * out_var[c];
      }
    }
  }
  ctx.set_output(1, Vector(out_mean, u));
  ctx.set_output(2, Vector(out_var, u));
  ctx.set_output(3, Vector(reserve_1, u));
  ctx.set_output(4, Vector(reserve_2, u));
  if (ctx.num_outputs() > 5) ctx.set_output(5, FromFloat32(Tensor(DType::kFloat32, {}), u));
  return OkStatus();
}

}  // namespace

StatusOr<BatchNormPlan> PlanBatchNorm(const KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(5, 5));
  BatchNormPlan p;
  KILN_ASSIGN_OR_RETURN(p.epsilon, ctx.Attr<float>("epsilon"));
  KILN_ASSIGN_OR_RETURN(p.factor, ctx.Attr<float>("exponential_avg_factor"));
  KILN_ASSIGN_OR_RETURN(p.training, ctx.Attr<bool>("is_training"));
  KILN_ASSIGN_OR_RETURN(std::string format, ctx.attrs().GetOr<std::string>("data_format", "NHWC"));
  const Tensor& x = ctx.input(0);
  const DType t = x.dtype(), u = ctx.input(1).dtype();
  if (t != DType::kFloat32 && !IsHalfLike(t)) {
    return Unimplemented(ctx.node().op + " does not support x of dtype " + std::string(DTypeName(t)));
  }
  if (u != DType::kFloat32 && u != DType::kBFloat16) {
    return Unimplemented(ctx.node().op + " does not support scale of dtype " + std::string(DTypeName(u)));
  }
  const bool channels_first = format == "NCHW" || format == "NCDHW";
  const int rank = format == "NDHWC" || format == "NCDHW" ? 5 : 4;
  if (format != "NHWC" && format != "NCHW" && rank != 5) return InvalidArgument("unsupported data_format " + format);
  if (x.rank() != rank) {
    return InvalidArgument("x must have rank " + std::to_string(rank) + " for data_format " + format + ", got " +
                           x.DebugString());
  }
  p.channels = x.dim(channels_first ? 1 : rank - 1);
  p.outer = channels_first ? x.dim(0) : x.num_elements() / std::max<int64_t>(p.channels, 1);
  p.inner = channels_first ? x.num_elements() / std::max<int64_t>(p.outer * p.channels, 1) : 1;
  if (p.channels == 0) p.outer = p.inner = 0;
  p.stats_needed = !p.training || p.factor != 1.0f;
  static const char* kNames[] = {"x", "scale", "offset", "mean", "variance"};
  for (int i = 1; i < 5; ++i) {
    const Tensor& param = ctx.input(i);
    if (param.dtype() != u) {
      return InvalidArgument(std::string(kNames[i]) + " dtype differs from scale's: " + param.DebugString());
    }
    if (param.rank() != 1) return InvalidArgument(std::string(kNames[i]) + " must be a vector, got " + param.DebugString());
    if (i >= 3 && !p.stats_needed && param.dim(0) == 0) continue;
    if (param.dim(0) != p.channels) {
      return InvalidArgument(std::string(kNames[i]) + " has " + std::to_string(param.dim(0)) + " elements but x " +
                             x.DebugString() + " has " + std::to_string(p.channels) + " channels");
    }
  }
  return p;
}

KILN_REGISTER_CPU_KERNEL("FusedBatchNorm", FusedBatchNorm);
KILN_REGISTER_CPU_KERNEL("FusedBatchNormV2", FusedBatchNorm);
KILN_REGISTER_CPU_KERNEL("FusedBatchNormV3", FusedBatchNorm);

}  // namespace kiln::kernels::cpu::nn
