// Conv2DBackpropInput (the transposed convolution Keras' Conv2DTranspose emits): one GEMM turns
// each out_backprop pixel into its patch contributions, and col2im scatters them into the input.
#include <algorithm>

#include "kernels/cpu/conv_plan.h"
#include "kernels/cpu/conv_util.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/kernel_util.h"
#include "kernels/cpu/nn_util.h"
#include "runtime/kernel.h"

namespace kiln::kernels::cpu::nn {
namespace {

using runtime::KernelContext;

template <typename T>
void RunConvTranspose(const T* grad, const T* filter, T* dx, int64_t batch, const ir::WindowDim& h,
                      const ir::WindowDim& w, int64_t in_c, int64_t out_c) {
  const int64_t rows = batch * h.out * w.out;
  if (h.kernel == 1 && w.kernel == 1 && h.stride == 1 && w.stride == 1 && h.pad_before == 0 && w.pad_before == 0 &&
      h.out == h.in && w.out == w.in) {
    Gemm<T>(false, true, rows, in_c, out_c, grad, out_c, filter, out_c, dx, in_c);
    return;
  }
  const int64_t patch = h.kernel * w.kernel * in_c;
  if (patch == 0) return;
  const int64_t block = std::max<int64_t>(std::min<int64_t>(rows, (int64_t{8} << 20) / sizeof(T) / patch), 32);
  std::vector<T> col(static_cast<size_t>(std::min(block, rows) * patch));
  for (int64_t r0 = 0; r0 < rows; r0 += block) {
    const int64_t r1 = std::min(rows, r0 + block);
    // col[r, (kh, kw, c)] = sum_j grad[r, j] * filter[kh, kw, c, j]
    Gemm<T>(false, true, r1 - r0, patch, out_c, grad + r0 * out_c, out_c, filter, out_c, col.data(), patch);
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t ow = r % w.out, oh = (r / w.out) % h.out, n = r / (w.out * h.out);
      const T* src = col.data() + (r - r0) * patch;
      for (int64_t kh = 0; kh < h.kernel; ++kh) {
        const int64_t ih = oh * h.stride - h.pad_before + kh * h.dilation;
        for (int64_t kw = 0; kw < w.kernel; ++kw, src += in_c) {
          const int64_t iw = ow * w.stride - w.pad_before + kw * w.dilation;
          if (ih < 0 || ih >= h.in || iw < 0 || iw >= w.in) continue;
          T* dst = dx + ((n * h.in + ih) * w.in + iw) * in_c;
          for (int64_t c = 0; c < in_c; ++c) dst[c] += src[c];
        }
      }
    }
  }
}

StatusOr<Tensor> ConvTransposeTensors(const ConvTransposePlan& p, const Tensor& filter, const Tensor& grad_in) {
  const Tensor grad = p.channels_first ? ChannelsFirstToLast(grad_in) : grad_in;
  if (!FitsBlas(filter.dim(0) * filter.dim(1) * p.in_c) || !FitsBlas(p.out_c) ||
      !FitsBlas(grad.num_elements() / std::max<int64_t>(p.out_c, 1))) {
    return InvalidArgument("Conv2DBackpropInput operands are too large");
  }
  Tensor dx(grad.dtype(), p.in_shape);
  KILN_RETURN_IF_ERROR(DispatchReal(grad.dtype(), kInt32, "Conv2DBackpropInput", [&](auto tag) {
    using T = typename decltype(tag)::type;
    RunConvTranspose<T>(grad.data<T>(), filter.data<T>(), dx.data<T>(), p.in_shape[0], p.dims[0], p.dims[1], p.in_c,
                        p.out_c);
    return OkStatus();
  }));
  return p.channels_first ? ChannelsLastToFirst(dx) : dx;
}

Status Conv2DBackpropInput(KernelContext& ctx) {
  KILN_ASSIGN_OR_RETURN(ConvTransposePlan p, PlanConvTranspose(ctx));
  const Tensor& filter = ctx.input(1);
  const Tensor& grad = ctx.input(2);
  if (IsHalfLike(filter.dtype())) {
    KILN_ASSIGN_OR_RETURN(Tensor dx, ConvTransposeTensors(p, ToFloat32(filter), ToFloat32(grad)));
    ctx.set_output(0, FromFloat32(dx, filter.dtype()));
    return OkStatus();
  }
  KILN_ASSIGN_OR_RETURN(Tensor dx, ConvTransposeTensors(p, filter, grad));
  ctx.set_output(0, std::move(dx));
  return OkStatus();
}

}  // namespace

StatusOr<ConvTransposePlan> PlanConvTranspose(const KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(3, 3));
  const Tensor& filter = ctx.input(1);
  const Tensor& grad = ctx.input(2);
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> sizes, InputInt64s(ctx, 0));
  if (ctx.input(0).rank() != 1 || (sizes.size() != 4 && sizes.size() != 2)) {
    return InvalidArgument("input_sizes must be a vector of 2 or 4 elements, got " + ctx.input(0).DebugString());
  }
  if (filter.rank() != 4 || grad.rank() != 4) {
    return InvalidArgument("Conv2DBackpropInput expects 4-D filter and out_backprop, got " + filter.DebugString() +
                           " and " + grad.DebugString());
  }
  if (filter.dtype() != grad.dtype()) {
    return InvalidArgument("filter and out_backprop dtypes differ: " + filter.DebugString() + " and " +
                           grad.DebugString());
  }
  KILN_ASSIGN_OR_RETURN(ir::WindowSpec spec, ir::ParseWindowSpec(ctx.attrs(), 2));
  ConvTransposePlan p;
  p.channels_first = spec.channels_first;
  const Shape& g = grad.shape();
  const Shape grad_last = spec.channels_first ? Shape{g[0], g[2], g[3], g[1]} : g;
  if (sizes.size() == 4) {
    p.in_shape = spec.channels_first ? Shape{sizes[0], sizes[2], sizes[3], sizes[1]} : sizes;
  } else {
    p.in_shape = {grad_last[0], sizes[0], sizes[1], filter.dim(2)};
  }
  for (int64_t d : p.in_shape) {
    if (d < 0) return InvalidArgument("input_sizes must be non-negative, got " + ShapeToString(sizes));
  }
  p.in_c = p.in_shape[3];
  p.out_c = filter.dim(3);
  if (filter.dim(2) != p.in_c) {
    return InvalidArgument("input depth " + std::to_string(p.in_c) + " from input_sizes does not match the filter's " +
                           "input depth " + std::to_string(filter.dim(2)) +
                           " (grouped transposed convolution is not supported)");
  }
  if (grad_last[3] != p.out_c) {
    return InvalidArgument("out_backprop depth " + std::to_string(grad_last[3]) + " does not match the filter's " +
                           "output depth " + std::to_string(p.out_c));
  }
  KILN_ASSIGN_OR_RETURN(p.dims, SpatialWindows(p.in_shape, {filter.dim(0), filter.dim(1)}, spec));
  if (grad_last[0] != p.in_shape[0] || grad_last[1] != p.dims[0].out || grad_last[2] != p.dims[1].out) {
    return InvalidArgument("out_backprop " + grad.DebugString() + " does not match the convolution of input " +
                           ShapeToString(sizes) + " with filter " + filter.DebugString() + " (expected spatial size " +
                           std::to_string(p.dims[0].out) + "x" + std::to_string(p.dims[1].out) + ")");
  }
  const Shape& in = p.in_shape;
  p.dx_shape = spec.channels_first ? Shape{in[0], in[3], in[1], in[2]} : in;
  return p;
}

KILN_REGISTER_CPU_KERNEL("Conv2DBackpropInput", Conv2DBackpropInput);

}  // namespace kiln::kernels::cpu::nn
