#pragma once
// Reduced-precision emulation: rewrites a float32 graph so that the CPU executor computes what an
// engine built at FP16, BF16, INT8 or FP8 computes, by inserting KilnFakeQuant nodes.

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "calibrate/table.h"
#include "ir/graph.h"
#include "kiln/precision.h"
#include "kiln/status.h"

namespace kiln::passes {

struct PrecisionOptions {
  Precision precision = Precision::kFP32;
  // Tensor name "node:index" -> calibrated max |x| (INT8 / FP8 activations).
  std::map<std::string, float> amax;
  // The model's own FakeQuant / QuantizeLinear / DequantizeLinear nodes decide what is quantized.
  bool explicit_quantization = false;
  // Layers kept in a higher precision (PinnedPrecision): not quantized; pinned to fp32, not rounded.
  std::vector<PrecisionPin> keep_precision;
  // INT8 smoothing (passes/smoothing.h) of the matrix products reading these activations, by
  // tensor name. See InsertPrecisionEmulation.
  std::map<std::string, calibrate::ChannelSmoothing> smoothing;
  // INT8/FP8: matrix products with constant 2-D weights become KilnQuantize + KilnQuantizedMatMul
  // (ir/ops/quantized_ops.h), computed in the quantized type by kernels that have it, instead of
  // being emulated; the other quantized layers are emulated either way.
  bool quantized_ops = false;
  // Round float32 values to fp16 (or bf16) as an engine storing them so does; off for a backend that
  // stores them in 16 bits itself (StoreInReducedPrecision afterwards).
  bool round_to_half = true;
};

struct PrecisionReport {
  // Matrix-product and convolution layers left in fp16, each "layer (Op): reason".
  std::vector<std::string> fp16_fallback;
  int quantized_layers = 0;
  int smoothed_layers = 0;  // of the quantized layers, those whose activation was smoothed
  int lowered_layers = 0;   // of the quantized layers, those made KilnQuantizedMatMul
  // Layers that keep_precision pinned, each "fp32: layer (Op) by keep_precision fp32:X".
  std::vector<std::string> pinned;
};

// The precision `pins` keep node `node` in: the highest of the pins naming it, its op type, or a node
// or op type fused into it (fp32 above fp16 and bf16); nullopt when none does.
std::optional<Precision> PinnedPrecision(const ir::Node& node, const std::vector<PrecisionPin>& pins);
// For reports: "fp32: layer (Op) by keep_precision fp32:X" when `pins` keep the node, else "".
std::string DescribePin(const ir::Node& node, const std::vector<PrecisionPin>& pins);

// Inserts the emulation (needs inferred dtypes and shapes):
// - FP16: a KilnFakeQuant(fp16) after every float32 output of every node except data-movement
//   ops; users and graph outputs read the rounded value. Quantizers (KilnFakeQuant, TensorFlow's
//   FakeQuant*, QuantizeLinear, DequantizeLinear) keep reading the unrounded value, as an engine
//   quantizes in the producer's epilogue or, for weights, at build time.
// - BF16: the same with KilnFakeQuant(bf16).
// - INT8 / FP8: FP16 everywhere, plus each Conv2D, DepthwiseConv2dNative, Conv, MatMul,
//   BatchMatMul{,V2,V3} and KilnFused{Conv2D,DepthwiseConv2D,Conv,MatMul} layer whose activation
//   (input 0) has a calibrated amax reads it through KilnFakeQuant(int8, amax / 127) or
//   (fp8_e4m3, amax / 448), and its constant weights (input 1) through a per-output-channel
//   quantizer (max |w| / 127 or / 448). Layers whose input 1 is not constant (attention's
//   products of two activations) and layers without a range stay in fp16, listed in the report.
// - INT8 smoothing: a smoothable matrix product (SmoothableWeightsOf) whose activation x is in
//   `smoothing` divides channel j of x by s_j and multiplies row j of its weights W by it
//   (ComputeSmoothing; w_j is the max over every such layer reading x, as they share one quantizer).
//   x is quantized per channel with scale s_j * amax / 127, amax the smoothed range, and W * s per
//   output channel; the layer reads the quantized W * s divided by s again, so the float32 graph
//   computes what the engine does: (amax / 127) * (weight scale) * sum_j q(x / s)_j q(W * s)_j.
// - quantized_ops: a quantized matrix product of constant 2-D weights, K and N multiples of 16,
//   reads KilnQuantize(x) (the same scales) and becomes KilnQuantizedMatMul of int8 (or FP8)
//   weights quantize(W [* s]) stored [N, K], a_scale amax / qmax and b_scales the weight scales:
//   the same product, computed in the type.
// - explicit_quantization: no quantizers are inserted; FP16 everywhere else.
StatusOr<PrecisionReport> InsertPrecisionEmulation(ir::Graph& graph, const PrecisionOptions& options);

// 16-bit storage, for a backend whose kernels compute FP16 and BF16 (accumulating in float32):
// every node that `runs_reduced` (the backend's kernels take `storage`, float16 or bfloat16, for
// it) reads and writes `storage` where it read and wrote float32, its dtype attributes changed to
// match; a float32 constant read only by such nodes is converted once (in float16, finite values
// past its range saturate to +-65504 rather than become infinite); Casts go where a value
// passes between such a node and one that stays in float32, and before graph outputs, which keep
// their float32. Needs inferred shapes, and infers them again.
Status StoreInReducedPrecision(ir::Graph& graph, DType storage,
                               const std::function<bool(const ir::Node&)>& runs_reduced);

// The convolutions and matrix products (and their fused forms) that INT8 and FP8 engines quantize.
bool IsQuantizableLayer(const std::string& op);

// The scales of constant weights `w` quantized to [-qmax, qmax]: max |w| / qmax per channel along
// `axis` (one value when axis is -1); an all-zero channel gets 1, which quantizes it to zeros.
std::vector<float> WeightScales(const Tensor& w, int axis, float qmax);

// OK when every pin names a node or an op type of one of `graphs`; else the error names the pin.
Status CheckPinsMatch(const std::vector<PrecisionPin>& pins, const std::vector<const ir::Graph*>& graphs);

// True when the graph holds TensorFlow FakeQuant* ops or ONNX QuantizeLinear / DequantizeLinear.
bool HasExplicitQuantization(const ir::Graph& graph);

}  // namespace kiln::passes
