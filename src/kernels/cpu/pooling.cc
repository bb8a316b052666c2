// MaxPool, MaxPoolV2, AvgPool on NHWC (NCHW by transposing). Padding never contributes: max pools
// ignore it and average pools divide by the number of input elements in the window, as TF does.
#include <algorithm>
#include <limits>

#include "kernels/cpu/conv_util.h"
#include "kernels/cpu/fused_math.h"
#include "kernels/cpu/kernel_util.h"
#include "kernels/cpu/nn_util.h"
#include "kernels/cpu/pool_plan.h"
#include "runtime/kernel.h"

namespace kiln::kernels::cpu::nn {
namespace {

using runtime::KernelContext;

template <typename T, bool kMax>
void RunPool(const T* input, T* output, int64_t batch, const ir::WindowDim& h, const ir::WindowDim& w,
             int64_t channels) {
  for (int64_t n = 0; n < batch; ++n) {
    const T* img = input + n * h.in * w.in * channels;
    for (int64_t oh = 0; oh < h.out; ++oh) {
      const int64_t h0 = std::max<int64_t>(oh * h.stride - h.pad_before, 0);
      const int64_t h1 = std::min<int64_t>(oh * h.stride - h.pad_before + h.kernel, h.in);
      for (int64_t ow = 0; ow < w.out; ++ow) {
        const int64_t w0 = std::max<int64_t>(ow * w.stride - w.pad_before, 0);
        const int64_t w1 = std::min<int64_t>(ow * w.stride - w.pad_before + w.kernel, w.in);
        T* o = output + ((n * h.out + oh) * w.out + ow) * channels;
        std::fill(o, o + channels, kMax ? std::numeric_limits<T>::lowest() : T(0));
        for (int64_t ih = h0; ih < h1; ++ih) {
          for (int64_t iw = w0; iw < w1; ++iw) {
            const T* px = img + (ih * w.in + iw) * channels;
            if constexpr (kMax) {
              for (int64_t c = 0; c < channels; ++c) o[c] = px[c] > o[c] ? px[c] : o[c];
            } else {
              for (int64_t c = 0; c < channels; ++c) o[c] += px[c];
            }
          }
        }
        if constexpr (!kMax) {
          const int64_t count = std::max<int64_t>((h1 - h0) * (w1 - w0), 1);
          const T scale = T(1) / static_cast<T>(count);
          for (int64_t c = 0; c < channels; ++c) o[c] *= scale;
        }
      }
    }
  }
}

Status PoolTensors(KernelContext& ctx, bool is_max) {
  KILN_ASSIGN_OR_RETURN(TfPoolPlan p, PlanTfPool(ctx));
  const Tensor x = p.channels_first ? ChannelsFirstToLast(ctx.input(0)) : ctx.input(0);
  const std::vector<ir::WindowDim>& dims = p.dims;
  Tensor out(x.dtype(), WindowOutputShape(x.dim(0), dims, x.dim(3)));
  const unsigned ints = is_max ? (kInt32 | kInt64 | kSmallInts) : kNoInts;
  KILN_RETURN_IF_ERROR(DispatchReal(x.dtype(), ints, ctx.node().op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (is_max) {
      RunPool<T, true>(x.data<T>(), out.data<T>(), x.dim(0), dims[0], dims[1], x.dim(3));
    } else {
      RunPool<T, false>(x.data<T>(), out.data<T>(), x.dim(0), dims[0], dims[1], x.dim(3));
    }
    return OkStatus();
  }));
  Tensor result = p.channels_first ? ChannelsLastToFirst(out) : out;
  if (ctx.node().op == "MaxPool") KILN_RETURN_IF_ERROR(fused::ApplyPoolEpilogue(ctx, p.channels_first ? 1 : 3, result));
  ctx.set_output(0, std::move(result));
  return OkStatus();
}

Status MaxPool(KernelContext& ctx) {
  return RunHalfInFloat32(ctx, [](KernelContext& c) { return PoolTensors(c, true); });
}
Status AvgPool(KernelContext& ctx) {
  return RunHalfInFloat32(ctx, [](KernelContext& c) { return PoolTensors(c, false); });
}

}  // namespace

StatusOr<TfPoolPlan> PlanTfPool(const KernelContext& ctx) {
  const bool window_inputs = ctx.node().op == "MaxPoolV2";
  if (ctx.node().op == "MaxPool") {
    KILN_RETURN_IF_ERROR(ir::ParsePoolEpilogue(ctx.attrs(), ctx.num_inputs()).status());
  } else {
    KILN_RETURN_IF_ERROR(ctx.ExpectInputs(window_inputs ? 3 : 1, window_inputs ? 3 : 1));
  }
  const Tensor& input = ctx.input(0);
  if (input.rank() != 4) return InvalidArgument("pooling input must have rank 4, got " + input.DebugString());
  ir::AttrMap attrs = ctx.attrs();
  if (window_inputs) {
    KILN_ASSIGN_OR_RETURN(std::vector<int64_t> ksize, InputInt64s(ctx, 1));
    KILN_ASSIGN_OR_RETURN(std::vector<int64_t> strides, InputInt64s(ctx, 2));
    attrs.Set("ksize", ksize);
    attrs.Set("strides", strides);
  }
  KILN_ASSIGN_OR_RETURN(ir::WindowSpec spec, ir::ParseWindowSpec(attrs, 2));
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> ksize_full, attrs.Get<std::vector<int64_t>>("ksize"));
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> ksize, ir::SpatialEntries(ksize_full, 2, spec.channels_first, "ksize"));
  TfPoolPlan p;
  p.channels_first = spec.channels_first;
  const Shape& s = input.shape();
  p.last = spec.channels_first ? Shape{s[0], s[2], s[3], s[1]} : s;
  KILN_ASSIGN_OR_RETURN(p.dims, SpatialWindows(p.last, ksize, spec));
  for (const auto& d : p.dims) {
    if (d.pad_before >= d.kernel || d.pad_after >= d.kernel) {
      return InvalidArgument("padding " + std::to_string(std::max(d.pad_before, d.pad_after)) +
                             " must be smaller than the pooling window " + std::to_string(d.kernel));
    }
  }
  p.out_shape = WindowOutputShape(p.last[0], p.dims, p.last[3]);
  if (spec.channels_first) p.out_shape = {p.out_shape[0], p.out_shape[3], p.out_shape[1], p.out_shape[2]};
  return p;
}

KILN_REGISTER_CPU_KERNEL("MaxPool", MaxPool);
KILN_REGISTER_CPU_KERNEL("MaxPoolV2", MaxPool);
KILN_REGISTER_CPU_KERNEL("AvgPool", AvgPool);

}  // namespace kiln::kernels::cpu::nn
