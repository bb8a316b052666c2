#include "runtime/executor.h"

#include "ir/op_registry.h"
#include "util/test_util.h"

namespace kiln {
namespace {

using testing::RunOp;
using testing::TensorsNear;

TEST(ExecutorTest, IdentityForwardsItsInput) {
  Tensor x = testing::RandomTensor(DType::kFloat32, {2, 3}, 1);
  KILN_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out, RunOp("Identity", {x}, {}, /*as_placeholders=*/true));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(TensorsNear(out[0], x));
}

// A tensor no memory holds (a computed shape of 2^60 elements) is an error naming the node, not the
// end of the process; a shape whose size overflows is refused before anything is allocated.
TEST(ExecutorTest, TensorsPastTheHostsMemoryAreErrors) {
  auto fill = [](std::vector<int64_t> dims) {
    return RunOp("Fill", {Tensor::FromVector<int64_t>({static_cast<int64_t>(dims.size())}, dims),
                          Tensor::Scalar<float>(1.0f)});
  };
  auto huge = fill({1 << 20, 1 << 20, 1 << 20});
  ASSERT_FALSE(huge.ok());
  EXPECT_EQ(huge.status().code(), StatusCode::kResourceExhausted) << huge.status().ToString();
  EXPECT_NE(huge.status().ToString().find("out of host memory"), std::string::npos) << huge.status().ToString();
  EXPECT_NE(huge.status().ToString().find("Fill"), std::string::npos) << huge.status().ToString();
  auto overflowing = fill({int64_t{1} << 40, int64_t{1} << 40});
  ASSERT_FALSE(overflowing.ok());
  EXPECT_NE(overflowing.status().ToString().find("too many elements"), std::string::npos)
      << overflowing.status().ToString();
}

TEST(ExecutorTest, RejectsInputOfWrongShapeNamingTheInput) {
  ir::Graph g;
  ir::AttrMap pa;
  pa.Set("dtype", DType::kFloat32);
  pa.Set("shape", PartialShape::Known({-1, 28, 28, 1}));
  ir::Node* p = g.AddNode("image", "Placeholder", {}, pa, 1);
  g.inputs().push_back({"image", {p->id, 0}});
  ir::Node* id = g.AddNode("id", "Identity", {{p->id, 0}}, {}, 1);
  g.outputs().push_back({"out", {id->id, 0}});
  KILN_ASSERT_OK(ir::OpRegistry::Global().ApplyDefaults(*id));
  KILN_ASSERT_OK(ir::InferShapes(g));
  KILN_ASSERT_OK_AND_ASSIGN(auto ex, runtime::Executor::Create(g));
  auto r = ex->Run({Tensor(DType::kFloat32, {512, 28, 28})});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "input 'image' expects float32 [?,28,28,1], got float32 [512,28,28]");
  auto wrong_dtype = ex->Run({Tensor(DType::kInt32, {1, 28, 28, 1})});
  ASSERT_FALSE(wrong_dtype.ok());
  EXPECT_NE(wrong_dtype.status().message().find("got int32"), std::string::npos);
  auto missing = ex->Run({});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("expected 1 inputs, got 0"), std::string::npos);
}

TEST(ExecutorTest, ListsEveryUnsupportedNodeAtOnce) {
  ir::Graph g;
  ir::Node* c = g.AddConst("c", Tensor::Scalar<float>(1.0f));
  ir::Node* a = g.AddNode("first", "NoSuchOpA", {{c->id, 0}}, {}, 1);
  ir::Node* b = g.AddNode("second", "NoSuchOpB", {{a->id, 0}}, {}, 1);
  g.outputs().push_back({"out", {b->id, 0}});
  auto ex = runtime::Executor::Create(g);
  ASSERT_FALSE(ex.ok());
  EXPECT_EQ(ex.status().code(), StatusCode::kUnimplemented);
  const std::string m = ex.status().message();
  EXPECT_NE(m.find("node 'first' (NoSuchOpA)"), std::string::npos) << m;
  EXPECT_NE(m.find("node 'second' (NoSuchOpB)"), std::string::npos) << m;
}

}  // namespace
}  // namespace kiln

namespace kiln {
namespace {

// A chain x -> Relu -> Relu -> ... : with values released after their last use, at most two
// intermediates are alive at once, however long the chain.
TEST(ExecutorTest, MemoryPlanReleasesValuesAfterTheirLastUse) {
  ir::Graph g;
  ir::AttrMap pa;
  pa.Set("dtype", DType::kFloat32);
  pa.Set("shape", PartialShape::Known({256, 256}));
  ir::Node* p = g.AddNode("x", "Placeholder", {}, pa, 1);
  g.inputs().push_back({"x", {p->id, 0}});
  ir::ValueRef v{p->id, 0};
  constexpr int kChain = 20;
  for (int i = 0; i < kChain; ++i) {
    ir::Node* n = g.AddNode("relu" + std::to_string(i), "Relu", {v}, {}, 1);
    KILN_ASSERT_OK(ir::OpRegistry::Global().ApplyDefaults(*n));
    v = {n->id, 0};
  }
  g.outputs().push_back({"y", v});
  KILN_ASSERT_OK(ir::InferShapes(g));
  KILN_ASSERT_OK_AND_ASSIGN(auto ex, runtime::Executor::Create(g));
  Tensor x = testing::RandomTensor(DType::kFloat32, {256, 256}, 5);
  KILN_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out, ex->Run({x}));
  const size_t one = x.byte_size();
  EXPECT_LE(ex->peak_live_bytes(), 2 * one);
  EXPECT_GE(ex->peak_live_bytes(), one);
  for (int64_t i = 0; i < x.num_elements(); ++i) ASSERT_EQ(out[0].data<float>()[i], std::max(x.data<float>()[i], 0.0f));
}

}  // namespace
}  // namespace kiln
