// ONNX If, Loop and Scan: the cases the fixtures (scripts/fixtures/onnx_control_flow.py) do not
// reach — a run-time trip count of zero, the iteration limit, and models whose bodies disagree
// with their nodes, each a clear error naming the node. Models are built here with kiln's copy
// of the ONNX schema.
#include <unistd.h>

#include <filesystem>

#include "frontends/onnx/onnx_model_builder.h"
#include "io/npy.h"
#include "kiln/model.h"
#include "util/test_util.h"

namespace kiln {
namespace {

namespace fs = std::filesystem;
using onnxproto::AttributeProto;
using onnxproto::GraphProto;
using onnxproto::ModelProto;
using onnxproto::TensorProto;

using testing::AddNode;
using testing::AddValue;
using testing::MakeModel;

GraphProto* AddGraphAttr(onnxproto::NodeProto* n, const std::string& name) {
  AttributeProto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(AttributeProto::GRAPH);
  a->mutable_g()->set_name(name);
  return a->mutable_g();
}

void AddIntAttr(onnxproto::NodeProto* n, const std::string& name, int64_t value) {
  AttributeProto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(AttributeProto::INT);
  a->set_i(value);
}

// y = Loop(trips, true, x): each iteration adds 1 to x; the body's condition is `keep_going`
// (the incoming condition passed through when true, a constant false after one iteration when
// false). `out_type` is the type the body gives the carried value back as.
ModelProto CountingLoop(bool keep_going = true, int out_type = TensorProto::FLOAT) {
  ModelProto m = MakeModel(17);
  auto* g = m.mutable_graph();
  AddValue(g->mutable_input(), "trips", TensorProto::INT64, {});
  AddValue(g->mutable_input(), "x", TensorProto::FLOAT, {int64_t{2}});
  AddValue(g->mutable_output(), "y", TensorProto::FLOAT, {int64_t{2}});
  AddValue(g->mutable_output(), "ys", TensorProto::FLOAT, {std::string("n"), int64_t{2}});
  auto* cond = AddNode(g, "Constant", {}, {"cond"});
  AttributeProto* v = cond->add_attribute();
  v->set_name("value");
  v->set_type(AttributeProto::TENSOR);
  v->mutable_t()->set_data_type(TensorProto::BOOL);
  v->mutable_t()->add_int32_data(1);
  auto* loop = AddNode(g, "Loop", {"trips", "cond", "x"}, {"y", "ys"});
  loop->set_name("counting_loop");
  GraphProto* body = AddGraphAttr(loop, "body");
  AddValue(body->mutable_input(), "i", TensorProto::INT64, {});
  AddValue(body->mutable_input(), "c_in", TensorProto::BOOL, {});
  AddValue(body->mutable_input(), "x_in", TensorProto::FLOAT, {int64_t{2}});
  AddValue(body->mutable_output(), "c_out", TensorProto::BOOL, {});
  AddValue(body->mutable_output(), "x_out", out_type, {int64_t{2}});
  AddValue(body->mutable_output(), "x_scan", TensorProto::FLOAT, {int64_t{2}});
  auto* one = AddNode(body, "Constant", {}, {"one"});
  AttributeProto* ov = one->add_attribute();
  ov->set_name("value");
  ov->set_type(AttributeProto::TENSOR);
  ov->mutable_t()->set_data_type(TensorProto::FLOAT);
  ov->mutable_t()->add_float_data(1.0f);
  AddNode(body, "Add", {"x_in", "one"}, {"x_sum"});
  if (out_type == TensorProto::FLOAT) {
    AddNode(body, "Identity", {"x_sum"}, {"x_out"});
  } else {
    auto* cast = AddNode(body, "Cast", {"x_sum"}, {"x_out"});
    AddIntAttr(cast, "to", out_type);
  }
  AddNode(body, "Identity", {"x_sum"}, {"x_scan"});
  if (keep_going) {
    AddNode(body, "Identity", {"c_in"}, {"c_out"});
  } else {
    AddNode(body, "Not", {"c_in"}, {"c_out"});
  }
  return m;
}

class OnnxControlFlowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("kiln_onnx_control_flow_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Write(const ModelProto& m) {
    const std::string path = (dir_ / "model.onnx").string();
    EXPECT_TRUE(io::WriteFile(path, m.SerializeAsString()).ok());
    return path;
  }
  static std::map<std::string, Tensor> Feed(int64_t trips) {
    return {{"trips", Tensor::Scalar<int64_t>(trips)}, {"x", Tensor::FromVector<float>({2}, {1.0f, -2.0f})}};
  }

  fs::path dir_;
};

TEST_F(OnnxControlFlowTest, LoopRunsItsTripCount) {
  KILN_ASSERT_OK_AND_ASSIGN(auto model, Model::Load(Write(CountingLoop()), {.device = testing::TestDevice()}));
  KILN_ASSERT_OK_AND_ASSIGN(auto out, model->Run(Feed(3)));
  EXPECT_TRUE(testing::TensorsNear(out.at("y"), Tensor::FromVector<float>({2}, {4.0f, 1.0f}), 0, 0));
  EXPECT_TRUE(testing::TensorsNear(out.at("ys"), Tensor::FromVector<float>({3, 2}, {2, -1, 3, 0, 4, 1}), 0, 0));
}

TEST_F(OnnxControlFlowTest, ZeroTripsGiveTheInitialValuesAndEmptyScanOutputs) {
  KILN_ASSERT_OK_AND_ASSIGN(auto model, Model::Load(Write(CountingLoop()), {.device = testing::TestDevice()}));
  KILN_ASSERT_OK_AND_ASSIGN(auto out, model->Run(Feed(0)));
  EXPECT_TRUE(testing::TensorsNear(out.at("y"), Tensor::FromVector<float>({2}, {1.0f, -2.0f}), 0, 0));
  EXPECT_EQ(out.at("ys").shape(), (Shape{0, 2}));
}

TEST_F(OnnxControlFlowTest, TheBodysConditionEndsTheLoop) {
  KILN_ASSERT_OK_AND_ASSIGN(auto model, Model::Load(Write(CountingLoop(false))));
  KILN_ASSERT_OK_AND_ASSIGN(auto out, model->Run(Feed(100)));
  EXPECT_EQ(out.at("ys").shape(), (Shape{1, 2}));
}

TEST_F(OnnxControlFlowTest, ALoopPastTheIterationLimitIsStoppedWithAnError) {
  LoadOptions options;
  options.max_loop_iterations = 50;
  KILN_ASSERT_OK_AND_ASSIGN(auto model, Model::Load(Write(CountingLoop()), options));
  KILN_ASSERT_OK(model->Run(Feed(50)).status());
  auto run = model->Run(Feed(int64_t{1} << 40));
  ASSERT_FALSE(run.ok());
  const std::string msg = run.status().ToString();
  EXPECT_EQ(run.status().code(), StatusCode::kResourceExhausted) << msg;
  EXPECT_NE(msg.find("limit of 50 iterations"), std::string::npos) << msg;
  EXPECT_NE(msg.find("counting_loop"), std::string::npos) << msg;
}

TEST_F(OnnxControlFlowTest, ABodyThatChangesACarriedDTypeIsRefused) {
  auto model = Model::Load(Write(CountingLoop(true, TensorProto::INT64)));
  ASSERT_FALSE(model.ok());
  const std::string msg = model.status().ToString();
  EXPECT_NE(msg.find("loop-carried value 0 ('x_in') enters the body as float32 and leaves it as int64"),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find("counting_loop"), std::string::npos) << msg;
}

// z = If(c, x + w, x - w) where w is a graph input both branches read from outside.
ModelProto Branches(bool else_gives_output = true) {
  ModelProto m = MakeModel(17);
  auto* g = m.mutable_graph();
  AddValue(g->mutable_input(), "c", TensorProto::BOOL, {});
  AddValue(g->mutable_input(), "x", TensorProto::FLOAT, {int64_t{2}});
  AddValue(g->mutable_input(), "w", TensorProto::FLOAT, {int64_t{2}});
  AddValue(g->mutable_output(), "z", TensorProto::FLOAT, {int64_t{2}});
  auto* n = AddNode(g, "If", {"c"}, {"z"});
  n->set_name("branches");
  GraphProto* then_g = AddGraphAttr(n, "then_branch");
  AddValue(then_g->mutable_output(), "t", TensorProto::FLOAT, {int64_t{2}});
  AddNode(then_g, "Add", {"x", "w"}, {"t"});
  GraphProto* else_g = AddGraphAttr(n, "else_branch");
  if (else_gives_output) {
    AddValue(else_g->mutable_output(), "e", TensorProto::FLOAT, {int64_t{2}});
    AddNode(else_g, "Sub", {"x", "w"}, {"e"});
  }
  return m;
}

TEST_F(OnnxControlFlowTest, BranchesReadTheGraphAroundThem) {
  KILN_ASSERT_OK_AND_ASSIGN(auto model, Model::Load(Write(Branches()), {.device = testing::TestDevice()}));
  std::map<std::string, Tensor> feed = {{"x", Tensor::FromVector<float>({2}, {1, 2})},
                                        {"w", Tensor::FromVector<float>({2}, {10, 20})}};
  feed["c"] = Tensor::Scalar<bool>(true);
  KILN_ASSERT_OK_AND_ASSIGN(auto taken, model->Run(feed));
  EXPECT_TRUE(testing::TensorsNear(taken.at("z"), Tensor::FromVector<float>({2}, {11, 22}), 0, 0));
  feed["c"] = Tensor::Scalar<bool>(false);
  KILN_ASSERT_OK_AND_ASSIGN(auto not_taken, model->Run(feed));
  EXPECT_TRUE(testing::TensorsNear(not_taken.at("z"), Tensor::FromVector<float>({2}, {-9, -18}), 0, 0));
}

TEST_F(OnnxControlFlowTest, ABranchMissingAnOutputIsRefused) {
  auto model = Model::Load(Write(Branches(false)));
  ASSERT_FALSE(model.ok());
  const std::string msg = model.status().ToString();
  EXPECT_NE(msg.find("then_branch gives 1 outputs and else_branch 0"), std::string::npos) << msg;
  EXPECT_NE(msg.find("branches"), std::string::npos) << msg;
}

TEST_F(OnnxControlFlowTest, ScanInputsOfDifferentLengthsAreAnError) {
  ModelProto m = MakeModel(17);
  auto* g = m.mutable_graph();
  AddValue(g->mutable_input(), "a", TensorProto::FLOAT, {std::string("n")});
  AddValue(g->mutable_input(), "b", TensorProto::FLOAT, {std::string("k")});
  AddValue(g->mutable_output(), "s", TensorProto::FLOAT, {std::string("n")});
  auto* n = AddNode(g, "Scan", {"a", "b"}, {"s"});
  n->set_name("pairs");
  AddIntAttr(n, "num_scan_inputs", 2);
  GraphProto* body = AddGraphAttr(n, "body");
  AddValue(body->mutable_input(), "ai", TensorProto::FLOAT, {});
  AddValue(body->mutable_input(), "bi", TensorProto::FLOAT, {});
  AddValue(body->mutable_output(), "si", TensorProto::FLOAT, {});
  AddNode(body, "Add", {"ai", "bi"}, {"si"});
  KILN_ASSERT_OK_AND_ASSIGN(auto model, Model::Load(Write(m)));
  KILN_ASSERT_OK_AND_ASSIGN(auto same, model->Run({{"a", Tensor::FromVector<float>({3}, {1, 2, 3})},
                                                   {"b", Tensor::FromVector<float>({3}, {4, 5, 6})}}));
  EXPECT_TRUE(testing::TensorsNear(same.at("s"), Tensor::FromVector<float>({3}, {5, 7, 9}), 0, 0));
  auto run = model->Run({{"a", Tensor::FromVector<float>({3}, {1, 2, 3})},
                         {"b", Tensor::FromVector<float>({4}, {4, 5, 6, 7})}});
  ASSERT_FALSE(run.ok());
  const std::string msg = run.status().ToString();
  EXPECT_NE(msg.find("scanned inputs 0 and 1 have 3 and 4 slices"), std::string::npos) << msg;
  EXPECT_NE(msg.find("pairs"), std::string::npos) << msg;
}

TEST_F(OnnxControlFlowTest, AnUnsupportedOpInABodyIsListedWithTheOthers) {
  ModelProto m = Branches();
  m.mutable_graph()->mutable_node(0)->mutable_attribute(0)->mutable_g()->mutable_node(0)->set_op_type("NoSuchOp");
  auto model = Model::Load(Write(m));
  ASSERT_FALSE(model.ok());
  const std::string msg = model.status().ToString();
  EXPECT_EQ(model.status().code(), StatusCode::kUnimplemented) << msg;
  EXPECT_NE(msg.find("NoSuchOp (node 't')"), std::string::npos) << msg;
}

// Loops nested `depth` deep, each growing its carried vector by one element per iteration from a
// [1] start of its own: every conversion of a body converts the loop inside it twice (its carried
// shape changes), so the work doubles with each level.
void FillGrowingLoop(GraphProto* g, const std::string& out, int depth) {
  auto* loop = AddNode(g, "Loop", {"trips", "", "one"}, {out});
  GraphProto* body = AddGraphAttr(loop, "body");
  const std::string p = "l" + std::to_string(depth) + "_";
  AddValue(body->mutable_input(), p + "i", TensorProto::INT64, {});
  AddValue(body->mutable_input(), p + "c", TensorProto::BOOL, {});
  AddValue(body->mutable_input(), p + "h", TensorProto::FLOAT, {std::string("n")});
  AddValue(body->mutable_output(), p + "c_out", TensorProto::BOOL, {});
  AddValue(body->mutable_output(), p + "h_out", TensorProto::FLOAT, {std::string("n")});
  AddNode(body, "Identity", {p + "c"}, {p + "c_out"});
  std::vector<std::string> parts = {p + "h", "one"};
  if (depth > 1) {
    FillGrowingLoop(body, p + "inner", depth - 1);
    parts.push_back(p + "inner");
  }
  auto* concat = AddNode(body, "Concat", parts, {p + "h_out"});
  AttributeProto* axis = concat->add_attribute();
  axis->set_name("axis");
  axis->set_type(AttributeProto::INT);
  axis->set_i(0);
}

TEST_F(OnnxControlFlowTest, DeeplyNestedLoopsAreRefusedInsteadOfConvertedForever) {
  auto nested = [](int depth) {
    ModelProto m = MakeModel(17);
    auto* g = m.mutable_graph();
    AddValue(g->mutable_input(), "trips", TensorProto::INT64, {});
    AddValue(g->mutable_input(), "one", TensorProto::FLOAT, {int64_t{1}});
    AddValue(g->mutable_output(), "y", TensorProto::FLOAT, {std::string("m")});
    FillGrowingLoop(g, "y", depth);
    return m;
  };
  // Three levels, two iterations each: the innermost loop gives 1 + 2 values, the next
  // 1 + 2 * (1 + 3), the outermost 1 + 2 * (1 + 9).
  KILN_ASSERT_OK_AND_ASSIGN(auto model, Model::Load(Write(nested(3))));
  KILN_ASSERT_OK_AND_ASSIGN(auto out, model->Run({{"trips", Tensor::Scalar<int64_t>(2)},
                                                   {"one", Tensor::FromVector<float>({1}, {1})}}));
  EXPECT_EQ(out.at("y").shape(), (Shape{21}));
  // Thirty levels would take 2^30 conversions.
  auto deep = Model::Load(Write(nested(30)));
  ASSERT_FALSE(deep.ok());
  EXPECT_NE(deep.status().ToString().find("loops nested too deeply"), std::string::npos) << deep.status().ToString();
}

}  // namespace
}  // namespace kiln
