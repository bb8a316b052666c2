// DepthwiseConv2dNative: a direct loop over output pixels; the innermost loop runs over the
// contiguous channel (x multiplier) vector of one input pixel and one filter tap.
#include "kernels/cpu/conv_plan.h"
#include "kernels/cpu/conv_util.h"
#include "kernels/cpu/nn_util.h"
#include "runtime/kernel.h"

namespace kiln::kernels::cpu::nn {
namespace {

using runtime::KernelContext;

template <typename T>
void RunDepthwise(const T* input, const T* filter, T* output, int64_t batch, const ir::WindowDim& h,
                  const ir::WindowDim& w, int64_t channels, int64_t multiplier) {
  const int64_t out_c = channels * multiplier;
  for (int64_t n = 0; n < batch; ++n) {
    const T* img = input + n * h.in * w.in * channels;
    for (int64_t oh = 0; oh < h.out; ++oh) {
      for (int64_t ow = 0; ow < w.out; ++ow) {
        T* o = output + ((n * h.out + oh) * w.out + ow) * out_c;
        for (int64_t kh = 0; kh < h.kernel; ++kh) {
          const int64_t ih = oh * h.stride - h.pad_before + kh * h.dilation;
          if (ih < 0 || ih >= h.in) continue;
          for (int64_t kw = 0; kw < w.kernel; ++kw) {
            const int64_t iw = ow * w.stride - w.pad_before + kw * w.dilation;
            if (iw < 0 || iw >= w.in) continue;
            const T* px = img + (ih * w.in + iw) * channels;
            const T* f = filter + (kh * w.kernel + kw) * out_c;
            if (multiplier == 1) {
              for (int64_t c = 0; c < channels; ++c) o[c] += px[c] * f[c];
            } else {
              for (int64_t c = 0; c < channels; ++c) {
                const T v = px[c];
                for (int64_t m = 0; m < multiplier; ++m) o[c * multiplier + m] += v * f[c * multiplier + m];
              }
            }
          }
        }
      }
    }
  }
}

Status DepthwiseTensors(KernelContext& ctx) {
  KILN_ASSIGN_OR_RETURN(DepthwisePlan p, PlanDepthwise(ctx));
  const Tensor x = p.channels_first ? ChannelsFirstToLast(ctx.input(0)) : ctx.input(0);
  const Tensor& filter = ctx.input(1);
  Tensor out(x.dtype(), WindowOutputShape(x.dim(0), p.dims, p.channels * p.multiplier));
  KILN_RETURN_IF_ERROR(DispatchReal(x.dtype(), kNoInts, "DepthwiseConv2dNative", [&](auto tag) {
    using T = typename decltype(tag)::type;
    RunDepthwise<T>(x.data<T>(), filter.data<T>(), out.data<T>(), x.dim(0), p.dims[0], p.dims[1], p.channels,
                    p.multiplier);
    return OkStatus();
  }));
  ctx.set_output(0, p.channels_first ? ChannelsLastToFirst(out) : out);
  return OkStatus();
}

}  // namespace

StatusOr<DepthwisePlan> PlanDepthwise(const KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  const Tensor& input = ctx.input(0);
  const Tensor& filter = ctx.input(1);
  if (input.dtype() != filter.dtype()) {
    return InvalidArgument("input and filter dtypes differ: " + input.DebugString() + " and " + filter.DebugString());
  }
  if (input.rank() != 4 || filter.rank() != 4) {
    return InvalidArgument("DepthwiseConv2dNative expects 4-D input and filter, got " + input.DebugString() + " and " +
                           filter.DebugString());
  }
  KILN_ASSIGN_OR_RETURN(ir::WindowSpec spec, ir::ParseWindowSpec(ctx.attrs(), 2));
  DepthwisePlan p;
  p.channels_first = spec.channels_first;
  const Shape& s = input.shape();
  p.last = spec.channels_first ? Shape{s[0], s[2], s[3], s[1]} : s;
  p.channels = p.last[3];
  p.multiplier = filter.dim(3);
  if (filter.dim(2) != p.channels) {
    return InvalidArgument("input depth " + std::to_string(p.channels) + " does not match the filter's depth " +
                           std::to_string(filter.dim(2)) + " (input " + input.DebugString() + ", filter " +
                           filter.DebugString() + ")");
  }
  KILN_ASSIGN_OR_RETURN(p.dims, SpatialWindows(p.last, {filter.dim(0), filter.dim(1)}, spec));
  p.out_shape = WindowOutputShape(p.last[0], p.dims, p.channels * p.multiplier);
  if (spec.channels_first) p.out_shape = {p.out_shape[0], p.out_shape[3], p.out_shape[1], p.out_shape[2]};
  return p;
}

KILN_REGISTER_CPU_KERNEL("DepthwiseConv2dNative",
                         [](KernelContext& ctx) { return RunHalfInFloat32(ctx, DepthwiseTensors); });

}  // namespace kiln::kernels::cpu::nn
