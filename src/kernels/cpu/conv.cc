// Conv2D, Conv3D and Conv (1 to 3 spatial dims, grouped): im2col over a block of output positions
// followed by one GEMM per group; 1x1 stride-1 convolutions are a single GEMM on the input.
#include <algorithm>
#include <cstring>

#include "kernels/cpu/conv_plan.h"
#include "kernels/cpu/conv_util.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/kernel_util.h"
#include "kernels/cpu/nn_util.h"
#include "runtime/kernel.h"

namespace kiln::kernels::cpu::nn {
namespace {

using runtime::KernelContext;

// A convolution on a channels-last input with batch dims flattened, padded to 3 spatial dims
// (missing leading dims have size 1).
struct ConvProblem {
  int64_t batch = 0;
  int64_t in[3], out[3], kernel[3], stride[3], dilation[3], pad[3];
  int64_t in_c = 0, out_c = 0, groups = 1;
  int64_t group_in() const { return in_c / groups; }
  int64_t group_out() const { return out_c / groups; }
  int64_t patch() const { return kernel[0] * kernel[1] * kernel[2] * group_in(); }
  int64_t rows() const { return batch * out[0] * out[1] * out[2]; }
};

ConvProblem MakeProblem(int64_t batch, const std::vector<ir::WindowDim>& dims, int64_t in_c, int64_t out_c,
                        int64_t groups) {
  ConvProblem p;
  p.batch = batch;
  p.in_c = in_c;
  p.out_c = out_c;
  p.groups = groups;
  const int offset = 3 - static_cast<int>(dims.size());
  for (int i = 0; i < 3; ++i) {
    const bool real = i >= offset;
    const ir::WindowDim w = real ? dims[i - offset] : ir::WindowDim{1, 1, 1, 1, 0, 0, 1};
    p.in[i] = w.in;
    p.out[i] = w.out;
    p.kernel[i] = w.kernel;
    p.stride[i] = w.stride;
    p.dilation[i] = w.dilation;
    p.pad[i] = w.pad_before;
  }
  return p;
}

// Rows [r0, r1) of the patch matrix for group g: one row per output position, one column per
// (kernel offset, input channel of the group); padding reads as zero.
template <typename T>
void Im2Col(const T* input, const ConvProblem& p, int64_t g, int64_t r0, int64_t r1, T* col) {
  const int64_t cg = p.group_in();
  const int64_t image = p.in[0] * p.in[1] * p.in[2] * p.in_c;
  for (int64_t r = r0; r < r1; ++r) {
    int64_t rem = r;
    const int64_t ow = rem % p.out[2];
    rem /= p.out[2];
    const int64_t oh = rem % p.out[1];
    rem /= p.out[1];
    const int64_t od = rem % p.out[0];
    const int64_t n = rem / p.out[0];
    const T* img = input + n * image + g * cg;
    T* dst = col + (r - r0) * p.patch();
    for (int64_t kd = 0; kd < p.kernel[0]; ++kd) {
      const int64_t id = od * p.stride[0] - p.pad[0] + kd * p.dilation[0];
      const bool d_ok = id >= 0 && id < p.in[0];
      for (int64_t kh = 0; kh < p.kernel[1]; ++kh) {
        const int64_t ih = oh * p.stride[1] - p.pad[1] + kh * p.dilation[1];
        const bool h_ok = d_ok && ih >= 0 && ih < p.in[1];
        for (int64_t kw = 0; kw < p.kernel[2]; ++kw, dst += cg) {
          const int64_t iw = ow * p.stride[2] - p.pad[2] + kw * p.dilation[2];
          if (h_ok && iw >= 0 && iw < p.in[2]) {
            std::memcpy(dst, img + ((id * p.in[1] + ih) * p.in[2] + iw) * p.in_c, cg * sizeof(T));
          } else {
            std::fill(dst, dst + cg, T(0));
          }
        }
      }
    }
  }
}

template <typename T>
void RunConv(const ConvProblem& p, const T* input, const T* filter, T* output) {
  const int64_t cg = p.group_in(), og = p.group_out(), rows = p.rows();
  bool pointwise = true;
  for (int i = 0; i < 3; ++i) pointwise &= p.kernel[i] == 1 && p.stride[i] == 1 && p.pad[i] == 0;
  if (pointwise) {
    for (int64_t g = 0; g < p.groups; ++g) {
      Gemm<T>(false, false, rows, og, cg, input + g * cg, p.in_c, filter + g * og, p.out_c, output + g * og, p.out_c);
    }
    return;
  }
  // Bound the patch buffer to about 8 MiB while keeping GEMMs reasonably tall.
  const int64_t patch = std::max<int64_t>(p.patch(), 1);
  const int64_t block = std::max<int64_t>(std::min<int64_t>(rows, (int64_t{8} << 20) / sizeof(T) / patch), 32);
  std::vector<T> col(static_cast<size_t>(std::min(block, rows) * patch));
  for (int64_t r0 = 0; r0 < rows; r0 += block) {
    const int64_t r1 = std::min(rows, r0 + block);
    for (int64_t g = 0; g < p.groups; ++g) {
      Im2Col(input, p, g, r0, r1, col.data());
      Gemm<T>(false, false, r1 - r0, og, patch, col.data(), patch, filter + g * og, p.out_c,
              output + r0 * p.out_c + g * og, p.out_c);
    }
  }
}

Status ConvTensors(KernelContext& ctx, ConvKind kind) {
  KILN_ASSIGN_OR_RETURN(ConvPlan plan, PlanConv(ctx, kind));
  KILN_ASSIGN_OR_RETURN(Tensor x, ctx.input(0).Reshaped(plan.flat));
  if (plan.channels_first) x = ChannelsFirstToLast(x);
  const Tensor& filter = ctx.input(1);
  const ConvProblem p = MakeProblem(plan.flat[0], plan.dims, plan.in_c, plan.out_c, plan.groups);
  if (!FitsBlas(p.patch()) || !FitsBlas(plan.out_c) || !FitsBlas(plan.in_c) || !FitsBlas(p.rows())) {
    return InvalidArgument(ctx.node().op + " operands are too large: " + ctx.input(0).DebugString() + " and " +
                           filter.DebugString());
  }
  Tensor out(x.dtype(), WindowOutputShape(plan.flat[0], plan.dims, plan.out_c));
  KILN_RETURN_IF_ERROR(DispatchReal(x.dtype(), kInt32, ctx.node().op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    RunConv<T>(p, x.data<T>(), filter.data<T>(), out.data<T>());
    return OkStatus();
  }));
  if (plan.channels_first) out = ChannelsLastToFirst(out);
  KILN_ASSIGN_OR_RETURN(out, out.Reshaped(plan.out_shape));
  ctx.set_output(0, std::move(out));
  return OkStatus();
}

Status Conv2D(KernelContext& ctx) {
  return RunHalfInFloat32(ctx, [](KernelContext& c) { return ConvTensors(c, ConvKind::kConv2D); });
}
Status Conv3D(KernelContext& ctx) {
  return RunHalfInFloat32(ctx, [](KernelContext& c) { return ConvTensors(c, ConvKind::kConv3D); });
}
Status Conv(KernelContext& ctx) {
  return RunHalfInFloat32(ctx, [](KernelContext& c) { return ConvTensors(c, ConvKind::kConv); });
}

}  // namespace

StatusOr<ConvPlan> PlanConv(const KernelContext& ctx, ConvKind kind) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  const Tensor& input = ctx.input(0);
  const Tensor& filter = ctx.input(1);
  const std::string& op = ctx.node().op;
  if (input.dtype() != filter.dtype()) {
    return InvalidArgument(op + " input and filter dtypes differ: " + input.DebugString() + " and " +
                           filter.DebugString());
  }
  int spatial = kind == ConvKind::kConv3D ? 3 : 2;
  int64_t batch_dims = 1, groups_attr = 0;
  if (kind == ConvKind::kConv) {
    KILN_ASSIGN_OR_RETURN(batch_dims, ctx.Attr<int64_t>("batch_dims"));
    KILN_ASSIGN_OR_RETURN(groups_attr, ctx.Attr<int64_t>("groups"));
    spatial = filter.rank() - 2;
    if (spatial < 1 || spatial > 3) {
      return InvalidArgument("Conv supports 1 to 3 spatial dimensions, got filter " + filter.DebugString());
    }
    if (batch_dims < 1 || groups_attr < 1) return InvalidArgument("batch_dims and groups must be positive");
  }
  if (input.rank() != batch_dims + spatial + 1 || filter.rank() != spatial + 2) {
    return InvalidArgument(op + " expects input of rank " + std::to_string(batch_dims + spatial + 1) +
                           " and filter of rank " + std::to_string(spatial + 2) + ", got " + input.DebugString() +
                           " and " + filter.DebugString());
  }
  ConvPlan plan;
  plan.spatial = spatial;
  KILN_ASSIGN_OR_RETURN(ir::WindowSpec spec, ir::ParseWindowSpec(ctx.attrs(), spatial));
  plan.channels_first = spec.channels_first;

  // Flatten the batch dims; the windows are computed on the channels-last shape.
  const Shape& full = input.shape();
  plan.flat = {NumElements(Shape(full.begin(), full.begin() + batch_dims))};
  plan.flat.insert(plan.flat.end(), full.begin() + batch_dims, full.end());
  Shape last = plan.flat;
  if (spec.channels_first) {
    last.erase(last.begin() + 1);
    last.push_back(plan.flat[1]);
  }
  plan.in_c = last[spatial + 1];
  const int64_t filter_in = filter.dim(spatial);
  plan.out_c = filter.dim(spatial + 1);
  if (plan.in_c == 0) return InvalidArgument(op + " input depth must be positive, got " + input.DebugString());
  if (filter_in <= 0 || plan.in_c % filter_in != 0) {
    return InvalidArgument(op + " input depth " + std::to_string(plan.in_c) +
                           " is not a multiple of the filter's input depth " + std::to_string(filter_in) + " (input " +
                           input.DebugString() + ", filter " + filter.DebugString() + ")");
  }
  plan.groups = plan.in_c / filter_in;
  if (groups_attr > 0 && plan.groups != groups_attr) {
    return InvalidArgument(op + " input depth " + std::to_string(plan.in_c) + " must equal the filter's input depth " +
                           std::to_string(filter_in) + " times groups " + std::to_string(groups_attr));
  }
  if (plan.out_c % plan.groups != 0) {
    return InvalidArgument(op + " filter output depth " + std::to_string(plan.out_c) +
                           " is not a multiple of the group count " + std::to_string(plan.groups));
  }
  std::vector<int64_t> kernel(filter.shape().begin(), filter.shape().begin() + spatial);
  KILN_ASSIGN_OR_RETURN(plan.dims, SpatialWindows(last, kernel, spec));
  plan.out_shape = Shape(full.begin(), full.begin() + batch_dims);
  if (spec.channels_first) plan.out_shape.push_back(plan.out_c);
  for (const auto& w : plan.dims) plan.out_shape.push_back(w.out);
  if (!spec.channels_first) plan.out_shape.push_back(plan.out_c);
  return plan;
}

KILN_REGISTER_CPU_KERNEL("Conv2D", Conv2D);
KILN_REGISTER_CPU_KERNEL("Conv3D", Conv3D);
KILN_REGISTER_CPU_KERNEL("Conv", Conv);

}  // namespace kiln::kernels::cpu::nn
