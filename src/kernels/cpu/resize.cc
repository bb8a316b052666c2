// ResizeNearestNeighbor and ResizeBilinear on NHWC images, with TensorFlow's coordinate mapping:
// align_corners maps corner pixels onto each other; half_pixel_centers samples at pixel centres.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/cpu/array_util.h"
#include "kernels/cpu/kernel_util.h"
#include "kernels/cpu/nn_util.h"
#include "runtime/kernel.h"

namespace kiln::kernels::cpu::nn {
namespace {

using runtime::KernelContext;

struct ResizeArgs {
  int64_t batch, in_h, in_w, channels, out_h, out_w;
  bool align_corners, half_pixel;
};

StatusOr<ResizeArgs> ParseResize(const KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  const Tensor& images = ctx.input(0);
  ResizeArgs a{};
  KILN_ASSIGN_OR_RETURN(a.align_corners, ctx.Attr<bool>("align_corners"));
  KILN_ASSIGN_OR_RETURN(a.half_pixel, ctx.Attr<bool>("half_pixel_centers"));
  if (a.align_corners && a.half_pixel) {
    return InvalidArgument("align_corners and half_pixel_centers cannot both be true");
  }
  if (images.rank() != 4) return InvalidArgument("images must have rank 4, got " + images.DebugString());
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> size, InputInt64s(ctx, 1));
  if (ctx.input(1).rank() != 1 || size.size() != 2 || size[0] <= 0 || size[1] <= 0) {
    return InvalidArgument("size must be a vector of two positive values, got " + ctx.input(1).DebugString());
  }
  a.batch = images.dim(0);
  a.in_h = images.dim(1);
  a.in_w = images.dim(2);
  a.channels = images.dim(3);
  a.out_h = size[0];
  a.out_w = size[1];
  if (a.in_h <= 0 || a.in_w <= 0)
    return InvalidArgument("images must have a positive height and width, got " + images.DebugString());
  return a;
}

float Scale(int64_t in, int64_t out, bool align_corners) {
  return align_corners && out > 1 ? static_cast<float>(in - 1) / static_cast<float>(out - 1)
                                  : static_cast<float>(in) / static_cast<float>(out);
}

std::vector<int64_t> NearestIndex(int64_t in, int64_t out, const ResizeArgs& a) {
  const float scale = Scale(in, out, a.align_corners);
  std::vector<int64_t> idx(out);
  for (int64_t i = 0; i < out; ++i) {
    const float src = a.half_pixel ? (static_cast<float>(i) + 0.5f) * scale : static_cast<float>(i) * scale;
    int64_t j = static_cast<int64_t>(a.align_corners ? std::round(src) : std::floor(src));
    idx[i] = std::clamp<int64_t>(j, 0, in - 1);
  }
  return idx;
}

// Any dtype: nearest neighbour only moves bytes.
Status ResizeNearestNeighbor(KernelContext& ctx) {
  KILN_ASSIGN_OR_RETURN(ResizeArgs a, ParseResize(ctx));
  const Tensor& images = ctx.input(0);
  if (!IsFloating(images.dtype()) && !IsInteger(images.dtype())) {
    return Unimplemented("ResizeNearestNeighbor does not support dtype " + std::string(DTypeName(images.dtype())));
  }
  std::vector<std::vector<int64_t>> maps(4);
  for (int64_t n = 0; n < a.batch; ++n) maps[0].push_back(n);
  maps[1] = NearestIndex(a.in_h, a.out_h, a);
  maps[2] = NearestIndex(a.in_w, a.out_w, a);
  for (int64_t c = 0; c < a.channels; ++c) maps[3].push_back(c);
  KILN_ASSIGN_OR_RETURN(Tensor out, CopyByAxisMapsOn(ctx, images, maps));
  ctx.set_output(0, std::move(out));
  return OkStatus();
}

struct Interp {
  int64_t lower, upper;
  float lerp;
};

std::vector<Interp> BilinearWeights(int64_t in, int64_t out, const ResizeArgs& a) {
  const float scale = Scale(in, out, a.align_corners);
  std::vector<Interp> w(out);
  for (int64_t i = 0; i < out; ++i) {
    const float src = a.half_pixel ? (static_cast<float>(i) + 0.5f) * scale - 0.5f : static_cast<float>(i) * scale;
    const float f = std::floor(src);
    w[i].lower = std::max<int64_t>(static_cast<int64_t>(f), 0);
    w[i].upper = std::min<int64_t>(static_cast<int64_t>(std::ceil(src)), in - 1);
    w[i].lerp = src - f;
  }
  return w;
}

// Output is float32 whatever the input dtype, as in TensorFlow.
Status ResizeBilinear(KernelContext& ctx) {
  KILN_ASSIGN_OR_RETURN(ResizeArgs a, ParseResize(ctx));
  const Tensor& images = ctx.input(0);
  if (!IsFloating(images.dtype()) && !IsInteger(images.dtype())) {
    return Unimplemented("ResizeBilinear does not support dtype " + std::string(DTypeName(images.dtype())));
  }
  const Tensor x = ToFloat32(images);
  const std::vector<Interp> ys = BilinearWeights(a.in_h, a.out_h, a);
  const std::vector<Interp> xs = BilinearWeights(a.in_w, a.out_w, a);
  Tensor& out = ctx.allocate_output(0, DType::kFloat32, {a.batch, a.out_h, a.out_w, a.channels});
  const float* in = x.data<float>();
  float* o = out.data<float>();
  const int64_t c_n = a.channels;
  for (int64_t n = 0; n < a.batch; ++n) {
    const float* img = in + n * a.in_h * a.in_w * c_n;
    for (int64_t y = 0; y < a.out_h; ++y) {
      const float* top = img + ys[y].lower * a.in_w * c_n;
      const float* bottom = img + ys[y].upper * a.in_w * c_n;
      const float yl = ys[y].lerp;
      for (int64_t xo = 0; xo < a.out_w; ++xo, o += c_n) {
        const Interp& xi = xs[xo];
        const float* tl = top + xi.lower * c_n;
        const float* tr = top + xi.upper * c_n;
        const float* bl = bottom + xi.lower * c_n;
        const float* br = bottom + xi.upper * c_n;
        for (int64_t c = 0; c < c_n; ++c) {
          const float t = tl[c] + (tr[c] - tl[c]) * xi.lerp;
          const float b = bl[c] + (br[c] - bl[c]) * xi.lerp;
          o[c] = t + (b - t) * yl;
        }
      }
    }
  }
  return OkStatus();
}

}  // namespace

KILN_REGISTER_CPU_KERNEL("ResizeNearestNeighbor", ResizeNearestNeighbor);
KILN_REGISTER_CPU_KERNEL("ResizeBilinear", ResizeBilinear);

}  // namespace kiln::kernels::cpu::nn
