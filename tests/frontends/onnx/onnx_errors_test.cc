// Bad ONNX files and bad inputs get clear errors that say what is wrong and where; local
// functions are inlined. Models are built here with kiln's copy of the ONNX schema.
#include <unistd.h>

#include <filesystem>

#include "frontends/onnx/onnx_model_builder.h"
#include "io/npy.h"
#include "kiln/model.h"
#include "util/test_util.h"

namespace kiln {
namespace {

namespace fs = std::filesystem;
using onnxproto::GraphProto;
using onnxproto::ModelProto;
using onnxproto::NodeProto;
using onnxproto::TensorProto;

using testing::AddNode;
using testing::AddValue;
using testing::Dim;
using testing::MakeModel;

class OnnxErrorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("kiln_onnx_errors_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Write(const ModelProto& m, const std::string& name = "model.onnx") {
    const std::string path = (dir_ / name).string();
    EXPECT_TRUE(io::WriteFile(path, m.SerializeAsString()).ok());
    return path;
  }
  static Status LoadError(const std::string& path) {
    auto m = Model::Load(path);
    return m.ok() ? OkStatus() : m.status();
  }
  // y = Relu(x) over float [batch, 4].
  static ModelProto ReluModel(int64_t opset = 18) {
    ModelProto m = MakeModel(opset);
    auto* g = m.mutable_graph();
    AddValue(g->mutable_input(), "x", TensorProto::FLOAT, {std::string("batch"), int64_t{4}});
    AddValue(g->mutable_output(), "y", TensorProto::FLOAT, {std::string("batch"), int64_t{4}});
    AddNode(g, "Relu", {"x"}, {"y"});
    return m;
  }

  fs::path dir_;
};

TEST_F(OnnxErrorsTest, MalformedProtobufNamesTheFile) {
  const std::string path = (dir_ / "bad.onnx").string();
  ASSERT_TRUE(io::WriteFile(path, std::string("\x0a\xff\xff\xff\xff\x0f garbage", 14)).ok());
  Status s = LoadError(path);
  EXPECT_EQ(s.code(), StatusCode::kDataLoss) << s.ToString();
  EXPECT_NE(s.ToString().find("not a valid ONNX model"), std::string::npos) << s.ToString();
  EXPECT_NE(s.ToString().find("bad.onnx"), std::string::npos) << s.ToString();
}

TEST_F(OnnxErrorsTest, TruncatedModelIsRefused) {
  const std::string bytes = ReluModel().SerializeAsString();
  const std::string path = (dir_ / "cut.onnx").string();
  ASSERT_TRUE(io::WriteFile(path, bytes.substr(0, bytes.size() - 5)).ok());
  Status s = LoadError(path);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.ToString().find("cut.onnx"), std::string::npos) << s.ToString();
}

TEST_F(OnnxErrorsTest, MissingFileIsNotFound) {
  Status s = LoadError((dir_ / "absent.onnx").string());
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.ToString().find("absent.onnx"), std::string::npos) << s.ToString();
}

TEST_F(OnnxErrorsTest, OpsetPastTheNewestIsRefused) {
  Status s = LoadError(Write(ReluModel(99)));
  EXPECT_EQ(s.code(), StatusCode::kUnimplemented) << s.ToString();
  EXPECT_NE(s.message().find("opset 99 is not supported; kiln reads opsets up to"), std::string::npos) << s.ToString();
}

// Below opset 13 a model reads only where its ops are defined as at 13: Acos has been since 7,
// Relu changed at 13.
TEST_F(OnnxErrorsTest, OldOpsetsReadWhereOpsAreDefinedAsAtOpset13) {
  Status s = LoadError(Write(ReluModel(9)));
  EXPECT_EQ(s.code(), StatusCode::kUnimplemented) << s.ToString();
  EXPECT_NE(s.message().find("opset 9 is older than 13, and these ops are defined differently there than at opset "
                             "13, the oldest definition kiln implements: Relu (node 'y')"),
            std::string::npos)
      << s.ToString();

  ModelProto m = ReluModel(9);
  m.mutable_graph()->mutable_node(0)->set_op_type("Acos");
  KILN_ASSERT_OK_AND_ASSIGN(auto model, Model::Load(Write(m)));
  KILN_ASSERT_OK_AND_ASSIGN(auto out, model->Run({{"x", Tensor::FromVector<float>({1, 4}, {1, 0, -1, 0.5f})}}));
  EXPECT_TRUE(testing::TensorsNear(
      out.at("y"), Tensor::FromVector<float>({1, 4}, {0, 1.5707964f, 3.1415927f, 1.0471976f}), 1e-6, 1e-6));
}

TEST_F(OnnxErrorsTest, UnsupportedOpsAreAllListedAtOnce) {
  ModelProto m = ReluModel();
  auto* g = m.mutable_graph();
  AddNode(g, "NonMaxSuppression", {"y"}, {"a"});
  AddNode(g, "FusedMatMul", {"a"}, {"b"}, "com.microsoft");
  AddNode(g, "FusedMatMul", {"b"}, {"c"}, "com.microsoft");
  Status s = LoadError(Write(m));
  EXPECT_EQ(s.code(), StatusCode::kUnimplemented) << s.ToString();
  EXPECT_NE(s.message().find("NonMaxSuppression (node 'a')"), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find("com.microsoft.FusedMatMul (nodes 'b', 'c')"), std::string::npos) << s.ToString();
}

TEST_F(OnnxErrorsTest, SparseInitializersAreRefused) {
  ModelProto m = ReluModel();
  auto* sparse = m.mutable_graph()->add_sparse_initializer();
  sparse->mutable_values()->set_name("weights");
  Status s = LoadError(Write(m));
  EXPECT_NE(s.message().find("sparse initializers are not supported (the first is 'weights')"), std::string::npos)
      << s.ToString();
}

TEST_F(OnnxErrorsTest, InitializersWhoseDataDoesNotFillTheirDimsAreRefused) {
  for (int form = 0; form < 2; ++form) {
    ModelProto m = ReluModel();
    auto* g = m.mutable_graph();
    TensorProto* b = g->add_initializer();
    b->set_name("b");
    b->set_data_type(TensorProto::FLOAT);
    b->add_dims(4);
    if (form == 0) {
      b->set_raw_data(std::string(8, '\0'));  // two floats for four
    } else {
      for (int i = 0; i < 3; ++i) b->add_float_data(1.0f);
    }
    g->mutable_node(0)->set_output(0, "r");
    AddNode(g, "Add", {"r", "b"}, {"y"});
    const Status s = LoadError(Write(m));
    EXPECT_FALSE(s.ok()) << "form " << form;
    EXPECT_NE(s.ToString().find("'b'"), std::string::npos) << s.ToString();
  }
}

// Dims that claim far more than the file holds (4 PB here) are refused before anything is allocated,
// however the data is stored.
TEST_F(OnnxErrorsTest, InitializersClaimingMoreThanTheFileHoldsAreRefusedUnallocated) {
  for (int form = 0; form < 4; ++form) {
    ModelProto m = ReluModel();
    auto* g = m.mutable_graph();
    TensorProto* b = g->add_initializer();
    b->set_name("b");
    b->set_data_type(TensorProto::FLOAT);
    for (int64_t d : {int64_t{1} << 20, int64_t{1} << 20, int64_t{1} << 10}) b->add_dims(d);
    if (form == 0) b->set_raw_data(std::string(4, '\0'));
    if (form == 1) b->add_float_data(1.0f);
    if (form == 3) {
      EXPECT_TRUE(io::WriteFile((dir_ / "w.bin").string(), std::string(16, '\0')).ok());
      b->set_data_location(TensorProto::EXTERNAL);
      auto* location = b->add_external_data();
      location->set_key("location");
      location->set_value("w.bin");
    }
    g->mutable_node(0)->set_output(0, "r");
    AddNode(g, "Add", {"r", "b"}, {"y"});
    const Status s = LoadError(Write(m));
    EXPECT_FALSE(s.ok()) << "form " << form;
    EXPECT_NE(s.ToString().find("'b'"), std::string::npos) << s.ToString();
  }
}

// A node with fewer inputs than its op needs is an error that names the node and the input.
TEST_F(OnnxErrorsTest, NodesMissingRequiredInputsAreRefused) {
  ModelProto m = ReluModel();
  m.mutable_graph()->mutable_node(0)->clear_input();
  const Status s = LoadError(Write(m));
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
  EXPECT_NE(s.ToString().find("input 0 is required"), std::string::npos) << s.ToString();
  EXPECT_NE(s.ToString().find("Relu"), std::string::npos) << s.ToString();
}

TEST_F(OnnxErrorsTest, UnknownInputNameNamesTheNode) {
  ModelProto m = ReluModel();
  m.mutable_graph()->mutable_node(0)->set_input(0, "nowhere");
  Status s = LoadError(Write(m));
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
  EXPECT_NE(s.ToString().find("input 'nowhere' is produced by no earlier node"), std::string::npos) << s.ToString();
  EXPECT_EQ(s.node(), "y");
}

TEST_F(OnnxErrorsTest, WrongAttributeTypeNamesTheAttribute) {
  ModelProto m = ReluModel();
  NodeProto* n = m.mutable_graph()->mutable_node(0);
  n->set_op_type("LeakyRelu");
  auto* a = n->add_attribute();
  a->set_name("alpha");
  a->set_type(onnxproto::AttributeProto::INT);
  a->set_i(1);
  Status s = LoadError(Write(m));
  EXPECT_NE(s.message().find("attribute 'alpha' has type INT, expected FLOAT"), std::string::npos) << s.ToString();
  EXPECT_EQ(s.op(), "LeakyRelu");
}

TEST_F(OnnxErrorsTest, ValueInfoThatDisagreesWithTheOpIsRefused) {
  ModelProto m = ReluModel();
  auto* g = m.mutable_graph();
  g->mutable_node(0)->set_output(0, "h");
  AddNode(g, "Neg", {"h"}, {"y"});
  AddValue(g->mutable_value_info(), "h", TensorProto::INT32, {});
  Status s = LoadError(Write(m));
  EXPECT_NE(s.message().find("value 'h' is declared int32 in value_info but the node computes float32"),
            std::string::npos)
      << s.ToString();
  m.mutable_graph()->mutable_value_info(0)->mutable_type()->mutable_tensor_type()->set_elem_type(TensorProto::FLOAT);
  KILN_ASSERT_OK(LoadError(Write(m)));
}

TEST_F(OnnxErrorsTest, UnsupportedElementTypeNamesTheValue) {
  ModelProto m = ReluModel();
  m.mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->set_elem_type(TensorProto::FLOAT8E4M3FN);
  Status s = LoadError(Write(m));
  EXPECT_NE(s.message().find("value 'x'"), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find("FLOAT8E4M3FN"), std::string::npos) << s.ToString();
}

// A model whose weights live in weights.bin beside it.
class OnnxExternalDataTest : public OnnxErrorsTest {
 protected:
  void SetUp() override {
    OnnxErrorsTest::SetUp();
    const std::string src = testing::FixturePath("onnx_external_data");
    ASSERT_TRUE(fs::exists(src + "/weights.bin")) << "fixture missing: " << src;
    for (const char* f : {"model.onnx", "weights.bin", "inputs.npz", "outputs.npz"}) fs::copy(src + "/" + f, dir_ / f);
  }
};

TEST_F(OnnxExternalDataTest, LoadsAndRuns) {
  KILN_ASSERT_OK_AND_ASSIGN(auto model, Model::Load((dir_ / "model.onnx").string()));
  KILN_ASSERT_OK_AND_ASSIGN(auto inputs, io::ReadNpz((dir_ / "inputs.npz").string()));
  KILN_ASSERT_OK_AND_ASSIGN(auto expected, io::ReadNpz((dir_ / "outputs.npz").string()));
  KILN_ASSERT_OK_AND_ASSIGN(auto out, model->Run({inputs.begin(), inputs.end()}));
  EXPECT_TRUE(testing::TensorsNear(out.at(expected[0].first), expected[0].second, 1e-4, 1e-4));
}

TEST_F(OnnxExternalDataTest, MissingDataFileIsNamed) {
  fs::remove(dir_ / "weights.bin");
  Status s = LoadError((dir_ / "model.onnx").string());
  EXPECT_EQ(s.code(), StatusCode::kNotFound) << s.ToString();
  EXPECT_NE(s.message().find("weights.bin"), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find("tensor '"), std::string::npos) << s.ToString();
}

TEST_F(OnnxExternalDataTest, ShortDataFileIsDataLoss) {
  const std::string data = *io::ReadFile((dir_ / "weights.bin").string());
  ASSERT_TRUE(io::WriteFile((dir_ / "weights.bin").string(), data.substr(0, data.size() / 2)).ok());
  Status s = LoadError((dir_ / "model.onnx").string());
  EXPECT_EQ(s.code(), StatusCode::kDataLoss) << s.ToString();
  EXPECT_NE(s.message().find("weights.bin' has " + std::to_string(data.size() / 2) + " bytes"), std::string::npos)
      << s.ToString();
}

TEST_F(OnnxExternalDataTest, LocationOutsideTheModelDirectoryIsRefused) {
  ModelProto m;
  ASSERT_TRUE(m.ParseFromString(*io::ReadFile((dir_ / "model.onnx").string())));
  for (auto& init : *m.mutable_graph()->mutable_initializer()) {
    for (auto& e : *init.mutable_external_data()) {
      if (e.key() == "location") e.set_value("../weights.bin");
    }
  }
  Status s = LoadError(Write(m, "escape.onnx"));
  EXPECT_NE(s.message().find("leaves the model directory"), std::string::npos) << s.ToString();
}

TEST_F(OnnxErrorsTest, SymbolicDimsMustAgreeAcrossInputs) {
  ModelProto m = MakeModel();
  auto* g = m.mutable_graph();
  AddValue(g->mutable_input(), "a", TensorProto::FLOAT, {std::string("n")});
  AddValue(g->mutable_input(), "b", TensorProto::FLOAT, {std::string("n")});
  AddValue(g->mutable_output(), "c", TensorProto::FLOAT, {std::string("n")});
  AddNode(g, "Add", {"a", "b"}, {"c"});
  KILN_ASSERT_OK_AND_ASSIGN(auto model, Model::Load(Write(m)));
  auto out = model->Run({{"a", Tensor(DType::kFloat32, {3})}, {"b", Tensor(DType::kFloat32, {4})}});
  ASSERT_FALSE(out.ok());
  EXPECT_NE(
      out.status().message().find("symbolic dimension 'n' is 3 in dim 0 of input 'a' but 4 in dim 0 of input 'b'"),
      std::string::npos)
      << out.status().ToString();
}

TEST_F(OnnxErrorsTest, WrongInputDTypeAndShapeAreNamed) {
  KILN_ASSERT_OK_AND_ASSIGN(auto model, Model::Load(Write(ReluModel())));
  auto wrong_dtype = model->Run({{"x", Tensor(DType::kInt32, {2, 4})}});
  ASSERT_FALSE(wrong_dtype.ok());
  EXPECT_NE(wrong_dtype.status().message().find("input 'x' expects float32"), std::string::npos)
      << wrong_dtype.status().ToString();
  auto wrong_shape = model->Run({{"x", Tensor(DType::kFloat32, {2, 5})}});
  ASSERT_FALSE(wrong_shape.ok());
  EXPECT_NE(wrong_shape.status().message().find("input 'x'"), std::string::npos) << wrong_shape.status().ToString();
  auto missing = model->Run({});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("missing input(s) 'x'"), std::string::npos);
}

// A model-local function (as exporters emit for custom modules) is inlined, its attribute
// references bound to the call's attributes.
TEST_F(OnnxErrorsTest, LocalFunctionsAreInlined) {
  ModelProto m = MakeModel();
  auto* op = m.add_opset_import();
  op->set_domain("local");
  op->set_version(1);
  auto* f = m.add_functions();
  f->set_name("ScaledLeakyAdd");
  f->set_domain("local");
  f->add_input("p");
  f->add_input("q");
  f->add_output("r");
  f->add_attribute("slope");
  auto* fo = f->add_opset_import();
  fo->set_domain("");
  fo->set_version(18);
  auto* add = f->add_node();
  add->set_op_type("Add");
  add->add_input("p");
  add->add_input("q");
  add->add_output("s");
  auto* leaky = f->add_node();
  leaky->set_op_type("LeakyRelu");
  leaky->add_input("s");
  leaky->add_output("r");
  auto* ref = leaky->add_attribute();
  ref->set_name("alpha");
  ref->set_type(onnxproto::AttributeProto::FLOAT);
  ref->set_ref_attr_name("slope");

  auto* g = m.mutable_graph();
  AddValue(g->mutable_input(), "a", TensorProto::FLOAT, {int64_t{3}});
  AddValue(g->mutable_input(), "b", TensorProto::FLOAT, {int64_t{3}});
  AddValue(g->mutable_output(), "c", TensorProto::FLOAT, {int64_t{3}});
  NodeProto* call = AddNode(g, "ScaledLeakyAdd", {"a", "b"}, {"c"}, "local");
  auto* slope = call->add_attribute();
  slope->set_name("slope");
  slope->set_type(onnxproto::AttributeProto::FLOAT);
  slope->set_f(0.5f);

  KILN_ASSERT_OK_AND_ASSIGN(auto model, Model::Load(Write(m)));
  auto a = Tensor::FromVector<float>({3}, {1, -4, 2});
  auto b = Tensor::FromVector<float>({3}, {1, 0, -6});
  KILN_ASSERT_OK_AND_ASSIGN(auto out, model->Run({{"a", a}, {"b", b}}));
  EXPECT_TRUE(testing::TensorsNear(out.at("c"), Tensor::FromVector<float>({3}, {2, -2, -2}), 0, 0));
}

// A local function that calls itself is refused at its nesting bound, not followed until the stack
// runs out.
TEST_F(OnnxErrorsTest, RecursiveFunctionsAreRefusedAtTheirNestingBound) {
  ModelProto m = MakeModel();
  auto* op = m.add_opset_import();
  op->set_domain("local");
  op->set_version(1);
  auto* f = m.add_functions();
  f->set_name("Again");
  f->set_domain("local");
  f->add_input("p");
  f->add_output("r");
  f->add_opset_import()->set_version(18);
  f->add_opset_import()->set_domain("local");
  auto* again = f->add_node();
  again->set_op_type("Again");
  again->set_domain("local");
  again->add_input("p");
  again->add_output("r");
  auto* g = m.mutable_graph();
  AddValue(g->mutable_input(), "a", TensorProto::FLOAT, {int64_t{3}});
  AddValue(g->mutable_output(), "c", TensorProto::FLOAT, {int64_t{3}});
  AddNode(g, "Again", {"a"}, {"c"}, "local");
  const Status s = LoadError(Write(m));
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.ToString().find("nest deeper than"), std::string::npos) << s.ToString();
}

// Functions that each call the next twice, 30 deep, would inline to 2^30 nodes: refused before
// anything is converted.
TEST_F(OnnxErrorsTest, FunctionsThatMultiplyPastTheNodeBoundAreRefused) {
  constexpr int kLevels = 30;
  ModelProto m = MakeModel();
  auto* op = m.add_opset_import();
  op->set_domain("local");
  op->set_version(1);
  for (int level = 0; level < kLevels; ++level) {
    auto* f = m.add_functions();
    f->set_name("F" + std::to_string(level));
    f->set_domain("local");
    f->add_input("p");
    f->add_output("r");
    f->add_opset_import()->set_version(18);
    f->add_opset_import()->set_domain("local");
    const bool last = level + 1 == kLevels;
    for (int call = 0; call < 2; ++call) {
      auto* n = f->add_node();
      n->set_op_type(last ? "Relu" : "F" + std::to_string(level + 1));
      n->set_domain(last ? "" : "local");
      n->add_input(call == 0 ? "p" : "q");
      n->add_output(call == 0 ? "q" : "r");
    }
  }
  auto* g = m.mutable_graph();
  AddValue(g->mutable_input(), "a", TensorProto::FLOAT, {int64_t{3}});
  AddValue(g->mutable_output(), "c", TensorProto::FLOAT, {int64_t{3}});
  AddNode(g, "F0", {"a"}, {"c"}, "local");
  const Status s = LoadError(Write(m));
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.ToString().find("nodes with its functions inlined"), std::string::npos) << s.ToString();
}

// A graph far deeper than any call stack could recurse through (a chain of 20,000 nodes) loads and
// runs: import, shape inference, passes and the executor walk graphs without recursion.
TEST_F(OnnxErrorsTest, DeepGraphsLoadAndRun) {
  constexpr int kDepth = 20000;
  ModelProto m = MakeModel();
  auto* g = m.mutable_graph();
  AddValue(g->mutable_input(), "x", TensorProto::FLOAT, {int64_t{2}});
  AddValue(g->mutable_output(), "y", TensorProto::FLOAT, {int64_t{2}});
  for (int i = 0; i < kDepth; ++i) {
    AddNode(g, i % 2 == 0 ? "Neg" : "Relu", {i == 0 ? "x" : "v" + std::to_string(i - 1)},
            {i + 1 == kDepth ? "y" : "v" + std::to_string(i)});
  }
  KILN_ASSERT_OK_AND_ASSIGN(auto model, Model::Load(Write(m)));
  KILN_ASSERT_OK_AND_ASSIGN(auto out, model->Run({{"x", Tensor::FromVector<float>({2}, {-1, 2})}}));
  // Neg then Relu, 10,000 times: relu(-x), then relu(-relu(-x)) = 0 from the second pair on.
  EXPECT_TRUE(testing::TensorsNear(out.at("y"), Tensor::FromVector<float>({2}, {0, 0}), 0, 0));
}

}  // namespace
}  // namespace kiln
