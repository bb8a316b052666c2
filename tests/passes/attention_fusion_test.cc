// FuseAttention: attention written out as ops (as the ONNX importer and TensorFlow's batch matmuls
// spell it) becomes one KilnAttention node that gives the same answers.
#include <gtest/gtest.h>

#include <cmath>

#include "ir/ops/attention_op.h"
#include "ir/shape_fns.h"
#include "passes/fusion.h"
#include "passes/pass_test_util.h"

namespace kiln {
namespace {

using ir::ValueRef;
using testing::Attrs;
using testing::Builder;
using testing::Count;
using testing::ExpectPassKeepsOutputs;
using testing::FindNode;

constexpr int64_t kBatch = 2, kSeq = 6, kHeads = 3, kDepth = 8;

ValueRef Ints(Builder& b, const std::string& name, std::vector<int32_t> values) {
  const Shape shape = {static_cast<int64_t>(values.size())};
  return b.Const(name, Tensor::FromVector<int32_t>(shape, values));
}

ValueRef Transpose(Builder& b, const std::string& name, ValueRef x, std::vector<int32_t> perm) {
  return b.Op(name, "Transpose", {x, Ints(b, name + "/perm", std::move(perm))});
}

// [batch, seq, heads * depth] -> [batch, seq, heads, depth]
ValueRef SplitHeads(Builder& b, const std::string& name, ValueRef x) {
  return b.Op(name, "Reshape", {x, Ints(b, name + "/shape", {kBatch, kSeq, kHeads, kDepth})});
}

struct Spelling {
  bool divide = true;      // scores / sqrt(depth), else scores * 1/sqrt(depth), else unscaled
  bool scale = true;
  bool bias = true;        // a [batch, 1, 1, seq] padding mask
  bool bias_first = false;  // Add(bias, scores)
  bool key_adjoint = false;  // k as [batch, heads, seq, depth] with adj_y, not a transposed k
};

// BERT's self-attention as PyTorch exports it to ONNX: q, k, v projections split into heads, the
// scaled, masked softmax of q . k^T, times v, heads merged back.
void WrittenOutAttention(Builder& b, Spelling s = {}) {
  ValueRef x = b.Input("x", {kBatch, kSeq, kHeads * kDepth});
  auto project = [&](const std::string& name) {
    ValueRef w = b.RandomConst(name + "/w", {kHeads * kDepth, kHeads * kDepth});
    return SplitHeads(b, name + "/heads", b.Op(name, "BatchMatMulV2", {x, w}));
  };
  ValueRef q = Transpose(b, "q", project("q_proj"), {0, 2, 1, 3});
  ValueRef k = s.key_adjoint ? Transpose(b, "k", project("k_proj"), {0, 2, 1, 3})
                             : Transpose(b, "k_t", project("k_proj"), {0, 2, 3, 1});
  ValueRef v = Transpose(b, "v", project("v_proj"), {0, 2, 1, 3});
  ValueRef scores = b.Op("scores", "BatchMatMulV2", {q, k}, Attrs({{"adj_y", s.key_adjoint}}));
  if (s.scale) {
    const float root = std::sqrt(static_cast<float>(kDepth));
    scores = s.divide ? b.Op("scaled", "RealDiv", {scores, b.Const("root", Tensor::Scalar<float>(root))})
                      : b.Op("scaled", "Mul", {b.Const("inv_root", Tensor::Scalar<float>(1.0f / root)), scores});
  }
  if (s.bias) {
    ValueRef mask = b.Input("mask", {kBatch, 1, 1, kSeq});
    ValueRef adder = b.Op("adder", "Mul", {mask, b.Const("mask_scale", Tensor::Scalar<float>(-2.0f))});
    scores = s.bias_first ? b.Op("masked", "AddV2", {adder, scores}) : b.Op("masked", "AddV2", {scores, adder});
  }
  ValueRef probs = b.Op("probs", "Softmax", {scores});
  ValueRef context = b.Op("context", "BatchMatMulV2", {probs, v});
  ValueRef merged = Transpose(b, "merged", context, {0, 2, 1, 3});
  b.Output(b.Op("out", "Reshape", {merged, Ints(b, "out/shape", {kBatch, kSeq, kHeads * kDepth})}));
}

Status Fuse(ir::Graph& g) {
  KILN_RETURN_IF_ERROR(ir::InferShapes(g));
  return passes::FuseAttention(g);
}

TEST(FusionAttentionTest, FusesTheImportersAttentionReadingTheProjectionsInPlace) {
  ir::Graph g;
  ASSERT_NO_FATAL_FAILURE(ExpectPassKeepsOutputs([](Builder& b) { WrittenOutAttention(b); }, Fuse, g));
  g.RemoveDeadNodes();
  const ir::Node* n = FindNode(g, "merged");
  ASSERT_NE(n, nullptr);
  ASSERT_EQ(n->op, ir::kAttentionOp);
  EXPECT_EQ(n->inputs.size(), 4u);
  EXPECT_NEAR(n->attrs.Get<float>("scale").value(), 1.0 / std::sqrt(8.0), 1e-7);
  for (const char* layout : {"q_layout", "k_layout", "v_layout", "out_layout"}) {
    EXPECT_EQ(n->attrs.Get<std::string>(layout).value(), "BSHD") << layout;
  }
  EXPECT_EQ(Count(g, "Transpose") + Count(g, "Softmax") + Count(g, "RealDiv"), 0);
  EXPECT_EQ(Count(g, "BatchMatMulV2"), 3);  // the projections
}

TEST(FusionAttentionTest, FusesEverySpelling) {
  for (const Spelling s : {Spelling{.divide = false}, Spelling{.scale = false}, Spelling{.bias = false},
                           Spelling{.bias_first = true}, Spelling{.key_adjoint = true},
                           Spelling{.scale = false, .bias = false, .key_adjoint = true}}) {
    ir::Graph g;
    ASSERT_NO_FATAL_FAILURE(ExpectPassKeepsOutputs([s](Builder& b) { WrittenOutAttention(b, s); }, Fuse, g));
    const ir::Node* n = FindNode(g, "merged");
    ASSERT_NE(n, nullptr);
    EXPECT_EQ(n->op, ir::kAttentionOp) << s.divide << s.scale << s.bias << s.bias_first << s.key_adjoint;
    EXPECT_EQ(n->inputs.size(), s.bias ? 4u : 3u);
    EXPECT_EQ(n->attrs.Get<std::string>("k_layout").value(), "BSHD");
  }
}

TEST(FusionAttentionTest, ValuesReadOutsideThePatternKeepItApart) {
  // The probabilities are also a graph output: they must still be computed.
  ir::Graph g;
  ASSERT_NO_FATAL_FAILURE(ExpectPassKeepsOutputs(
      [](Builder& b) {
        WrittenOutAttention(b);
        b.Output({FindNode(b.graph(), "probs")->id, 0});
      },
      Fuse, g));
  EXPECT_EQ(Count(g, ir::kAttentionOp), 0);
  EXPECT_EQ(Count(g, "Softmax"), 1);
}

TEST(FusionAttentionTest, TransposesThatMoveTheDepthStayOps) {
  // q = Transpose(x, [0, 1, 3, 2]) of an x stored [batch, heads, depth, seq]: taking it in would leave
  // the depth strided, so the Transpose stays and the fused node reads q as it is.
  ir::Graph g;
  ASSERT_NO_FATAL_FAILURE(ExpectPassKeepsOutputs(
      [](Builder& b) {
        ValueRef xt = b.Input("xt", {kBatch, kHeads, kDepth, kSeq});
        ValueRef q = Transpose(b, "q", xt, {0, 1, 3, 2});
        ValueRef k = b.Input("k", {kBatch, kHeads, kSeq, kDepth});
        ValueRef v = b.Input("v", {kBatch, kHeads, kSeq, kDepth});
        ValueRef scores = b.Op("scores", "BatchMatMulV2", {q, k}, Attrs({{"adj_y", true}}));
        b.Output(b.Op("context", "BatchMatMulV2", {b.Op("probs", "Softmax", {scores}), v}));
      },
      Fuse, g));
  g.RemoveDeadNodes();
  const ir::Node* n = FindNode(g, "context");
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(n->op, ir::kAttentionOp);
  EXPECT_EQ(Count(g, "Transpose"), 1);
  for (const char* layout : {"q_layout", "k_layout", "v_layout", "out_layout"}) {
    EXPECT_EQ(n->attrs.Get<std::string>(layout).value(), "BHSD") << layout;
  }
}

TEST(FusionAttentionTest, SoftmaxOverOtherValuesIsLeftAlone) {
  ir::Graph g;
  ASSERT_NO_FATAL_FAILURE(ExpectPassKeepsOutputs(
      [](Builder& b) {
        // A softmax of a product that a matmul reads, but not of q . k^T (a Mul by a non-constant).
        ValueRef q = b.Input("q", {kBatch, kHeads, kSeq, kDepth});
        ValueRef k = b.Input("k", {kBatch, kHeads, kSeq, kDepth});
        ValueRef temperature = b.Input("t", {kBatch, kHeads, kSeq, kSeq});
        ValueRef scores = b.Op("scores", "BatchMatMulV2", {q, k}, Attrs({{"adj_y", true}}));
        scores = b.Op("tempered", "Mul", {scores, temperature});
        b.Output(b.Op("context", "BatchMatMulV2", {b.Op("probs", "Softmax", {scores}), k}));
      },
      Fuse, g));
  EXPECT_EQ(Count(g, ir::kAttentionOp), 0);
}

TEST(FusionAttentionTest, EngineFusionTakesAttention) {
  Builder b;
  WrittenOutAttention(b);
  KILN_ASSERT_OK(passes::FuseForEngine(b.graph()));
  EXPECT_EQ(Count(b.graph(), ir::kAttentionOp), 1);
}

TEST(FusionAttentionTest, TheBertFixtureFusesEveryLayersAttention) {
  KILN_ASSERT_OK_AND_ASSIGN(ir::Graph fused, testing::LoadFixtureGraph("onnx_bert_encoder"));
  KILN_ASSERT_OK_AND_ASSIGN(ir::Graph plain, testing::LoadFixtureGraph("onnx_bert_encoder"));
  const int softmaxes = Count(plain, "Softmax");
  ASSERT_GT(softmaxes, 0);
  KILN_ASSERT_OK(passes::FuseForEngine(fused));
  EXPECT_EQ(Count(fused, ir::kAttentionOp), softmaxes);
  EXPECT_EQ(Count(fused, "Softmax"), 0);
  KILN_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> inputs, testing::FixtureInputs("onnx_bert_encoder", plain));
  KILN_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> want, testing::RunGraph(plain, inputs));
  KILN_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> got, testing::RunGraph(fused, inputs));
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_TRUE(testing::TensorsNear(got[i], want[i], 1e-4, 1e-4)) << i;
}

// PyTorch's nn.MultiheadAttention as exported to ONNX: tokens seq-major, one packed projection
// [seq, batch, 3 * embed] split into q, k and v by a 5-d transpose, a squeeze and three gathers,
// each split into heads through [batch * heads, seq, depth], the scale split between q and k.
void PackedProjectionAttention(Builder& b) {
  constexpr int64_t E = kHeads * kDepth;
  ValueRef input = b.Input("x", {kBatch, kSeq, E});
  ValueRef x = Transpose(b, "seq_major", input, {1, 0, 2});
  ValueRef qkv = b.Op("in_proj", "BatchMatMulV2", {x, b.RandomConst("in_proj/w", {E, 3 * E})});
  qkv = b.Op("in_proj_bias", "AddV2", {qkv, b.RandomConst("in_proj/b", {3 * E})});
  qkv = b.Op("view", "Reshape", {qkv, Ints(b, "view/shape", {kSeq, kBatch, 3, E})});
  qkv = b.Op("unsqueeze", "ExpandDims", {qkv, b.Const("unsqueeze/axis", Tensor::Scalar<int32_t>(0))});
  qkv = Transpose(b, "parts", qkv, {3, 1, 2, 0, 4});
  qkv = b.Op("squeeze", "Squeeze", {qkv}, Attrs({{"squeeze_dims", std::vector<int64_t>{3}}}));
  const ValueRef root = b.Const("root", Tensor::Scalar<float>(std::pow(static_cast<float>(kDepth), -0.25f)));
  auto part = [&](const std::string& name, int32_t index) {
    ValueRef p = b.Op(name, "GatherV2", {qkv, b.Const(name + "/i", Tensor::Scalar<int32_t>(index)),
                                         b.Const(name + "/axis", Tensor::Scalar<int32_t>(0))});
    p = b.Op(name + "/heads", "Reshape", {p, Ints(b, name + "/heads/shape", {kSeq, kBatch * kHeads, kDepth})});
    p = Transpose(b, name + "/batch_major", p, {1, 0, 2});
    return b.Op(name + "/split", "Reshape", {p, Ints(b, name + "/split/shape", {kBatch, kHeads, kSeq, kDepth})});
  };
  ValueRef q = b.Op("q_scaled", "Mul", {part("q", 0), root});
  ValueRef k = b.Op("k_flat", "Reshape", {part("k", 1), Ints(b, "k_flat/shape", {kBatch * kHeads, kSeq, kDepth})});
  k = Transpose(b, "k_t", k, {0, 2, 1});
  k = b.Op("k_split", "Reshape", {k, Ints(b, "k_split/shape", {kBatch, kHeads, kDepth, kSeq})});
  k = b.Op("k_scaled", "Mul", {k, root});
  ValueRef probs = b.Op("probs", "Softmax", {b.Op("scores", "BatchMatMulV2", {q, k})});
  ValueRef context = b.Op("context", "BatchMatMulV2", {probs, part("v", 2)});
  context = Transpose(b, "merged", context, {2, 0, 1, 3});
  // The output projection on [seq * batch, embed], back to batch-major, plus the residual.
  ValueRef out = b.Op("out", "Reshape", {context, Ints(b, "out/shape", {kSeq * kBatch, E})});
  out = b.Op("out_proj", "MatMul", {out, b.RandomConst("out_proj/w", {E, E})}, Attrs({{"transpose_b", true}}));
  out = b.Op("out_rows", "Reshape", {out, Ints(b, "out_rows/shape", {kSeq, kBatch, E})});
  out = Transpose(b, "batch_major", out, {1, 0, 2});
  b.Output(b.Op("residual", "AddV2", {input, out}));
}

Status FuseAndReadInPlace(ir::Graph& g) {
  KILN_RETURN_IF_ERROR(Fuse(g));
  return passes::ReadAttentionOperandsInPlace(g);
}

Status FuseAndPlaceBothSides(ir::Graph& g) {
  KILN_RETURN_IF_ERROR(FuseAndReadInPlace(g));
  return passes::WriteAttentionOutputsInReadersOrder(g);
}

TEST(FusionAttentionTest, PackedProjectionsAreReadInPlace) {
  ir::Graph g;
  ASSERT_NO_FATAL_FAILURE(ExpectPassKeepsOutputs(PackedProjectionAttention, FuseAndReadInPlace, g));
  const ir::Node* n = FindNode(g, "merged");
  ASSERT_NE(n, nullptr);
  ASSERT_EQ(n->op, ir::kAttentionOp);
  // The seq-major transpose moved past the projection into the operands' layouts.
  EXPECT_EQ(n->attrs.Get<std::string>("q_layout").value(), "BS0HD");
  EXPECT_EQ(n->attrs.Get<std::string>("k_layout").value(), "BS1HD");
  EXPECT_EQ(n->attrs.Get<std::string>("v_layout").value(), "BS2HD");
  EXPECT_EQ(n->attrs.Get<std::string>("out_layout").value(), "SBHD");
  EXPECT_NEAR(n->attrs.Get<float>("scale").value(), 1.0 / std::sqrt(8.0), 1e-6);
  // All three read the projection's output (run on the batch-major rows), reshaped.
  for (int slot = 0; slot < 3; ++slot) {
    const ir::Node& reshape = g.node(n->inputs[slot].node);
    ASSERT_EQ(reshape.op, "Reshape");
    const ir::Node& bias = g.node(reshape.inputs[0].node);
    EXPECT_EQ(bias.op, "AddV2");
    EXPECT_EQ(g.node(g.node(bias.inputs[0].node).inputs[0].node).name, "x");
  }
  EXPECT_EQ(Count(g, "GatherV2") + Count(g, "Squeeze") + Count(g, "ExpandDims") + Count(g, "Mul"), 0);
  EXPECT_EQ(Count(g, "Transpose"), 1);  // the one back to batch-major after the output projection
}

TEST(FusionAttentionTest, TheOutputIsWrittenInTheOrderItsProjectionIsRead) {
  ir::Graph g;
  ASSERT_NO_FATAL_FAILURE(ExpectPassKeepsOutputs(PackedProjectionAttention, FuseAndPlaceBothSides, g));
  const ir::Node* n = FindNode(g, "merged");
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(n->attrs.Get<std::string>("out_layout").value(), "BSHD");
  EXPECT_EQ(Count(g, "Transpose"), 0);
  EXPECT_EQ(Count(g, "MatMul"), 0);  // the output projection, batched over [batch, seq] rows
  EXPECT_EQ(Count(g, "BatchMatMulV2"), 2);
}

TEST(FusionAttentionTest, OutputsReadOtherwiseKeepTheirLayout) {
  // The projection's rows also feed a second reader: the output and the transpose stay.
  ir::Graph g;
  ASSERT_NO_FATAL_FAILURE(ExpectPassKeepsOutputs(
      [](Builder& b) {
        PackedProjectionAttention(b);
        b.Output(b.Op("rows_too", "Relu", {ValueRef{FindNode(b.graph(), "out_rows")->id, 0}}));
      },
      FuseAndPlaceBothSides, g));
  EXPECT_EQ(FindNode(g, "merged")->attrs.Get<std::string>("out_layout").value(), "SBHD");
  EXPECT_EQ(Count(g, "Transpose"), 1);
}

TEST(FusionAttentionTest, OperandsThatAreNoViewsStayAsTheyAre) {
  // q reads a Softplus of the projection: not a view, so it stays the operand it was.
  ir::Graph g;
  ASSERT_NO_FATAL_FAILURE(ExpectPassKeepsOutputs(
      [](Builder& b) {
        ValueRef x = b.Input("x", {kBatch, kSeq, kHeads * kDepth});
        auto heads = [&](const std::string& name, ValueRef v) {
          return Transpose(b, name, SplitHeads(b, name + "/split", v), {0, 2, 1, 3});
        };
        ValueRef q = b.Op("q_act", "Softplus", {heads("q", x)});
        ValueRef probs = b.Op("probs", "Softmax", {b.Op("scores", "BatchMatMulV2", {q, heads("k", x)},
                                                        Attrs({{"adj_y", true}}))});
        b.Output(b.Op("context", "BatchMatMulV2", {probs, heads("v", x)}));
      },
      FuseAndReadInPlace, g));
  const ir::Node* n = FindNode(g, "context");
  ASSERT_NE(n, nullptr);
  ASSERT_EQ(n->op, ir::kAttentionOp);
  EXPECT_EQ(g.node(n->inputs[0].node).op, "Softplus");
  EXPECT_EQ(n->attrs.Get<std::string>("q_layout").value(), "BHSD");
  EXPECT_EQ(n->attrs.Get<std::string>("k_layout").value(), "BSHD");
}

}  // namespace
}  // namespace kiln
