// While and Case (TensorFlow's semantics) on IR graphs built here: While runs its cond and body
// until cond fails and stops at the iteration limit with an error, bodies that disagree with the
// node are refused, and Case takes its last branch for an index outside the list.
#include "runtime/control_flow.h"

#include "ir/op_registry.h"
#include "util/test_util.h"

namespace kiln {
namespace {

ir::ValueRef AddInput(ir::Graph& g, const std::string& name, DType dtype, PartialShape shape) {
  ir::AttrMap a;
  a.Set("dtype", dtype);
  a.Set("shape", shape);
  ir::Node* p = g.AddNode(name, "Placeholder", {}, a, 1);
  g.inputs().push_back({name, {p->id, 0}});
  return {p->id, 0};
}

ir::ValueRef AddOp(ir::Graph& g, const std::string& name, const std::string& op, std::vector<ir::ValueRef> inputs,
                   ir::AttrMap attrs = {}) {
  ir::Node* n = g.AddNode(name, op, std::move(inputs), std::move(attrs), 1);
  EXPECT_TRUE(ir::OpRegistry::Global().ApplyDefaults(*n).ok());
  return {n->id, 0};
}

ir::ValueRef AddConst(ir::Graph& g, const std::string& name, Tensor t) { return {g.AddConst(name, t)->id, 0}; }

// while (i < limit) i = i + step, on a float scalar; `body_gives` is the dtype the body casts its
// result to (float32 for a well-formed loop).
ir::Graph CountingWhile(DType body_gives = DType::kFloat32) {
  ir::Graph cond;
  {
    const ir::ValueRef i = AddInput(cond, "i", DType::kFloat32, PartialShape::Known({}));
    const ir::ValueRef limit = AddInput(cond, "limit", DType::kFloat32, PartialShape::Known({}));
    ir::AttrMap a;
    a.Set("T", DType::kFloat32);
    cond.outputs().push_back({"go", AddOp(cond, "less", "Less", {i, limit}, a)});
  }
  ir::Graph body;
  {
    const ir::ValueRef i = AddInput(body, "i", DType::kFloat32, PartialShape::Known({}));
    const ir::ValueRef limit = AddInput(body, "limit", DType::kFloat32, PartialShape::Known({}));
    ir::AttrMap a;
    a.Set("T", DType::kFloat32);
    ir::ValueRef next = AddOp(body, "next", "AddV2", {i, AddConst(body, "step", Tensor::Scalar<float>(1.0f))}, a);
    if (body_gives != DType::kFloat32) {
      ir::AttrMap c;
      c.Set("SrcT", DType::kFloat32);
      c.Set("DstT", body_gives);
      next = AddOp(body, "cast", "Cast", {next}, c);
    }
    body.outputs().push_back({"i", next});
    body.outputs().push_back({"limit", limit});
  }
  ir::Graph g;
  const ir::ValueRef start = AddInput(g, "start", DType::kFloat32, PartialShape::Known({}));
  const ir::ValueRef limit = AddInput(g, "limit", DType::kFloat32, PartialShape::Known({}));
  ir::AttrMap a;
  a.Set("T", std::vector<DType>{DType::kFloat32, DType::kFloat32});
  a.Set("cond", ir::FuncRef{g.AddFunction("cond", std::move(cond))});
  a.Set("body", ir::FuncRef{g.AddFunction("body", std::move(body))});
  ir::Node* loop = g.AddNode("loop", "While", {start, limit}, a, 2);
  EXPECT_TRUE(ir::OpRegistry::Global().ApplyDefaults(*loop).ok());
  g.outputs().push_back({"end", {loop->id, 0}});
  return g;
}

TEST(WhileTest, RunsUntilItsConditionFails) {
  ir::Graph g = CountingWhile();
  KILN_ASSERT_OK(ir::InferShapes(g));
  KILN_ASSERT_OK_AND_ASSIGN(auto ex, runtime::Executor::Create(g));
  KILN_ASSERT_OK_AND_ASSIGN(auto out, ex->Run({Tensor::Scalar<float>(0.5f), Tensor::Scalar<float>(4.0f)}));
  EXPECT_EQ(out[0].data<float>()[0], 4.5f);
  KILN_ASSERT_OK_AND_ASSIGN(auto none, ex->Run({Tensor::Scalar<float>(7.0f), Tensor::Scalar<float>(4.0f)}));
  EXPECT_EQ(none[0].data<float>()[0], 7.0f);
}

TEST(WhileTest, StopsAtTheIterationLimit) {
  ir::Graph g = CountingWhile();
  KILN_ASSERT_OK(ir::InferShapes(g));
  KILN_ASSERT_OK_AND_ASSIGN(auto ex, runtime::Executor::Create(g, {.max_loop_iterations = 10}));
  KILN_ASSERT_OK(ex->Run({Tensor::Scalar<float>(0.0f), Tensor::Scalar<float>(10.0f)}).status());
  auto run = ex->Run({Tensor::Scalar<float>(0.0f), Tensor::Scalar<float>(1e9f)});
  ASSERT_FALSE(run.ok());
  EXPECT_EQ(run.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(run.status().ToString().find("limit of 10 iterations"), std::string::npos) << run.status().ToString();
  EXPECT_NE(run.status().ToString().find("'loop' (While)"), std::string::npos) << run.status().ToString();
}

TEST(WhileTest, ABodyThatChangesADTypeIsRefused) {
  ir::Graph g = CountingWhile(DType::kInt32);
  Status s = ir::InferShapes(g);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.ToString().find("loop variable 0 enters the body as float32 and leaves it as int32"), std::string::npos)
      << s.ToString();
}

// A body whose output has another shape than its input takes: the loop variable is refused at the
// iteration that passes it in, with both shapes.
TEST(WhileTest, ABodyGivingAnotherShapeThanItTakesIsAnError) {
  ir::Graph cond;
  {
    const ir::ValueRef v = AddInput(cond, "v", DType::kFloat32, PartialShape::Known({1}));
    ir::AttrMap a;
    a.Set("T", DType::kFloat32);
    a.Set("Tidx", DType::kInt32);
    const ir::ValueRef total = AddOp(cond, "total", "Sum", {v, AddConst(cond, "axis", Tensor::Scalar<int32_t>(0))}, a);
    ir::AttrMap l;
    l.Set("T", DType::kFloat32);
    const ir::ValueRef ten = AddConst(cond, "ten", Tensor::Scalar(10.0f));
    cond.outputs().push_back({"go", AddOp(cond, "less", "Less", {total, ten}, l)});
  }
  ir::Graph body;
  {
    const ir::ValueRef v = AddInput(body, "v", DType::kFloat32, PartialShape::Known({1}));
    ir::AttrMap a;
    a.Set("N", int64_t{2});
    a.Set("T", DType::kFloat32);
    a.Set("Tidx", DType::kInt32);
    body.outputs().push_back(
        {"v", AddOp(body, "twice", "ConcatV2", {v, v, AddConst(body, "axis", Tensor::Scalar<int32_t>(0))}, a)});
  }
  ir::Graph g;
  const ir::ValueRef start = AddInput(g, "start", DType::kFloat32, PartialShape::Known({1}));
  ir::AttrMap a;
  a.Set("T", std::vector<DType>{DType::kFloat32});
  a.Set("cond", ir::FuncRef{g.AddFunction("cond", std::move(cond))});
  a.Set("body", ir::FuncRef{g.AddFunction("body", std::move(body))});
  ir::Node* loop = g.AddNode("loop", "While", {start}, a, 1);
  KILN_ASSERT_OK(ir::OpRegistry::Global().ApplyDefaults(*loop));
  g.outputs().push_back({"end", {loop->id, 0}});
  KILN_ASSERT_OK(ir::InferShapes(g));
  EXPECT_EQ(g.output_info(g.outputs()[0].value).shape, PartialShape::Known({-1}));
  KILN_ASSERT_OK_AND_ASSIGN(auto ex, runtime::Executor::Create(g));
  auto run = ex->Run({Tensor::FromVector<float>({1}, {1.0f})});
  ASSERT_FALSE(run.ok());
  EXPECT_NE(run.status().ToString().find("loop variable 0 is float32 [2] at iteration 1 but the cond takes [1]"),
            std::string::npos)
      << run.status().ToString();
}

TEST(WhileTest, AMissingBodyIsAnError) {
  ir::Graph g = CountingWhile();
  g.node(g.outputs()[0].value.node).attrs.Set("body", ir::FuncRef{"no_such_body"});
  Status s = ir::InferShapes(g);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.ToString().find("the function 'no_such_body' (attribute 'body') is not in the graph"), std::string::npos)
      << s.ToString();
}

// Case(index, x) with branches x * 1, x * 2, x * 3: an index outside the list takes the last one.
TEST(CaseTest, AnIndexOutsideTheListTakesTheLastBranch) {
  ir::Graph g;
  const ir::ValueRef index = AddInput(g, "index", DType::kInt32, PartialShape::Known({}));
  const ir::ValueRef x = AddInput(g, "x", DType::kFloat32, PartialShape::Known({2}));
  std::vector<ir::FuncRef> branches;
  for (int b = 0; b < 3; ++b) {
    ir::Graph branch;
    const ir::ValueRef in = AddInput(branch, "x", DType::kFloat32, PartialShape::Known({2}));
    ir::AttrMap a;
    a.Set("T", DType::kFloat32);
    const ir::ValueRef k = AddConst(branch, "k", Tensor::Scalar(static_cast<float>(b + 1)));
    branch.outputs().push_back({"y", AddOp(branch, "scaled", "Mul", {in, k}, a)});
    branches.push_back({g.AddFunction("branch", std::move(branch))});
  }
  ir::AttrMap a;
  a.Set("Tin", std::vector<DType>{DType::kFloat32});
  a.Set("Tout", std::vector<DType>{DType::kFloat32});
  a.Set("branches", branches);
  ir::Node* n = g.AddNode("case", "Case", {index, x}, a, 1);
  KILN_ASSERT_OK(ir::OpRegistry::Global().ApplyDefaults(*n));
  g.outputs().push_back({"y", {n->id, 0}});
  KILN_ASSERT_OK(ir::InferShapes(g));
  KILN_ASSERT_OK_AND_ASSIGN(auto ex, runtime::Executor::Create(g));
  const Tensor in = Tensor::FromVector<float>({2}, {1.0f, -2.0f});
  for (const auto& [i, factor] : std::vector<std::pair<int32_t, float>>{{0, 1}, {1, 2}, {2, 3}, {7, 3}, {-1, 3}}) {
    KILN_ASSERT_OK_AND_ASSIGN(auto out, ex->Run({Tensor::Scalar<int32_t>(i), in}));
    EXPECT_EQ(out[0].data<float>()[1], -2.0f * factor) << "index " << i;
  }
}

}  // namespace
}  // namespace kiln
