// SpaceToBatchND / BatchToSpaceND (and the 4-D SpaceToBatch / BatchToSpace), SpaceToDepth /
// DepthToSpace. All are pure data movement: a pad or crop (per-axis index maps) and one transpose of
// a reshaped view, through the primitives of array_util.h, so the same code serves every dtype and
// both devices.
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "kernels/cpu/array_util.h"
#include "kernels/cpu/kernel_util.h"
#include "runtime/kernel.h"

namespace kiln::kernels::cpu {
namespace {

using runtime::KernelContext;

// Block sizes and paddings beyond this are rejected rather than risk overflow in index arithmetic.
constexpr int64_t kBig = int64_t{1} << 40;

StatusOr<size_t> ElementSize(const Tensor& t) {
  const size_t size = DTypeSize(t.dtype());
  if (size == 0) return Unimplemented("dtype " + std::string(DTypeName(t.dtype())) + " is not supported");
  return size;
}

// Element count of `shape`, or an error when it does not fit in int64.
Status CheckOutputSize(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d != 0 && n > std::numeric_limits<int64_t>::max() / d) {
      return InvalidArgument("output shape " + ShapeToString(shape) + " is too large");
    }
    n *= d;
  }
  return OkStatus();
}

// Reads block_shape (input 1) and paddings/crops (input 2); checks their shapes and ranges
// against `in`. `pads` comes back flat, [lo0, hi0, lo1, hi1, ...].
Status ReadBlockArgs(const KernelContext& ctx, const Tensor& in, const char* pads_name, std::vector<int64_t>& block,
                     std::vector<int64_t>& pads) {
  const Tensor& bt = ctx.input(1);
  const Tensor& pt = ctx.input(2);
  if (bt.rank() != 1) return InvalidArgument("block_shape must be a vector, got " + bt.DebugString());
  const int64_t m = bt.dim(0);
  if (pt.rank() != 2 || pt.dim(0) != m || pt.dim(1) != 2) {
    return InvalidArgument(std::string(pads_name) + " must have shape [" + std::to_string(m) + ",2], got " +
                           pt.DebugString());
  }
  KILN_ASSIGN_OR_RETURN(block, InputInt64s(ctx, 1));
  KILN_ASSIGN_OR_RETURN(pads, InputInt64s(ctx, 2));
  if (in.rank() < m + 1) {
    return InvalidArgument("input must have rank >= " + std::to_string(m + 1) + " for " + std::to_string(m) +
                           " block dims, got " + in.DebugString());
  }
  int64_t prod = 1;
  for (int64_t i = 0; i < m; ++i) {
    if (block[i] < 1) {
      return InvalidArgument("block_shape values must be >= 1, got " + std::to_string(block[i]) + " at index " +
                             std::to_string(i));
    }
    if (block[i] > kBig || prod > kBig / block[i]) return InvalidArgument("block_shape values are too large");
    prod *= block[i];
  }
  for (int64_t p : pads) {
    if (p < 0) return InvalidArgument(std::string(pads_name) + " must be non-negative, got " + std::to_string(p));
    if (p > kBig) return InvalidArgument(std::string(pads_name) + " value " + std::to_string(p) + " is too large");
  }
  return OkStatus();
}

// The "space" tensor [batch, space..., rest...] padded and cut into blocks: block offset (row-major)
// k and batch entry b form batch row k * batch + b, holding space positions j * block + offset.
Status SpaceToBatch(KernelContext& ctx, const Tensor& in, const std::vector<int64_t>& block,
                    const std::vector<int64_t>& pads) {
  KILN_RETURN_IF_ERROR(ElementSize(in).status());
  const int m = static_cast<int>(block.size());
  const int64_t batch = in.dim(0);
  int64_t block_prod = 1;
  std::vector<std::vector<int64_t>> maps(static_cast<size_t>(in.rank()));
  Shape split = {batch}, out_shape;  // the padded input as [batch, (space / block, block)..., rest...]
  std::vector<int> perm;
  for (int i = 0; i < m; ++i) {
    const int64_t dim = in.dim(i + 1), padded = dim + pads[2 * i] + pads[2 * i + 1];
    if (padded % block[i] != 0) {
      return InvalidArgument("padded size " + std::to_string(padded) + " of spatial dim " + std::to_string(i) +
                             " is not divisible by block_shape[" + std::to_string(i) + "]=" + std::to_string(block[i]));
    }
    for (int64_t j = -pads[2 * i]; j < dim + pads[2 * i + 1]; ++j) maps[i + 1].push_back(j >= 0 && j < dim ? j : -1);
    split.push_back(padded / block[i]);
    split.push_back(block[i]);
    block_prod *= block[i];
  }
  if (batch > std::numeric_limits<int64_t>::max() / block_prod) {
    return InvalidArgument("output batch of " + in.DebugString() + " is too large");
  }
  out_shape.push_back(batch * block_prod);
  for (int i = 0; i < m; ++i) out_shape.push_back(split[1 + 2 * i]);
  for (int i = 0; i < m; ++i) perm.push_back(2 + 2 * i);  // the block offsets first,
  perm.push_back(0);                                      // then the batch,
  for (int i = 0; i < m; ++i) perm.push_back(1 + 2 * i);  // then the positions,
  for (int d = m + 1; d < in.rank(); ++d) {               // then the rest
    split.push_back(in.dim(d));
    out_shape.push_back(in.dim(d));
    perm.push_back(static_cast<int>(split.size()) - 1);
  }
  for (int d = 0; d < in.rank(); ++d) {
    if (d == 0 || d > m) {
      for (int64_t j = 0; j < in.dim(d); ++j) maps[d].push_back(j);
    }
  }
  KILN_RETURN_IF_ERROR(CheckOutputSize(out_shape));
  KILN_ASSIGN_OR_RETURN(Tensor padded, CopyByAxisMapsOn(ctx, in, maps));
  KILN_ASSIGN_OR_RETURN(Tensor blocks, padded.Reshaped(split));
  KILN_ASSIGN_OR_RETURN(Tensor moved, TransposeOn(ctx, blocks, perm));
  KILN_ASSIGN_OR_RETURN(Tensor out, moved.Reshaped(out_shape));
  ctx.set_output(0, std::move(out));
  return OkStatus();
}

// The inverse: batch row k * batch + b goes back to block offset k of entry b, then the crops are cut.
Status BatchToSpace(KernelContext& ctx, const Tensor& in, const std::vector<int64_t>& block,
                    const std::vector<int64_t>& crops) {
  KILN_RETURN_IF_ERROR(ElementSize(in).status());
  const int m = static_cast<int>(block.size());
  int64_t block_prod = 1;
  for (int64_t b : block) block_prod *= b;
  if (in.dim(0) % block_prod != 0) {
    return InvalidArgument("input batch " + std::to_string(in.dim(0)) + " is not divisible by the product of " +
                           "block_shape (" + std::to_string(block_prod) + ")");
  }
  const int64_t batch = in.dim(0) / block_prod;
  Shape split(block.begin(), block.end()), full = {batch}, out_shape = {batch};
  split.push_back(batch);
  std::vector<int> perm = {m};
  std::vector<std::vector<int64_t>> maps(static_cast<size_t>(in.rank()));
  for (int64_t j = 0; j < batch; ++j) maps[0].push_back(j);
  for (int i = 0; i < m; ++i) {
    const int64_t d = in.dim(i + 1);
    if (d > std::numeric_limits<int64_t>::max() / block[i]) {
      return InvalidArgument("output spatial dim " + std::to_string(i) + " is too large");
    }
    const int64_t whole = d * block[i], cropped = whole - crops[2 * i] - crops[2 * i + 1];
    if (cropped < 0) {
      return InvalidArgument("crops " + std::to_string(crops[2 * i]) + "+" + std::to_string(crops[2 * i + 1]) +
                             " exceed size " + std::to_string(whole) + " of spatial dim " + std::to_string(i));
    }
    split.push_back(d);
    perm.push_back(m + 1 + i);  // position, then its block offset
    perm.push_back(i);
    full.push_back(whole);
    out_shape.push_back(cropped);
    for (int64_t j = 0; j < cropped; ++j) maps[i + 1].push_back(j + crops[2 * i]);
  }
  for (int d = m + 1; d < in.rank(); ++d) {
    split.push_back(in.dim(d));
    perm.push_back(static_cast<int>(split.size()) - 1);
    full.push_back(in.dim(d));
    out_shape.push_back(in.dim(d));
    for (int64_t j = 0; j < in.dim(d); ++j) maps[d].push_back(j);
  }
  KILN_RETURN_IF_ERROR(CheckOutputSize(out_shape));
  KILN_ASSIGN_OR_RETURN(Tensor blocks, in.Reshaped(split));
  KILN_ASSIGN_OR_RETURN(Tensor moved, TransposeOn(ctx, blocks, perm));
  KILN_ASSIGN_OR_RETURN(Tensor whole, moved.Reshaped(full));
  KILN_ASSIGN_OR_RETURN(Tensor out, CopyByAxisMapsOn(ctx, whole, maps));
  ctx.set_output(0, std::move(out));
  return OkStatus();
}

Status SpaceToBatchND(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(3, 3));
  std::vector<int64_t> block, pads;
  KILN_RETURN_IF_ERROR(ReadBlockArgs(ctx, ctx.input(0), "paddings", block, pads));
  return SpaceToBatch(ctx, ctx.input(0), block, pads);
}

Status BatchToSpaceND(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(3, 3));
  std::vector<int64_t> block, crops;
  KILN_RETURN_IF_ERROR(ReadBlockArgs(ctx, ctx.input(0), "crops", block, crops));
  return BatchToSpace(ctx, ctx.input(0), block, crops);
}

// SpaceToBatch / BatchToSpace: 4-D input, inputs (input, paddings or crops [2,2]), block_size attr.
Status ReadLegacyArgs(const KernelContext& ctx, const char* pads_name, std::vector<int64_t>& block,
                      std::vector<int64_t>& pads) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  KILN_ASSIGN_OR_RETURN(int64_t bs, ctx.Attr<int64_t>("block_size"));
  if (bs < 2 || bs > kBig) return InvalidArgument("block_size must be >= 2, got " + std::to_string(bs));
  if (ctx.input(0).rank() != 4) return InvalidArgument("input must be 4-D, got " + ctx.input(0).DebugString());
  const Tensor& pt = ctx.input(1);
  if (pt.rank() != 2 || pt.dim(0) != 2 || pt.dim(1) != 2) {
    return InvalidArgument(std::string(pads_name) + " must have shape [2,2], got " + pt.DebugString());
  }
  KILN_ASSIGN_OR_RETURN(pads, InputInt64s(ctx, 1));
  for (int64_t p : pads) {
    if (p < 0) return InvalidArgument(std::string(pads_name) + " must be non-negative, got " + std::to_string(p));
    if (p > kBig) return InvalidArgument(std::string(pads_name) + " value " + std::to_string(p) + " is too large");
  }
  block = {bs, bs};
  return OkStatus();
}

Status SpaceToBatchLegacy(KernelContext& ctx) {
  std::vector<int64_t> block, pads;
  KILN_RETURN_IF_ERROR(ReadLegacyArgs(ctx, "paddings", block, pads));
  return SpaceToBatch(ctx, ctx.input(0), block, pads);
}

Status BatchToSpaceLegacy(KernelContext& ctx) {
  std::vector<int64_t> block, crops;
  KILN_RETURN_IF_ERROR(ReadLegacyArgs(ctx, "crops", block, crops));
  return BatchToSpace(ctx, ctx.input(0), block, crops);
}

// SpaceToDepth (to_depth) and DepthToSpace. The "space" side has shape [N, H*bs, W*bs, C] and the
// "depth" side [N, H, W, C*bs*bs]; space[n, h*bs+i, w*bs+j, c] == depth[n, h, w, (i*bs+j)*C + c].
Status SpaceDepth(KernelContext& ctx, bool to_depth) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(1, 1));
  const Tensor& in = ctx.input(0);
  KILN_RETURN_IF_ERROR(ElementSize(in).status());
  KILN_ASSIGN_OR_RETURN(int64_t bs, ctx.Attr<int64_t>("block_size"));
  if (bs < 2) return InvalidArgument("block_size must be >= 2, got " + std::to_string(bs));
  if (bs > (int64_t{1} << 20)) return InvalidArgument("block_size " + std::to_string(bs) + " is too large");
  KILN_ASSIGN_OR_RETURN(std::string format, ctx.Attr<std::string>("data_format"));
  if (format != "NHWC" && format != "NCHW") {
    if (format == "NCHW_VECT_C") return Unimplemented("data_format NCHW_VECT_C is not supported");
    return InvalidArgument("data_format must be NHWC or NCHW, got '" + format + "'");
  }
  if (in.rank() != 4) return InvalidArgument("input must be 4-D, got " + in.DebugString());
  const bool nchw = format == "NCHW";
  const int hi = nchw ? 2 : 1, wi = hi + 1, ci = nchw ? 1 : 3;
  const int64_t n = in.dim(0);
  int64_t hd, wd, cs;  // depth-side height and width, space-side channels
  Shape out_shape = in.shape();
  if (to_depth) {
    if (in.dim(hi) % bs != 0 || in.dim(wi) % bs != 0) {
      return InvalidArgument("spatial dims of " + in.DebugString() + " must be divisible by block_size " +
                             std::to_string(bs));
    }
    hd = in.dim(hi) / bs;
    wd = in.dim(wi) / bs;
    cs = in.dim(ci);
    if (cs > std::numeric_limits<int64_t>::max() / (bs * bs)) return InvalidArgument("output depth is too large");
    out_shape[hi] = hd;
    out_shape[wi] = wd;
    out_shape[ci] = cs * bs * bs;
  } else {
    if (in.dim(ci) % (bs * bs) != 0) {
      return InvalidArgument("depth of " + in.DebugString() + " must be divisible by block_size^2 = " +
                             std::to_string(bs * bs));
    }
    hd = in.dim(hi);
    wd = in.dim(wi);
    cs = in.dim(ci) / (bs * bs);
    if (hd > std::numeric_limits<int64_t>::max() / bs || wd > std::numeric_limits<int64_t>::max() / bs) {
      return InvalidArgument("output spatial dims are too large");
    }
    out_shape[hi] = hd * bs;
    out_shape[wi] = wd * bs;
    out_shape[ci] = cs;
  }
  KILN_RETURN_IF_ERROR(CheckOutputSize(out_shape));
  // The space side as [N, H, bs, W, bs, C] (NHWC) or [N, C, H, bs, W, bs] (NCHW); the depth side as
  // [N, H, W, bs, bs, C] or [N, bs, bs, C, H, W].
  const Shape space = nchw ? Shape{n, cs, hd, bs, wd, bs} : Shape{n, hd, bs, wd, bs, cs};
  const Shape depth = nchw ? Shape{n, bs, bs, cs, hd, wd} : Shape{n, hd, wd, bs, bs, cs};
  const std::vector<int> to_depth_perm = nchw ? std::vector<int>{0, 3, 5, 1, 2, 4} : std::vector<int>{0, 1, 3, 2, 4, 5};
  const std::vector<int> to_space_perm = nchw ? std::vector<int>{0, 3, 4, 1, 5, 2} : std::vector<int>{0, 1, 3, 2, 4, 5};
  KILN_ASSIGN_OR_RETURN(Tensor view, in.Reshaped(to_depth ? space : depth));
  KILN_ASSIGN_OR_RETURN(Tensor moved, TransposeOn(ctx, view, to_depth ? to_depth_perm : to_space_perm));
  KILN_ASSIGN_OR_RETURN(Tensor out, moved.Reshaped(out_shape));
  ctx.set_output(0, std::move(out));
  return OkStatus();
}

}  // namespace

KILN_REGISTER_CPU_KERNEL("SpaceToBatchND", SpaceToBatchND);
KILN_REGISTER_CPU_KERNEL("BatchToSpaceND", BatchToSpaceND);
KILN_REGISTER_CPU_KERNEL("SpaceToBatch", SpaceToBatchLegacy);
KILN_REGISTER_CPU_KERNEL("BatchToSpace", BatchToSpaceLegacy);
KILN_REGISTER_CPU_KERNEL("SpaceToDepth", [](KernelContext& ctx) { return SpaceDepth(ctx, true); });
KILN_REGISTER_CPU_KERNEL("DepthToSpace", [](KernelContext& ctx) { return SpaceDepth(ctx, false); });

}  // namespace kiln::kernels::cpu
