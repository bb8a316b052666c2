// SpaceToBatchND / BatchToSpaceND (and the 4-D SpaceToBatch / BatchToSpace), SpaceToDepth /
// DepthToSpace. All are pure data movement, so one byte-level implementation serves every dtype
// of fixed size; whole runs of trailing elements move with one memcpy.
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

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

// The mapping between a "space" tensor [batch, space..., inner] and a "batched" tensor
// [batch * prod(block), batched..., inner]: batched row bb = offset * batch + b, where `offset`
// is a row-major index over the block, holds space position j * block + offset - pad_start.
struct BlockLayout {
  int64_t batch = 0;
  Shape space, batched, block, pad_start;
  int64_t inner = 1;  // elements per spatial position: product of the remaining dims
};

class BlockCopier {
 public:
  BlockCopier(const BlockLayout& l, size_t esize, bool to_batch) : l_(l), to_batch_(to_batch) {
    const size_t m = l.block.size();
    chunk_ = static_cast<size_t>(l.inner) * esize;
    space_stride_.assign(m + 1, static_cast<int64_t>(chunk_));
    batched_stride_.assign(m + 1, static_cast<int64_t>(chunk_));
    for (size_t i = m; i-- > 0;) {
      space_stride_[i] = space_stride_[i + 1] * l.space[i];
      batched_stride_[i] = batched_stride_[i + 1] * l.batched[i];
    }
    offset_.assign(m, 0);
  }

  // Copies space -> batched (to_batch) or batched -> space. Positions that fall into the padding
  // are skipped, so the batched tensor must start zero-filled.
  void Run(uint8_t* space, uint8_t* batched) {
    int64_t block_prod = 1;
    for (int64_t b : l_.block) block_prod *= b;
    for (int64_t bb = 0; bb < l_.batch * block_prod; ++bb) {
      int64_t rest = bb / l_.batch;
      for (size_t i = l_.block.size(); i-- > 0;) {
        offset_[i] = rest % l_.block[i];
        rest /= l_.block[i];
      }
      const int64_t b = bb % l_.batch;
      Copy(0, space + b * space_stride_[0], batched + bb * batched_stride_[0]);
    }
  }

 private:
  void Copy(size_t d, uint8_t* space, uint8_t* batched) {
    if (d == l_.block.size()) {
      Move(space, batched, chunk_);
      return;
    }
    const int64_t block = l_.block[d], start = offset_[d] - l_.pad_start[d], limit = l_.space[d];
    const bool leaf = d + 1 == l_.block.size();
    for (int64_t j = 0; j < l_.batched[d]; ++j) {
      const int64_t s = j * block + start;
      if (s < 0 || s >= limit) continue;
      uint8_t* sp = space + s * space_stride_[d + 1];
      uint8_t* bp = batched + j * batched_stride_[d + 1];
      if (leaf) {
        Move(sp, bp, chunk_);
      } else {
        Copy(d + 1, sp, bp);
      }
    }
  }

  void Move(uint8_t* space, uint8_t* batched, size_t n) const {
    if (to_batch_) {
      std::memcpy(batched, space, n);
    } else {
      std::memcpy(space, batched, n);
    }
  }

  const BlockLayout& l_;
  bool to_batch_;
  size_t chunk_ = 0;
  std::vector<int64_t> space_stride_, batched_stride_, offset_;
};

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

Status SpaceToBatch(KernelContext& ctx, const Tensor& in, const std::vector<int64_t>& block,
                    const std::vector<int64_t>& pads) {
  KILN_ASSIGN_OR_RETURN(size_t esize, ElementSize(in));
  const size_t m = block.size();
  BlockLayout l;
  l.batch = in.dim(0);
  l.block = block;
  int64_t block_prod = 1;
  for (size_t i = 0; i < m; ++i) {
    const int64_t padded = in.dim(static_cast<int>(i) + 1) + pads[2 * i] + pads[2 * i + 1];
    if (padded % block[i] != 0) {
      return InvalidArgument("padded size " + std::to_string(padded) + " of spatial dim " + std::to_string(i) +
                             " is not divisible by block_shape[" + std::to_string(i) + "]=" + std::to_string(block[i]));
    }
    l.space.push_back(in.dim(static_cast<int>(i) + 1));
    l.batched.push_back(padded / block[i]);
    l.pad_start.push_back(pads[2 * i]);
    block_prod *= block[i];
  }
  Shape out_shape = {l.batch > std::numeric_limits<int64_t>::max() / block_prod ? -1 : l.batch * block_prod};
  if (out_shape[0] < 0) return InvalidArgument("output batch of " + in.DebugString() + " is too large");
  out_shape.insert(out_shape.end(), l.batched.begin(), l.batched.end());
  for (int d = static_cast<int>(m) + 1; d < in.rank(); ++d) {
    out_shape.push_back(in.dim(d));
    l.inner *= in.dim(d);
  }
  KILN_RETURN_IF_ERROR(CheckOutputSize(out_shape));
  Tensor& out = ctx.allocate_output(0, in.dtype(), out_shape);
  if (out.num_elements() == 0 || in.num_elements() == 0) return OkStatus();
  BlockCopier(l, esize, true)
      .Run(const_cast<uint8_t*>(static_cast<const uint8_t*>(in.raw_data())), static_cast<uint8_t*>(out.raw_data()));
  return OkStatus();
}

Status BatchToSpace(KernelContext& ctx, const Tensor& in, const std::vector<int64_t>& block,
                    const std::vector<int64_t>& crops) {
  KILN_ASSIGN_OR_RETURN(size_t esize, ElementSize(in));
  const size_t m = block.size();
  int64_t block_prod = 1;
  for (int64_t b : block) block_prod *= b;
  if (in.dim(0) % block_prod != 0) {
    return InvalidArgument("input batch " + std::to_string(in.dim(0)) + " is not divisible by the product of " +
                           "block_shape (" + std::to_string(block_prod) + ")");
  }
  BlockLayout l;
  l.batch = in.dim(0) / block_prod;
  l.block = block;
  for (size_t i = 0; i < m; ++i) {
    const int64_t d = in.dim(static_cast<int>(i) + 1);
    if (d > std::numeric_limits<int64_t>::max() / block[i]) {
      return InvalidArgument("output spatial dim " + std::to_string(i) + " is too large");
    }
    const int64_t full = d * block[i], cropped = full - crops[2 * i] - crops[2 * i + 1];
    if (cropped < 0) {
      return InvalidArgument("crops " + std::to_string(crops[2 * i]) + "+" + std::to_string(crops[2 * i + 1]) +
                             " exceed size " + std::to_string(full) + " of spatial dim " + std::to_string(i));
    }
    l.space.push_back(cropped);
    l.batched.push_back(d);
    l.pad_start.push_back(crops[2 * i]);
  }
  Shape out_shape = {l.batch};
  out_shape.insert(out_shape.end(), l.space.begin(), l.space.end());
  for (int d = static_cast<int>(m) + 1; d < in.rank(); ++d) {
    out_shape.push_back(in.dim(d));
    l.inner *= in.dim(d);
  }
  KILN_RETURN_IF_ERROR(CheckOutputSize(out_shape));
  Tensor& out = ctx.allocate_output(0, in.dtype(), out_shape);
  if (out.num_elements() == 0) return OkStatus();
  BlockCopier(l, esize, false)
      .Run(static_cast<uint8_t*>(out.raw_data()), const_cast<uint8_t*>(static_cast<const uint8_t*>(in.raw_data())));
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

// Per-element copy for the NCHW layout, where no run of elements is contiguous on both sides.
template <typename Word>
void MoveElementsNchw(const uint8_t* src_bytes, uint8_t* dst_bytes, int64_t n, int64_t cs, int64_t hd, int64_t wd,
                      int64_t bs, bool to_depth) {
  const Word* src = reinterpret_cast<const Word*>(src_bytes);
  Word* dst = reinterpret_cast<Word*>(dst_bytes);
  const int64_t hs = hd * bs, ws = wd * bs, cd = cs * bs * bs;
  for (int64_t b = 0; b < n; ++b)
    for (int64_t c = 0; c < cs; ++c)
      for (int64_t h = 0; h < hs; ++h)
        for (int64_t w = 0; w < ws; ++w) {
          const int64_t space_idx = ((b * cs + c) * hs + h) * ws + w;
          const int64_t depth_c = ((h % bs) * bs + w % bs) * cs + c;
          const int64_t depth_idx = ((b * cd + depth_c) * hd + h / bs) * wd + w / bs;
          if (to_depth) {
            dst[depth_idx] = src[space_idx];
          } else {
            dst[space_idx] = src[depth_idx];
          }
        }
}

// SpaceToDepth (to_depth) and DepthToSpace. The "space" side has shape [N, H*bs, W*bs, C] and the
// "depth" side [N, H, W, C*bs*bs]; space[n, h*bs+i, w*bs+j, c] == depth[n, h, w, (i*bs+j)*C + c].
Status SpaceDepth(KernelContext& ctx, bool to_depth) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(1, 1));
  const Tensor& in = ctx.input(0);
  KILN_ASSIGN_OR_RETURN(size_t esize, ElementSize(in));
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
  Tensor& out = ctx.allocate_output(0, in.dtype(), out_shape);
  if (out.num_elements() == 0) return OkStatus();
  const uint8_t* src = static_cast<const uint8_t*>(in.raw_data());
  uint8_t* dst = static_cast<uint8_t*>(out.raw_data());

  if (nchw) {
    switch (esize) {
      case 1: MoveElementsNchw<uint8_t>(src, dst, n, cs, hd, wd, bs, to_depth); break;
      case 2: MoveElementsNchw<uint16_t>(src, dst, n, cs, hd, wd, bs, to_depth); break;
      case 4: MoveElementsNchw<uint32_t>(src, dst, n, cs, hd, wd, bs, to_depth); break;
      case 8: MoveElementsNchw<uint64_t>(src, dst, n, cs, hd, wd, bs, to_depth); break;
      default: return Unimplemented("element size " + std::to_string(esize) + " is not supported for NCHW");
    }
    return OkStatus();
  }
  // NHWC: runs of C elements are contiguous on both sides. Walk the output in order.
  const size_t run = static_cast<size_t>(cs) * esize;
  const int64_t ws = wd * bs;
  for (int64_t b = 0; b < n; ++b) {
    for (int64_t h = 0; h < hd; ++h) {
      for (int64_t i = 0; i < bs; ++i) {
        const int64_t space_row = (b * hd * bs + h * bs + i) * ws;  // space[b, h*bs+i, 0, 0] in runs
        const int64_t depth_row = (b * hd + h) * wd * bs * bs + i * bs;  // depth[b, h, 0, i*bs*C] in runs
        for (int64_t w = 0; w < wd; ++w) {
          for (int64_t j = 0; j < bs; ++j) {
            const int64_t s = space_row + w * bs + j, d = depth_row + w * bs * bs + j;
            if (to_depth) {
              std::memcpy(dst + d * run, src + s * run, run);
            } else {
              std::memcpy(dst + s * run, src + d * run, run);
            }
          }
        }
      }
    }
  }
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
