// TensorFlow's fake quantization ops (explicit quantization in a SavedModel):
// FakeQuantWithMinMaxArgs, FakeQuantWithMinMaxVars and FakeQuantWithMinMaxVarsPerChannel.
#include "ir/op_registry.h"
#include "ir/shape_fns.h"

namespace kiln::ir {
namespace {

Status CheckNumBits(const InferenceContext& ctx) {
  KILN_ASSIGN_OR_RETURN(int64_t num_bits, ctx.Attr<int64_t>("num_bits"));
  if (num_bits < 2 || num_bits > 16) {
    return InvalidArgument("num_bits must be between 2 and 16, inclusive, got " + std::to_string(num_bits));
  }
  return OkStatus();
}

Status CheckFloat32Input(const InferenceContext& ctx) {
  if (ctx.input_dtype(0) != DType::kFloat32) {
    return InvalidArgument("inputs must be float32, got " + std::string(DTypeName(ctx.input_dtype(0))));
  }
  return OkStatus();
}

Status FakeQuantArgsShape(InferenceContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(1, 1));
  KILN_RETURN_IF_ERROR(CheckFloat32Input(ctx));
  KILN_RETURN_IF_ERROR(CheckNumBits(ctx));
  KILN_ASSIGN_OR_RETURN(float min, ctx.Attr<float>("min"));
  KILN_ASSIGN_OR_RETURN(float max, ctx.Attr<float>("max"));
  if (!(min < max)) {
    return InvalidArgument("min has to be smaller than max, was: " + std::to_string(min) +
                           " >= " + std::to_string(max));
  }
  ctx.set_output(0, DType::kFloat32, ctx.input_shape(0));
  return OkStatus();
}

// Checks that min and max (inputs 1 and 2) have rank `rank` and, for rank 1, `channels` values.
Status CheckMinMax(const InferenceContext& ctx, int rank, int64_t channels) {
  for (int i : {1, 2}) {
    const char* name = i == 1 ? "min" : "max";
    const PartialShape& s = ctx.input_shape(i);
    if (ctx.input_dtype(i) != DType::kFloat32) {
      return InvalidArgument(std::string(name) + " must be float32, got " + std::string(DTypeName(ctx.input_dtype(i))));
    }
    if (!s.rank_known) continue;
    if (s.rank() != rank) {
      return InvalidArgument("`" + std::string(name) + "` must be rank " + std::to_string(rank) + " but is rank " +
                             std::to_string(s.rank()));
    }
    if (rank == 1 && channels >= 0 && s.dims[0] >= 0 && s.dims[0] != channels) {
      return InvalidArgument(std::string(name) + " has incorrect size, expected " + std::to_string(channels) + " was " +
                             std::to_string(s.dims[0]));
    }
  }
  return OkStatus();
}

Status FakeQuantVarsShape(InferenceContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(3, 3));
  KILN_RETURN_IF_ERROR(CheckFloat32Input(ctx));
  KILN_RETURN_IF_ERROR(CheckNumBits(ctx));
  KILN_RETURN_IF_ERROR(CheckMinMax(ctx, 0, -1));
  ctx.set_output(0, DType::kFloat32, ctx.input_shape(0));
  return OkStatus();
}

Status FakeQuantVarsPerChannelShape(InferenceContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(3, 3));
  KILN_RETURN_IF_ERROR(CheckFloat32Input(ctx));
  KILN_RETURN_IF_ERROR(CheckNumBits(ctx));
  const PartialShape& x = ctx.input_shape(0);
  if (x.rank_known && x.rank() < 1) return InvalidArgument("inputs must have rank 1 or more, got " + x.ToString());
  KILN_RETURN_IF_ERROR(CheckMinMax(ctx, 1, x.rank_known ? x.dims.back() : -1));
  ctx.set_output(0, DType::kFloat32, x);
  return OkStatus();
}

}  // namespace

KILN_REGISTER_OP(OpDefBuilder("FakeQuantWithMinMaxArgs")
                     .Attr("min", -6.0f)
                     .Attr("max", 6.0f)
                     .Attr("num_bits", int64_t{8})
                     .Attr("narrow_range", false)
                     .Output("outputs")
                     .Shape(FakeQuantArgsShape));
KILN_REGISTER_OP(OpDefBuilder("FakeQuantWithMinMaxVars")
                     .Attr("num_bits", int64_t{8})
                     .Attr("narrow_range", false)
                     .Output("outputs")
                     .Shape(FakeQuantVarsShape));
KILN_REGISTER_OP(OpDefBuilder("FakeQuantWithMinMaxVarsPerChannel")
                     .Attr("num_bits", int64_t{8})
                     .Attr("narrow_range", false)
                     .Output("outputs")
                     .Shape(FakeQuantVarsPerChannelShape));

}  // namespace kiln::ir
