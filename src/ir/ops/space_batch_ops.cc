// Ops that move blocks of spatial positions into the batch or depth dimension and back:
// SpaceToBatchND / BatchToSpaceND (how TensorFlow lowers dilated convolutions), their 4-D
// predecessors SpaceToBatch / BatchToSpace, and SpaceToDepth / DepthToSpace.
#include <cstdint>
#include <optional>

#include "ir/op_registry.h"
#include "ir/shape_fns.h"

namespace kiln::ir {
namespace {

Status CheckIndexDType(const InferenceContext& ctx, int i, const char* what) {
  const DType d = ctx.input_dtype(i);
  if (d != DType::kInt32 && d != DType::kInt64) {
    return InvalidArgument(std::string(what) + " must be int32 or int64, got " + std::string(DTypeName(d)));
  }
  return OkStatus();
}

// Number of spatial dims M as far as the shapes of block_shape ([M]) and paddings/crops ([M,2])
// tell; -1 when neither does.
StatusOr<int64_t> NumBlockDims(const InferenceContext& ctx, const char* pads_name) {
  int64_t m = -1;
  const PartialShape& bs = ctx.input_shape(1);
  if (bs.rank_known) {
    if (bs.rank() != 1) return InvalidArgument("block_shape must be a vector, got shape " + bs.ToString());
    m = bs.dims[0];
  }
  const PartialShape& ps = ctx.input_shape(2);
  if (ps.rank_known) {
    if (ps.rank() != 2 || (ps.dims[1] != -1 && ps.dims[1] != 2)) {
      return InvalidArgument(std::string(pads_name) + " must have shape [M,2], got " + ps.ToString());
    }
    if (m != -1 && ps.dims[0] != -1 && ps.dims[0] != m) {
      return InvalidArgument(std::string(pads_name) + " shape " + ps.ToString() + " does not match block_shape " +
                             bs.ToString());
    }
    if (m == -1) m = ps.dims[0];
  }
  return m;
}

// Shared by SpaceToBatchND (to_batch) and BatchToSpaceND: inputs are (input, block_shape,
// paddings or crops); known values refine the output shape, unknown ones leave -1 dims.
Status BlockShapeFn(InferenceContext& ctx, bool to_batch) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(3, 3));
  const char* pads_name = to_batch ? "paddings" : "crops";
  KILN_RETURN_IF_ERROR(CheckIndexDType(ctx, 1, "block_shape"));
  KILN_RETURN_IF_ERROR(CheckIndexDType(ctx, 2, pads_name));
  KILN_ASSIGN_OR_RETURN(int64_t m, NumBlockDims(ctx, pads_name));
  KILN_ASSIGN_OR_RETURN(auto block, ConstantInt64s(ctx, 1));
  KILN_ASSIGN_OR_RETURN(auto pads, ConstantInt64s(ctx, 2));
  if (block) {
    if (m != -1 && static_cast<int64_t>(block->size()) != m) {
      return InvalidArgument("block_shape has " + std::to_string(block->size()) + " values, expected " +
                             std::to_string(m));
    }
    m = static_cast<int64_t>(block->size());
    for (size_t i = 0; i < block->size(); ++i) {
      if ((*block)[i] < 1) {
        return InvalidArgument("block_shape values must be >= 1, got " + std::to_string((*block)[i]) +
                               " at index " + std::to_string(i));
      }
    }
  }
  if (pads) {
    if (m != -1 && static_cast<int64_t>(pads->size()) != 2 * m) {
      return InvalidArgument(std::string(pads_name) + " has " + std::to_string(pads->size()) + " values, expected " +
                             std::to_string(2 * m));
    }
    for (int64_t p : *pads) {
      if (p < 0) return InvalidArgument(std::string(pads_name) + " must be non-negative, got " + std::to_string(p));
    }
  }

  const DType dtype = ctx.input_dtype(0);
  const PartialShape& in = ctx.input_shape(0);
  if (!in.rank_known) {
    ctx.set_output(0, dtype, PartialShape::Unknown());
    return OkStatus();
  }
  if (m == -1) {
    ctx.set_output(0, dtype, PartialShape::Known(Shape(in.dims.size(), -1)));
    return OkStatus();
  }
  if (in.rank() < m + 1) {
    return InvalidArgument("input must have rank >= " + std::to_string(m + 1) + " for " + std::to_string(m) +
                           " block dims, got shape " + in.ToString());
  }
  Shape out = in.dims;
  // Values beyond this are rejected rather than risk overflow in the arithmetic below.
  constexpr int64_t kBig = int64_t{1} << 40;
  int64_t block_prod = 1;
  if (block) {
    for (int64_t b : *block) {
      if (b > kBig || block_prod > kBig / b) return InvalidArgument("block_shape values are too large");
      block_prod *= b;
    }
  }
  if (out[0] != -1) {
    if (!block) {
      out[0] = -1;
    } else if (to_batch) {
      if (block_prod != 0 && out[0] > INT64_MAX / block_prod) return InvalidArgument("output batch is too large");
      out[0] *= block_prod;
    } else {
      if (out[0] % block_prod != 0) {
        return InvalidArgument("input batch " + std::to_string(out[0]) + " is not divisible by the product of " +
                               "block_shape (" + std::to_string(block_prod) + ")");
      }
      out[0] /= block_prod;
    }
  }
  for (int64_t i = 0; i < m; ++i) {
    int64_t& d = out[static_cast<size_t>(i) + 1];
    if (d == -1 || !block || !pads) {
      d = -1;
      continue;
    }
    const int64_t b = (*block)[i], lo = (*pads)[2 * i], hi = (*pads)[2 * i + 1];
    if (lo > kBig || hi > kBig) return InvalidArgument(std::string(pads_name) + " values are too large");
    if (to_batch) {
      const int64_t padded = d + lo + hi;
      if (padded % b != 0) {
        return InvalidArgument("padded size " + std::to_string(padded) + " of spatial dim " + std::to_string(i) +
                               " is not divisible by block_shape[" + std::to_string(i) + "]=" + std::to_string(b));
      }
      d = padded / b;
    } else {
      if (d > INT64_MAX / b) return InvalidArgument("output spatial dim " + std::to_string(i) + " is too large");
      const int64_t cropped = d * b - lo - hi;
      if (cropped < 0) {
        return InvalidArgument("crops " + std::to_string(lo) + "+" + std::to_string(hi) + " exceed size " +
                               std::to_string(d * b) + " of spatial dim " + std::to_string(i));
      }
      d = cropped;
    }
  }
  ctx.set_output(0, dtype, PartialShape::Known(std::move(out)));
  return OkStatus();
}

// SpaceToBatch / BatchToSpace: 4-D input, block_size on both spatial dims, inputs (input,
// paddings or crops). Reduces to the ND case with block_shape [block_size, block_size].
Status LegacyBlockShapeFn(InferenceContext& ctx, bool to_batch) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  KILN_ASSIGN_OR_RETURN(int64_t bs, ctx.Attr<int64_t>("block_size"));
  if (bs < 2) return InvalidArgument("block_size must be >= 2, got " + std::to_string(bs));
  const PartialShape& in = ctx.input_shape(0);
  if (in.rank_known && in.rank() != 4) return InvalidArgument("input must be 4-D, got shape " + in.ToString());
  const Tensor block_shape = Tensor::FromVector<int64_t>({2}, {bs, bs});
  std::vector<OutputInfo> infos = {{ctx.input_dtype(0), in},
                                   {DType::kInt64, PartialShape::Known({2})},
                                   {ctx.input_dtype(1), ctx.input_shape(1)}};
  InferenceContext nd(ctx.node(), std::move(infos), {ctx.input_value(0), &block_shape, ctx.input_value(1)});
  KILN_RETURN_IF_ERROR(BlockShapeFn(nd, to_batch));
  ctx.set_output(0, nd.outputs()[0].dtype, nd.outputs()[0].shape);
  return OkStatus();
}

// SpaceToDepth (to_depth) and DepthToSpace.
Status DepthShapeFn(InferenceContext& ctx, bool to_depth) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(1, 1));
  KILN_ASSIGN_OR_RETURN(int64_t bs, ctx.Attr<int64_t>("block_size"));
  if (bs < 2) return InvalidArgument("block_size must be >= 2, got " + std::to_string(bs));
  if (bs > (int64_t{1} << 20)) return InvalidArgument("block_size " + std::to_string(bs) + " is too large");
  KILN_ASSIGN_OR_RETURN(std::string format, ctx.Attr<std::string>("data_format"));
  if (format != "NHWC" && format != "NCHW") {
    if (format == "NCHW_VECT_C") return Unimplemented("data_format NCHW_VECT_C is not supported");
    return InvalidArgument("data_format must be NHWC or NCHW, got '" + format + "'");
  }
  const PartialShape& in = ctx.input_shape(0);
  if (!in.rank_known) {
    ctx.set_output(0, ctx.input_dtype(0), PartialShape::Known(Shape(4, -1)));
    return OkStatus();
  }
  if (in.rank() != 4) return InvalidArgument("input must be 4-D, got shape " + in.ToString());
  const bool nchw = format == "NCHW";
  const int h = nchw ? 2 : 1, w = h + 1, c = nchw ? 1 : 3;
  Shape out = in.dims;
  for (int d : {h, w}) {
    if (out[d] == -1) continue;
    if (to_depth) {
      if (out[d] % bs != 0) {
        return InvalidArgument("spatial dims of " + in.ToString() + " must be divisible by block_size " +
                               std::to_string(bs));
      }
      out[d] /= bs;
    } else {
      out[d] *= bs;
    }
  }
  if (out[c] != -1) {
    if (to_depth) {
      out[c] *= bs * bs;
    } else {
      if (out[c] % (bs * bs) != 0) {
        return InvalidArgument("depth of " + in.ToString() + " must be divisible by block_size^2 = " +
                               std::to_string(bs * bs));
      }
      out[c] /= bs * bs;
    }
  }
  ctx.set_output(0, ctx.input_dtype(0), PartialShape::Known(std::move(out)));
  return OkStatus();
}

}  // namespace

KILN_REGISTER_OP(OpDefBuilder("SpaceToBatchND")
                     .Attr("T", DType::kFloat32)
                     .Attr("Tblock_shape", DType::kInt32)
                     .Attr("Tpaddings", DType::kInt32)
                     .Output("output")
                     .Shape([](InferenceContext& ctx) { return BlockShapeFn(ctx, true); }));
KILN_REGISTER_OP(OpDefBuilder("BatchToSpaceND")
                     .Attr("T", DType::kFloat32)
                     .Attr("Tblock_shape", DType::kInt32)
                     .Attr("Tcrops", DType::kInt32)
                     .Output("output")
                     .Shape([](InferenceContext& ctx) { return BlockShapeFn(ctx, false); }));
KILN_REGISTER_OP(OpDefBuilder("SpaceToBatch")
                     .Attr("T", DType::kFloat32)
                     .Attr("Tpaddings", DType::kInt32)
                     .Attr("block_size")
                     .Output("output")
                     .Shape([](InferenceContext& ctx) { return LegacyBlockShapeFn(ctx, true); }));
KILN_REGISTER_OP(OpDefBuilder("BatchToSpace")
                     .Attr("T", DType::kFloat32)
                     .Attr("block_size")
                     .Attr("Tidx", DType::kInt32)
                     .Output("output")
                     .Shape([](InferenceContext& ctx) { return LegacyBlockShapeFn(ctx, false); }));
KILN_REGISTER_OP(OpDefBuilder("SpaceToDepth")
                     .Attr("T", DType::kFloat32)
                     .Attr("block_size")
                     .Attr("data_format", std::string("NHWC"))
                     .Output("output")
                     .Shape([](InferenceContext& ctx) { return DepthShapeFn(ctx, true); }));
KILN_REGISTER_OP(OpDefBuilder("DepthToSpace")
                     .Attr("T", DType::kFloat32)
                     .Attr("block_size")
                     .Attr("data_format", std::string("NHWC"))
                     .Output("output")
                     .Shape([](InferenceContext& ctx) { return DepthShapeFn(ctx, false); }));

}  // namespace kiln::ir
