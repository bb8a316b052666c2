// The fusion passes on hand-built graphs (each pattern fused, the negative cases left alone, the
// fused graph giving the unfused graph's answers on random inputs) and on fixture models.
#include "passes/fusion.h"

#include <filesystem>
#include <functional>

#include "frontends/savedmodel/graph_def_io.h"
#include "ir/op_registry.h"
#include "ir/ops/fused_ops.h"
#include "passes/pass_test_util.h"
#include "passes/passes.h"
#include "util/test_util.h"

namespace kiln {
namespace {

using ir::ValueRef;
using testing::Attrs;
using testing::Builder;
using testing::Count;
using testing::CountFused;
using testing::ExpectPassKeepsOutputs;
using testing::FindNode;
using testing::LoadFixtureGraph;
using testing::RandomTensor;
using testing::RunGraph;
using testing::TensorsNear;

ir::AttrMap Conv2DAttrs(const std::string& format = "NHWC", const std::string& padding = "SAME") {
  const bool nchw = format == "NCHW";
  return Attrs({{"strides", std::vector<int64_t>{1, nchw ? 1 : 2, 2, nchw ? 2 : 1}},
                {"padding", padding},
                {"data_format", format}});
}

ir::AttrMap BatchNormAttrs(const std::string& format, bool training = false) {
  return Attrs({{"epsilon", 0.001f}, {"is_training", training}, {"data_format", format}});
}

// x [2,9,9,3] -> Conv2D 3x3 (4 channels) -> BiasAdd -> FusedBatchNormV3 -> Relu.
void ConvBiasBatchNormRelu(Builder& b, const std::string& bn_op = "FusedBatchNormV3", bool training = false) {
  ValueRef x = b.Input("x", {2, 9, 9, 3});
  ValueRef conv = b.Op("conv", "Conv2D", {x, b.RandomConst("w", {3, 3, 3, 4})}, Conv2DAttrs());
  ValueRef bias = b.Op("bias", "BiasAdd", {conv, b.RandomConst("b", {4})});
  ValueRef bn = b.Op("bn", bn_op,
                     {bias, b.RandomConst("gamma", {4}), b.RandomConst("beta", {4}), b.RandomConst("mean", {4}),
                      b.RandomConst("var", {4}, 0.5, 1.5)},
                     BatchNormAttrs("NHWC", training));
  b.Output(b.Op("relu", "Relu", {bn}));
}

TEST(FusionFoldBatchNormTest, FoldsConvBiasBatchNormIntoFilterAndBias) {
  ir::Graph g;
  ASSERT_NO_FATAL_FAILURE(
      ExpectPassKeepsOutputs([](Builder& b) { ConvBiasBatchNormRelu(b); }, passes::FoldBatchNorms, g));
  EXPECT_EQ(Count(g, "FusedBatchNormV3"), 0);
  EXPECT_EQ(Count(g, "BiasAdd"), 1);
  const ir::Node* bn = FindNode(g, "bn");
  ASSERT_NE(bn, nullptr);
  EXPECT_EQ(bn->op, "BiasAdd");
  EXPECT_EQ(g.node(bn->inputs[0].node).op, "Conv2D");
}

TEST(FusionFoldBatchNormTest, FoldsEveryFusedBatchNormVersion) {
  for (const char* op : {"FusedBatchNorm", "FusedBatchNormV2"}) {
    ir::Graph g;
    ASSERT_NO_FATAL_FAILURE(
        ExpectPassKeepsOutputs([op](Builder& b) { ConvBiasBatchNormRelu(b, op); }, passes::FoldBatchNorms, g));
    EXPECT_EQ(Count(g, op), 0) << op;
  }
}

TEST(FusionFoldBatchNormTest, FoldsDepthwiseNchwBatchNorm) {
  ir::Graph g;
  ASSERT_NO_FATAL_FAILURE(ExpectPassKeepsOutputs(
      [](Builder& b) {
        ValueRef x = b.Input("x", {2, 3, 8, 8});
        ValueRef dw = b.Op("dw", "DepthwiseConv2dNative", {x, b.RandomConst("w", {3, 3, 3, 2})}, Conv2DAttrs("NCHW"));
        ValueRef bn = b.Op("bn", "FusedBatchNormV3",
                           {dw, b.RandomConst("gamma", {6}), b.RandomConst("beta", {6}), b.RandomConst("mean", {6}),
                            b.RandomConst("var", {6}, 0.5, 1.5)},
                           BatchNormAttrs("NCHW"));
        b.Output(bn);
      },
      passes::FoldBatchNorms, g));
  EXPECT_EQ(Count(g, "FusedBatchNormV3"), 0);
  ASSERT_NE(FindNode(g, "bn"), nullptr);
  EXPECT_EQ(FindNode(g, "bn")->op, "BiasAdd");
}

TEST(FusionFoldBatchNormTest, FoldsKerasMulAddIntoMatMul) {
  ir::Graph g;
  ASSERT_NO_FATAL_FAILURE(ExpectPassKeepsOutputs(
      [](Builder& b) {
        ValueRef x = b.Input("x", {5, 7});
        ValueRef mm = b.Op("mm", "MatMul", {x, b.RandomConst("w", {6, 7})}, Attrs({{"transpose_b", true}}));
        ValueRef mul = b.Op("mul", "Mul", {b.RandomConst("c1", {6}), mm});
        b.Output(b.Op("add", "AddV2", {mul, b.RandomConst("c2", {1, 6})}));
      },
      passes::FoldBatchNorms, g));
  EXPECT_EQ(Count(g, "Mul"), 0);
  EXPECT_EQ(Count(g, "AddV2"), 0);
  EXPECT_EQ(FindNode(g, "add")->op, "BiasAdd");
}

TEST(FusionFoldBatchNormTest, FoldsOnnxStyleChannelsFirstConvMulAdd) {
  ir::Graph g;
  ASSERT_NO_FATAL_FAILURE(ExpectPassKeepsOutputs(
      [](Builder& b) {
        ValueRef x = b.Input("x", {2, 4, 7, 7});
        ValueRef conv = b.Op("conv", "Conv", {x, b.RandomConst("w", {3, 3, 2, 6})},
                             Attrs({{"strides", std::vector<int64_t>{1, 1, 1, 1}},
                                    {"padding", std::string("EXPLICIT")},
                                    {"explicit_paddings", std::vector<int64_t>{0, 0, 0, 0, 1, 1, 1, 1}},
                                    {"data_format", std::string("CHANNELS_FIRST")},
                                    {"groups", int64_t{2}}}));
        ValueRef bias = b.Op("bias", "BiasAdd", {conv, b.RandomConst("b", {6})}, Attrs({{"data_format", "NCHW"}}));
        ValueRef sub = b.Op("sub", "Sub", {bias, b.RandomConst("mean", {6, 1, 1})});
        ValueRef mul = b.Op("mul", "Mul", {sub, b.RandomConst("scale", {1, 6, 1, 1})});
        b.Output(b.Op("add", "AddV2", {mul, b.RandomConst("shift", {6, 1, 1})}));
      },
      passes::FoldBatchNorms, g));
  EXPECT_EQ(Count(g, "Mul") + Count(g, "Sub") + Count(g, "AddV2"), 0);
  EXPECT_EQ(FindNode(g, "add")->op, "BiasAdd");
}

TEST(FusionFoldBatchNormTest, LeavesTrainingModeNonConstFilterAndSharedValuesAlone) {
  ir::Graph training;
  ASSERT_NO_FATAL_FAILURE(
      ExpectPassKeepsOutputs([](Builder& b) { ConvBiasBatchNormRelu(b, "FusedBatchNormV3", /*training=*/true); },
                             passes::FoldBatchNorms, training));
  EXPECT_EQ(Count(training, "FusedBatchNormV3"), 1);

  ir::Graph dynamic_filter;
  ASSERT_NO_FATAL_FAILURE(ExpectPassKeepsOutputs(
      [](Builder& b) {
        ValueRef x = b.Input("x", {1, 6, 6, 2});
        ValueRef w = b.Input("w", {3, 3, 2, 4});
        ValueRef conv = b.Op("conv", "Conv2D", {x, w}, Conv2DAttrs());
        b.Output(b.Op("mul", "Mul", {conv, b.RandomConst("s", {4})}));
      },
      passes::FoldBatchNorms, dynamic_filter));
  EXPECT_EQ(Count(dynamic_filter, "Mul"), 1);

  ir::Graph shared;
  ASSERT_NO_FATAL_FAILURE(ExpectPassKeepsOutputs(
      [](Builder& b) {
        ValueRef x = b.Input("x", {1, 6, 6, 2});
        ValueRef conv = b.Op("conv", "Conv2D", {x, b.RandomConst("w", {3, 3, 2, 4})}, Conv2DAttrs());
        b.Output(b.Op("mul", "Mul", {conv, b.RandomConst("s", {4})}));
        b.Output(b.Op("relu", "Relu", {conv}));
      },
      passes::FoldBatchNorms, shared));
  EXPECT_EQ(Count(shared, "Mul"), 1);

  ir::Graph output_in_middle;
  ASSERT_NO_FATAL_FAILURE(ExpectPassKeepsOutputs(
      [](Builder& b) {
        ValueRef x = b.Input("x", {1, 6, 6, 2});
        ValueRef conv = b.Op("conv", "Conv2D", {x, b.RandomConst("w", {3, 3, 2, 4})}, Conv2DAttrs());
        b.Output(conv);
        b.Output(b.Op("mul", "Mul", {conv, b.RandomConst("s", {4})}));
      },
      passes::FoldBatchNorms, output_in_middle));
  EXPECT_EQ(Count(output_in_middle, "Mul"), 1);

  ir::Graph not_per_channel;
  ASSERT_NO_FATAL_FAILURE(ExpectPassKeepsOutputs(
      [](Builder& b) {
        ValueRef x = b.Input("x", {1, 6, 6, 2});
        ValueRef conv = b.Op("conv", "Conv2D", {x, b.RandomConst("w", {3, 3, 2, 4})}, Conv2DAttrs());
        b.Output(b.Op("mul", "Mul", {conv, b.RandomConst("s", {3, 1, 4})}));
      },
      passes::FoldBatchNorms, not_per_channel));
  EXPECT_EQ(Count(not_per_channel, "Mul"), 1);
}

const ir::Node& ExpectFusedNode(const ir::Graph& g, const std::string& name, const std::string& op,
                                const std::vector<std::string>& fused_ops) {
  const ir::Node* n = FindNode(g, name);
  EXPECT_NE(n, nullptr) << name;
  if (n == nullptr) return g.node(0);
  EXPECT_EQ(n->op, op);
  EXPECT_EQ(n->attrs.Get<std::vector<std::string>>("fused_ops").value(), fused_ops);
  return *n;
}

TEST(FusionEpilogueTest, FusesConvBiasResidualRelu) {
  ir::Graph g;
  ASSERT_NO_FATAL_FAILURE(ExpectPassKeepsOutputs(
      [](Builder& b) {
        ValueRef x = b.Input("x", {2, 9, 9, 3});
        ValueRef skip = b.Input("skip", {2, 5, 5, 4});
        ValueRef conv = b.Op("conv", "Conv2D", {x, b.RandomConst("w", {3, 3, 3, 4})}, Conv2DAttrs());
        ValueRef bias = b.Op("bias", "BiasAdd", {conv, b.RandomConst("b", {4})});
        ValueRef add = b.Op("add", "AddV2", {skip, bias});
        b.Output(b.Op("relu", "Relu", {add}));
      },
      passes::FuseConvMatMulEpilogues, g));
  const ir::Node& n = ExpectFusedNode(g, "relu", "KilnFusedConv2D", {"BiasAdd", "Add", "Relu"});
  EXPECT_EQ(n.inputs.size(), 4u);
  EXPECT_EQ(g.num_nodes(), 5);  // x, skip, w, b and the fused node
  EXPECT_EQ(g.outputs()[0].value.node, n.id);
}

TEST(FusionEpilogueTest, FusesDepthwiseConstAddRelu6) {
  ir::Graph g;
  ASSERT_NO_FATAL_FAILURE(ExpectPassKeepsOutputs(
      [](Builder& b) {
        ValueRef x = b.Input("x", {1, 8, 8, 3});
        ValueRef dw = b.Op("dw", "DepthwiseConv2dNative", {x, b.RandomConst("w", {3, 3, 3, 2})}, Conv2DAttrs());
        ValueRef add = b.Op("add", "Add", {dw, b.RandomConst("b", {1, 1, 6})});
        b.Output(b.Op("relu6", "Relu6", {add}));
      },
      passes::FuseConvMatMulEpilogues, g));
  ExpectFusedNode(g, "relu6", "KilnFusedDepthwiseConv2D", {"BiasAdd", "Relu6"});
}

TEST(FusionEpilogueTest, FusesChannelsFirstGroupedConvLeakyRelu) {
  ir::Graph g;
  ASSERT_NO_FATAL_FAILURE(ExpectPassKeepsOutputs(
      [](Builder& b) {
        ValueRef x = b.Input("x", {2, 4, 7, 7});
        ValueRef conv = b.Op("conv", "Conv", {x, b.RandomConst("w", {3, 3, 2, 6})},
                             Attrs({{"strides", std::vector<int64_t>{1, 1, 2, 2}},
                                    {"padding", std::string("VALID")},
                                    {"data_format", std::string("CHANNELS_FIRST")},
                                    {"groups", int64_t{2}}}));
        ValueRef bias = b.Op("bias", "BiasAdd", {conv, b.RandomConst("b", {6})}, Attrs({{"data_format", "NCHW"}}));
        b.Output(b.Op("leaky", "LeakyRelu", {bias}, Attrs({{"alpha", 0.1f}})));
      },
      passes::FuseConvMatMulEpilogues, g));
  const ir::Node& n = ExpectFusedNode(g, "leaky", "KilnFusedConv", {"BiasAdd", "LeakyRelu"});
  EXPECT_EQ(n.attrs.Get<float>("leakyrelu_alpha").value(), 0.1f);
}

TEST(FusionEpilogueTest, FusesMatMulWithEachActivation) {
  for (const char* act : {"Sigmoid", "Tanh", "Elu", "Selu", "Relu"}) {
    ir::Graph g;
    ASSERT_NO_FATAL_FAILURE(ExpectPassKeepsOutputs(
        [act](Builder& b) {
          ValueRef x = b.Input("x", {3, 5});
          ValueRef mm = b.Op("mm", "MatMul", {x, b.RandomConst("w", {5, 4})});
          ValueRef bias = b.Op("bias", "BiasAdd", {mm, b.RandomConst("b", {4})});
          b.Output(b.Op("act", act, {bias}));
        },
        passes::FuseConvMatMulEpilogues, g));
    ExpectFusedNode(g, "act", "KilnFusedMatMul", {"BiasAdd", act});
  }
  ir::Graph residual_only;
  ASSERT_NO_FATAL_FAILURE(ExpectPassKeepsOutputs(
      [](Builder& b) {
        ValueRef x = b.Input("x", {3, 5});
        ValueRef w = b.Input("w", {4, 5});
        ValueRef r = b.Input("r", {3, 4});
        ValueRef mm = b.Op("mm", "MatMul", {x, w}, Attrs({{"transpose_b", true}}));
        b.Output(b.Op("add", "Add", {mm, r}));
      },
      passes::FuseConvMatMulEpilogues, residual_only));
  ExpectFusedNode(residual_only, "add", "KilnFusedMatMul", {"Add"});
}

TEST(FusionEpilogueTest, FusesBatchMatMulBiasAndResidual) {
  // Rows of a batch times one weight matrix (how ONNX's MatMul of a sequence by a weight imports),
  // with and without transposes; on the GPU these are one GEMM with the addends in its epilogue.
  for (bool adj_y : {false, true}) {
    ir::Graph g;
    ASSERT_NO_FATAL_FAILURE(ExpectPassKeepsOutputs(
        [adj_y](Builder& b) {
          ValueRef x = b.Input("x", {2, 3, 24});
          const Shape w = adj_y ? Shape{40, 24} : Shape{24, 40};
          ValueRef mm = b.Op("mm", "BatchMatMulV2", {x, b.RandomConst("w", w)}, Attrs({{"adj_y", adj_y}}));
          ValueRef bias = b.Op("bias", "AddV2", {b.RandomConst("b", {40}), mm});
          b.Output(b.Op("res", "AddV2", {bias, b.Input("r", {2, 3, 40})}));
        },
        passes::FuseConvMatMulEpilogues, g));
    ExpectFusedNode(g, "res", "KilnFusedBatchMatMulV2", {"BiasAdd", "Add"});
  }
  // A batch of products (attention scores) with a residual and an activation: the base kernel and
  // one epilogue pass.
  ir::Graph batched;
  ASSERT_NO_FATAL_FAILURE(ExpectPassKeepsOutputs(
      [](Builder& b) {
        ValueRef q = b.Input("q", {2, 4, 6, 8});
        ValueRef k = b.Input("k", {2, 4, 6, 8});
        ValueRef s = b.Op("scores", "BatchMatMulV2", {q, k}, Attrs({{"adj_y", true}}));
        ValueRef masked = b.Op("masked", "AddV2", {s, b.Input("mask", {2, 4, 6, 6})});
        b.Output(b.Op("act", "Tanh", {masked}));
      },
      passes::FuseConvMatMulEpilogues, batched));
  ExpectFusedNode(batched, "act", "KilnFusedBatchMatMulV2", {"Add", "Tanh"});
  // A matrix product with only a bias, as cuBLASLt takes it.
  ir::Graph bias_only;
  ASSERT_NO_FATAL_FAILURE(ExpectPassKeepsOutputs(
      [](Builder& b) {
        ValueRef mm = b.Op("mm", "MatMul", {b.Input("x", {7, 33}), b.RandomConst("w", {33, 20})});
        b.Output(b.Op("bias", "BiasAdd", {mm, b.RandomConst("b", {20})}));
      },
      passes::FuseConvMatMulEpilogues, bias_only));
  ExpectFusedNode(bias_only, "bias", "KilnFusedMatMul", {"BiasAdd"});
}

TEST(FusionEpilogueTest, FusesOnnxClipAsRelu6AndMaximumAsRelu) {
  ir::Graph g;
  ASSERT_NO_FATAL_FAILURE(ExpectPassKeepsOutputs(
      [](Builder& b) {
        ValueRef x = b.Input("x", {1, 2, 6, 6});
        ValueRef conv = b.Op("conv", "Conv", {x, b.RandomConst("w", {1, 1, 2, 3})},
                             Attrs({{"strides", std::vector<int64_t>{1, 1, 1, 1}},
                                    {"padding", std::string("VALID")},
                                    {"data_format", std::string("CHANNELS_FIRST")}}));
        ValueRef bias = b.Op("bias", "BiasAdd", {conv, b.RandomConst("b", {3})}, Attrs({{"data_format", "NCHW"}}));
        ValueRef lo = b.Op("lo", "Maximum", {bias, b.Const("zero", Tensor::Scalar<float>(0.0f))});
        ValueRef hi = b.Op("hi", "Minimum", {lo, b.Const("six", Tensor::FromVector<float>({1}, {0.5f}))});
        ValueRef conv2 = b.Op("conv2", "Conv", {hi, b.RandomConst("w2", {1, 1, 3, 3}, 2.0, 4.0)},
                              Attrs({{"strides", std::vector<int64_t>{1, 1, 1, 1}},
                                     {"padding", std::string("VALID")},
                                     {"data_format", std::string("CHANNELS_FIRST")}}));
        ValueRef lo2 = b.Op("lo2", "Maximum", {conv2, b.Const("zero2", Tensor::Scalar<float>(0.0f))});
        b.Output(b.Op("hi2", "Minimum", {b.Const("six2", Tensor::Scalar<float>(6.0f)), lo2}));
      },
      passes::FuseConvMatMulEpilogues, g));
  // A Minimum with another bound than 6 stays after a Relu.
  ExpectFusedNode(g, "lo", "KilnFusedConv", {"BiasAdd", "Relu"});
  EXPECT_EQ(FindNode(g, "hi")->op, "Minimum");
  ExpectFusedNode(g, "hi2", "KilnFusedConv", {"Relu6"});
}

TEST(FusionEpilogueTest, StopsAtSharedValuesAndGraphOutputs) {
  ir::Graph output_in_middle;
  ASSERT_NO_FATAL_FAILURE(ExpectPassKeepsOutputs(
      [](Builder& b) {
        ValueRef x = b.Input("x", {1, 6, 6, 2});
        ValueRef conv = b.Op("conv", "Conv2D", {x, b.RandomConst("w", {3, 3, 2, 4})}, Conv2DAttrs());
        ValueRef bias = b.Op("bias", "BiasAdd", {conv, b.RandomConst("b", {4})});
        b.Output(bias);
        b.Output(b.Op("relu", "Relu", {bias}));
      },
      passes::FuseConvMatMulEpilogues, output_in_middle));
  ExpectFusedNode(output_in_middle, "bias", "KilnFusedConv2D", {"BiasAdd"});
  EXPECT_EQ(Count(output_in_middle, "Relu"), 1);

  ir::Graph shared;
  ASSERT_NO_FATAL_FAILURE(ExpectPassKeepsOutputs(
      [](Builder& b) {
        ValueRef x = b.Input("x", {1, 6, 6, 2});
        ValueRef conv = b.Op("conv", "Conv2D", {x, b.RandomConst("w", {3, 3, 2, 4})}, Conv2DAttrs());
        b.Output(b.Op("relu", "Relu", {conv}));
        b.Output(b.Op("tanh", "Tanh", {conv}));
      },
      passes::FuseConvMatMulEpilogues, shared));
  EXPECT_EQ(Count(shared, "Conv2D"), 1);
  EXPECT_EQ(CountFused(shared), 0);
}

TEST(FusionElementwiseTest, FusesChainWithScalarVectorAndTensorOperands) {
  ir::Graph g;
  ASSERT_NO_FATAL_FAILURE(ExpectPassKeepsOutputs(
      [](Builder& b) {
        ValueRef x = b.Input("x", {2, 3, 4, 5});
        ValueRef y = b.Input("y", {2, 3, 4, 5});
        ValueRef v = b.Op("mul", "Mul", {x, b.Const("half", Tensor::Scalar<float>(0.5f))});
        v = b.Op("add", "AddV2", {b.RandomConst("last", {5}), v});
        v = b.Op("tanh", "Tanh", {v});
        v = b.Op("prod", "Mul", {y, v});
        v = b.Op("sub", "Sub", {b.RandomConst("channel", {3, 1, 1}), v});
        v = b.Op("div", "RealDiv", {v, b.RandomConst("middle", {1, 4, 1}, 1.0, 2.0)});
        v = b.Op("max", "Maximum", {v, b.Const("floor", Tensor::Scalar<float>(-0.25f))});
        v = b.Op("leaky", "LeakyRelu", {v}, Attrs({{"alpha", 0.3f}}));
        v = b.Op("sqd", "SquaredDifference", {y, v});
        v = b.Op("sqrt", "Sqrt", {v});
        b.Output(b.Op("pow", "Pow", {b.Const("two", Tensor::Scalar<float>(2.0f)), v}));
      },
      passes::FuseElementwiseChains, g));
  EXPECT_EQ(CountFused(g), 1);
  const ir::Node* n = FindNode(g, "pow");
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(n->op, "KilnFusedElementwise");
  EXPECT_EQ(n->attrs.Get<std::vector<std::string>>("ops").value().size(), 11u);
  EXPECT_EQ(g.num_nodes(), 2 + 6 + 1);  // the inputs, the constants and the fused node
}

TEST(FusionElementwiseTest, FusesGeluLikeChainReadingItsInputTwice) {
  ir::Graph g;
  ASSERT_NO_FATAL_FAILURE(ExpectPassKeepsOutputs(
      [](Builder& b) {
        ValueRef x = b.Input("x", {4, 16});
        ValueRef v = b.Op("scaled", "RealDiv", {x, b.Const("sqrt2", Tensor::Scalar<float>(1.41421356f))});
        v = b.Op("erf", "Erf", {v});
        v = b.Op("add", "AddV2", {v, b.Const("one", Tensor::Scalar<float>(1.0f))});
        v = b.Op("mul", "Mul", {x, v});
        b.Output(b.Op("gelu", "Mul", {v, b.Const("half", Tensor::Scalar<float>(0.5f))}));
      },
      passes::FuseElementwiseChains, g));
  ASSERT_NE(FindNode(g, "gelu"), nullptr);
  EXPECT_EQ(FindNode(g, "gelu")->op, "KilnFusedElementwise");
  EXPECT_EQ(FindNode(g, "gelu")->attrs.Get<std::vector<std::string>>("ops").value(),
            std::vector<std::string>{"KilnGelu"});
  EXPECT_EQ(CountFused(g), 1);
}

// ONNX's Gelu as the importer writes it, (x * 0.5) * (1 + erf(x * c)), and Keras's 0.5 written
// last, become one KilnGelu step reading x once; a value read elsewhere keeps the ops apart.
TEST(FusionElementwiseTest, FusesEverySpellingOfGelu) {
  for (int spelling = 0; spelling < 3; ++spelling) {
    SCOPED_TRACE(spelling);
    ir::Graph g;
    ASSERT_NO_FATAL_FAILURE(ExpectPassKeepsOutputs(
        [spelling](Builder& b) {
          ValueRef x = b.Input("x", {4, 16});
          ValueRef half = b.Const("half", Tensor::Scalar<float>(0.5f));
          ValueRef erf = b.Op("erf", "Erf", {b.Op("scaled", "Mul", {b.Const("c", Tensor::Scalar<float>(0.7071f)), x})});
          ValueRef one_plus = b.Op("add", "AddV2", {b.Const("one", Tensor::Scalar<float>(1.0f)), erf});
          if (spelling == 1) {
            b.Output(b.Op("gelu", "Mul", {b.Op("add_half", "Mul", {half, one_plus}), x}));
            return;
          }
          b.Output(b.Op("gelu", "Mul", {b.Op("x_half", "Mul", {x, half}), one_plus}));
          if (spelling == 2) b.Output(b.Op("erf_relu", "Relu", {erf}));  // erf read elsewhere
        },
        passes::FuseElementwiseChains, g));
    const ir::Node* gelu = FindNode(g, "gelu");
    ASSERT_NE(gelu, nullptr);
    if (spelling < 2) {
      EXPECT_EQ(gelu->op, "KilnFusedElementwise");
      EXPECT_EQ(gelu->attrs.Get<std::vector<std::string>>("ops").value(), std::vector<std::string>{"KilnGelu"});
      EXPECT_EQ(gelu->inputs.size(), 1u);
    } else {
      EXPECT_NE(FindNode(g, "erf"), nullptr);  // read by the Relu too: stays its own op
    }
  }
}

TEST(FusionElementwiseTest, SplitsAtSharedValuesGraphOutputsAndBroadcasts) {
  ir::Graph g;
  ASSERT_NO_FATAL_FAILURE(ExpectPassKeepsOutputs(
      [](Builder& b) {
        ValueRef x = b.Input("x", {3, 4});
        ValueRef a = b.Op("a", "Exp", {x});
        ValueRef c = b.Op("c", "Neg", {a});  // a graph output: the chain ends here
        b.Output(c);
        ValueRef d = b.Op("d", "Abs", {c});
        ValueRef e = b.Op("e", "Sigmoid", {d});  // read twice: another chain ends here
        b.Output(b.Op("f", "Relu", {e}));
        b.Output(b.Op("g", "Square", {e}));
        // Broadcasting the chain value up to [2,3,4] stops a chain too.
        ValueRef h = b.Op("h", "Tanh", {x});
        b.Output(b.Op("i", "Add", {h, b.Input("big", {2, 3, 4})}));
      },
      passes::FuseElementwiseChains, g));
  EXPECT_EQ(FindNode(g, "c")->op, "KilnFusedElementwise");
  EXPECT_EQ(FindNode(g, "e")->op, "KilnFusedElementwise");
  EXPECT_EQ(FindNode(g, "f")->op, "Relu");
  EXPECT_EQ(FindNode(g, "g")->op, "Square");
  EXPECT_EQ(FindNode(g, "h")->op, "Tanh");
  EXPECT_EQ(FindNode(g, "i")->op, "Add");
  EXPECT_EQ(CountFused(g), 2);
}

// Layer normalization over the dims from `axes` on, written out as the ONNX importer writes it
// (Mul(d, d), Rsqrt, Mul) or as older exports do (Pow(d, 2), Sqrt, RealDiv); scale and offset
// are optional.
struct LayerNormSpelling {
  bool pow_and_div = false;
  bool scale = true, offset = true;
};
ValueRef WrittenOutLayerNorm(Builder& b, ValueRef x, std::vector<int32_t> axes, Shape normalized,
                             LayerNormSpelling spelling = {}) {
  const ir::AttrMap keep = Attrs({{"keep_dims", true}, {"Tidx", DType::kInt32}});
  const Shape axes_shape = {static_cast<int64_t>(axes.size())};
  ValueRef mean = b.Op("mean", "Mean", {x, b.Const("axes", Tensor::FromVector<int32_t>(axes_shape, axes))}, keep);
  ValueRef d = b.Op("d", "Sub", {x, mean});
  ValueRef sq = spelling.pow_and_div ? b.Op("sq", "Pow", {d, b.Const("two", Tensor::Scalar<float>(2.0f))})
                                     : b.Op("sq", "Mul", {d, d});
  ValueRef var = b.Op("var", "Mean", {sq, b.Const("axes2", Tensor::FromVector<int32_t>(axes_shape, axes))}, keep);
  var = b.Op("var_eps", "AddV2", {var, b.Const("eps", Tensor::Scalar<float>(1e-5f))});
  ValueRef y = spelling.pow_and_div ? b.Op("y", "RealDiv", {d, b.Op("std", "Sqrt", {var})})
                                    : b.Op("y", "Mul", {d, b.Op("inv_std", "Rsqrt", {var})});
  if (spelling.scale) y = b.Op("scaled", "Mul", {y, b.RandomConst("gamma", normalized, 0.5, 1.5)});
  if (spelling.offset) y = b.Op("shifted", "AddV2", {b.RandomConst("beta", normalized), y});
  return y;
}

TEST(FusionLayerNormTest, FusesTheImportersLayerNormalization) {
  ir::Graph g;
  ASSERT_NO_FATAL_FAILURE(ExpectPassKeepsOutputs(
      [](Builder& b) { b.Output(WrittenOutLayerNorm(b, b.Input("x", {2, 5, 48}), {2}, {48})); },
      passes::FuseLayerNorms, g));
  const ir::Node* n = FindNode(g, "shifted");
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(n->op, "KilnLayerNorm");
  EXPECT_EQ(n->attrs.Get<int64_t>("axis").value(), 2);
  EXPECT_FLOAT_EQ(n->attrs.Get<float>("epsilon").value(), 1e-5f);
  EXPECT_EQ(Count(g, "Mean") + Count(g, "Sub") + Count(g, "Mul") + Count(g, "AddV2") + Count(g, "Rsqrt"), 0);
}

TEST(FusionLayerNormTest, FusesPowSqrtDivOverSeveralAxesWithoutScaleOrOffset) {
  ir::Graph g;
  ASSERT_NO_FATAL_FAILURE(ExpectPassKeepsOutputs(
      [](Builder& b) {
        b.Output(WrittenOutLayerNorm(b, b.Input("x", {3, 4, 40}), {-1, -2}, {4, 40},
                                     {.pow_and_div = true, .scale = false, .offset = false}));
      },
      passes::FuseLayerNorms, g));
  EXPECT_EQ(FindNode(g, "y")->op, "KilnLayerNorm");
  EXPECT_EQ(FindNode(g, "y")->attrs.Get<int64_t>("axis").value(), 1);
  EXPECT_EQ(g.OpCounts().size(), 3u);  // Placeholder, the filled scale and offset, KilnLayerNorm
}

// The affine spelling: Keras 3's (x * inv + (-mean * inv + offset)) and tf.keras's
// (x * inv + (offset - mean * inv)), inv = Rsqrt(Mean(SquaredDifference(x, mean)) + eps) * scale.
ValueRef AffineLayerNorm(Builder& b, ValueRef x, int64_t width, bool keras3, bool scale, bool offset) {
  const ir::AttrMap keep = Attrs({{"keep_dims", true}, {"Tidx", DType::kInt32}});
  ValueRef mean = b.Op("mean", "Mean", {x, b.Const("axes", Tensor::FromVector<int32_t>({1}, {-1}))}, keep);
  ValueRef sq = b.Op("sq", "SquaredDifference", {x, mean});
  ValueRef var = b.Op("var", "Mean", {sq, b.Const("axes2", Tensor::FromVector<int32_t>({1}, {-1}))}, keep);
  var = b.Op("var_eps", "AddV2", {var, b.Const("eps", Tensor::Scalar<float>(1e-3f))});
  ValueRef inv = b.Op("inv", "Rsqrt", {var});
  if (scale) inv = b.Op("inv_scaled", "Mul", {inv, b.RandomConst("gamma", {width}, 0.5, 1.5)});
  ValueRef scaled_x = b.Op("scaled_x", "Mul", {x, inv});
  ValueRef shift;
  if (keras3) {
    shift = b.Op("scaled_mean", "Mul", {b.Op("neg_mean", "Neg", {mean}), inv});
    if (offset) shift = b.Op("shift", "AddV2", {shift, b.RandomConst("beta", {width})});
  } else {
    shift = b.Op("shift", "Sub", {b.RandomConst("beta", {width}), b.Op("scaled_mean", "Mul", {mean, inv})});
  }
  return b.Op("y", "AddV2", {scaled_x, shift});
}

TEST(FusionLayerNormTest, FusesKerasAffineSpellings) {
  struct Case {
    bool keras3, scale, offset;
  };
  for (const Case c : {Case{true, true, true}, Case{true, false, false}, Case{false, true, true}}) {
    ir::Graph g;
    ASSERT_NO_FATAL_FAILURE(ExpectPassKeepsOutputs(
        [c](Builder& b) { b.Output(AffineLayerNorm(b, b.Input("x", {2, 7, 32}), 32, c.keras3, c.scale, c.offset)); },
        passes::FuseLayerNorms, g));
    ASSERT_NE(FindNode(g, "y"), nullptr);
    EXPECT_EQ(FindNode(g, "y")->op, "KilnLayerNorm") << c.keras3 << c.scale << c.offset;
    EXPECT_EQ(FindNode(g, "y")->attrs.Get<int64_t>("axis").value(), 2);
    EXPECT_EQ(Count(g, "Mean") + Count(g, "Mul") + Count(g, "AddV2") + Count(g, "Sub") + Count(g, "Neg"), 0);
  }
}

TEST(FusionLayerNormTest, LeavesOtherReductionsAndSharedValuesAlone) {
  ir::Graph g;
  ASSERT_NO_FATAL_FAILURE(ExpectPassKeepsOutputs(
      [](Builder& b) {
        // Normalizing over a leading axis is not a layer norm.
        b.Output(WrittenOutLayerNorm(b, b.Input("x", {6, 8}), {0}, {6, 1}));
      },
      passes::FuseLayerNorms, g));
  EXPECT_EQ(Count(g, "KilnLayerNorm"), 0);
  ir::Graph shared;
  ASSERT_NO_FATAL_FAILURE(ExpectPassKeepsOutputs(
      [](Builder& b) {
        ValueRef y = WrittenOutLayerNorm(b, b.Input("x", {4, 16}), {1}, {16});
        b.Output(y);
        b.Output(ValueRef{FindNode(b.graph(), "d")->id, 0});  // the centred input is read outside
      },
      passes::FuseLayerNorms, shared));
  EXPECT_EQ(Count(shared, "KilnLayerNorm"), 0);
  ir::Graph broadcast_scale;
  ASSERT_NO_FATAL_FAILURE(ExpectPassKeepsOutputs(
      [](Builder& b) {
        // A scale that broadcasts over the normalized dims stays a Mul after the fused node.
        ValueRef y = WrittenOutLayerNorm(b, b.Input("x", {4, 16}), {1}, {16}, {.scale = false, .offset = false});
        b.Output(b.Op("scaled", "Mul", {y, b.RandomConst("gamma", {1})}));
      },
      passes::FuseLayerNorms, broadcast_scale));
  EXPECT_EQ(FindNode(broadcast_scale, "y")->op, "KilnLayerNorm");
  EXPECT_EQ(FindNode(broadcast_scale, "scaled")->op, "Mul");
}

TEST(FusionKernelTest, LayerNormRejectsMisshapedScaleAndOffset) {
  const Tensor x = RandomTensor(DType::kFloat32, {3, 8}, 1);
  const Tensor good = RandomTensor(DType::kFloat32, {8}, 2);
  const ir::AttrMap attrs = Attrs({{"axis", int64_t{1}}});
  auto wrong_scale = testing::RunOp("KilnLayerNorm", {x, RandomTensor(DType::kFloat32, {4}, 3), good}, attrs);
  ASSERT_FALSE(wrong_scale.ok());
  EXPECT_NE(wrong_scale.status().message().find("scale"), std::string::npos) << wrong_scale.status().ToString();
  auto wrong_offset = testing::RunOp("KilnLayerNorm", {x, good, RandomTensor(DType::kFloat32, {3, 8}, 3)}, attrs);
  ASSERT_FALSE(wrong_offset.ok());
  EXPECT_NE(wrong_offset.status().message().find("offset"), std::string::npos);
  auto bad_axis = testing::RunOp("KilnLayerNorm", {x, good, good}, Attrs({{"axis", int64_t{2}}}));
  EXPECT_FALSE(bad_axis.ok());
  const Tensor scale = RandomTensor(DType::kFloat32, {1, 8}, 4, 0.5, 1.5);
  auto ok = testing::RunOp("KilnLayerNorm", {x, scale, good}, attrs);
  KILN_ASSERT_OK(ok.status());
  ASSERT_EQ((*ok)[0].shape(), x.shape());
  // Each row of the output, less the offset and divided by the scale, has mean 0 and variance 1.
  const float* y = (*ok)[0].data<float>();
  for (int r = 0; r < 3; ++r) {
    double sum = 0, squares = 0;
    for (int c = 0; c < 8; ++c) {
      const double z = (y[r * 8 + c] - good.data<float>()[c]) / scale.data<float>()[c];
      sum += z;
      squares += z * z;
    }
    EXPECT_NEAR(sum / 8, 0.0, 1e-5) << "row " << r;
    EXPECT_NEAR(squares / 8, 1.0, 1e-3) << "row " << r;
  }
}

TEST(FusionKernelTest, RejectsBadProgramsAndOperands) {
  const Tensor x = RandomTensor(DType::kFloat32, {2, 3}, 1);
  auto grows = testing::RunOp("KilnFusedElementwise", {x, RandomTensor(DType::kFloat32, {4, 2, 3}, 2)},
                              Attrs({{"ops", std::vector<std::string>{"Add:L:1"}}}), /*as_placeholders=*/true);
  ASSERT_FALSE(grows.ok());
  EXPECT_NE(grows.status().message().find("does not broadcast"), std::string::npos) << grows.status().ToString();
  auto bad_operand = testing::RunOp("KilnFusedElementwise", {x}, Attrs({{"ops", std::vector<std::string>{"Mul:L:1"}}}));
  EXPECT_FALSE(bad_operand.ok());
  auto unknown = testing::RunOp("KilnFusedElementwise", {x}, Attrs({{"ops", std::vector<std::string>{"Cosh"}}}));
  EXPECT_FALSE(unknown.ok());
  auto out_of_order = testing::RunOp(
      "KilnFusedMatMul", {x, RandomTensor(DType::kFloat32, {3, 2}, 3), RandomTensor(DType::kFloat32, {2}, 4)},
      Attrs({{"fused_ops", std::vector<std::string>{"Relu", "BiasAdd"}}}));
  EXPECT_FALSE(out_of_order.ok());
  auto ok = testing::RunOp("KilnFusedMatMul",
                           {x, RandomTensor(DType::kFloat32, {3, 2}, 3), RandomTensor(DType::kFloat32, {2}, 4)},
                           Attrs({{"fused_ops", std::vector<std::string>{"BiasAdd", "Relu"}}}));
  KILN_ASSERT_OK(ok.status());
  EXPECT_EQ((*ok)[0].shape(), (Shape{2, 2}));
}

TEST(FusionForEngineTest, FoldsThenFusesConvBatchNormRelu) {
  ir::Graph g;
  ASSERT_NO_FATAL_FAILURE(
      ExpectPassKeepsOutputs([](Builder& b) { ConvBiasBatchNormRelu(b); }, passes::FuseForEngine, g));
  EXPECT_EQ(g.OpCounts().size(), 3u);  // Placeholder, Const, KilnFusedConv2D
  ExpectFusedNode(g, "relu", "KilnFusedConv2D", {"BiasAdd", "Relu"});
}

// A GELU written out as ops after a product and its bias joins the product's epilogue; one with
// another erf scale stays its own step.
TEST(FusionForEngineTest, FusesGeluIntoTheProductsEpilogue) {
  for (const float c : {0.70710678f, 0.5f}) {
    SCOPED_TRACE(c);
    ir::Graph g;
    ASSERT_NO_FATAL_FAILURE(ExpectPassKeepsOutputs(
        [c](Builder& b) {
          ValueRef x = b.Input("x", {2, 3, 16});
          ValueRef mm = b.Op("mm", "BatchMatMulV2", {x, b.RandomConst("w", {16, 24})});
          ValueRef h = b.Op("bias", "AddV2", {mm, b.RandomConst("b", {24})});
          ValueRef erf = b.Op("erf", "Erf", {b.Op("scaled", "Mul", {h, b.Const("c", Tensor::Scalar<float>(c))})});
          ValueRef one_plus = b.Op("add", "AddV2", {erf, b.Const("one", Tensor::Scalar<float>(1.0f))});
          ValueRef half = b.Op("x_half", "Mul", {h, b.Const("half", Tensor::Scalar<float>(0.5f))});
          b.Output(b.Op("gelu", "Mul", {half, one_plus}));
        },
        passes::FuseForEngine, g));
    if (c == 0.5f) {
      ExpectFusedNode(g, "bias", "KilnFusedBatchMatMulV2", {"BiasAdd"});
      EXPECT_EQ(FindNode(g, "gelu")->op, ir::kFusedElementwiseOp);
    } else {
      ExpectFusedNode(g, "gelu", "KilnFusedBatchMatMulV2", {"BiasAdd", "KilnGelu"});
      EXPECT_EQ(g.OpCounts().count(ir::kFusedElementwiseOp), 0u);
    }
  }
}

ir::AttrMap MaxPoolAttrs(const std::string& format) {
  const bool nchw = format == "NCHW";
  const std::vector<int64_t> window = nchw ? std::vector<int64_t>{1, 1, 3, 3} : std::vector<int64_t>{1, 3, 3, 1};
  const std::vector<int64_t> strides = nchw ? std::vector<int64_t>{1, 1, 2, 2} : std::vector<int64_t>{1, 2, 2, 1};
  return Attrs({{"ksize", window}, {"strides", strides}, {"padding", "SAME"}, {"data_format", format}});
}

// A convolution's bias and non-decreasing activation move into the max pool that reads it, for
// TensorFlow's MaxPool in either layout and ONNX's max pool, with the unfused graph's answers.
TEST(FusionForEngineTest, MovesConvEpiloguesPastMaxPools) {
  for (const std::string format : {"NHWC", "NCHW"}) {
    SCOPED_TRACE(format);
    ir::Graph g;
    ASSERT_NO_FATAL_FAILURE(ExpectPassKeepsOutputs(
        [&](Builder& b) {
          ValueRef x = b.Input("x", format == "NHWC" ? Shape{2, 11, 11, 3} : Shape{2, 3, 11, 11});
          ValueRef conv = b.Op("conv", "Conv2D", {x, b.RandomConst("w", {3, 3, 3, 4})}, Conv2DAttrs(format));
          ValueRef bias = b.Op("bias", "BiasAdd", {conv, b.RandomConst("b", {4})}, Attrs({{"data_format", format}}));
          b.Output(b.Op("pool", "MaxPool", {b.Op("relu", "Relu", {bias})}, MaxPoolAttrs(format)));
        },
        passes::FuseForEngine, g));
    ExpectFusedNode(g, "relu", "KilnFusedConv2D", {});
    EXPECT_EQ(FindNode(g, "relu")->inputs.size(), 2u);
    const ir::Node* pool = FindNode(g, "pool");
    EXPECT_EQ(pool->attrs.Get<std::vector<std::string>>("fused_ops").value(),
              (std::vector<std::string>{"BiasAdd", "Relu"}));
    EXPECT_EQ(pool->inputs.size(), 2u);
  }
  ir::Graph onnx;
  ASSERT_NO_FATAL_FAILURE(ExpectPassKeepsOutputs(
      [](Builder& b) {
        ValueRef x = b.Input("x", {2, 2, 9, 9});
        ValueRef conv = b.Op("conv", "Conv", {x, b.RandomConst("w", {3, 3, 2, 5})},
                             Attrs({{"strides", std::vector<int64_t>{1, 1, 1, 1}},
                                    {"padding", std::string("VALID")},
                                    {"data_format", std::string("CHANNELS_FIRST")}}));
        ValueRef bias = b.Op("bias", "AddV2", {conv, b.RandomConst("b", {5, 1, 1})});
        ValueRef act = b.Op("act", "LeakyRelu", {bias}, Attrs({{"alpha", 0.1f}}));
        b.Output(b.Op("pool", "OnnxPool", {act},
                      Attrs({{"mode", std::string("max")},
                             {"kernel_shape", std::vector<int64_t>{2, 2}},
                             {"strides", std::vector<int64_t>{2, 2}},
                             {"pads", std::vector<int64_t>{0, 0, 1, 1}}})));
      },
      passes::FuseForEngine, onnx));
  ExpectFusedNode(onnx, "act", "KilnFusedConv", {});
  EXPECT_EQ(FindNode(onnx, "pool")->attrs.Get<std::vector<std::string>>("fused_ops").value(),
            (std::vector<std::string>{"BiasAdd", "LeakyRelu"}));
}

// The epilogue stays where the convolution's output has another reader, where it adds a residual,
// where its activation can decrease (GELU, LeakyRelu of a negative alpha) and before other pools.
TEST(FusionForEngineTest, LeavesEpiloguesThatCannotMovePastThePool) {
  struct Case {
    const char* name;
    std::function<void(Builder&)> build;
  };
  auto conv = [](Builder& b) {
    ValueRef x = b.Input("x", {1, 8, 8, 2});
    ValueRef conv = b.Op("conv", "Conv2D", {x, b.RandomConst("w", {3, 3, 2, 4})}, Conv2DAttrs());
    return b.Op("bias", "BiasAdd", {conv, b.RandomConst("b", {4})});
  };
  const std::vector<Case> cases = {
      {"shared", [&](Builder& b) {
         ValueRef relu = b.Op("relu", "Relu", {conv(b)});
         b.Output(b.Op("pool", "MaxPool", {relu}, MaxPoolAttrs("NHWC")));
         b.Output(relu);
       }},
      {"residual", [&](Builder& b) {
         ValueRef bias = conv(b);
         ValueRef sum = b.Op("sum", "AddV2", {bias, b.RandomConst("r", {1, 4, 4, 4})});
         b.Output(b.Op("pool", "MaxPool", {b.Op("relu", "Relu", {sum})}, MaxPoolAttrs("NHWC")));
       }},
      {"leaky", [&](Builder& b) {
         ValueRef act = b.Op("act", "LeakyRelu", {conv(b)}, Attrs({{"alpha", -0.5f}}));
         b.Output(b.Op("pool", "MaxPool", {act}, MaxPoolAttrs("NHWC")));
       }},
      {"average", [&](Builder& b) {
         b.Output(b.Op("pool", "AvgPool", {b.Op("relu", "Relu", {conv(b)})}, MaxPoolAttrs("NHWC")));
       }},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    ir::Graph g;
    ASSERT_NO_FATAL_FAILURE(ExpectPassKeepsOutputs(c.build, passes::FuseForEngine, g));
    EXPECT_FALSE(FindNode(g, "pool")->attrs.Has("fused_ops"));
    EXPECT_EQ(FindNode(g, "pool")->inputs.size(), 1u);
  }
}

TEST(FusionForEngineTest, FusedGraphSurvivesGraphDefRoundTrip) {
  ir::Graph g;
  ASSERT_NO_FATAL_FAILURE(ExpectPassKeepsOutputs(
      [](Builder& b) {
        ConvBiasBatchNormRelu(b);
        ValueRef v = b.Op("tanh", "Tanh", {b.graph().outputs()[0].value});
        v = b.Op("leaky", "LeakyRelu", {v}, Attrs({{"alpha", 0.25f}}));
        b.graph().outputs().clear();
        b.Output(b.Op("scale", "Mul", {v, b.RandomConst("s", {4})}));
      },
      passes::FuseForEngine, g));
  EXPECT_EQ(FindNode(g, "scale")->op, "KilnFusedElementwise");
  KILN_ASSERT_OK_AND_ASSIGN(auto def, savedmodel::GraphToGraphDef(g));
  KILN_ASSERT_OK_AND_ASSIGN(ir::Graph back, savedmodel::GraphFromGraphDef(def, {"x"}, {"scale"}));
  EXPECT_EQ(back.OpCounts(), g.OpCounts());
  const std::vector<Tensor> inputs = {RandomTensor(DType::kFloat32, {2, 9, 9, 3}, 3)};
  KILN_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> want, RunGraph(g, inputs));
  KILN_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> got, RunGraph(back, inputs));
  EXPECT_TRUE(TensorsNear(got[0], want[0], 0.0, 0.0));
}

struct FixtureCase {
  std::string name;
  bool batch_norms;      // the model's batch norms (FusedBatchNormV3, or Keras 3's Mul/Sub/AddV2) all fold away
  bool all_convs_fused;  // every convolution has a bias or activation after it
  int layer_norms = 0;   // layer normalizations that fuse into KilnLayerNorm
};

void PrintTo(const FixtureCase& c, std::ostream* os) { *os << c.name; }

class FusionFixtureTest : public ::testing::TestWithParam<FixtureCase> {};

TEST_P(FusionFixtureTest, FusedGraphMatchesUnfusedGraph) {
  const FixtureCase& c = GetParam();
  const std::string dir = testing::FixturePath(c.name);
  ASSERT_TRUE(std::filesystem::exists(dir + "/meta.json")) << "fixture missing: " << dir;
  KILN_ASSERT_OK_AND_ASSIGN(ir::Graph reference, LoadFixtureGraph(c.name));
  KILN_ASSERT_OK_AND_ASSIGN(ir::Graph fused, LoadFixtureGraph(c.name));
  KILN_ASSERT_OK(passes::FuseForEngine(fused));

  EXPECT_GT(CountFused(fused), 0);
  for (const char* op : {"FusedBatchNorm", "FusedBatchNormV2", "FusedBatchNormV3"}) EXPECT_EQ(Count(fused, op), 0);
  if (c.all_convs_fused) {
    for (const char* op : {"Conv2D", "Conv", "DepthwiseConv2dNative"}) EXPECT_EQ(Count(fused, op), 0) << op;
  }
  if (c.batch_norms) {
    EXPECT_EQ(Count(fused, "Mul") + Count(fused, "Sub") + Count(fused, "AddV2"), 0);
  }
  EXPECT_LT(fused.num_nodes(), reference.num_nodes());
  EXPECT_EQ(Count(fused, "KilnLayerNorm"), c.layer_norms);

  KILN_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> inputs, testing::FixtureInputs(c.name, reference));
  KILN_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> want, RunGraph(reference, inputs));
  KILN_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> got, RunGraph(fused, inputs));
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_TRUE(TensorsNear(got[i], want[i], 1e-4, 1e-4)) << "output '" << reference.outputs()[i].name << "'";
  }
}

INSTANTIATE_TEST_SUITE_P(
    FusionFixtures, FusionFixtureTest,
    ::testing::Values(FixtureCase{"resnet_keras3", true, true}, FixtureCase{"resnet_tfkeras", true, true},
                      // A separable conv's depthwise half feeds its pointwise conv directly.
                      FixtureCase{"separable_cnn", false, false}, FixtureCase{"mnist_keras3", false, true},
                      FixtureCase{"onnx_resnet18", false, true}, FixtureCase{"onnx_mobilenet_v2", false, true},
                      FixtureCase{"onnx_efficientnet_b0", false, true}, FixtureCase{"onnx_bert_encoder", false, true, 5},
                      FixtureCase{"transformer_keras3", false, true, 4},
                      FixtureCase{"transformer_tfkeras", false, true, 4}),
    [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace kiln
