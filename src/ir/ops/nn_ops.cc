// Dense neural-network ops: MatMul, BatchMatMul{,V2,V3}, Einsum, Softmax, LogSoftmax, BiasAdd{,V1},
// FusedBatchNorm{,V2,V3}, ResizeNearestNeighbor, ResizeBilinear.
#include "ir/op_registry.h"
#include "ir/ops/einsum_equation.h"
#include "ir/shape_fns.h"

namespace kiln::ir {
namespace {

int64_t DimOf(const PartialShape& s, int i) { return s.rank_known ? s.dims[i] : -1; }

Status ExpectSameDType(const InferenceContext& ctx, int a, int b) {
  if (ctx.input_dtype(a) != ctx.input_dtype(b)) {
    return InvalidArgument("input " + std::to_string(b) + " has dtype " + std::string(DTypeName(ctx.input_dtype(b))) +
                           " but input " + std::to_string(a) + " has " + std::string(DTypeName(ctx.input_dtype(a))));
  }
  return OkStatus();
}

// Unifies two possibly unknown sizes that must agree; `what` describes them in the error.
StatusOr<int64_t> MergeDim(int64_t a, int64_t b, const std::string& what) {
  if (a >= 0 && b >= 0 && a != b) {
    return InvalidArgument(what + " do not match: " + std::to_string(a) + " vs " + std::to_string(b));
  }
  return a >= 0 ? a : b;
}

Status MatMulShape(InferenceContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  KILN_RETURN_IF_ERROR(ExpectSameDType(ctx, 0, 1));
  const PartialShape& a = ctx.input_shape(0);
  const PartialShape& b = ctx.input_shape(1);
  for (const PartialShape* s : {&a, &b}) {
    if (s->rank_known && s->rank() != 2) {
      return InvalidArgument("MatMul operands must be matrices, got shapes " + a.ToString() + " and " + b.ToString());
    }
  }
  KILN_ASSIGN_OR_RETURN(bool ta, ctx.Attr<bool>("transpose_a"));
  KILN_ASSIGN_OR_RETURN(bool tb, ctx.Attr<bool>("transpose_b"));
  KILN_RETURN_IF_ERROR(MergeDim(DimOf(a, ta ? 0 : 1), DimOf(b, tb ? 1 : 0),
                                "MatMul inner dimensions of " + a.ToString() + " and " + b.ToString())
                           .status());
  ctx.set_output(0, ctx.input_dtype(0), PartialShape::Known({DimOf(a, ta ? 1 : 0), DimOf(b, tb ? 0 : 1)}));
  return OkStatus();
}

// BatchMatMul (batch dims equal), V2 and V3 (batch dims broadcast).
Status BatchMatMulShape(InferenceContext& ctx, bool broadcast, bool v3) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  DType out_dtype = ctx.input_dtype(0);
  if (v3) {
    KILN_ASSIGN_OR_RETURN(out_dtype, ctx.Attr<DType>("Tout"));
  } else {
    KILN_RETURN_IF_ERROR(ExpectSameDType(ctx, 0, 1));
  }
  const PartialShape& x = ctx.input_shape(0);
  const PartialShape& y = ctx.input_shape(1);
  for (const PartialShape* s : {&x, &y}) {
    if (s->rank_known && s->rank() < 2) {
      return InvalidArgument("BatchMatMul operands must have rank 2 or more, got shapes " + x.ToString() + " and " +
                             y.ToString());
    }
  }
  if (!x.rank_known || !y.rank_known) {
    ctx.set_output(0, out_dtype, PartialShape::Unknown());
    return OkStatus();
  }
  KILN_ASSIGN_OR_RETURN(bool adj_x, ctx.Attr<bool>("adj_x"));
  KILN_ASSIGN_OR_RETURN(bool adj_y, ctx.Attr<bool>("adj_y"));
  const int rx = x.rank(), ry = y.rank();
  KILN_RETURN_IF_ERROR(MergeDim(x.dims[adj_x ? rx - 2 : rx - 1], y.dims[adj_y ? ry - 1 : ry - 2],
                                "BatchMatMul inner dimensions of " + x.ToString() + " and " + y.ToString())
                           .status());
  PartialShape bx = PartialShape::Known({x.dims.begin(), x.dims.end() - 2});
  PartialShape by = PartialShape::Known({y.dims.begin(), y.dims.end() - 2});
  PartialShape batch;
  if (broadcast) {
    auto b = BroadcastShapes(bx, by);
    if (!b.ok()) {
      return InvalidArgument("BatchMatMul batch dimensions of " + x.ToString() + " and " + y.ToString() +
                             " do not broadcast");
    }
    batch = *b;
  } else {
    if (rx != ry) {
      return InvalidArgument("BatchMatMul operands must have equal rank, got " + x.ToString() + " and " + y.ToString());
    }
    batch = bx;
    for (int i = 0; i < rx - 2; ++i) {
      KILN_ASSIGN_OR_RETURN(
          batch.dims[i],
          MergeDim(bx.dims[i], by.dims[i], "BatchMatMul batch dimensions of " + x.ToString() + " and " + y.ToString()));
    }
  }
  batch.dims.push_back(x.dims[adj_x ? rx - 1 : rx - 2]);
  batch.dims.push_back(y.dims[adj_y ? ry - 2 : ry - 1]);
  ctx.set_output(0, out_dtype, std::move(batch));
  return OkStatus();
}

Status EinsumShape(InferenceContext& ctx) {
  KILN_ASSIGN_OR_RETURN(std::string equation, ctx.Attr<std::string>("equation"));
  KILN_ASSIGN_OR_RETURN(EinsumEquation eq, ParseEinsumEquation(equation, ctx.num_inputs()));
  std::vector<PartialShape> shapes;
  for (int i = 0; i < ctx.num_inputs(); ++i) {
    if (i > 0) KILN_RETURN_IF_ERROR(ExpectSameDType(ctx, 0, i));
    shapes.push_back(ctx.input_shape(i));
  }
  bool rank_known = true;
  KILN_ASSIGN_OR_RETURN(EinsumDims dims, ResolveEinsum(eq, shapes, &rank_known));
  if (!rank_known) {
    ctx.set_output(0, ctx.input_dtype(0), PartialShape::Unknown());
    return OkStatus();
  }
  std::vector<int64_t> out;
  for (int label : dims.output) out.push_back(dims.label_size[label]);
  ctx.set_output(0, ctx.input_dtype(0), PartialShape::Known(std::move(out)));
  return OkStatus();
}

Status SoftmaxShape(InferenceContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(1, 1));
  if (ctx.input_shape(0).rank() == 0) return InvalidArgument("logits must have rank 1 or more, got a scalar");
  return UnchangedShape(ctx);
}

Status BiasAddShape(InferenceContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  KILN_RETURN_IF_ERROR(ExpectSameDType(ctx, 0, 1));
  const PartialShape& value = ctx.input_shape(0);
  const PartialShape& bias = ctx.input_shape(1);
  if (value.rank_known && value.rank() < 2) {
    return InvalidArgument("BiasAdd value must have rank 2 or more, got shape " + value.ToString());
  }
  if (bias.rank_known && bias.rank() != 1)
    return InvalidArgument("bias must be a vector, got shape " + bias.ToString());
  KILN_ASSIGN_OR_RETURN(std::string format, ctx.attrs().GetOr<std::string>("data_format", "NHWC"));
  if (format != "NHWC" && format != "NCHW") return InvalidArgument("unsupported data_format '" + format + "'");
  PartialShape out = value;
  if (value.rank_known) {
    const int axis = format == "NCHW" && value.rank() >= 3 ? 1 : value.rank() - 1;
    KILN_ASSIGN_OR_RETURN(out.dims[axis],
                          MergeDim(value.dims[axis], DimOf(bias, 0),
                                   "BiasAdd channel dimension of " + value.ToString() + " and bias length"));
  }
  ctx.set_output(0, ctx.input_dtype(0), std::move(out));
  return OkStatus();
}

Status FusedBatchNormShape(InferenceContext& ctx, int num_outputs, bool allow_5d) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(5, 5));
  const PartialShape& x = ctx.input_shape(0);
  KILN_ASSIGN_OR_RETURN(std::string format, ctx.attrs().GetOr<std::string>("data_format", "NHWC"));
  bool channels_first;
  int rank = 4;
  if (format == "NHWC" || format == "NCHW") {
    channels_first = format == "NCHW";
  } else if (allow_5d && (format == "NDHWC" || format == "NCDHW")) {
    channels_first = format == "NCDHW";
    rank = 5;
  } else {
    return InvalidArgument("unsupported data_format '" + format + "'");
  }
  if (x.rank_known && x.rank() != rank) {
    return InvalidArgument("x must have rank " + std::to_string(rank) + " for data_format " + format + ", got shape " +
                           x.ToString());
  }
  KILN_ASSIGN_OR_RETURN(bool is_training, ctx.Attr<bool>("is_training"));
  KILN_ASSIGN_OR_RETURN(float factor, ctx.Attr<float>("exponential_avg_factor"));
  const bool stats_needed = !is_training || factor != 1.0f;
  int64_t channels = DimOf(x, channels_first ? 1 : rank - 1);
  static const char* kNames[] = {"", "scale", "offset", "mean", "variance"};
  for (int i = 1; i < 5; ++i) {
    if (ctx.input_dtype(i) != ctx.input_dtype(1))
      return InvalidArgument(std::string(kNames[i]) + " dtype differs from scale's");
    const PartialShape& s = ctx.input_shape(i);
    if (s.rank_known && s.rank() != 1) {
      return InvalidArgument(std::string(kNames[i]) + " must be a vector, got shape " + s.ToString());
    }
    // In training the running statistics may be empty.
    if (i >= 3 && !stats_needed && DimOf(s, 0) == 0) continue;
    KILN_ASSIGN_OR_RETURN(
        channels,
        MergeDim(channels, DimOf(s, 0), std::string(kNames[i]) + " length and the channel count of x " + x.ToString()));
  }
  ctx.set_output(0, ctx.input_dtype(0), x);
  for (int i = 1; i < 5; ++i) ctx.set_output(i, ctx.input_dtype(1), PartialShape::Known({channels}));
  if (num_outputs == 6) ctx.set_output(5, ctx.input_dtype(1), PartialShape::Known({}));
  return OkStatus();
}

Status ResizeShape(InferenceContext& ctx, DType out_dtype) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  const PartialShape& images = ctx.input_shape(0);
  const PartialShape& size = ctx.input_shape(1);
  if (images.rank_known && images.rank() != 4) {
    return InvalidArgument("images must have rank 4, got shape " + images.ToString());
  }
  if (size.rank_known && (size.rank() != 1 || (size.dims[0] >= 0 && size.dims[0] != 2))) {
    return InvalidArgument("size must have shape [2], got " + size.ToString());
  }
  if (ctx.input_dtype(1) != DType::kInt32) return InvalidArgument("size must be int32");
  KILN_ASSIGN_OR_RETURN(bool align_corners, ctx.Attr<bool>("align_corners"));
  KILN_ASSIGN_OR_RETURN(bool half_pixel, ctx.Attr<bool>("half_pixel_centers"));
  if (align_corners && half_pixel) {
    return InvalidArgument("align_corners and half_pixel_centers cannot both be true");
  }
  std::vector<int64_t> dims = {DimOf(images, 0), -1, -1, DimOf(images, 3)};
  KILN_ASSIGN_OR_RETURN(auto values, ConstantInt64s(ctx, 1));
  if (values) {
    if (values->size() != 2 || (*values)[0] <= 0 || (*values)[1] <= 0) {
      return InvalidArgument("size must hold two positive values");
    }
    dims[1] = (*values)[0];
    dims[2] = (*values)[1];
  }
  ctx.set_output(0, out_dtype == DType::kInvalid ? ctx.input_dtype(0) : out_dtype, PartialShape::Known(dims));
  return OkStatus();
}

// FusedBatchNorm has T only; V2 adds U (the statistics' type); V3 adds reserve_space_3.
OpDefBuilder FusedBatchNormDef(const std::string& name) {
  const bool v1 = name == "FusedBatchNorm", v3 = name == "FusedBatchNormV3";
  OpDefBuilder b(name);
  b.Attr("T", DType::kFloat32);
  if (!v1) b.Attr("U", DType::kFloat32);
  b.Attr("epsilon", 0.0001f)
      .Attr("exponential_avg_factor", 1.0f)
      .Attr("data_format", std::string("NHWC"))
      .Attr("is_training", true)
      .Output("y")
      .Output("batch_mean")
      .Output("batch_variance")
      .Output("reserve_space_1")
      .Output("reserve_space_2");
  if (v3) b.Output("reserve_space_3");
  b.Shape([v3](InferenceContext& ctx) { return FusedBatchNormShape(ctx, v3 ? 6 : 5, v3); });
  return b;
}

}  // namespace

KILN_REGISTER_OP(OpDefBuilder("MatMul")
                     .Attr("transpose_a", false)
                     .Attr("transpose_b", false)
                     .Attr("T", DType::kFloat32)
                     .Attr("grad_a", false)
                     .Attr("grad_b", false)
                     .Output("product")
                     .Shape(MatMulShape));
KILN_REGISTER_OP(OpDefBuilder("BatchMatMul")
                     .Attr("T", DType::kFloat32)
                     .Attr("adj_x", false)
                     .Attr("adj_y", false)
                     .Attr("grad_x", false)
                     .Attr("grad_y", false)
                     .Output("output")
                     .Shape([](InferenceContext& ctx) { return BatchMatMulShape(ctx, false, false); }));
KILN_REGISTER_OP(OpDefBuilder("BatchMatMulV2")
                     .Attr("T", DType::kFloat32)
                     .Attr("adj_x", false)
                     .Attr("adj_y", false)
                     .Attr("grad_x", false)
                     .Attr("grad_y", false)
                     .Output("output")
                     .Shape([](InferenceContext& ctx) { return BatchMatMulShape(ctx, true, false); }));
KILN_REGISTER_OP(OpDefBuilder("BatchMatMulV3")
                     .Attr("Ta", DType::kFloat32)
                     .Attr("Tb", DType::kFloat32)
                     .Attr("Tout", DType::kFloat32)
                     .Attr("adj_x", false)
                     .Attr("adj_y", false)
                     .Attr("grad_x", false)
                     .Attr("grad_y", false)
                     .Output("output")
                     .Shape([](InferenceContext& ctx) { return BatchMatMulShape(ctx, true, true); }));
KILN_REGISTER_OP(OpDefBuilder("Einsum")
                     .Attr("equation")
                     .Attr("N", int64_t{2})
                     .Attr("T", DType::kFloat32)
                     .Output("output")
                     .Shape(EinsumShape));
KILN_REGISTER_OP(OpDefBuilder("Softmax").Attr("T", DType::kFloat32).Output("softmax").Shape(SoftmaxShape));
KILN_REGISTER_OP(OpDefBuilder("LogSoftmax").Attr("T", DType::kFloat32).Output("logsoftmax").Shape(SoftmaxShape));
KILN_REGISTER_OP(OpDefBuilder("BiasAdd")
                     .Attr("T", DType::kFloat32)
                     .Attr("data_format", std::string("NHWC"))
                     .Output("output")
                     .Shape(BiasAddShape));
KILN_REGISTER_OP(OpDefBuilder("BiasAddV1").Attr("T", DType::kFloat32).Output("output").Shape(BiasAddShape));

KILN_REGISTER_OP(FusedBatchNormDef("FusedBatchNorm"));
KILN_REGISTER_OP(FusedBatchNormDef("FusedBatchNormV2"));
KILN_REGISTER_OP(FusedBatchNormDef("FusedBatchNormV3"));

KILN_REGISTER_OP(OpDefBuilder("ResizeNearestNeighbor")
                     .Attr("T", DType::kFloat32)
                     .Attr("align_corners", false)
                     .Attr("half_pixel_centers", false)
                     .Output("resized_images")
                     .Shape([](InferenceContext& ctx) { return ResizeShape(ctx, DType::kInvalid); }));
KILN_REGISTER_OP(OpDefBuilder("ResizeBilinear")
                     .Attr("T", DType::kFloat32)
                     .Attr("align_corners", false)
                     .Attr("half_pixel_centers", false)
                     .Output("resized_images")
                     .Shape([](InferenceContext& ctx) { return ResizeShape(ctx, DType::kFloat32); }));

}  // namespace kiln::ir
