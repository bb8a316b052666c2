// The fused ops of the fusion passes: KilnFusedConv2D, KilnFusedDepthwiseConv2D, KilnFusedConv,
// KilnFusedMatMul, KilnFusedBatchMatMulV2 (a base op with its epilogue), KilnFusedElementwise (an elementwise program) and
// KilnLayerNorm, with the parsing of their attrs that the passes and kernels share.
#include "ir/ops/fused_ops.h"

#include <array>
#include <utility>

#include "ir/op_registry.h"
#include "ir/ops/conv_geometry.h"
#include "ir/ops/quantized_ops.h"

namespace kiln::ir {
namespace {

constexpr std::array<std::pair<std::string_view, std::string_view>, 5> kEpilogueOps = {{
    {"Conv2D", "KilnFusedConv2D"},
    {"DepthwiseConv2dNative", "KilnFusedDepthwiseConv2D"},
    {"Conv", "KilnFusedConv"},
    {"MatMul", "KilnFusedMatMul"},
    {"BatchMatMulV2", "KilnFusedBatchMatMulV2"},
}};

constexpr std::array<std::pair<std::string_view, Activation>, 8> kActivations = {{
    {"Relu", Activation::kRelu},
    {"Relu6", Activation::kRelu6},
    {"Elu", Activation::kElu},
    {"Selu", Activation::kSelu},
    {"LeakyRelu", Activation::kLeakyRelu},
    {"Sigmoid", Activation::kSigmoid},
    {"Tanh", Activation::kTanh},
    {"KilnGelu", Activation::kGelu},
}};

constexpr std::array<std::pair<std::string_view, ElementwiseOp>, 34> kElementwiseOps = {{
    {"Relu", ElementwiseOp::kRelu},
    {"Relu6", ElementwiseOp::kRelu6},
    {"Elu", ElementwiseOp::kElu},
    {"Selu", ElementwiseOp::kSelu},
    {"LeakyRelu", ElementwiseOp::kLeakyRelu},
    {"Softplus", ElementwiseOp::kSoftplus},
    {"Softsign", ElementwiseOp::kSoftsign},
    {"Sigmoid", ElementwiseOp::kSigmoid},
    {"Tanh", ElementwiseOp::kTanh},
    {"Erf", ElementwiseOp::kErf},
    {"Exp", ElementwiseOp::kExp},
    {"Expm1", ElementwiseOp::kExpm1},
    {"Log", ElementwiseOp::kLog},
    {"Log1p", ElementwiseOp::kLog1p},
    {"Sqrt", ElementwiseOp::kSqrt},
    {"Rsqrt", ElementwiseOp::kRsqrt},
    {"Reciprocal", ElementwiseOp::kReciprocal},
    {"Inv", ElementwiseOp::kReciprocal},
    {"Neg", ElementwiseOp::kNeg},
    {"Abs", ElementwiseOp::kAbs},
    {"Square", ElementwiseOp::kSquare},
    {"Floor", ElementwiseOp::kFloor},
    {"Ceil", ElementwiseOp::kCeil},
    {"KilnGelu", ElementwiseOp::kGelu},
    {"Add", ElementwiseOp::kAdd},
    {"AddV2", ElementwiseOp::kAdd},
    {"Sub", ElementwiseOp::kSub},
    {"Mul", ElementwiseOp::kMul},
    {"RealDiv", ElementwiseOp::kDiv},
    {"Div", ElementwiseOp::kDiv},
    {"Maximum", ElementwiseOp::kMaximum},
    {"Minimum", ElementwiseOp::kMinimum},
    {"Pow", ElementwiseOp::kPow},
    {"SquaredDifference", ElementwiseOp::kSquaredDifference},
}};

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == sep) {
      parts.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  return parts;
}

// The base op's shape function on inputs 0 and 1, then checks of the bias and residual.
// The fused ops compute float32, float16 and bfloat16 (the 16-bit types in float32).
bool FusedDType(DType d) { return d == DType::kFloat32 || d == DType::kFloat16 || d == DType::kBFloat16; }

// Inputs first..last share input `first`'s dtype, one of the fused ops' dtypes.
Status CheckFusedDTypes(const InferenceContext& ctx, int first, int last) {
  const DType d = ctx.input_dtype(first);
  if (!FusedDType(d)) {
    return InvalidArgument("input " + std::to_string(first) + " must be float32, float16 or bfloat16, got " +
                           std::string(DTypeName(d)));
  }
  for (int i = first + 1; i <= last; ++i) {
    if (ctx.input_dtype(i) != d) {
      return InvalidArgument("input " + std::to_string(i) + " is " + std::string(DTypeName(ctx.input_dtype(i))) +
                             ", not " + std::string(DTypeName(d)) + " as input " + std::to_string(first));
    }
  }
  return OkStatus();
}

Status FusedEpilogueShape(InferenceContext& ctx) {
  const std::string base = EpilogueBaseOp(ctx.node().op);
  const OpDef* def = OpRegistry::Global().Find(base);
  if (def == nullptr || !def->shape_fn) return Internal("no shape function for " + base);
  KILN_ASSIGN_OR_RETURN(Epilogue e, ParseEpilogue(ctx.attrs()));
  const int expected = 2 + (e.bias ? 1 : 0) + (e.residual ? 1 : 0);
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(expected, expected));
  InferenceContext base_ctx(ctx.node(),
                            {{ctx.input_dtype(0), ctx.input_shape(0)}, {ctx.input_dtype(1), ctx.input_shape(1)}},
                            {ctx.input_value(0), ctx.input_value(1)});
  KILN_RETURN_IF_ERROR(def->shape_fn(base_ctx));
  const OutputInfo out = base_ctx.outputs()[0];
  if (!FusedDType(out.dtype)) {
    return InvalidArgument(ctx.node().op + " computes float32, float16 or bfloat16, not " +
                           std::string(DTypeName(out.dtype)));
  }
  int next = 2;
  if (e.bias) {
    const PartialShape& bias = ctx.input_shape(next);
    if (ctx.input_dtype(next) != out.dtype) {
      return InvalidArgument("the bias must be " + std::string(DTypeName(out.dtype)));
    }
    if (bias.rank_known && bias.rank() != 1)
      return InvalidArgument("the bias must be a vector, got " + bias.ToString());
    if (bias.rank_known && out.shape.rank_known) {
      KILN_ASSIGN_OR_RETURN(int axis, EpilogueChannelAxis(ctx.node().op, ctx.attrs(), out.shape.rank()));
      const int64_t c = out.shape.dims[axis];
      if (c >= 0 && bias.dims[0] >= 0 && c != bias.dims[0]) {
        return InvalidArgument("bias " + bias.ToString() + " does not match the output's " + std::to_string(c) +
                               " channels");
      }
    }
    ++next;
  }
  if (e.residual) {
    const PartialShape& res = ctx.input_shape(next);
    if (ctx.input_dtype(next) != out.dtype) {
      return InvalidArgument("the residual must be " + std::string(DTypeName(out.dtype)));
    }
    if (res.rank_known && out.shape.rank_known) {
      bool same = res.rank() == out.shape.rank();
      for (int i = 0; same && i < res.rank(); ++i) {
        same = res.dims[i] < 0 || out.shape.dims[i] < 0 || res.dims[i] == out.shape.dims[i];
      }
      if (!same) {
        return InvalidArgument("residual " + res.ToString() + " does not have the output's shape " +
                               out.shape.ToString());
      }
    }
  }
  ctx.set_output(0, out.dtype, out.shape);
  return OkStatus();
}

Status FusedElementwiseShape(InferenceContext& ctx) {
  if (ctx.num_inputs() < 1) return InvalidArgument("expects at least 1 input");
  KILN_RETURN_IF_ERROR(ParseElementwiseProgram(ctx.attrs(), ctx.num_inputs()).status());
  KILN_RETURN_IF_ERROR(CheckFusedDTypes(ctx, 0, ctx.num_inputs() - 1));
  ctx.set_output(0, ctx.input_dtype(0), ctx.input_shape(0));
  return OkStatus();
}

Status LayerNormShape(InferenceContext& ctx) {
  if (ctx.num_inputs() != 3) return InvalidArgument("expects 3 inputs (x, scale, offset)");
  KILN_RETURN_IF_ERROR(CheckFusedDTypes(ctx, 0, 2));
  KILN_ASSIGN_OR_RETURN(int64_t axis, ctx.attrs().Get<int64_t>("axis"));
  const PartialShape& x = ctx.input_shape(0);
  if (x.rank_known && (axis < 0 || axis >= x.rank())) {
    return InvalidArgument("axis " + std::to_string(axis) + " is outside input 0 of rank " + std::to_string(x.rank()));
  }
  ctx.set_output(0, ctx.input_dtype(0), x);
  return OkStatus();
}

const std::vector<int64_t> kUnitDilations4 = {1, 1, 1, 1};

OpDefBuilder WithEpilogueAttrs(OpDefBuilder b) {
  return std::move(b.Attr("fused_ops", std::vector<std::string>{})
                       .Attr("leakyrelu_alpha", 0.2f)
                       .Output("output")
                       .Shape(FusedEpilogueShape));
}

}  // namespace

std::string FusedEpilogueOpFor(std::string_view base_op) {
  for (const auto& [base, fused] : kEpilogueOps) {
    if (base == base_op) return std::string(fused);
  }
  return "";
}

std::string EpilogueBaseOp(std::string_view fused_op) {
  for (const auto& [base, fused] : kEpilogueOps) {
    if (fused == fused_op) return std::string(base);
  }
  return "";
}

StatusOr<int> EpilogueChannelAxis(std::string_view op, const AttrMap& attrs, int rank) {
  const std::string base = EpilogueBaseOp(op).empty() ? std::string(op) : EpilogueBaseOp(op);
  if (rank < 1) return InvalidArgument("the output of " + base + " must have rank 1 or more");
  if (base == "MatMul" || base == "BatchMatMulV2" || op == kQuantizedMatMulOp) return rank - 1;
  KILN_ASSIGN_OR_RETURN(bool channels_first, ParseChannelsFirst(attrs));
  if (!channels_first) return rank - 1;
  int64_t batch_dims = 1;
  if (base == "Conv") {
    KILN_ASSIGN_OR_RETURN(batch_dims, attrs.GetOr<int64_t>("batch_dims", 1));
  }
  if (batch_dims < 1 || batch_dims >= rank) return InvalidArgument("batch_dims out of range");
  return static_cast<int>(batch_dims);
}

std::optional<Activation> ActivationFromOp(std::string_view op) {
  for (const auto& [name, act] : kActivations) {
    if (name == op) return act;
  }
  return std::nullopt;
}

StatusOr<Epilogue> ParseEpilogue(const AttrMap& attrs) {
  KILN_ASSIGN_OR_RETURN(std::vector<std::string> ops, attrs.GetOr<std::vector<std::string>>("fused_ops", {}));
  Epilogue e;
  KILN_ASSIGN_OR_RETURN(e.leakyrelu_alpha, attrs.GetOr<float>("leakyrelu_alpha", 0.2f));
  size_t i = 0;
  if (i < ops.size() && ops[i] == "BiasAdd") e.bias = true, ++i;
  if (i < ops.size() && ops[i] == "Add") e.residual = true, ++i;
  if (i < ops.size()) {
    std::optional<Activation> act = ActivationFromOp(ops[i]);
    if (!act) return InvalidArgument("fused_ops entry '" + ops[i] + "' is not BiasAdd, Add or a known activation");
    e.activation = *act;
    ++i;
  }
  if (i != ops.size()) return InvalidArgument("fused_ops must list BiasAdd, Add and an activation, in that order");
  return e;
}

StatusOr<Epilogue> ParsePoolEpilogue(const AttrMap& attrs, int num_inputs) {
  KILN_ASSIGN_OR_RETURN(Epilogue e, ParseEpilogue(attrs));
  if (e.residual) return InvalidArgument("a max pool's fused_ops take BiasAdd and an activation, not Add");
  const int expected = e.bias ? 2 : 1;
  if (num_inputs != expected) {
    return InvalidArgument("expects " + std::to_string(expected) + " input(s) (" +
                           (e.bias ? "the data and the bias of its fused BiasAdd" : "the data") + "), got " +
                           std::to_string(num_inputs));
  }
  return e;
}

Status CheckPoolEpilogue(const InferenceContext& ctx, int64_t channels) {
  KILN_ASSIGN_OR_RETURN(Epilogue e, ParsePoolEpilogue(ctx.attrs(), ctx.num_inputs()));
  if (!e.empty() && !FusedDType(ctx.input_dtype(0))) {
    return InvalidArgument("a pool's epilogue computes float32, float16 or bfloat16, not " +
                           std::string(DTypeName(ctx.input_dtype(0))));
  }
  if (!e.bias) return OkStatus();
  const PartialShape& bias = ctx.input_shape(1);
  if (ctx.input_dtype(1) != ctx.input_dtype(0)) {
    return InvalidArgument("the bias must be " + std::string(DTypeName(ctx.input_dtype(0))) + ", got " +
                           std::string(DTypeName(ctx.input_dtype(1))));
  }
  if (!bias.rank_known) return OkStatus();
  if (bias.rank() != 1) return InvalidArgument("the bias must be a vector, got " + bias.ToString());
  if (channels >= 0 && bias.dims[0] >= 0 && bias.dims[0] != channels) {
    return InvalidArgument("bias " + bias.ToString() + " does not match the input's " + std::to_string(channels) +
                           " channels");
  }
  return OkStatus();
}

std::optional<ElementwiseOp> ElementwiseOpFromName(std::string_view op) {
  for (const auto& [name, value] : kElementwiseOps) {
    if (name == op) return value;
  }
  return std::nullopt;
}

bool IsBinaryElementwise(ElementwiseOp op) { return op >= ElementwiseOp::kAdd; }

std::string EncodeElementwiseStep(std::string_view op, bool binary, bool chain_is_lhs, int operand) {
  std::string s(op);
  if (binary) s += std::string(chain_is_lhs ? ":L:" : ":R:") + std::to_string(operand);
  return s;
}

StatusOr<std::vector<ElementwiseStep>> ParseElementwiseProgram(const AttrMap& attrs, int num_inputs) {
  KILN_ASSIGN_OR_RETURN(std::vector<std::string> ops, attrs.Get<std::vector<std::string>>("ops"));
  KILN_ASSIGN_OR_RETURN(std::vector<float> params, attrs.GetOr<std::vector<float>>("params", {}));
  if (!params.empty() && params.size() != ops.size()) {
    return InvalidArgument("params has " + std::to_string(params.size()) + " entries but ops has " +
                           std::to_string(ops.size()));
  }
  std::vector<ElementwiseStep> steps;
  for (size_t i = 0; i < ops.size(); ++i) {
    const std::vector<std::string_view> parts = Split(ops[i], ':');
    std::optional<ElementwiseOp> op = ElementwiseOpFromName(parts[0]);
    if (!op) return InvalidArgument("ops entry '" + ops[i] + "' names no fusable elementwise op");
    ElementwiseStep step{*op};
    step.param = params.empty() ? 0.0f : params[i];
    if (IsBinaryElementwise(*op)) {
      if (parts.size() != 3 || (parts[1] != "L" && parts[1] != "R")) {
        return InvalidArgument("ops entry '" + ops[i] + "' must read Op:L:input or Op:R:input");
      }
      step.chain_is_lhs = parts[1] == "L";
      int operand = 0;
      for (char c : parts[2]) {
        if (c < '0' || c > '9' || operand > 1000000)
          return InvalidArgument("bad operand in ops entry '" + ops[i] + "'");
        operand = operand * 10 + (c - '0');
      }
      if (parts[2].empty() || operand < 1 || operand >= num_inputs) {
        return InvalidArgument("ops entry '" + ops[i] + "' names input " + std::string(parts[2]) + " of " +
                               std::to_string(num_inputs));
      }
      step.operand = operand;
    } else if (parts.size() != 1) {
      return InvalidArgument("ops entry '" + ops[i] + "' is a unary op and takes no operand");
    }
    steps.push_back(step);
  }
  if (steps.empty()) return InvalidArgument("ops must not be empty");
  return steps;
}

KILN_REGISTER_OP(WithEpilogueAttrs(std::move(OpDefBuilder("KilnFusedConv2D")
                                                 .Attr("T", DType::kFloat32)
                                                 .Attr("strides")
                                                 .Attr("use_cudnn_on_gpu", true)
                                                 .Attr("padding")
                                                 .Attr("explicit_paddings", std::vector<int64_t>{})
                                                 .Attr("data_format", std::string("NHWC"))
                                                 .Attr("dilations", kUnitDilations4))));
KILN_REGISTER_OP(WithEpilogueAttrs(std::move(OpDefBuilder("KilnFusedDepthwiseConv2D")
                                                 .Attr("T", DType::kFloat32)
                                                 .Attr("strides")
                                                 .Attr("padding")
                                                 .Attr("explicit_paddings", std::vector<int64_t>{})
                                                 .Attr("data_format", std::string("NHWC"))
                                                 .Attr("dilations", kUnitDilations4))));
KILN_REGISTER_OP(WithEpilogueAttrs(std::move(OpDefBuilder("KilnFusedConv")
                                                 .Attr("T", DType::kFloat32)
                                                 .Attr("strides")
                                                 .Attr("padding")
                                                 .Attr("explicit_paddings", std::vector<int64_t>{})
                                                 .Attr("data_format", std::string("CHANNELS_LAST"))
                                                 .Attr("dilations", std::vector<int64_t>{})
                                                 .Attr("batch_dims", int64_t{1})
                                                 .Attr("groups", int64_t{1}))));
KILN_REGISTER_OP(WithEpilogueAttrs(std::move(OpDefBuilder("KilnFusedMatMul")
                                                 .Attr("transpose_a", false)
                                                 .Attr("transpose_b", false)
                                                 .Attr("T", DType::kFloat32)
                                                 .Attr("grad_a", false)
                                                 .Attr("grad_b", false))));
KILN_REGISTER_OP(WithEpilogueAttrs(std::move(OpDefBuilder("KilnFusedBatchMatMulV2")
                                                 .Attr("T", DType::kFloat32)
                                                 .Attr("adj_x", false)
                                                 .Attr("adj_y", false)
                                                 .Attr("grad_x", false)
                                                 .Attr("grad_y", false))));
KILN_REGISTER_OP(OpDefBuilder(kFusedElementwiseOp)
                     .Attr("T", DType::kFloat32)
                     .Attr("ops")
                     .Attr("params", std::vector<float>{})
                     .Output("y")
                     .Shape(FusedElementwiseShape));
KILN_REGISTER_OP(OpDefBuilder(kLayerNormOp)
                     .Attr("T", DType::kFloat32)
                     .Attr("axis")
                     .Attr("epsilon", 1e-5f)
                     .Output("y")
                     .Shape(LayerNormShape));

}  // namespace kiln::ir
