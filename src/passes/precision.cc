// Reduced-precision emulation: KilnFakeQuant nodes that round float32 values as an FP16, BF16,
// INT8 or FP8 engine does (see precision.h).
#include "passes/precision.h"

#include "ir/ops/fused_ops.h"
#include "ir/ops/quantized_ops.h"
#include "passes/fusion_util.h"
#include "passes/smoothing.h"
#include "passes/view_ops.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <set>
#include <tuple>
#include <utility>

namespace kiln::passes {
namespace {

using ir::Graph;
using ir::Node;
using ir::ValueRef;

// Ops whose outputs only hold values of their inputs: rounding their outputs again changes nothing.
bool IsDataMovement(const std::string& op) {
  static const std::set<std::string> kOps = {
      "Identity",       "IdentityN",    "StopGradient", "PreventGradient", "Snapshot",     "EnsureShape",
      "Reshape",        "OnnxReshape",  "Squeeze",      "ExpandDims",      "Transpose",    "Pack",
      "Unpack",         "ConcatV2",     "Concat",       "Split",           "SplitV",       "Slice",
      "StridedSlice",   "OnnxSlice",    "GatherV2",     "Gather",          "GatherND",     "GatherElements",
      "Tile",           "BroadcastTo",  "ReverseV2",    "SpaceToDepth",    "DepthToSpace", "SpaceToBatchND",
      "BatchToSpaceND", "SpaceToBatch", "BatchToSpace", "KilnFakeQuant"};
  return kOps.count(op) != 0;
}

// Ops that quantize their inputs: they read unrounded values.
bool IsQuantizer(const std::string& op) {
  return op == "KilnFakeQuant" || op == ir::kQuantizeOp || op == "FakeQuantWithMinMaxArgs" ||
         op == "FakeQuantWithMinMaxVars" || op == "FakeQuantWithMinMaxVarsPerChannel" || op == "QuantizeLinear" ||
         op == "DequantizeLinear";
}


std::string TensorName(const Graph& graph, ValueRef v) {
  return graph.node(v.node).name + ":" + std::to_string(v.index);
}

// The name under which `table` (calibration data, by tensor name) holds `v`: its own, or that of
// the tensor a run of reshapes made it from (the same values; engine passes add such reshapes).
template <typename Table>
std::string CalibratedName(const Graph& graph, ValueRef v, const Table& table) {
  for (ValueRef at = v;;) {
    std::string name = TensorName(graph, at);
    if (table.count(name)) return name;
    const Node& n = graph.node(at.node);
    if (!KeepsOrder(n.op) || n.inputs.empty()) return TensorName(graph, v);
    at = n.inputs[0];
  }
}

// Adds KilnFakeQuant(source) named after the source's node; it has the source's dtype and shape.
ValueRef AddFakeQuant(Graph& graph, ValueRef source, const std::string& suffix, const std::string& mode,
                      std::vector<float> scale, int64_t axis) {
  std::string name = graph.node(source.node).name + "/" + suffix;
  if (source.index > 0) name += "_" + std::to_string(source.index);
  ir::AttrMap attrs;
  attrs.Set("mode", mode);
  attrs.Set("scale", std::move(scale));
  attrs.Set("axis", axis);
  const ir::OutputInfo info = graph.output_info(source);
  Node* node = graph.AddNode(name, "KilnFakeQuant", {source}, std::move(attrs), 1);
  node->outputs[0] = info;
  return {node->id, 0};
}

// The output-channel axis of a layer's constant weights, or -1 for one scale per tensor.
StatusOr<int> WeightChannelAxis(const Node& layer, const Tensor& w) {
  const std::string& op = layer.op;
  const int rank = w.rank();
  if ((op == "Conv2D" || op == "KilnFusedConv2D") && rank == 4) return 3;  // HWIO
  if (op == "DepthwiseConv2dNative" || op == "KilnFusedDepthwiseConv2D") {
    // [H, W, C, M]: output channel c * M + m is axis 2 when M is 1.
    return rank == 4 && w.dim(3) == 1 ? 2 : -1;
  }
  // kiln's Conv takes TensorFlow's filter layout [spatial..., in / groups, out]: the ONNX frontend
  // transposes ONNX's OIHW weights into it.
  if ((op == "Conv" || op == "KilnFusedConv") && rank >= 1) return rank - 1;
  if ((op == "MatMul" || op == "KilnFusedMatMul") && rank == 2) {
    KILN_ASSIGN_OR_RETURN(bool transpose_b, layer.attrs.GetOr<bool>("transpose_b", false));
    return transpose_b ? 0 : 1;
  }
  if ((op.rfind("BatchMatMul", 0) == 0 || op == "KilnFusedBatchMatMulV2") && rank >= 2) {
    KILN_ASSIGN_OR_RETURN(bool adj_y, layer.attrs.GetOr<bool>("adj_y", false));
    return adj_y ? rank - 2 : rank - 1;
  }
  return -1;
}

}  // namespace

std::vector<float> WeightScales(const Tensor& w, int axis, float qmax) {
  const int64_t channels = axis < 0 ? 1 : w.dim(axis);
  int64_t inner = 1;
  for (int d = axis + 1; axis >= 0 && d < w.rank(); ++d) inner *= w.dim(d);
  std::vector<float> amax(channels, 0.0f);
  const float* data = w.data<float>();
  for (int64_t i = 0; i < w.num_elements(); ++i) {
    const float a = std::fabs(data[i]);
    float& m = amax[axis < 0 ? 0 : (i / inner) % channels];
    if (std::isfinite(a)) m = std::max(m, a);
  }
  std::vector<float> scales;
  for (float a : amax) scales.push_back(a > 0.0f ? a / qmax : 1.0f);
  return scales;
}

namespace {

class QuantizerInserter {
 public:
  QuantizerInserter(Graph& graph, const PrecisionOptions& options, PrecisionReport& report)
      : graph_(graph), options_(options), report_(report) {
    const bool int8 = options.precision == Precision::kINT8;
    qmax_ = int8 ? 127.0f : 448.0f;
    mode_ = int8 ? "int8" : "fp8_e4m3";
    suffix_ = int8 ? "kiln_int8" : "kiln_fp8";
    qtype_ = int8 ? DType::kInt8 : DType::kFloat8E4M3FN;
  }

  // Quantizes the inputs of layer `id`, or records why it stays in fp16.
  Status QuantizeLayer(int id) {
    Node& layer = graph_.node(id);
    if (layer.inputs.size() < 2) return OkStatus();
    const std::string where = layer.name + " (" + layer.op + ")";
    const ValueRef act = layer.inputs[0];
    const ValueRef weights = layer.inputs[1];
    std::string reason;
    const std::optional<float> act_amax = CalibratedAmax(act, "input 0", reason);
    if (!act_amax) {
      report_.fp16_fallback.push_back(where + ": " + reason);
      return OkStatus();
    }
    const Node& wnode = graph_.node(weights.node);
    if (wnode.op != "Const" || graph_.output_info(weights).dtype != DType::kFloat32) {
      // Products of two activations (attention's scores and context) keep their fp16 inputs, as
      // calibrated INT8 engines do: one range per tensor does not fit probabilities and scores.
      report_.fp16_fallback.push_back(where + ": input 1 is an activation, not constant weights");
      return OkStatus();
    }
    KILN_ASSIGN_OR_RETURN(Tensor w, wnode.attrs.Get<Tensor>("value"));
    KILN_ASSIGN_OR_RETURN(int axis, WeightChannelAxis(layer, w));
    // The activation is quantized per tensor by amax / qmax, or, smoothed by factors s_j, per
    // channel by s_j * amax / qmax with amax the smoothed range.
    auto smoothable = SmoothableWeightsOf(graph_, layer);
    auto sm = smoothing_.find(act);
    const bool smoothed = smoothable && sm != smoothing_.end() &&
                          smoothable->weights.dim(smoothable->row_axis) ==
                              static_cast<int64_t>(sm->second.factors.size());
    const std::vector<float> factors = smoothed ? sm->second.factors : std::vector<float>{};
    const float range = smoothed ? sm->second.amax : *act_amax;
    std::vector<float> act_scales;
    for (float f : smoothed ? factors : std::vector<float>{1.0f}) act_scales.push_back(f * range / qmax_);
    const int64_t act_axis = smoothed ? graph_.output_info(act).shape.rank() - 1 : -1;
    if (smoothed) ++report_.smoothed_layers;
    ++report_.quantized_layers;
    const bool aligned = smoothable && smoothable->weights.rank() == 2 &&
                         smoothable->weights.dim(0) % kQuantizedAlignment == 0 &&
                         smoothable->weights.dim(1) % kQuantizedAlignment == 0;
    if (options_.quantized_ops && aligned) {
      const ValueRef act_q = QuantizeOp(act, smoothed ? kSmoothedActivation : kActivation, act_scales, act_axis);
      Lower(layer, *smoothable, act_q, range / qmax_, factors);
      ++report_.lowered_layers;
      return OkStatus();
    }
    const ValueRef act_q = Quantizer(act, smoothed ? kSmoothedActivation : kActivation, act_scales, act_axis);
    const ValueRef w_q = smoothed ? SmoothedWeights(layer, *smoothable, factors)
                                  : Quantizer(weights, axis, WeightScales(w, axis, qmax_), axis);
    // The nodes added above leave `layer` valid (nodes are heap-allocated).
    layer.inputs[0] = act_q;
    layer.inputs[1] = w_q;
    return OkStatus();
  }

  // Plans INT8 smoothing for the activations that `layers` (those to be quantized) read: one set of
  // factors per activation in options.smoothing, from the weights of every smoothable layer reading it.
  void PlanSmoothing(const std::vector<int>& layers) {
    if (options_.precision != Precision::kINT8 || options_.smoothing.empty()) return;
    std::map<ValueRef, std::vector<float>> weight_rows;  // activation -> max |W| per row, over its layers
    for (int id : layers) {
      const Node& layer = graph_.node(id);
      if (layer.inputs.size() < 2 ||
          !options_.smoothing.count(CalibratedName(graph_, layer.inputs[0], options_.smoothing))) {
        continue;
      }
      const auto smoothable = SmoothableWeightsOf(graph_, layer);
      if (!smoothable) continue;
      const std::vector<float> rows = WeightRowAmax(smoothable->weights, smoothable->row_axis);
      std::vector<float>& all = weight_rows[layer.inputs[0]];
      if (all.empty()) all.assign(rows.size(), 0.0f);
      for (size_t j = 0; j < rows.size() && j < all.size(); ++j) all[j] = std::max(all[j], rows[j]);
    }
    for (const auto& [act, rows] : weight_rows) {
      const std::string name = CalibratedName(graph_, act, options_.smoothing);
      const calibrate::ChannelSmoothing& range = options_.smoothing.at(name);
      if (auto sm = ComputeSmoothing(range.channel_amax, rows, range.alpha)) smoothing_[act] = std::move(*sm);
    }
  }

 private:
  static constexpr int kActivation = -2, kSmoothedActivation = -3;
  // The quantized products' K and N are multiples of this, as tensor-core int8 and FP8 kernels need.
  static constexpr int64_t kQuantizedAlignment = 16;

  // The weights `layer` reads when its activation is smoothed by `factors`: W * s quantized per
  // output channel, then divided by s again (both folded into a constant later).
  ValueRef SmoothedWeights(const Node& layer, const SmoothableWeights& w, const std::vector<float>& factors) {
    Tensor scaled = ScaleRows(w.weights, w.row_axis, factors);
    Shape inverse_shape(w.weights.shape().size(), 1);
    inverse_shape[w.row_axis] = static_cast<int64_t>(factors.size());
    Tensor inverse(DType::kFloat32, inverse_shape);
    for (size_t j = 0; j < factors.size(); ++j) inverse.data<float>()[j] = 1.0f / factors[j];
    const std::string base = graph_.node(layer.inputs[1].node).name + "/" + suffix_ + "_smoothed";
    const std::vector<float> scales = WeightScales(scaled, w.out_axis, qmax_);
    const Node* scaled_node = graph_.AddConst(graph_.UniqueName(base), std::move(scaled));
    const ValueRef quantized = AddFakeQuant(graph_, {scaled_node->id, 0}, suffix_, mode_, scales, w.out_axis);
    const Node* inverse_node = graph_.AddConst(graph_.UniqueName(base + "_inverse"), std::move(inverse));
    Node* mul = graph_.AddNode(graph_.UniqueName(base + "_weights"), "Mul", {quantized, {inverse_node->id, 0}},
                               {}, 1);
    mul->attrs.Set("T", DType::kFloat32);
    mul->outputs[0] = graph_.output_info(quantized);
    return {mul->id, 0};
  }

  // The calibrated amax of `v`, or nullopt with `reason` set.
  std::optional<float> CalibratedAmax(ValueRef v, const std::string& which, std::string& reason) const {
    const std::string name = CalibratedName(graph_, v, options_.amax);
    const DType dtype = graph_.output_info(v).dtype;
    if (dtype != DType::kFloat32) {
      reason = which + " '" + name + "' is " + std::string(DTypeName(dtype)) + ", not float32";
      return std::nullopt;
    }
    auto it = options_.amax.find(name);
    if (it == options_.amax.end()) {
      reason = "no calibrated range for " + which + " '" + name + "'";
      return std::nullopt;
    }
    if (it->second == 0.0f) {
      reason = "the calibrated range of " + which + " '" + name + "' is 0";
      return std::nullopt;
    }
    return it->second;
  }

  // One KilnQuantize per (source, kind) of an activation, as Quantizer().
  ValueRef QuantizeOp(ValueRef source, int kind, std::vector<float> scale, int64_t axis) {
    const auto key = std::make_tuple(source.node, source.index, kind);
    if (auto it = quantize_ops_.find(key); it != quantize_ops_.end()) return it->second;
    ir::AttrMap attrs;
    attrs.Set("dtype", qtype_);
    attrs.Set("scale", std::move(scale));
    attrs.Set("axis", axis);
    std::string name = graph_.node(source.node).name + "/" + suffix_;
    if (source.index > 0) name += "_" + std::to_string(source.index);
    Node* node = graph_.AddNode(graph_.UniqueName(name), ir::kQuantizeOp, {source}, std::move(attrs), 1);
    node->outputs[0] = {qtype_, graph_.output_info(source).shape};
    quantize_ops_[key] = {node->id, 0};
    return {node->id, 0};
  }

  // Makes `layer` a KilnQuantizedMatMul of `act_q` (scale a_scale) and its weights quantized per
  // output channel, scaled by the smoothing `factors` first when there are any, and stored as [N, K]
  // (transpose_b), the layout tensor-core int8 and FP8 kernels take.
  void Lower(Node& layer, const SmoothableWeights& w, ValueRef act_q, float a_scale,
             const std::vector<float>& factors) {
    const Tensor scaled = factors.empty() ? w.weights : ScaleRows(w.weights, w.row_axis, factors);
    const std::vector<float> b_scales = WeightScales(scaled, w.out_axis, qmax_);
    const int64_t n = scaled.dim(w.out_axis), k = scaled.dim(w.row_axis);
    Tensor q(qtype_, {n, k});
    for (int64_t o = 0; o < n; ++o) {
      for (int64_t r = 0; r < k; ++r) {
        const float v = scaled.data<float>()[w.row_axis == 0 ? r * n + o : o * k + r], s = b_scales[o];
        if (qtype_ == DType::kInt8) {
          q.data<int8_t>()[o * k + r] = ir::QuantizeToInt8(v, s);
        } else {
          q.data<Float8E4M3>()[o * k + r] = FloatToFloat8E4M3(v / s);
        }
      }
    }
    const Node* weights = graph_.AddConst(graph_.UniqueName(graph_.node(layer.inputs[1].node).name + "/" + suffix_),
                                          std::move(q));
    ir::AttrMap attrs;
    attrs.Set("T", DType::kFloat32);
    attrs.Set("transpose_b", true);
    attrs.Set("a_scale", a_scale);
    attrs.Set("b_scales", b_scales);
    // The epilogue of a fused layer, and the record of what was fused into it, stay.
    for (const char* kept : {"fused_ops", "leakyrelu_alpha", "_kiln_fused_names", "_kiln_fused_ops"}) {
      if (layer.attrs.Has(kept)) attrs.Set(kept, layer.attrs.all().at(kept));
    }
    layer.op = ir::kQuantizedMatMulOp;
    layer.attrs = std::move(attrs);
    layer.inputs[0] = act_q;
    layer.inputs[1] = {weights->id, 0};
  }

  // One quantizer per (source, kind): kind kActivation or kSmoothedActivation for an activation,
  // else the weight axis (-1: per tensor).
  ValueRef Quantizer(ValueRef source, int kind, std::vector<float> scale, int64_t axis) {
    const auto key = std::make_tuple(source.node, source.index, kind);
    auto it = cache_.find(key);
    if (it != cache_.end()) return it->second;
    const ValueRef q = AddFakeQuant(graph_, source, suffix_, mode_, std::move(scale), axis);
    cache_[key] = q;
    return q;
  }

  Graph& graph_;
  const PrecisionOptions& options_;
  PrecisionReport& report_;
  float qmax_;
  DType qtype_;
  std::string mode_, suffix_;
  std::map<std::tuple<int, int, int>, ValueRef> cache_, quantize_ops_;
  std::map<ValueRef, Smoothing> smoothing_;
};

// The pin that decides node `n`'s precision: among those naming it, its op type or what was fused
// into it, the first to fp32, else the first.
const PrecisionPin* DecidingPin(const Node& n, const std::vector<PrecisionPin>& pins) {
  if (pins.empty()) return nullptr;
  std::set<std::string> names = {n.name}, ops = {n.op, ir::EpilogueBaseOp(n.op)};
  for (std::string& name : fusion::FusedNames(n)) names.insert(std::move(name));
  for (std::string& op : fusion::FusedOps(n)) ops.insert(std::move(op));
  const PrecisionPin* best = nullptr;
  for (const PrecisionPin& pin : pins) {
    if (!names.count(pin.layer) && !ops.count(pin.layer)) continue;
    if (best == nullptr || (pin.precision == Precision::kFP32 && best->precision != Precision::kFP32)) best = &pin;
  }
  return best;
}

// Rounds every float32 output of nodes [0, num_nodes) but those in `keep_fp32` to 16 bits (`mode`
// fp16 or bf16) for its non-quantizer users.
void InsertHalfRounding(Graph& graph, int num_nodes, const std::string& mode, const std::set<int>& keep_fp32) {
  std::map<ValueRef, std::vector<std::pair<int, int>>> users;
  for (int id = 0; id < graph.num_nodes(); ++id) {
    const Node& n = graph.node(id);
    if (IsQuantizer(n.op)) continue;
    for (size_t k = 0; k < n.inputs.size(); ++k) users[n.inputs[k]].push_back({id, static_cast<int>(k)});
  }
  std::map<ValueRef, std::vector<int>> graph_outputs;
  for (size_t i = 0; i < graph.outputs().size(); ++i) graph_outputs[graph.outputs()[i].value].push_back(i);

  for (int id = 0; id < num_nodes; ++id) {
    const Node& n = graph.node(id);
    if (IsDataMovement(n.op) || IsQuantizer(n.op) || keep_fp32.count(id)) continue;
    const int num_outputs = static_cast<int>(n.outputs.size());
    for (int i = 0; i < num_outputs; ++i) {
      if (graph.node(id).outputs[i].dtype != DType::kFloat32) continue;
      const ValueRef v{id, i};
      auto u = users.find(v);
      auto o = graph_outputs.find(v);
      if (u == users.end() && o == graph_outputs.end()) continue;
      const ValueRef rounded = AddFakeQuant(graph, v, "kiln_" + mode, mode, {}, -1);
      if (u != users.end()) {
        for (const auto& [user, k] : u->second) graph.node(user).inputs[k] = rounded;
      }
      if (o != graph_outputs.end()) {
        for (int k : o->second) graph.outputs()[k].value = rounded;
      }
    }
  }
}

}  // namespace

bool IsQuantizableLayer(const std::string& op) {
  static const std::set<std::string> kOps = {"Conv2D",        "DepthwiseConv2dNative", "Conv",
                                             "MatMul",        "BatchMatMul",           "BatchMatMulV2",
                                             "BatchMatMulV3", "KilnFusedConv2D",       "KilnFusedDepthwiseConv2D",
                                             "KilnFusedConv", "KilnFusedMatMul",      "KilnFusedBatchMatMulV2"};
  return kOps.count(op) != 0;
}

StatusOr<PrecisionReport> InsertPrecisionEmulation(ir::Graph& graph, const PrecisionOptions& options) {
  PrecisionReport report;
  if (options.precision == Precision::kFP32) return report;
  for (const auto& [name, sm] : options.smoothing) {
    if (!(sm.alpha > 0.0f && sm.alpha <= 1.0f)) {
      return InvalidArgument("the smoothing alpha of tensor '" + name + "' must be in (0, 1], got " +
                             std::to_string(sm.alpha));
    }
    for (float a : sm.channel_amax) {
      if (!std::isfinite(a) || a < 0.0f) {
        return InvalidArgument("calibrated channel amax of tensor '" + name +
                               "' must be finite and non-negative, got " + std::to_string(a));
      }
    }
  }
  for (const auto& [name, amax] : options.amax) {
    if (!std::isfinite(amax) || amax < 0.0f) {
      return InvalidArgument("calibrated amax of tensor '" + name + "' must be finite and non-negative, got " +
                             std::to_string(amax));
    }
  }
  const int num_nodes = graph.num_nodes();
  for (int id = 0; id < num_nodes; ++id) {
    const Node& n = graph.node(id);
    for (size_t i = 0; i < n.outputs.size(); ++i) {
      if (n.outputs[i].dtype == DType::kInvalid) {
        return FailedPrecondition("precision emulation needs inferred shapes; output " + std::to_string(i) +
                                  " of node '" + n.name + "' (" + n.op + ") has none");
      }
    }
  }
  std::set<int> pinned, keep_fp32;
  for (int id = 0; id < num_nodes; ++id) {
    const Node& n = graph.node(id);
    const PrecisionPin* pin = DecidingPin(n, options.keep_precision);
    if (pin == nullptr || n.op == "Const" || n.op == "Placeholder") continue;
    pinned.insert(id);
    if (pin->precision == Precision::kFP32) keep_fp32.insert(id);
    report.pinned.push_back(DescribePin(n, options.keep_precision));
  }
  const bool quantize =
      (options.precision == Precision::kINT8 || options.precision == Precision::kFP8) && !options.explicit_quantization;
  if (quantize) {
    QuantizerInserter inserter(graph, options, report);
    std::vector<int> layers;
    for (int id = 0; id < num_nodes; ++id) {
      if (IsQuantizableLayer(graph.node(id).op) && !pinned.count(id)) layers.push_back(id);
    }
    inserter.PlanSmoothing(layers);
    for (int id : layers) {
      Status s = inserter.QuantizeLayer(id);
      if (!s.ok()) return s.AtNode(graph.node(id).name, graph.node(id).op);
    }
  }
  if (options.round_to_half) {
    InsertHalfRounding(graph, num_nodes, options.precision == Precision::kBF16 ? "bf16" : "fp16", keep_fp32);
  }
  return report;
}

std::optional<Precision> PinnedPrecision(const ir::Node& node, const std::vector<PrecisionPin>& pins) {
  const PrecisionPin* pin = DecidingPin(node, pins);
  return pin != nullptr ? std::optional<Precision>(pin->precision) : std::nullopt;
}

std::string DescribePin(const ir::Node& node, const std::vector<PrecisionPin>& pins) {
  const PrecisionPin* pin = DecidingPin(node, pins);
  if (pin == nullptr) return "";
  return std::string(PrecisionName(pin->precision)) + ": " + node.name + " (" + node.op + ") by keep_precision " +
         PrecisionPinToString(*pin);
}

Status CheckPinsMatch(const std::vector<PrecisionPin>& pins, const std::vector<const ir::Graph*>& graphs) {
  for (const PrecisionPin& pin : pins) {
    bool found = false;
    for (const ir::Graph* g : graphs) {
      for (int id = 0; id < g->num_nodes() && !found; ++id) {
        found = g->node(id).name == pin.layer || g->node(id).op == pin.layer;
      }
    }
    if (!found) {
      return InvalidArgument("keep_precision '" + PrecisionPinToString(pin) +
                             "' names no node and no op type of the model's engine segments");
    }
  }
  return OkStatus();
}

bool HasExplicitQuantization(const ir::Graph& graph) {
  for (int id = 0; id < graph.num_nodes(); ++id) {
    const std::string& op = graph.node(id).op;
    if (op.rfind("FakeQuant", 0) == 0 || op == "QuantizeLinear" || op == "DequantizeLinear") return true;
  }
  return false;
}

}  // namespace kiln::passes
