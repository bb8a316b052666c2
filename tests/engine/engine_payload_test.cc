// Engine payloads keep weights of 1 KiB or more after their graph instead of inside it (so that an
// engine's weights are not bound by protobuf's 2 GB): they read back exactly, payloads of the older
// form (a graph alone) still read, and a damaged payload is an error, never a crash.
#include <gtest/gtest.h>

#include "engine/segment_compiler.h"
#include "ir/op_registry.h"
#include "util/test_util.h"

namespace kiln::engine {
namespace {

// y = relu(x · w + b), w 64x32 (8 KiB, after the graph), b 32 floats (inline).
ir::Graph Dense() {
  ir::Graph g;
  ir::AttrMap attrs;
  attrs.Set("dtype", DType::kFloat32);
  attrs.Set("shape", PartialShape::Known({-1, 64}));
  ir::Node* x = g.AddNode("x", "Placeholder", {}, std::move(attrs), 1);
  ir::Node* w = g.AddConst("w", testing::RandomTensor(DType::kFloat32, {64, 32}, 7));
  ir::Node* b = g.AddConst("b", testing::RandomTensor(DType::kFloat32, {32}, 8));
  ir::Node* mm = g.AddNode("mm", "MatMul", {{x->id, 0}, {w->id, 0}}, {}, 1);
  ir::Node* add = g.AddNode("add", "BiasAdd", {{mm->id, 0}, {b->id, 0}}, {}, 1);
  ir::Node* relu = g.AddNode("relu", "Relu", {{add->id, 0}}, {}, 1);
  for (int id = 0; id < g.num_nodes(); ++id) EXPECT_TRUE(ir::OpRegistry::Global().ApplyDefaults(g.node(id)).ok());
  g.inputs().push_back({"x", {x->id, 0}});
  g.outputs().push_back({"y", {relu->id, 0}});
  EXPECT_TRUE(ir::InferShapes(g).ok());
  return g;
}

const Tensor& ConstValue(const ir::Graph& g, const std::string& name) {
  for (int i = 0; i < g.num_nodes(); ++i) {
    if (g.node(i).name == name) return std::get<Tensor>(*g.node(i).attrs.Find("value"));
  }
  static const Tensor none;
  ADD_FAILURE() << "no node " << name;
  return none;
}

TEST(EnginePayloadTest, WeightsFollowTheGraphAndReadBackExactly) {
  const ir::Graph g = Dense();
  KILN_ASSERT_OK_AND_ASSIGN(std::string payload, SerializeGraph(g, "cpu"));
  ASSERT_EQ(payload.substr(0, 8), "KILNWTS1");
  EXPECT_GE(payload.size(), 64u * 32u * 4u);
  KILN_ASSERT_OK_AND_ASSIGN(ir::Graph back, DeserializeGraph(payload, "cpu"));
  EXPECT_EQ(back.OpCounts(), g.OpCounts());
  for (const char* name : {"w", "b"}) {
    EXPECT_TRUE(testing::TensorsNear(ConstValue(back, name), ConstValue(g, name), 0, 0)) << name;
  }
}

TEST(EnginePayloadTest, AGraphWithOnlySmallConstantsIsAPlainGraph) {
  ir::Graph g;
  ir::Node* c = g.AddConst("c", Tensor::FromVector<float>({2}, {1.f, 2.f}));
  g.outputs().push_back({"y", {c->id, 0}});
  KILN_ASSERT_OK(ir::InferShapes(g));
  KILN_ASSERT_OK_AND_ASSIGN(std::string payload, SerializeGraph(g, "cpu"));
  EXPECT_NE(payload.substr(0, 8), "KILNWTS1");
  KILN_ASSERT_OK(DeserializeGraph(payload, "cpu").status());
}

// Every cut of the header, a graph size past the end, weights cut short, and a weight key pointing
// elsewhere: errors naming the payload.
TEST(EnginePayloadTest, DamagedPayloadsAreErrors) {
  KILN_ASSERT_OK_AND_ASSIGN(std::string payload, SerializeGraph(Dense(), "cpu"));
  auto expect_error = [](const std::string& bytes, const std::string& want) {
    auto got = DeserializeGraph(bytes, "cpu");
    ASSERT_FALSE(got.ok()) << "no error; wanted '" << want << "'";
    EXPECT_NE(got.status().ToString().find(want), std::string::npos) << got.status().ToString();
  };
  for (size_t cut = 8; cut < 16; ++cut) expect_error(payload.substr(0, cut), "ends inside its header");
  std::string long_graph = payload;
  long_graph[15] = '\x7f';
  expect_error(long_graph, "past its end");
  expect_error(payload.substr(0, payload.size() - 4), "does not lie within the payload's");
  std::string moved = payload;
  const size_t key = moved.find("0+8192");
  ASSERT_NE(key, std::string::npos);
  moved.replace(key, 6, "4+8192");
  expect_error(moved, "does not lie within the payload's 8192 bytes of weights");
  std::string resized = payload;
  resized.replace(key, 6, "0+4096");
  expect_error(resized, "is not the 4096 bytes of float32[64,32]");
}

}  // namespace
}  // namespace kiln::engine
