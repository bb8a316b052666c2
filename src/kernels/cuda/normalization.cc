// Registration of FusedBatchNorm{,V2,V3} on the GPU, with the CPU kernel's checks.
#include "kernels/cuda/batch_norm.h"
#include "kernels/cuda/kernel_util.h"

namespace kiln::cuda {
namespace {

using runtime::KernelContext;

Status FusedBatchNorm(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(5, 5));
  KILN_ASSIGN_OR_RETURN(float epsilon, ctx.Attr<float>("epsilon"));
  KILN_ASSIGN_OR_RETURN(float factor, ctx.Attr<float>("exponential_avg_factor"));
  KILN_ASSIGN_OR_RETURN(bool is_training, ctx.Attr<bool>("is_training"));
  KILN_ASSIGN_OR_RETURN(std::string format, ctx.attrs().GetOr<std::string>("data_format", "NHWC"));
  const Tensor& x = ctx.input(0);
  const DType t = x.dtype(), u = ctx.input(1).dtype();
  if (t != DType::kFloat32 && t != DType::kFloat16 && t != DType::kBFloat16) {
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
  BatchNormShape s;
  s.channels = x.dim(channels_first ? 1 : rank - 1);
  s.outer = channels_first ? x.dim(0) : x.num_elements() / std::max<int64_t>(s.channels, 1);
  s.inner = channels_first ? x.num_elements() / std::max<int64_t>(s.outer * s.channels, 1) : 1;
  if (s.channels == 0) s.outer = s.inner = 0;

  const bool stats_needed = !is_training || factor != 1.0f;
  static const char* kNames[] = {"x", "scale", "offset", "mean", "variance"};
  for (int i = 1; i < 5; ++i) {
    const Tensor& p = ctx.input(i);
    if (p.dtype() != u) return InvalidArgument(std::string(kNames[i]) + " dtype differs from scale's: " + p.DebugString());
    if (p.rank() != 1) return InvalidArgument(std::string(kNames[i]) + " must be a vector, got " + p.DebugString());
    if (i >= 3 && !stats_needed && p.dim(0) == 0) continue;
    if (p.dim(0) != s.channels) {
      return InvalidArgument(std::string(kNames[i]) + " has " + std::to_string(p.dim(0)) + " elements but x " +
                             x.DebugString() + " has " + std::to_string(s.channels) + " channels");
    }
  }
  KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, t, x.shape()));
  BatchNormParams p;
  p.training = is_training;
  p.epsilon = epsilon;
  p.factor = factor;
  p.scale = ctx.input(1).raw_data();
  p.offset = ctx.input(2).raw_data();
  p.mean = ctx.input(3).raw_data();
  p.variance = ctx.input(4).raw_data();
  void** outs[] = {&p.out_mean, &p.out_variance, &p.reserve_1, &p.reserve_2};
  for (int i = 0; i < 4; ++i) {
    KILN_ASSIGN_OR_RETURN(Tensor * o, ctx.AllocateOutput(1 + i, u, {s.channels}));
    *outs[i] = o->raw_data();
  }
  if (ctx.num_outputs() > 5) {
    KILN_ASSIGN_OR_RETURN(Tensor * r, ctx.AllocateOutput(5, u, {}));
    KILN_CUDA_RETURN_IF_ERROR(cudaMemsetAsync(r->raw_data(), 0, r->byte_size(), StreamOf(ctx)));
  }
  KILN_ASSIGN_OR_RETURN(Tensor scratch, Ctx(ctx).Allocate(DType::kFloat32, {4 * std::max<int64_t>(s.channels, 1)}));
  KILN_CUDA_RETURN_IF_ERROR(
      LaunchBatchNorm(t, u, s, p, x.raw_data(), y->raw_data(), scratch.data<float>(), StreamOf(ctx)));
  return OkStatus();
}

runtime::KernelOptions Options() {
  return {.dtypes = {DType::kFloat32, DType::kFloat16, DType::kBFloat16}};
}

}  // namespace

KILN_REGISTER_CUDA_KERNEL("FusedBatchNorm", FusedBatchNorm, Options());
KILN_REGISTER_CUDA_KERNEL("FusedBatchNormV2", FusedBatchNorm, Options());
KILN_REGISTER_CUDA_KERNEL("FusedBatchNormV3", FusedBatchNorm, Options());

}  // namespace kiln::cuda
