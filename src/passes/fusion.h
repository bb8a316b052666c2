#pragma once
// The engine's fusion passes: batch norms folded into the filters before them, conv/matmul
// epilogues (bias, residual add, activation) fused into one node, and chains of elementwise ops
// fused into one node that makes a single pass over the elements. Every pass needs inferred
// shapes and keeps them valid; a fused node takes the name of the last node it replaces, so the
// chain's output tensor keeps its name.

#include "ir/graph.h"

namespace kiln::passes {

// Folds an inference-mode FusedBatchNorm{,V2,V3} with constant statistics, and per-output-channel
// Mul/Add/Sub/BiasAdd by constants, that directly follow a Conv2D, DepthwiseConv2dNative, Conv or
// MatMul with a constant filter into that filter (scaled per output channel) and one BiasAdd with
// a constant bias. Every intermediate value must have no other user. float32 only.
Status FoldBatchNorms(ir::Graph& graph);

// Fuses a float32 Conv2D / DepthwiseConv2dNative / Conv / MatMul / BatchMatMulV2 with what follows
// it: an optional bias (BiasAdd, or Add/AddV2 of a constant per-channel vector), an optional
// residual Add/AddV2 of a tensor of the output's shape, and an optional activation (Relu, Relu6,
// Elu, Selu, LeakyRelu, Sigmoid, Tanh; Maximum with 0, then optionally Minimum with 6, as ONNX's
// Clip imports, counts as Relu or Relu6; the exact GELU as FuseGelus writes it) into one
// KilnFused{Conv2D,DepthwiseConv2D,Conv,MatMul,BatchMatMulV2} node.
Status FuseConvMatMulEpilogues(ir::Graph& graph);

// Where a KilnFusedConv2D / KilnFusedDepthwiseConv2D / KilnFusedConv with a bias and/or a
// non-decreasing activation (no residual, no GELU) is read only by a max pool over its spatial
// dims (MaxPool, OnnxPool in mode max), the bias and activation move into the pool
// (ir/ops/fused_ops.h): computed once per pooled element instead of once per convolved one.
Status MoveEpiloguesPastMaxPools(ir::Graph& graph);

// Each float32 GELU written out as ops (x / 2 * (1 + erf(x * c)), as ONNX's Gelu and Keras's gelu
// import) becomes a KilnFusedElementwise of one KilnGelu step.
void FuseGelus(ir::Graph& graph);

// Fuses layer normalization written out as ops (a keep_dims Mean over trailing axes, the mean
// subtracted, the mean of its squares, plus epsilon, Rsqrt and Mul or Sqrt and RealDiv, then an
// optional Mul by a scale and Add of an offset shaped like the normalized dims) into one
// KilnLayerNorm node. float32 only.
Status FuseLayerNorms(ir::Graph& graph);

// Fuses maximal chains (two or more ops) of float32 unary and binary elementwise ops, whose other
// operands are scalars, per-axis vectors or tensors of the chain's shape, into one
// KilnFusedElementwise node; first, FuseGelus.
Status FuseElementwiseChains(ir::Graph& graph);

// Fuses scaled dot-product attention written out as ops (BatchMatMul of q and k^T, an optional
// scale by a scalar constant, an optional bias Add, Softmax, BatchMatMul with v, all rank 4) into
// one KilnAttention node (ir/ops/attention_op.h), taking in the Transposes that split the
// projections into heads and merge them back as the operands' layouts. float32 only.
Status FuseAttention(ir::Graph& graph);

// Reads each KilnAttention operand that only reshapes, transposes or takes one index of another
// tensor (a packed q/k/v projection split into heads) from that tensor in place: the operand's
// layout names the tensor's axes, with a digit for each axis read at one index, and scalar factors
// of q and k on the way move into the scale. Needs known shapes. float32 only.
Status ReadAttentionOperandsInPlace(ir::Graph& graph);

// Where an attention output reaches row-wise products (an output projection) through reshapes and
// their result is then transposed with each row kept whole, the attention writes its output in the
// transposed order and the transpose goes. Needs known shapes. float32 only.
Status WriteAttentionOutputsInReadersOrder(ir::Graph& graph);

// The engine's pipeline: shape inference, constant folding, batch-norm folding, constant folding,
// layer-norm fusion, attention fusion, attention operands read and outputs written in place, GELU
// fusion, epilogue fusion, epilogues moved past max pools, elementwise-chain fusion, dead-node
// removal and shape inference.
Status FuseForEngine(ir::Graph& graph);

}  // namespace kiln::passes
