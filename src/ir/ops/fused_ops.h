#pragma once
// The fused ops the fusion passes create (src/passes/fusion.h), as the passes, the op
// definitions and the kernels all read them:
//  - KilnFusedConv2D / KilnFusedDepthwiseConv2D / KilnFusedConv / KilnFusedMatMul /
//    KilnFusedBatchMatMulV2: the base op's
//    inputs and attrs, then the bias [C] when fused_ops has "BiasAdd", then the residual (the
//    output's shape) when it has "Add"; fused_ops ends with the activation, if any
//    (e.g. ["BiasAdd", "Add", "Relu"]; "KilnGelu" is the exact GELU, x / 2 * (1 + erf(x / sqrt(2))));
//    leakyrelu_alpha is LeakyRelu's alpha.
//  - MaxPool and OnnxPool in mode max may end with the epilogue of the convolution before them,
//    moved past the pool (passes::MoveEpiloguesPastMaxPools): fused_ops lists "BiasAdd" and/or an
//    activation, leakyrelu_alpha as above, and the bias [C] is input 1; the output is
//    act(max + bias[channel]).
//  - KilnFusedElementwise: input 0 is the chain's input; attr ops is the program, one step per
//    entry: "Op" for a unary op, "Op:L:i" / "Op:R:i" for a binary op whose chain value is the left
//    (L) or right (R) operand and whose other operand is input i; params holds each step's
//    parameter (LeakyRelu's alpha, else 0). Operands are scalars, tensors of the chain's shape,
//    or tensors whose non-1 dims are one contiguous run of the chain's dims (per-channel vectors).
//  - KilnLayerNorm: inputs x, scale, offset; normalizes x over its dims from attr axis on
//    (y = (x - mean) / sqrt(variance + epsilon) * scale + offset, both statistics over those dims);
//    scale and offset have those dims' shape (after any leading dims of 1).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ir/attr.h"
#include "kiln/status.h"

namespace kiln::ir {

inline constexpr char kFusedElementwiseOp[] = "KilnFusedElementwise";
inline constexpr char kLayerNormOp[] = "KilnLayerNorm";

// "Conv2D" -> "KilnFusedConv2D" and so on; empty for an op without a fused form.
std::string FusedEpilogueOpFor(std::string_view base_op);
// "KilnFusedConv2D" -> "Conv2D" and so on; empty for any other op.
std::string EpilogueBaseOp(std::string_view fused_op);

// The channel axis of a conv/matmul output of rank `rank`: data_format's channel axis for Conv2D and
// DepthwiseConv2dNative (1 or 3), batch_dims or the last axis for Conv, the last axis for MatMul and
// BatchMatMulV2.
// Accepts the base op or its fused form.
StatusOr<int> EpilogueChannelAxis(std::string_view op, const AttrMap& attrs, int rank);

enum class Activation { kNone, kRelu, kRelu6, kElu, kSelu, kLeakyRelu, kSigmoid, kTanh, kGelu };
// 1 / sqrt(2), the scale of the exact GELU's erf argument.
inline constexpr float kGeluErfScale = 0.70710678118654752f;
// The activation an op type names, or nullopt.
std::optional<Activation> ActivationFromOp(std::string_view op);

struct Epilogue {
  bool bias = false;
  bool residual = false;
  Activation activation = Activation::kNone;
  float leakyrelu_alpha = 0.2f;
  // Nothing to apply (what a convolution keeps when its epilogue moves past a max pool).
  bool empty() const { return !bias && !residual && activation == Activation::kNone; }
};
// Reads fused_ops and leakyrelu_alpha; entries must come in the order bias, residual, activation.
StatusOr<Epilogue> ParseEpilogue(const AttrMap& attrs);

class InferenceContext;
// A max pool's epilogue (no residual), checked against its `num_inputs`: 1, or 2 with a bias.
StatusOr<Epilogue> ParsePoolEpilogue(const AttrMap& attrs, int num_inputs);
// Shape inference's checks of a max pool's epilogue: its inputs, and the bias a vector of the
// pool's `channels` (-1 when unknown) in the input's dtype.
Status CheckPoolEpilogue(const InferenceContext& ctx, int64_t channels);

enum class ElementwiseOp {
  // Unary.
  kRelu,
  kRelu6,
  kElu,
  kSelu,
  kLeakyRelu,
  kSoftplus,
  kSoftsign,
  kSigmoid,
  kTanh,
  kErf,
  kExp,
  kExpm1,
  kLog,
  kLog1p,
  kSqrt,
  kRsqrt,
  kReciprocal,
  kNeg,
  kAbs,
  kSquare,
  kFloor,
  kCeil,
  // x / 2 * (1 + erf(x * param)), the exact GELU with param 1/sqrt(2) ("KilnGelu" in programs; no
  // op type of its own: FuseElementwiseChains writes it for the ops that compute it).
  kGelu,
  // Binary.
  kAdd,
  kSub,
  kMul,
  kDiv,
  kMaximum,
  kMinimum,
  kPow,
  kSquaredDifference,
};
// The elementwise op an op type names ("AddV2" and "Add" are both kAdd), or nullopt.
std::optional<ElementwiseOp> ElementwiseOpFromName(std::string_view op);
bool IsBinaryElementwise(ElementwiseOp op);

struct ElementwiseStep {
  ElementwiseOp op;
  bool chain_is_lhs = true;  // binary: the chain value is the left operand
  int operand = -1;          // binary: the input holding the other operand
  float param = 0.0f;
};
// One program entry, as FuseElementwiseChains writes it.
std::string EncodeElementwiseStep(std::string_view op, bool binary, bool chain_is_lhs, int operand);
// Reads attrs ops and params; operands must be inputs 1 to num_inputs - 1.
StatusOr<std::vector<ElementwiseStep>> ParseElementwiseProgram(const AttrMap& attrs, int num_inputs);

}  // namespace kiln::ir
