// ONNX RotaryEmbedding (opset 23): rotates pairs of the first rotary_embedding_dim channels of
// each head by the cos/sin caches, as slices, elementwise math and concatenation. Works on
// [batch, seq, heads, head_size]; 4-D inputs ([batch, heads, seq, head_size]) are transposed
// there and back, 3-D ones ([batch, seq, hidden]) reshaped with num_heads.
#include <limits>

#include "frontends/onnx/ops/common.h"

namespace kiln::onnx {
namespace {

using ir::ValueRef;

constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();

StatusOr<ValueRef> SliceLast(ConvertContext& ctx, ValueRef x, int64_t begin, int64_t end, int64_t step = 1) {
  return ctx.Op("OnnxSlice", {x, ctx.Ints({begin}), ctx.Ints({end}), ctx.Ints({-1}), ctx.Ints({step})},
                Attrs({{"T", ctx.dtype(x)}}));
}

StatusOr<ValueRef> OnnxReshape(ConvertContext& ctx, ValueRef x, const std::vector<int64_t>& shape) {
  return ctx.Op("OnnxReshape", {x, ctx.Ints(shape)}, Attrs({{"T", ctx.dtype(x)}, {"allowzero", int64_t{0}}}));
}

Status RotaryEmbedding(ConvertContext& ctx) {
  KILN_ASSIGN_OR_RETURN(int64_t num_heads, ctx.Int("num_heads", 0));
  KILN_ASSIGN_OR_RETURN(int64_t rotary_dim, ctx.Int("rotary_embedding_dim", 0));
  KILN_ASSIGN_OR_RETURN(int64_t interleaved, ctx.Int("interleaved", 0));
  ValueRef x = ctx.input(0);
  const DType t = ctx.dtype(x);
  KILN_ASSIGN_OR_RETURN(int rank, KnownRank(ctx, x, "input"));
  const PartialShape& xs = ctx.shape(x);
  int64_t head_size = -1;
  if (rank == 4) {
    head_size = xs.dims[3];
    KILN_ASSIGN_OR_RETURN(x, Transpose(ctx, x, {0, 2, 1, 3}));
  } else if (rank == 3) {
    if (num_heads <= 0) return InvalidArgument("num_heads is required for a 3-D input");
    if (xs.dims[2] >= 0) {
      if (xs.dims[2] % num_heads != 0) return InvalidArgument("hidden size does not divide by num_heads");
      head_size = xs.dims[2] / num_heads;
    }
    KILN_ASSIGN_OR_RETURN(x, OnnxReshape(ctx, x, {0, 0, num_heads, -1}));
  } else {
    return InvalidArgument("input must have rank 3 or 4, got " + xs.ToString());
  }
  if (head_size < 0) return ctx.Unsupported("an input of unknown head size");
  if (rotary_dim == 0) rotary_dim = head_size;
  if (rotary_dim < 0 || rotary_dim > head_size || rotary_dim % 2 != 0) {
    return InvalidArgument("rotary_embedding_dim " + std::to_string(rotary_dim) + " must be even and at most " +
                           std::to_string(head_size));
  }
  const int64_t half = rotary_dim / 2;

  // cos/sin: [batch, seq, half] (gathered by position_ids from [max_pos, half]), then a heads dim.
  ValueRef cos = ctx.input(1), sin = ctx.input(2);
  if (ctx.has_input(3)) {
    for (ValueRef* c : {&cos, &sin}) {
      KILN_ASSIGN_OR_RETURN(
          *c, ctx.Op("GatherV2", {*c, ctx.input(3), ctx.Int64Scalar(0)},
                     Attrs({{"Tparams", t}, {"Tindices", ctx.dtype(ctx.input(3))}, {"Taxis", DType::kInt64}})));
    }
  }
  for (ValueRef* c : {&cos, &sin}) {
    const int cr = ctx.rank(*c);
    if (cr >= 0 && ctx.shape(*c).dims[cr - 1] >= 0 && ctx.shape(*c).dims[cr - 1] != half) {
      return InvalidArgument("cos/sin cache's last dim must be rotary_embedding_dim / 2 = " + std::to_string(half));
    }
    KILN_ASSIGN_OR_RETURN(*c, ExpandDims(ctx, *c, 2));
  }

  KILN_ASSIGN_OR_RETURN(ValueRef rot, SliceLast(ctx, x, 0, rotary_dim));
  ValueRef x1, x2;
  if (interleaved) {
    KILN_ASSIGN_OR_RETURN(x1, SliceLast(ctx, rot, 0, kInt64Max, 2));
    KILN_ASSIGN_OR_RETURN(x2, SliceLast(ctx, rot, 1, kInt64Max, 2));
  } else {
    KILN_ASSIGN_OR_RETURN(x1, SliceLast(ctx, rot, 0, half));
    KILN_ASSIGN_OR_RETURN(x2, SliceLast(ctx, rot, half, rotary_dim));
  }
  auto mul = [&](ValueRef a, ValueRef b) { return Binary(ctx, "Mul", a, b); };
  KILN_ASSIGN_OR_RETURN(ValueRef c1, mul(cos, x1));
  KILN_ASSIGN_OR_RETURN(ValueRef s2, mul(sin, x2));
  KILN_ASSIGN_OR_RETURN(ValueRef s1, mul(sin, x1));
  KILN_ASSIGN_OR_RETURN(ValueRef c2, mul(cos, x2));
  KILN_ASSIGN_OR_RETURN(ValueRef real, Binary(ctx, "Sub", c1, s2));
  KILN_ASSIGN_OR_RETURN(ValueRef imag, Binary(ctx, "AddV2", s1, c2));
  if (interleaved) {
    for (ValueRef* v : {&real, &imag}) {
      KILN_ASSIGN_OR_RETURN(*v, ExpandDims(ctx, *v, -1));
    }
    KILN_ASSIGN_OR_RETURN(rot, Concat(ctx, {real, imag}, -1));
    KILN_ASSIGN_OR_RETURN(rot, OnnxReshape(ctx, rot, {0, 0, 0, rotary_dim}));
  } else {
    KILN_ASSIGN_OR_RETURN(rot, Concat(ctx, {real, imag}, -1));
  }
  ValueRef y = rot;
  if (rotary_dim < head_size) {
    KILN_ASSIGN_OR_RETURN(ValueRef pass, SliceLast(ctx, x, rotary_dim, kInt64Max));
    KILN_ASSIGN_OR_RETURN(y, Concat(ctx, {rot, pass}, -1));
  }
  if (rank == 4) {
    KILN_ASSIGN_OR_RETURN(y, Transpose(ctx, y, {0, 2, 1, 3}));
  } else {
    KILN_ASSIGN_OR_RETURN(y, OnnxReshape(ctx, y, {0, 0, -1}));
  }
  ctx.SetOutput(0, y);
  return OkStatus();
}

}  // namespace

KILN_REGISTER_ONNX_OP("RotaryEmbedding", RotaryEmbedding);

}  // namespace kiln::onnx
