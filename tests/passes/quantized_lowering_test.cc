// Quantized matrix products lowered to KilnQuantize + KilnQuantizedMatMul compute what the
// emulation of the same precision computes: per tensor and smoothed, INT8 and FP8, plain and fused
// layers, shared activations.
#include <cmath>

#include "ir/ops/quantized_ops.h"
#include "ir/shape_fns.h"
#include "passes/fusion.h"
#include "passes/passes.h"
#include "passes/pass_test_util.h"
#include "passes/precision.h"

namespace kiln {
namespace {

using ir::ValueRef;
using testing::Attrs;
using testing::Builder;

// x [6, 16] -> MatMul w1 -> BiasAdd -> Relu (fused) -> MatMul w2 (transposed); x -> MatMul w4 too;
// y [2, 3, 16] -> BatchMatMulV2 w3 (adj_y).
void Build(Builder& b) {
  const ValueRef x = b.Input("x", {6, 16});
  const ValueRef y = b.Input("y", {2, 3, 16});
  const ValueRef mm1 = b.Op("mm1", "MatMul", {x, b.RandomConst("w1", {16, 32})});
  const ValueRef relu = b.Op("relu", "Relu", {b.Op("bias", "BiasAdd", {mm1, b.RandomConst("b1", {32})})});
  b.Output(b.Op("mm2", "MatMul", {relu, b.RandomConst("w2", {16, 32})}, Attrs({{"transpose_b", true}})));
  b.Output(relu);
  b.Output(b.Op("mm3", "MatMul", {x, b.RandomConst("w4", {16, 16})}));
  b.Output(b.Op("bmm", "BatchMatMulV2", {y, b.RandomConst("w3", {48, 16})}, Attrs({{"adj_y", true}})));
  // K = 3 is not a multiple of 16: emulated, not lowered.
  b.Output(b.Op("odd", "MatMul", {b.Op("slice", "Slice", {x, b.Const("begin", Tensor::FromVector<int32_t>({2}, {0, 0})),
                                                          b.Const("size", Tensor::FromVector<int32_t>({2}, {6, 3}))}),
                                  b.RandomConst("w5", {3, 16})}));
}

struct Converted {
  std::vector<Tensor> outputs;
  passes::PrecisionReport report;
  int quantized_matmuls = 0;
};

Converted Convert(Precision precision, bool lower, bool smooth) {
  Builder b;
  Build(b);
  ir::Graph& g = b.graph();
  EXPECT_TRUE(passes::FuseForEngine(g).ok());
  passes::PrecisionOptions options;
  options.precision = precision;
  options.amax = {{"x:0", 1.0f}, {"y:0", 1.0f}, {"relu:0", 3.0f}, {"slice:0", 1.0f}};
  if (smooth) {
    std::vector<float> channels(16);
    for (int j = 0; j < 16; ++j) channels[j] = j == 3 ? 1.0f : 0.05f + 0.01f * j;
    options.smoothing["x:0"] = {channels, 0.5f};
  }
  options.quantized_ops = lower;
  Converted r;
  auto report = passes::InsertPrecisionEmulation(g, options);
  EXPECT_TRUE(report.ok()) << report.status().ToString();
  r.report = *report;
  r.quantized_matmuls = testing::Count(g, ir::kQuantizedMatMulOp);
  EXPECT_TRUE(passes::FoldConstants(g).ok());
  g.RemoveDeadNodes();
  EXPECT_TRUE(ir::InferShapes(g).ok());
  Tensor x = testing::RandomTensor(DType::kFloat32, {6, 16}, 11, -0.06, 0.06);
  for (int r0 = 0; r0 < 6; ++r0) x.data<float>()[r0 * 16 + 3] *= 16;  // the outlier channel
  auto out = testing::RunGraph(g, {x, testing::RandomTensor(DType::kFloat32, {2, 3, 16}, 12)});
  EXPECT_TRUE(out.ok()) << out.status().ToString();
  if (out.ok()) r.outputs = std::move(out).value();
  return r;
}

TEST(QuantizedLoweringTest, LoweredLayersComputeWhatTheEmulationComputes) {
  for (Precision precision : {Precision::kINT8, Precision::kFP8}) {
    for (bool smooth : {false, true}) {
      SCOPED_TRACE(std::string(PrecisionName(precision)) + (smooth ? " smoothed" : ""));
      const Converted emulated = Convert(precision, false, smooth);
      const Converted lowered = Convert(precision, true, smooth);
      EXPECT_EQ(emulated.quantized_matmuls, 0);
      EXPECT_EQ(lowered.quantized_matmuls, 4);
      EXPECT_EQ(lowered.report.lowered_layers, 4);
      EXPECT_EQ(lowered.report.quantized_layers, 5);
      EXPECT_EQ(lowered.report.quantized_layers, emulated.report.quantized_layers);
      EXPECT_EQ(lowered.report.smoothed_layers, smooth && precision == Precision::kINT8 ? 2 : 0);  // mm1, mm3
      ASSERT_EQ(lowered.outputs.size(), emulated.outputs.size());
      // Layers reading the inputs: both round to fp16, the sums differ in order only.
      for (size_t i = 1; i < lowered.outputs.size(); ++i) {
        EXPECT_TRUE(testing::TensorsNear(lowered.outputs[i], emulated.outputs[i], 1e-3, 2e-3)) << "output " << i;
      }
      // mm2 reads relu's output, where a value one fp16 step apart can quantize one int8 level apart.
      double diff = 0, norm = 0;
      for (int64_t i = 0; i < lowered.outputs[0].num_elements(); ++i) {
        const double got = lowered.outputs[0].data<float>()[i], want = emulated.outputs[0].data<float>()[i];
        diff += (got - want) * (got - want);
        norm += want * want;
      }
      EXPECT_LT(std::sqrt(diff / norm), 1e-2);
    }
  }
}

// The lowered graph's layers: the shared activation is quantized once, the weights are constants of
// the quantized type, and a fused layer keeps its epilogue.
TEST(QuantizedLoweringTest, OneQuantizerPerActivationAndQuantizedWeights) {
  Builder b;
  Build(b);
  ir::Graph& g = b.graph();
  KILN_ASSERT_OK(passes::FuseForEngine(g));
  passes::PrecisionOptions options;
  options.precision = Precision::kINT8;
  options.amax = {{"x:0", 1.0f}, {"y:0", 1.0f}, {"relu:0", 3.0f}, {"slice:0", 1.0f}};
  options.quantized_ops = true;
  options.round_to_half = false;
  KILN_ASSERT_OK(passes::InsertPrecisionEmulation(g, options).status());
  EXPECT_EQ(testing::Count(g, "KilnFakeQuant"), 2);  // the odd layer's activation and weights
  EXPECT_EQ(testing::Count(g, ir::kQuantizeOp), 3);  // x, relu, y
  for (int i = 0; i < g.num_nodes(); ++i) {
    const ir::Node& n = g.node(i);
    if (n.op != ir::kQuantizedMatMulOp) continue;
    EXPECT_EQ(g.output_info(n.inputs[0]).dtype, DType::kInt8) << n.name;
    EXPECT_EQ(g.node(n.inputs[1].node).op, "Const") << n.name;
    EXPECT_EQ(g.output_info(n.inputs[1]).dtype, DType::kInt8) << n.name;
    EXPECT_EQ(*n.attrs.Get<bool>("transpose_b"), true) << n.name;  // weights stored [N, K]
    if (n.name == "relu") {
      EXPECT_EQ(*n.attrs.Get<std::vector<std::string>>("fused_ops"), (std::vector<std::string>{"BiasAdd", "Relu"}));
      EXPECT_EQ(n.inputs.size(), 3u);
    }
  }
}

}  // namespace
}  // namespace kiln
