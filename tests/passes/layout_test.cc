// The channels-last pass: channels-first convolutions, pools, bias adds and batch norms run NHWC,
// transposes move past elementwise ops and reductions and cancel, and the graph computes what it
// did, on hand-built graphs and on the convolutional fixture models.
#include <filesystem>

#include "ir/op_registry.h"
#include "passes/fusion.h"
#include "passes/layout.h"
#include "passes/pass_test_util.h"

namespace kiln {
namespace {

using ir::ValueRef;
using testing::Attrs;
using testing::Builder;
using testing::Count;

ir::AttrMap OnnxConvAttrs(std::vector<int64_t> strides, std::vector<int64_t> pads) {
  return Attrs({{"strides", std::vector<int64_t>{1, 1, strides[0], strides[1]}},
                {"dilations", std::vector<int64_t>{1, 1, 1, 1}},
                {"padding", std::string("EXPLICIT")},
                {"explicit_paddings", std::vector<int64_t>{0, 0, 0, 0, pads[0], pads[1], pads[2], pads[3]}},
                {"data_format", std::string("CHANNELS_FIRST")}});
}

// ONNX's way: NCHW convolutions (filters HWIO), a bias add, a max pool, a residual add, a
// per-channel scale, a global average pool and a flatten; one output from the middle.
void ResidualBlock(Builder& b) {
  ValueRef x = b.Input("x", {2, 3, 12, 12});
  ValueRef c1 = b.Op("c1", "Conv", {x, b.RandomConst("w1", {3, 3, 3, 8})}, OnnxConvAttrs({1, 1}, {1, 1, 1, 1}));
  ValueRef b1 = b.Op("b1", "BiasAdd", {c1, b.RandomConst("bias1", {8})}, Attrs({{"data_format", std::string("NCHW")}}));
  ValueRef r1 = b.Op("r1", "Relu", {b1});
  ValueRef pool = b.Op("pool", "OnnxPool", {r1},
                       Attrs({{"mode", std::string("max")},
                              {"kernel_shape", std::vector<int64_t>{3, 3}},
                              {"strides", std::vector<int64_t>{2, 2}},
                              {"pads", std::vector<int64_t>{1, 1, 1, 1}}}));
  ValueRef c2 = b.Op("c2", "Conv", {pool, b.RandomConst("w2", {1, 1, 8, 8})}, OnnxConvAttrs({1, 1}, {0, 0, 0, 0}));
  ValueRef sum = b.Op("sum", "AddV2", {c2, pool});
  ValueRef scaled = b.Op("scaled", "Mul", {sum, b.RandomConst("scale", {8, 1, 1})});
  ValueRef r2 = b.Op("r2", "Relu", {scaled});
  ValueRef mean = b.Op("mean", "Mean", {r2, b.Const("axes", Tensor::FromVector<int32_t>({2}, {2, 3}))},
                       Attrs({{"keep_dims", true}}));
  ValueRef flat = b.Op("flat", "Reshape", {mean, b.Const("shape", Tensor::FromVector<int32_t>({2}, {2, 8}))});
  b.Output(flat);
  b.Output(r1);
}

TEST(ChannelsLastTest, ResidualBlockRunsNhwcBetweenOneTransposeInAndOut) {
  ir::Graph g;
  int converted = 0;
  testing::ExpectPassKeepsOutputs(
      ResidualBlock,
      [&](ir::Graph& graph) -> Status {
        KILN_ASSIGN_OR_RETURN(converted, passes::ConvertToChannelsLast(graph));
        return OkStatus();
      },
      g);
  EXPECT_EQ(converted, 4);  // two convolutions, the bias add and the pool
  EXPECT_EQ(testing::FindNode(g, "c1")->attrs.Get<std::string>("data_format").value(), "CHANNELS_LAST");
  EXPECT_EQ(testing::FindNode(g, "pool")->attrs.Get<std::string>("data_format").value(), "NHWC");
  EXPECT_EQ(testing::FindNode(g, "b1")->attrs.Get<std::string>("data_format").value(), "NHWC");
  // The input goes to NHWC, the middle output back to NCHW, and the pooled [2,1,1,8] to [2,8,1,1]
  // before the flatten: nothing else moves.
  EXPECT_EQ(Count(g, "Transpose"), 3);
}

TEST(ChannelsLastTest, FusedConvolutionsTakeTheirResidualInNhwc) {
  ir::Graph g;
  testing::ExpectPassKeepsOutputs(
      ResidualBlock,
      [](ir::Graph& graph) -> Status {
        KILN_RETURN_IF_ERROR(passes::FuseForEngine(graph));
        return passes::ConvertToChannelsLast(graph).status();
      },
      g);
  EXPECT_EQ(Count(g, "KilnFusedConv"), 2);
  EXPECT_EQ(Count(g, "Transpose"), 3);
}

// The first convolution (3 channels, a 3x3 window) reads its input padded to 8 zero channels; the
// second, of 8 channels already, stays as it is.
TEST(PadConvChannelsTest, FewChannelConvolutionsReadPaddedInputs) {
  ir::Graph g;
  testing::ExpectPassKeepsOutputs(
      ResidualBlock,
      [](ir::Graph& graph) -> Status {
        KILN_RETURN_IF_ERROR(passes::FuseForEngine(graph));
        KILN_RETURN_IF_ERROR(passes::ConvertToChannelsLast(graph).status());
        return passes::PadConvInputChannels(graph, 8);
      },
      g);
  EXPECT_EQ(Count(g, "Pad"), 1);
  for (int id = 0; id < g.num_nodes(); ++id) {
    const ir::Node& n = g.node(id);
    if (n.op != "KilnFusedConv") continue;
    EXPECT_EQ(g.output_info(n.inputs[0]).shape.dims[3], 8) << n.name;
    EXPECT_EQ(g.output_info(n.inputs[1]).shape.dims[2], 8) << n.name;
  }
  // A long reduction (a 7x7 window of 3 channels) is left alone.
  ir::Graph wide;
  testing::ExpectPassKeepsOutputs(
      [](Builder& b) {
        ValueRef x = b.Input("x", {1, 16, 16, 3});
        ValueRef conv = b.Op("conv", "Conv2D", {x, b.RandomConst("w", {7, 7, 3, 8})},
                             Attrs({{"strides", std::vector<int64_t>{1, 2, 2, 1}},
                                    {"padding", std::string("SAME")},
                                    {"data_format", std::string("NHWC")}}));
        b.Output(b.Op("relu", "Relu", {b.Op("bias", "BiasAdd", {conv, b.RandomConst("b", {8})})}));
      },
      [](ir::Graph& graph) -> Status {
        KILN_RETURN_IF_ERROR(passes::FuseForEngine(graph));
        return passes::PadConvInputChannels(graph, 8);
      },
      wide);
  EXPECT_EQ(Count(wide, "KilnFusedConv2D"), 1);
  EXPECT_EQ(Count(wide, "Pad"), 0);
  // Channels-first convolutions, and a multiple of 1, are left alone.
  for (const int64_t multiple : {8, 1}) {
    ir::Graph untouched;
    testing::ExpectPassKeepsOutputs(
        ResidualBlock,
        [multiple](ir::Graph& graph) -> Status {
          KILN_RETURN_IF_ERROR(passes::FuseForEngine(graph));
          return passes::PadConvInputChannels(graph, multiple);
        },
        untouched);
    EXPECT_EQ(Count(untouched, "Pad"), 0);
  }
}

// Reductions without keep_dims: where the kept dims keep their order no transpose follows.
TEST(ChannelsLastTest, ReductionsReduceTheMatchingAxes) {
  ir::Graph g;
  testing::ExpectPassKeepsOutputs(
      [](Builder& b) {
        ValueRef x = b.Input("x", {2, 4, 5, 6});
        ValueRef c = b.Op("c", "Conv", {x, b.RandomConst("w", {1, 1, 4, 4})}, OnnxConvAttrs({1, 1}, {0, 0, 0, 0}));
        ValueRef r = b.Op("r", "Relu", {c});
        ValueRef tanh = b.Op("t", "Tanh", {r});
        b.Output(b.Op("channels", "Sum", {r, b.Const("a1", Tensor::FromVector<int32_t>({1}, {1}))}));
        b.Output(b.Op("rows", "Max", {tanh, b.Const("a2", Tensor::FromVector<int32_t>({1}, {-2}))}));
      },
      [](ir::Graph& graph) { return passes::ConvertToChannelsLast(graph).status(); }, g);
  // Both of r's readers take it NHWC: the input's transpose, and the row maximum's [N,W,C] -> [N,C,W].
  EXPECT_EQ(Count(g, "Transpose"), 2);
}

TEST(ChannelsLastTest, ReductionSinkingMatchesTheKeptAxisOrder) {
  ir::Graph g;
  testing::ExpectPassKeepsOutputs(
      [](Builder& b) {
        ValueRef x = b.Input("x", {2, 4, 5, 6});
        ValueRef c = b.Op("c", "Conv", {x, b.RandomConst("w", {1, 1, 4, 4})}, OnnxConvAttrs({1, 1}, {0, 0, 0, 0}));
        b.Output(b.Op("rows", "Max", {c, b.Const("a", Tensor::FromVector<int32_t>({1}, {2}))}));
      },
      [](ir::Graph& graph) { return passes::ConvertToChannelsLast(graph).status(); }, g);
  EXPECT_EQ(Count(g, "Max"), 1);
  EXPECT_EQ(Count(g, "Transpose"), 2);  // in, and [N,W,C] -> [N,C,W] after the max
}

TEST(ChannelsLastTest, ChannelsLastGraphsAndOtherOpsAreLeftAlone) {
  Builder b;
  ValueRef x = b.Input("x", {1, 8, 8, 3});
  ValueRef c = b.Op("c", "Conv2D", {x, b.RandomConst("w", {3, 3, 3, 4})},
                    Attrs({{"strides", std::vector<int64_t>{1, 1, 1, 1}}, {"padding", std::string("SAME")}}));
  b.Output(b.Op("r", "Relu", {c}));
  KILN_ASSERT_OK(ir::InferShapes(b.graph()));
  KILN_ASSERT_OK_AND_ASSIGN(int converted, passes::ConvertToChannelsLast(b.graph()));
  EXPECT_EQ(converted, 0);
  EXPECT_EQ(Count(b.graph(), "Transpose"), 0);
}

// TensorFlow's NCHW spellings: Conv2D, depthwise, FusedBatchNormV3 and MaxPool.
TEST(ChannelsLastTest, TensorFlowNchwOpsRunNhwc) {
  ir::Graph g;
  testing::ExpectPassKeepsOutputs(
      [](Builder& b) {
        const ir::AttrMap nchw = Attrs({{"data_format", std::string("NCHW")}});
        ValueRef x = b.Input("x", {2, 3, 9, 9});
        ir::AttrMap conv = Attrs({{"strides", std::vector<int64_t>{1, 1, 2, 2}},
                                  {"padding", std::string("SAME")},
                                  {"data_format", std::string("NCHW")}});
        ValueRef c = b.Op("c", "Conv2D", {x, b.RandomConst("w", {3, 3, 3, 6})}, conv);
        ValueRef bn = b.Op("bn", "FusedBatchNormV3",
                           {c, b.RandomConst("g", {6}, 0.5, 1.5), b.RandomConst("beta", {6}), b.RandomConst("m", {6}),
                            b.RandomConst("v", {6}, 0.5, 1.5)},
                           Attrs({{"epsilon", 0.001f}, {"is_training", false}, {"data_format", std::string("NCHW")}}));
        conv.Set("strides", std::vector<int64_t>{1, 1, 1, 1});
        ValueRef d = b.Op("d", "DepthwiseConv2dNative", {bn, b.RandomConst("dw", {3, 3, 6, 1})}, conv);
        b.Output(b.Op("p", "MaxPool", {d},
                      Attrs({{"ksize", std::vector<int64_t>{1, 1, 2, 2}},
                             {"strides", std::vector<int64_t>{1, 1, 2, 2}},
                             {"padding", std::string("VALID")},
                             {"data_format", std::string("NCHW")}})));
      },
      [](ir::Graph& graph) { return passes::ConvertToChannelsLast(graph).status(); }, g);
  EXPECT_EQ(Count(g, "Transpose"), 2);
}

// The convolutional fixtures as engines compile them: fused, then channels-last; the same answers
// on the recorded inputs, and few transposes left.
class ChannelsLastFixtureTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ChannelsLastFixtureTest, FixtureRunsNhwcWithTheSameAnswers) {
  const std::string name = GetParam();
  if (!std::filesystem::exists(testing::FixturePath(name) + "/meta.json")) {
    GTEST_SKIP() << "fixture missing: " << testing::FixturePath(name);
  }
  KILN_ASSERT_OK_AND_ASSIGN(ir::Graph reference, testing::LoadFixtureGraph(name));
  KILN_ASSERT_OK_AND_ASSIGN(ir::Graph nhwc, testing::LoadFixtureGraph(name));
  KILN_ASSERT_OK(passes::FuseForEngine(reference));
  KILN_ASSERT_OK(passes::FuseForEngine(nhwc));
  const int transposes_before = Count(nhwc, "Transpose");
  KILN_ASSERT_OK_AND_ASSIGN(int converted, passes::ConvertToChannelsLast(nhwc));
  EXPECT_GT(converted, 5);
  // The input's transpose and the pooled features' (a [N,1,1,C] value) are what remain.
  EXPECT_LE(Count(nhwc, "Transpose"), transposes_before + 2) << "converted " << converted;
  KILN_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> inputs, testing::FixtureInputs(name, reference));
  KILN_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> want, testing::RunGraph(reference, inputs));
  KILN_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> got, testing::RunGraph(nhwc, inputs));
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_TRUE(testing::TensorsNear(got[i], want[i], 1e-4, 1e-4)) << i;
}

INSTANTIATE_TEST_SUITE_P(ConvolutionalFixtures, ChannelsLastFixtureTest,
                         ::testing::Values("onnx_resnet18", "onnx_mobilenet_v2", "onnx_efficientnet_b0",
                                           "onnx_regnet_y_400mf", "onnx_mobilenet_v3_small"));

}  // namespace
}  // namespace kiln
