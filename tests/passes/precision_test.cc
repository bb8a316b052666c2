// Precision emulation on hand-built graphs: where the KilnFakeQuant nodes go in each mode, their
// scales, the fallback report, and an INT8 convolution computed by hand.
#include "passes/precision.h"

#include <cmath>

#include "ir/op_registry.h"
#include "ir/ops/fused_ops.h"
#include "passes/fusion.h"
#include "runtime/executor.h"
#include "util/half_reference.h"
#include "util/test_util.h"

namespace kiln {
namespace {

using ir::ValueRef;
using passes::PrecisionOptions;
using testing::RunGraph;

// Builds a graph node by node, with op defaults applied and output counts from the registry.
class Builder {
 public:
  ValueRef Input(const std::string& name, Shape shape) {
    ir::AttrMap attrs;
    attrs.Set("dtype", DType::kFloat32);
    attrs.Set("shape", PartialShape::Known(std::move(shape)));
    ir::Node* n = graph_.AddNode(name, "Placeholder", {}, attrs, 1);
    graph_.inputs().push_back({name, {n->id, 0}});
    return {n->id, 0};
  }
  ValueRef Const(const std::string& name, Tensor value) { return {graph_.AddConst(name, std::move(value))->id, 0}; }
  ValueRef Op(const std::string& name, const std::string& op, std::vector<ValueRef> inputs, ir::AttrMap attrs = {}) {
    ir::Node* n = graph_.AddNode(name, op, std::move(inputs), std::move(attrs), 1);
    EXPECT_TRUE(ir::OpRegistry::Global().ApplyDefaults(*n).ok()) << name;
    return {n->id, 0};
  }
  void Output(ValueRef v) { graph_.outputs().push_back({"out" + std::to_string(graph_.outputs().size()), v}); }
  ir::Graph& graph() { return graph_; }

 private:
  ir::Graph graph_;
};

const ir::Node* Find(const ir::Graph& g, const std::string& name) {
  for (int i = 0; i < g.num_nodes(); ++i)
    if (g.node(i).name == name) return &g.node(i);
  return nullptr;
}

int Count(const ir::Graph& g, const std::string& op, const std::string& mode) {
  int n = 0;
  for (int i = 0; i < g.num_nodes(); ++i) {
    const ir::Node& node = g.node(i);
    if (node.op == op && (mode.empty() || *node.attrs.Get<std::string>("mode") == mode)) ++n;
  }
  return n;
}

float Half(float x) { return testing::HalfReference(x); }

ir::AttrMap ConvAttrs() {
  ir::AttrMap a;
  a.Set("strides", std::vector<int64_t>{1, 1, 1, 1});
  a.Set("padding", std::string("SAME"));
  return a;
}

TEST(PrecisionTest, Fp32ChangesNothing) {
  Builder b;
  const ValueRef x = b.Input("x", {4});
  b.Output(b.Op("y", "Relu", {x}));
  KILN_ASSERT_OK(ir::InferShapes(b.graph()));
  KILN_ASSERT_OK_AND_ASSIGN(auto report, passes::InsertPrecisionEmulation(b.graph(), {Precision::kFP32, {}, false}));
  EXPECT_EQ(b.graph().num_nodes(), 2);
  EXPECT_EQ(report.quantized_layers, 0);
  EXPECT_TRUE(report.fp16_fallback.empty());
}

TEST(PrecisionTest, Fp16RoundsEveryComputedFloatOutput) {
  Builder b;
  const ValueRef x = b.Input("x", {4});
  const ValueRef c = b.Const("c", Tensor::FromVector<float>({4}, {3.3333f, 0.1f, 1.0f, -0.7f}));
  const ValueRef m = b.Op("m", "Mul", {x, c});
  const ValueRef shape = b.Const("shape", Tensor::FromVector<int32_t>({2}, {2, 2}));
  const ValueRef r = b.Op("r", "Reshape", {m, shape});
  b.Output(b.Op("y", "Relu", {r}));
  b.Output(r);
  KILN_ASSERT_OK(ir::InferShapes(b.graph()));
  KILN_ASSERT_OK_AND_ASSIGN(auto report, passes::InsertPrecisionEmulation(b.graph(), {Precision::kFP16, {}, false}));
  const ir::Graph& g = b.graph();
  EXPECT_EQ(report.quantized_layers, 0);
  // x, c, m and y are rounded; the Reshape and the int32 shape are not.
  EXPECT_EQ(Count(g, "KilnFakeQuant", "fp16"), 4);
  for (const char* name : {"x/kiln_fp16", "c/kiln_fp16", "m/kiln_fp16", "y/kiln_fp16"}) {
    ASSERT_NE(Find(g, name), nullptr) << name;
    EXPECT_EQ(Find(g, name)->op, "KilnFakeQuant");
  }
  EXPECT_EQ(Find(g, "r/kiln_fp16"), nullptr);
  EXPECT_EQ(Find(g, "shape/kiln_fp16"), nullptr);
  const ir::Node* mul = Find(g, "m");
  EXPECT_EQ(g.node(mul->inputs[0].node).name, "x/kiln_fp16");
  EXPECT_EQ(g.node(mul->inputs[1].node).name, "c/kiln_fp16");
  EXPECT_EQ(g.node(Find(g, "r")->inputs[0].node).name, "m/kiln_fp16");
  EXPECT_EQ(g.node(g.outputs()[0].value.node).name, "y/kiln_fp16");
  EXPECT_EQ(g.node(g.outputs()[1].value.node).name, "r");

  const std::vector<float> xv = {1.0001f, -3.14159f, 70000.0f, 1e-6f};
  const std::vector<float> cv = {3.3333f, 0.1f, 1.0f, -0.7f};
  KILN_ASSERT_OK_AND_ASSIGN(auto out, RunGraph(g, {Tensor::FromVector<float>({4}, xv)}));
  for (int i = 0; i < 4; ++i) {
    const float mi = Half(Half(xv[i]) * Half(cv[i]));
    EXPECT_EQ(out[1].data<float>()[i], mi) << i;
    EXPECT_EQ(out[0].data<float>()[i], std::max(mi, 0.0f)) << i;
  }
  EXPECT_TRUE(std::isinf(out[1].data<float>()[2]));  // 70000 overflows float16
}

// BF16 rounds the same values to bfloat16 (kiln's FloatToBFloat16, itself checked bit by bit in
// fake_quant_test.cc): 70000 stays finite, and 1.0001 rounds to 1.
TEST(PrecisionTest, Bf16RoundsEveryComputedFloatOutputToBFloat16) {
  Builder b;
  const ValueRef x = b.Input("x", {4});
  const std::vector<float> cv = {3.3333f, 0.1f, 1.0f, -0.7f};
  const ValueRef c = b.Const("c", Tensor::FromVector<float>({4}, cv));
  b.Output(b.Op("y", "Relu", {b.Op("m", "Mul", {x, c})}));
  KILN_ASSERT_OK(ir::InferShapes(b.graph()));
  KILN_ASSERT_OK_AND_ASSIGN(auto report, passes::InsertPrecisionEmulation(b.graph(), {Precision::kBF16, {}, false}));
  const ir::Graph& g = b.graph();
  EXPECT_EQ(Count(g, "KilnFakeQuant", "bf16"), 4);  // x, c, m, y
  EXPECT_EQ(Count(g, "KilnFakeQuant", "fp16"), 0);
  ASSERT_NE(Find(g, "m/kiln_bf16"), nullptr);
  const std::vector<float> xv = {1.0001f, -3.14159f, 70000.0f, 1e-6f};
  KILN_ASSERT_OK_AND_ASSIGN(auto out, RunGraph(g, {Tensor::FromVector<float>({4}, xv)}));
  auto bf16 = [](float v) { return BFloat16ToFloat(FloatToBFloat16(v)); };
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(out[0].data<float>()[i], std::max(bf16(bf16(xv[i]) * bf16(cv[i])), 0.0f)) << i;
  }
  EXPECT_EQ(bf16(xv[0]), 1.0f);
  EXPECT_TRUE(std::isfinite(out[0].data<float>()[2]));
}

// Conv2D in INT8 with power-of-two scales, so the float32 convolution is exact and the expected
// values are quantize -> exact convolution -> fp16 rounding.
TEST(PrecisionTest, Int8Conv2DMatchesHandComputedQuantizedConvolution) {
  const float x_amax = 127.0f / 32;  // activation scale 2^-5
  const Tensor x = testing::RandomTensor(DType::kFloat32, {1, 4, 4, 2}, 1, -5, 5);
  Tensor w = testing::RandomTensor(DType::kFloat32, {3, 3, 2, 3}, 2, -1, 1);
  // Channel c's largest |w| is 127 * 2^-(6 + c): weight scales 2^-6, 2^-7, 2^-8.
  for (int c = 0; c < 3; ++c) {
    const float cmax = 127.0f * std::ldexp(1.0f, -(6 + c));
    for (int i = 0; i < 18; ++i) w.data<float>()[i * 3 + c] *= cmax;
    w.data<float>()[c] = (c == 1 ? -cmax : cmax);
  }
  Builder b;
  const ValueRef xi = b.Input("x", {1, 4, 4, 2});
  const ValueRef wc = b.Const("w", w);
  const ValueRef conv = b.Op("conv1", "Conv2D", {xi, wc}, ConvAttrs());
  const ValueRef w2 = b.Const("w2", testing::RandomTensor(DType::kFloat32, {1, 1, 3, 2}, 3));
  b.Output(conv);
  b.Output(b.Op("conv2", "Conv2D", {conv, w2}, ConvAttrs()));
  KILN_ASSERT_OK(ir::InferShapes(b.graph()));
  PrecisionOptions options{Precision::kINT8, {{"x:0", x_amax}}, false};
  KILN_ASSERT_OK_AND_ASSIGN(auto report, passes::InsertPrecisionEmulation(b.graph(), options));
  const ir::Graph& g = b.graph();
  EXPECT_EQ(report.quantized_layers, 1);
  ASSERT_EQ(report.fp16_fallback.size(), 1u);
  EXPECT_NE(report.fp16_fallback[0].find("conv2 (Conv2D): no calibrated range for input 0 'conv1:0'"),
            std::string::npos)
      << report.fp16_fallback[0];

  const ir::Node* xq = Find(g, "x/kiln_int8");
  const ir::Node* wq = Find(g, "w/kiln_int8");
  ASSERT_NE(xq, nullptr);
  ASSERT_NE(wq, nullptr);
  EXPECT_EQ(*xq->attrs.Get<std::vector<float>>("scale"), std::vector<float>{0.03125f});
  EXPECT_EQ(*wq->attrs.Get<std::vector<float>>("scale"), (std::vector<float>{0x1p-6f, 0x1p-7f, 0x1p-8f}));
  EXPECT_EQ(*wq->attrs.Get<int64_t>("axis"), 3);
  const ir::Node* c1 = Find(g, "conv1");
  EXPECT_EQ(g.node(c1->inputs[0].node).name, "x/kiln_int8");
  EXPECT_EQ(g.node(c1->inputs[1].node).name, "w/kiln_int8");
  // conv2 stays in fp16: it reads conv1's rounded output and rounded weights.
  const ir::Node* c2 = Find(g, "conv2");
  EXPECT_EQ(g.node(c2->inputs[0].node).name, "conv1/kiln_fp16");
  EXPECT_EQ(g.node(c2->inputs[1].node).name, "w2/kiln_fp16");
  // The weights feed only their quantizer, so they are not rounded to fp16.
  EXPECT_EQ(Find(g, "w/kiln_fp16"), nullptr);

  // By hand: integer levels, exact integer convolution, scale, fp16.
  auto level = [](float v, float s) {
    const float q = std::nearbyint(v / s);
    return std::min(std::max(q, -128.0f), 127.0f);
  };
  std::vector<float> expected(1 * 4 * 4 * 3);
  for (int oh = 0; oh < 4; ++oh)
    for (int ow = 0; ow < 4; ++ow)
      for (int oc = 0; oc < 3; ++oc) {
        int64_t acc = 0;
        for (int kh = 0; kh < 3; ++kh)
          for (int kw = 0; kw < 3; ++kw)
            for (int ic = 0; ic < 2; ++ic) {
              const int ih = oh + kh - 1, iw = ow + kw - 1;
              if (ih < 0 || ih >= 4 || iw < 0 || iw >= 4) continue;
              const float xv = x.data<float>()[(ih * 4 + iw) * 2 + ic];
              const float wv = w.data<float>()[((kh * 3 + kw) * 2 + ic) * 3 + oc];
              acc += static_cast<int64_t>(level(xv, 0.03125f)) *
                     static_cast<int64_t>(level(wv, std::ldexp(1.0f, -(6 + oc))));
            }
        const float exact = std::ldexp(static_cast<float>(acc), -5 - (6 + oc));
        expected[(oh * 4 + ow) * 3 + oc] = Half(exact);
      }
  KILN_ASSERT_OK_AND_ASSIGN(auto out, RunGraph(g, {x}));
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_EQ(out[0].data<float>()[i], expected[i]) << i;
}

TEST(PrecisionTest, Fp8MatMulScalesPerOutputChannelHonoringTransposeB) {
  Builder b;
  const ValueRef x = b.Input("x", {2, 3});
  const ValueRef w = b.Const("w", Tensor::FromVector<float>({4, 3}, {1, -2, 0.5f, 0, 0, 0, 448, 1, 1, -3, 0.25f, 1}));
  ir::AttrMap attrs;
  attrs.Set("transpose_b", true);
  b.Output(b.Op("mm", "MatMul", {x, w}, attrs));
  KILN_ASSERT_OK(ir::InferShapes(b.graph()));
  KILN_ASSERT_OK_AND_ASSIGN(auto report,
                            passes::InsertPrecisionEmulation(b.graph(), {Precision::kFP8, {{"x:0", 8.96f}}, false}));
  EXPECT_EQ(report.quantized_layers, 1);
  const ir::Node* xq = Find(b.graph(), "x/kiln_fp8");
  const ir::Node* wq = Find(b.graph(), "w/kiln_fp8");
  ASSERT_NE(xq, nullptr);
  ASSERT_NE(wq, nullptr);
  EXPECT_EQ(*xq->attrs.Get<std::string>("mode"), "fp8_e4m3");
  EXPECT_EQ(*xq->attrs.Get<std::vector<float>>("scale"), std::vector<float>{8.96f / 448});
  // Rows of w are output channels; the all-zero row gets scale 1.
  EXPECT_EQ(*wq->attrs.Get<std::vector<float>>("scale"), (std::vector<float>{2.0f / 448, 1.0f, 1.0f, 3.0f / 448}));
  EXPECT_EQ(*wq->attrs.Get<int64_t>("axis"), 0);
  KILN_ASSERT_OK_AND_ASSIGN(auto out, RunGraph(b.graph(), {Tensor::FromVector<float>({2, 3}, {1, 2, 3, -4, 5, 6})}));
  EXPECT_EQ(out[0].shape(), (Shape{2, 4}));
}

// Engine passes put reshapes between a calibrated tensor and the product reading it: the reshape
// has the tensor's values, so its range is the tensor's.
TEST(PrecisionTest, ReshapesOfACalibratedTensorShareItsRange) {
  Builder b;
  const ValueRef x = b.Input("x", {2, 3, 2});
  const ValueRef rows = b.Op("rows", "Reshape", {x, b.Const("shape", Tensor::FromVector<int32_t>({2}, {3, 4}))});
  const ValueRef w = b.Const("w", Tensor::FromVector<float>({4, 2}, {1, -2, 0.5f, 0, 3, 1, 1, -3}));
  b.Output(b.Op("mm", "MatMul", {rows, w}));
  KILN_ASSERT_OK(ir::InferShapes(b.graph()));
  KILN_ASSERT_OK_AND_ASSIGN(auto report,
                            passes::InsertPrecisionEmulation(b.graph(), {Precision::kFP8, {{"x:0", 8.96f}}, false}));
  EXPECT_EQ(report.quantized_layers, 1);
  const ir::Node* rq = Find(b.graph(), "rows/kiln_fp8");
  ASSERT_NE(rq, nullptr);
  EXPECT_EQ(*rq->attrs.Get<std::vector<float>>("scale"), std::vector<float>{8.96f / 448});
}

TEST(PrecisionTest, DepthwiseWeightsPerChannelOnlyWithMultiplierOne) {
  for (int64_t multiplier : {1, 2}) {
    Builder b;
    const ValueRef x = b.Input("x", {1, 3, 3, 2});
    const ValueRef w = b.Const("w", testing::RandomTensor(DType::kFloat32, {2, 2, 2, multiplier}, 4));
    b.Output(b.Op("dw", "DepthwiseConv2dNative", {x, w}, ConvAttrs()));
    KILN_ASSERT_OK(ir::InferShapes(b.graph()));
    KILN_ASSERT_OK_AND_ASSIGN(auto report,
                              passes::InsertPrecisionEmulation(b.graph(), {Precision::kINT8, {{"x:0", 1.0f}}, false}));
    EXPECT_EQ(report.quantized_layers, 1);
    const ir::Node* wq = Find(b.graph(), "w/kiln_int8");
    ASSERT_NE(wq, nullptr);
    EXPECT_EQ(wq->attrs.Get<std::vector<float>>("scale")->size(), multiplier == 1 ? 2u : 1u);
    if (multiplier == 1) {
      EXPECT_EQ(*wq->attrs.Get<int64_t>("axis"), 2);
    }
    KILN_ASSERT_OK(RunGraph(b.graph(), {testing::RandomTensor(DType::kFloat32, {1, 3, 3, 2}, 5)}).status());
  }
}

// Attention's products of two activations stay in fp16 even with both ranges calibrated.
TEST(PrecisionTest, BatchMatMulOfTwoActivationsStaysInFp16) {
  Builder b;
  const ValueRef x = b.Input("x", {2, 3, 4});
  const ValueRef y = b.Input("y", {2, 4, 5});
  b.Output(b.Op("bmm", "BatchMatMulV2", {x, y}));
  KILN_ASSERT_OK(ir::InferShapes(b.graph()));
  PrecisionOptions options{Precision::kINT8, {{"x:0", 1.0f}, {"y:0", 2.0f}}, false};
  KILN_ASSERT_OK_AND_ASSIGN(auto report, passes::InsertPrecisionEmulation(b.graph(), options));
  EXPECT_EQ(report.quantized_layers, 0);
  EXPECT_EQ(Count(b.graph(), "KilnFakeQuant", "int8"), 0);
  ASSERT_EQ(report.fp16_fallback.size(), 1u);
  EXPECT_NE(report.fp16_fallback[0].find("input 1 is an activation"), std::string::npos) << report.fp16_fallback[0];
  EXPECT_EQ(Count(b.graph(), "KilnFakeQuant", "fp16"), 3);  // both inputs and the product, rounded
}

TEST(PrecisionTest, ExplicitQuantizationInsertsNoQuantizers) {
  Builder b;
  const ValueRef x = b.Input("x", {2, 3});
  const ValueRef lo = b.Const("lo", Tensor::Scalar<float>(-1.3f));
  const ValueRef hi = b.Const("hi", Tensor::Scalar<float>(2.1f));
  const ValueRef fq = b.Op("fq", "FakeQuantWithMinMaxVars", {x, lo, hi});
  const ValueRef w = b.Const("w", testing::RandomTensor(DType::kFloat32, {3, 2}, 6));
  b.Output(b.Op("mm", "MatMul", {fq, w}));
  KILN_ASSERT_OK(ir::InferShapes(b.graph()));
  EXPECT_TRUE(passes::HasExplicitQuantization(b.graph()));
  KILN_ASSERT_OK_AND_ASSIGN(auto report,
                            passes::InsertPrecisionEmulation(b.graph(), {Precision::kINT8, {{"x:0", 1.0f}}, true}));
  const ir::Graph& g = b.graph();
  EXPECT_EQ(report.quantized_layers, 0);
  EXPECT_EQ(Count(g, "KilnFakeQuant", "int8"), 0);
  // The FakeQuant reads x, min and max unrounded and its output is not rounded; the rest is fp16.
  EXPECT_EQ(Find(g, "x/kiln_fp16"), nullptr);
  EXPECT_EQ(Find(g, "lo/kiln_fp16"), nullptr);
  EXPECT_EQ(Find(g, "fq/kiln_fp16"), nullptr);
  EXPECT_EQ(g.node(Find(g, "mm")->inputs[0].node).name, "fq");
  EXPECT_EQ(g.node(Find(g, "mm")->inputs[1].node).name, "w/kiln_fp16");
  EXPECT_EQ(g.node(g.outputs()[0].value.node).name, "mm/kiln_fp16");
}

TEST(PrecisionTest, HasExplicitQuantizationSeesQdqAndFakeQuantOnly) {
  Builder b;
  const ValueRef x = b.Input("x", {4});
  b.Output(b.Op("y", "Relu", {x}));
  EXPECT_FALSE(passes::HasExplicitQuantization(b.graph()));
  ir::AttrMap fp16;
  fp16.Set("mode", std::string("fp16"));
  b.Op("kq", "KilnFakeQuant", {x}, fp16);
  EXPECT_FALSE(passes::HasExplicitQuantization(b.graph()));
  b.Op("q", "QuantizeLinear", {x, b.Const("s", Tensor::Scalar<float>(1)), b.Const("z", Tensor::Scalar<int8_t>(0))});
  EXPECT_TRUE(passes::HasExplicitQuantization(b.graph()));
}

TEST(PrecisionTest, RejectsBadRangesAndUninferredGraphs) {
  Builder b;
  const ValueRef x = b.Input("x", {4});
  b.Output(b.Op("y", "Relu", {x}));
  auto missing = passes::InsertPrecisionEmulation(b.graph(), {Precision::kFP16, {}, false});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("inferred shapes"), std::string::npos) << missing.status().ToString();
  KILN_ASSERT_OK(ir::InferShapes(b.graph()));
  for (float bad : {-1.0f, std::nanf(""), INFINITY}) {
    auto r = passes::InsertPrecisionEmulation(b.graph(), {Precision::kINT8, {{"x:0", bad}}, false});
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("'x:0'"), std::string::npos) << r.status().ToString();
  }
  EXPECT_STREQ(PrecisionName(Precision::kFP8), "fp8");
}

// x -> Mul(c) -> Relu -> Exp -> Add(c2) -> out, with Exp kept in float32: 16-bit values between the
// reduced nodes, Casts where values cross to and from Exp and at the output, constants converted.
TEST(ReducedStorageTest, StoresValuesInHalfBetweenNodesThatRunInIt) {
  for (DType storage : {DType::kFloat16, DType::kBFloat16}) {
    SCOPED_TRACE(DTypeName(storage));
    Builder b;
    const ValueRef x = b.Input("x", {2, 3, 4});
    const ValueRef c = b.Const("c", testing::RandomTensor(DType::kFloat32, {4}, 1, 0.5, 1.5));
    const ValueRef c2 = b.Const("c2", testing::RandomTensor(DType::kFloat32, {4}, 2, -1, 1));
    const ValueRef mul = b.Op("mul", "Mul", {x, c});
    const ValueRef relu = b.Op("relu", "Relu", {mul});
    const ValueRef exp = b.Op("exp", "Exp", {relu});
    const ValueRef add = b.Op("add", "Add", {exp, c2});
    b.Output(add);
    ir::Graph& g = b.graph();
    KILN_ASSERT_OK(ir::InferShapes(g));
    const Tensor in = testing::RandomTensor(DType::kFloat32, {2, 3, 4}, 3, -1, 1);
    KILN_ASSERT_OK_AND_ASSIGN(auto want, RunGraph(g, {in}));

    KILN_ASSERT_OK(passes::StoreInReducedPrecision(g, storage, [](const ir::Node& n) { return n.op != "Exp"; }));
    EXPECT_EQ(g.output_info(x).dtype, DType::kFloat32);  // the graph's input and output keep float32
    EXPECT_EQ(g.output_info(g.outputs()[0].value).dtype, DType::kFloat32);
    for (const ValueRef v : {c, c2, mul, relu, add}) EXPECT_EQ(g.output_info(v).dtype, storage) << g.node(v.node).name;
    EXPECT_EQ(g.output_info(exp).dtype, DType::kFloat32);
    KILN_ASSERT_OK_AND_ASSIGN(Tensor stored, g.node(c.node).attrs.Get<Tensor>("value"));
    EXPECT_EQ(stored.dtype(), storage);
    EXPECT_EQ(g.OpCounts()["Cast"], 4);  // x in, relu to Exp, Exp out, the graph output
    EXPECT_EQ(g.node(g.node(exp.node).inputs[0].node).op, "Cast");
    EXPECT_EQ(g.node(g.outputs()[0].value.node).op, "Cast");

    KILN_ASSERT_OK_AND_ASSIGN(auto got, RunGraph(g, {in}));
    const double tolerance = storage == DType::kFloat16 ? 5e-3 : 4e-2;
    EXPECT_TRUE(testing::TensorsNear(got[0], want[0], tolerance, tolerance));
  }
}

// A constant that a float32 node also reads stays float32; the reduced reader gets a Cast of it.
// A Cast to float32 inside the reduced part casts to the storage type instead.
TEST(ReducedStorageTest, SharedConstantsStayAndCastsRetarget) {
  Builder b;
  const ValueRef x = b.Input("x", {8});
  const ValueRef c = b.Const("c", testing::RandomTensor(DType::kFloat32, {8}, 4, -1, 1));
  const ValueRef ids = b.Const("ids", Tensor::FromVector<int32_t>({8}, {0, 1, 2, 3, 4, 5, 6, 7}));
  ir::AttrMap to_float;
  to_float.Set("SrcT", DType::kInt32);
  to_float.Set("DstT", DType::kFloat32);
  const ValueRef as_float = b.Op("as_float", "Cast", {ids}, to_float);
  const ValueRef sum = b.Op("sum", "Add", {x, c});
  const ValueRef scaled = b.Op("scaled", "Mul", {sum, as_float});
  const ValueRef kept = b.Op("kept", "Sub", {x, c});
  b.Output(scaled);
  b.Output(kept);
  ir::Graph& g = b.graph();
  KILN_ASSERT_OK(ir::InferShapes(g));
  const Tensor in = testing::RandomTensor(DType::kFloat32, {8}, 5, -1, 1);
  KILN_ASSERT_OK_AND_ASSIGN(auto want, RunGraph(g, {in}));
  KILN_ASSERT_OK(
      passes::StoreInReducedPrecision(g, DType::kFloat16, [](const ir::Node& n) { return n.op != "Sub"; }));
  EXPECT_EQ(g.output_info(c).dtype, DType::kFloat32);
  EXPECT_EQ(g.output_info(as_float).dtype, DType::kFloat16);
  EXPECT_EQ(g.node(as_float.node).attrs.Get<DType>("DstT").value(), DType::kFloat16);
  EXPECT_EQ(g.output_info(kept).dtype, DType::kFloat32);
  KILN_ASSERT_OK_AND_ASSIGN(auto got, RunGraph(g, {in}));
  EXPECT_TRUE(testing::TensorsNear(got[0], want[0], 1e-2, 1e-2));
  EXPECT_TRUE(testing::TensorsNear(got[1], want[1], 0, 0));
}

// Fused ops store in half too: x -> MatMul(w) + b -> Relu -> *c + c2 -> Tanh fuses into a
// KilnFusedMatMul and a KilnFusedElementwise, which read and write float16 once every node runs in
// it. The fused kernels in float16 are the GPU's (the CPU's compute float32): under a test device
// the half graph runs there against the float32 answer.
TEST(ReducedStorageTest, FusedOpsStoreInHalf) {
  Builder b;
  const ValueRef x = b.Input("x", {16, 32});
  const ValueRef w = b.Const("w", testing::RandomTensor(DType::kFloat32, {32, 24}, 6, -0.3, 0.3));
  const ValueRef bias = b.Const("b", testing::RandomTensor(DType::kFloat32, {24}, 7, -1, 1));
  const ValueRef c = b.Const("c", testing::RandomTensor(DType::kFloat32, {24}, 8, 0.5, 1.5));
  const ValueRef c2 = b.Const("c2", testing::RandomTensor(DType::kFloat32, {24}, 9, -1, 1));
  const ValueRef mm = b.Op("mm", "MatMul", {x, w});
  const ValueRef biased = b.Op("biased", "BiasAdd", {mm, bias});
  const ValueRef relu = b.Op("relu", "Relu", {biased});
  const ValueRef scaled = b.Op("scaled", "Mul", {relu, c});
  const ValueRef shifted = b.Op("shifted", "Add", {scaled, c2});
  b.Output(b.Op("tanh", "Tanh", {shifted}));
  ir::Graph& g = b.graph();
  KILN_ASSERT_OK(passes::FuseForEngine(g));
  ASSERT_EQ(g.OpCounts()["KilnFusedMatMul"], 1);
  ASSERT_EQ(g.OpCounts()[ir::kFusedElementwiseOp], 1);
  const Tensor in = testing::RandomTensor(DType::kFloat32, {16, 32}, 10, -1, 1);
  KILN_ASSERT_OK_AND_ASSIGN(auto cpu, runtime::Executor::Create(g));
  KILN_ASSERT_OK_AND_ASSIGN(auto want, cpu->Run({in}));

  KILN_ASSERT_OK(passes::StoreInReducedPrecision(g, DType::kFloat16, [](const ir::Node&) { return true; }));
  for (int id = 0; id < g.num_nodes(); ++id) {
    const ir::Node& n = g.node(id);
    if (n.op == "KilnFusedMatMul" || n.op == ir::kFusedElementwiseOp) {
      EXPECT_EQ(n.outputs[0].dtype, DType::kFloat16) << n.name;
      for (const ValueRef& v : n.inputs) EXPECT_EQ(g.output_info(v).dtype, DType::kFloat16) << n.name;
    }
  }
  EXPECT_EQ(g.output_info(g.outputs()[0].value).dtype, DType::kFloat32);
  if (!testing::TestDevice().is_cuda()) return;
  KILN_ASSERT_OK_AND_ASSIGN(auto gpu, runtime::Executor::Create(g, {.device = testing::TestDevice()}));
  KILN_ASSERT_OK_AND_ASSIGN(auto got, gpu->Run({in}));
  EXPECT_TRUE(testing::TensorsNear(got[0], want[0], 1e-2, 1e-2));
}

// An attention-style mask, (1 - m) * lowest float: in float16 the constant saturates to -65504, so
// where m is 1 the product stays 0 instead of 0 * -inf = NaN.
TEST(ReducedStorageTest, ConstantsPastHalfRangeSaturate) {
  Builder b;
  const ValueRef m = b.Input("m", {4});
  const ValueRef one = b.Const("one", Tensor::Scalar<float>(1.0f));
  const ValueRef lowest = b.Const("lowest", Tensor::Scalar<float>(-3.4028234663852886e38f));
  const ValueRef keep = b.Op("keep", "Sub", {one, m});
  b.Output(b.Op("mask", "Mul", {keep, lowest}));
  KILN_ASSERT_OK(ir::InferShapes(b.graph()));
  KILN_ASSERT_OK(passes::StoreInReducedPrecision(b.graph(), DType::kFloat16, [](const ir::Node&) { return true; }));
  KILN_ASSERT_OK_AND_ASSIGN(auto got, RunGraph(b.graph(), {Tensor::FromVector<float>({4}, {1, 0, 1, 0})}));
  EXPECT_EQ(got[0].ToFloatVector(), (std::vector<float>{0, -65504, 0, -65504}));
}

TEST(ReducedStorageTest, StorageIsSixteenBitFloat) {
  Builder b;
  b.Output(b.Op("relu", "Relu", {b.Input("x", {2})}));
  KILN_ASSERT_OK(ir::InferShapes(b.graph()));
  Status s = passes::StoreInReducedPrecision(b.graph(), DType::kInt8, [](const ir::Node&) { return true; });
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("float16 or bfloat16, not int8"), std::string::npos) << s.ToString();
}

}  // namespace
}  // namespace kiln
