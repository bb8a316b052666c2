// OnnxPool: ONNX MaxPool, AveragePool and LpPool over [N, C, spatial...] with 1 to 3 spatial dims.
// Window o of a dim starts at o * stride - pad_begin and takes kernel taps `dilation` apart. Padding
// never wins a max; averages divide by the taps inside the input, or (count_include_pad) inside the
// padded input, never counting the extra room ceil_mode adds; Lp sums |x|^p over the input taps.
#include <algorithm>
#include <cmath>
#include <limits>

#include "ir/ops/onnx_window_rules.h"
#include "kernels/cpu/fused_math.h"
#include "kernels/cpu/kernel_util.h"
#include "kernels/cpu/nn_util.h"
#include "kernels/cpu/pool_plan.h"
#include "runtime/kernel.h"

namespace kiln::kernels::cpu::nn {
namespace {

using runtime::KernelContext;

// Per output position of one spatial dim: the input positions its window reads, and how many of
// its taps lie inside the padded input.
struct DimTaps {
  int64_t in = 1;
  std::vector<std::vector<int64_t>> valid;
  std::vector<int64_t> padded_count;
};

DimTaps ComputeTaps(int64_t in, const ir::OnnxPoolDim& w, int64_t kernel, int64_t stride, int64_t dilation) {
  DimTaps t;
  t.in = in;
  t.valid.resize(w.out);
  t.padded_count.resize(w.out);
  for (int64_t o = 0; o < w.out; ++o) {
    for (int64_t j = 0; j < kernel; ++j) {
      const int64_t pos = o * stride - w.pad_begin + j * dilation;
      if (pos >= 0 && pos < in) t.valid[o].push_back(pos);
      if (pos >= -w.pad_begin && pos < in + w.pad_end) ++t.padded_count[o];
    }
  }
  return t;
}

template <typename T>
void Pool(const T* x, T* y, int64_t planes, const std::vector<DimTaps>& dims, const ir::OnnxPoolSpec& spec) {
  // Up to three spatial dims; missing ones are size 1 with a single tap.
  DimTaps unit;
  unit.valid = {{0}};
  unit.padded_count = {1};
  const DimTaps& d0 = dims[0];
  const DimTaps& d1 = dims.size() > 1 ? dims[1] : unit;
  const DimTaps& d2 = dims.size() > 2 ? dims[2] : unit;
  const int64_t in_plane = d0.in * d1.in * d2.in;
  const double p = static_cast<double>(spec.p);
  for (int64_t c = 0; c < planes; ++c) {
    const T* src = x + c * in_plane;
    for (size_t o0 = 0; o0 < d0.valid.size(); ++o0) {
      for (size_t o1 = 0; o1 < d1.valid.size(); ++o1) {
        for (size_t o2 = 0; o2 < d2.valid.size(); ++o2) {
          double acc = spec.mode == ir::OnnxPoolMode::kMax ? -std::numeric_limits<double>::infinity() : 0.0;
          bool nan = false;
          for (int64_t i0 : d0.valid[o0]) {
            for (int64_t i1 : d1.valid[o1]) {
              for (int64_t i2 : d2.valid[o2]) {
                const double v = static_cast<double>(src[(i0 * d1.in + i1) * d2.in + i2]);
                if (spec.mode == ir::OnnxPoolMode::kMax) {
                  nan |= std::isnan(v);
                  acc = std::max(acc, v);
                } else if (spec.mode == ir::OnnxPoolMode::kAvg) {
                  acc += v;
                } else {
                  acc += p == 2 ? v * v : std::pow(std::fabs(v), p);
                }
              }
            }
          }
          const size_t valid = d0.valid[o0].size() * d1.valid[o1].size() * d2.valid[o2].size();
          if (spec.mode == ir::OnnxPoolMode::kMax) {
            if (nan) acc = std::numeric_limits<double>::quiet_NaN();
            if constexpr (std::is_integral_v<T>) {
              if (valid == 0) acc = static_cast<double>(std::numeric_limits<T>::lowest());
            }
          } else if (spec.mode == ir::OnnxPoolMode::kAvg) {
            const int64_t count = spec.count_include_pad
                                      ? d0.padded_count[o0] * d1.padded_count[o1] * d2.padded_count[o2]
                                      : static_cast<int64_t>(valid);
            acc /= static_cast<double>(count);
          } else {
            acc = p == 1 ? acc : p == 2 ? std::sqrt(acc) : std::pow(acc, 1.0 / p);
          }
          *y++ = static_cast<T>(acc);
        }
      }
    }
  }
}

std::string ModeName(ir::OnnxPoolMode mode) {
  return mode == ir::OnnxPoolMode::kMax ? "max" : mode == ir::OnnxPoolMode::kAvg ? "avg" : "lp";
}

Status OnnxPoolImpl(KernelContext& ctx) {
  KILN_ASSIGN_OR_RETURN(OnnxPoolPlan p, PlanOnnxPool(ctx));
  const ir::OnnxPoolSpec& spec = p.spec;
  const int rank = ctx.input(0).rank();
  // The pool runs planar; the channels-last form goes through a channels-first copy.
  const Tensor x = spec.channels_last ? ChannelsLastToFirst(ctx.input(0)) : ctx.input(0);
  Shape out_shape = p.out_shape;
  if (spec.channels_last) {
    out_shape = {p.out_shape[0], p.out_shape[rank - 1]};
    for (int i = 1; i < rank - 1; ++i) out_shape.push_back(p.out_shape[i]);
  }
  std::vector<DimTaps> taps;
  for (size_t i = 0; i < p.dims.size(); ++i) {
    taps.push_back(ComputeTaps(x.dim(2 + static_cast<int>(i)), p.dims[i], spec.kernel[i], spec.strides[i],
                               spec.dilations[i]));
  }
  Tensor planar = Tensor::Empty(x.dtype(), out_shape);
  const unsigned ints = spec.mode == ir::OnnxPoolMode::kMax ? kSmallInts : kNoInts;
  KILN_RETURN_IF_ERROR(DispatchReal(x.dtype(), ints, "OnnxPool mode " + ModeName(spec.mode), [&](auto tag) {
    using T = typename decltype(tag)::type;
    Pool<T>(x.data<T>(), planar.data<T>(), x.dim(0) * x.dim(1), taps, spec);
    return OkStatus();
  }));
  Tensor out = spec.channels_last ? ChannelsFirstToLast(planar) : std::move(planar);
  KILN_RETURN_IF_ERROR(fused::ApplyPoolEpilogue(ctx, spec.channel_axis(), out));
  ctx.set_output(0, std::move(out));
  return OkStatus();
}

Status OnnxPoolKernel(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(ir::ParsePoolEpilogue(ctx.attrs(), ctx.num_inputs()).status());
  return RunHalfInFloat32(ctx, OnnxPoolImpl);
}

}  // namespace

StatusOr<OnnxPoolPlan> PlanOnnxPool(const KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  OnnxPoolPlan p;
  KILN_ASSIGN_OR_RETURN(p.spec, ir::ParseOnnxPoolSpec(ctx.attrs()));
  const int spatial = static_cast<int>(p.spec.kernel.size());
  if (x.rank() != spatial + 2) {
    return InvalidArgument("X must have rank " + std::to_string(spatial + 2) + " (" +
                           (p.spec.channels_last ? "[N, spatial..., C]" : "[N, C, spatial...]") +
                           ") for kernel_shape " + ShapeToString(p.spec.kernel) + ", got " + x.DebugString());
  }
  p.out_shape = x.shape();
  for (int i = 0; i < spatial; ++i) {
    const int axis = p.spec.spatial_axis(i);
    KILN_ASSIGN_OR_RETURN(ir::OnnxPoolDim w, ir::ComputeOnnxPoolDim(p.spec, i, x.dim(axis)));
    p.out_shape[axis] = w.out;
    p.dims.push_back(w);
  }
  return p;
}

KILN_REGISTER_CPU_KERNEL("OnnxPool", OnnxPoolKernel);

}  // namespace kiln::kernels::cpu::nn
