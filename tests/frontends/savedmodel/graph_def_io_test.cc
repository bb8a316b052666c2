// kiln's IR written as TensorFlow protos reads back the same: attributes, GraphDefs and
// FunctionDefs through kiln's readers, whole SavedModels through Model::Load (with the fixture
// models' answers) and through TensorFlow's saved_model_cli.
#include "frontends/savedmodel/graph_def_io.h"
#include "frontends/savedmodel/tensor_bundle_writer.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "frontends/onnx/importer.h"
#include "frontends/savedmodel/attr_convert.h"
#include "frontends/savedmodel/saved_model.h"
#include "frontends/savedmodel/tensor_proto.h"
#include "io/npy.h"
#include "ir/op_registry.h"
#include "kiln/model.h"
#include "passes/passes.h"
#include "runtime/executor.h"
#include "util/test_util.h"

namespace kiln::savedmodel {
namespace {

namespace fs = std::filesystem;

::testing::AssertionResult SameAttr(const ir::AttrValue& a, const ir::AttrValue& b) {
  if (a.index() != b.index()) {
    return ::testing::AssertionFailure() << ir::AttrTypeName(a) << " came back as " << ir::AttrTypeName(b);
  }
  return std::visit(
      [&](const auto& x) -> ::testing::AssertionResult {
        using X = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<X, Tensor>) {
          return testing::TensorsNear(std::get<Tensor>(b), x, 0, 0);
        } else {
          if (x == std::get<X>(b)) return ::testing::AssertionSuccess();
          return ::testing::AssertionFailure() << ir::AttrTypeName(a) << " value changed";
        }
      },
      a);
}

TEST(AttrToProtoTest, ConvertAttrReadsBackEveryKind) {
  const std::vector<ir::AttrValue> values = {
      int64_t{-7},
      2.5f,
      true,
      false,
      std::string("SAME"),
      std::string("bin\0ary", 7),
      DType::kBFloat16,
      DType::kInt64,
      PartialShape::Known({-1, 28, 3}),
      PartialShape::Known({}),
      PartialShape::Unknown(),
      Tensor::FromVector<float>({2, 2}, {1.f, -2.f, 3.5f, 4.f}),
      Tensor::FromVector<Half>({3}, {FloatToHalf(1.f), FloatToHalf(-0.5f), FloatToHalf(65504.f)}),
      Tensor::Scalar<int32_t>(3),
      Tensor::FromVector<bool>({2}, {true, false}),
      Tensor::Strings({2}, {"a", "bc"}),
      ir::FuncRef{"__inference_fn_12"},
      std::vector<int64_t>{1, -2, int64_t{1} << 40},
      std::vector<float>{0.5f, -1.f},
      std::vector<bool>{true, false, true},
      std::vector<std::string>{"x", "y"},
      std::vector<DType>{DType::kFloat32, DType::kUInt8, DType::kString},
      std::vector<PartialShape>{PartialShape::Known({1, -1}), PartialShape::Unknown()},
      std::vector<ir::FuncRef>{{"branch_0"}, {"branch_1"}},
  };
  std::set<size_t> kinds;
  for (const auto& v : values) {
    kinds.insert(v.index());
    KILN_ASSERT_OK_AND_ASSIGN(tfproto::AttrValue proto, AttrToProto(v));
    KILN_ASSERT_OK_AND_ASSIGN(ir::AttrValue back, ConvertAttr(proto));
    EXPECT_TRUE(SameAttr(v, back)) << proto.DebugString();
  }
  EXPECT_EQ(kinds.size(), std::variant_size_v<ir::AttrValue> - 1) << "every kind but std::monostate";
}

TEST(AttrToProtoTest, EmptyListsReadBackAsEmptyListsOfTheirType) {
  ir::AttrMap attrs;
  for (const auto& [name, value] :
       std::vector<std::pair<std::string, ir::AttrValue>>{{"i", std::vector<int64_t>{}},
                                                          {"f", std::vector<float>{}},
                                                          {"b", std::vector<bool>{}},
                                                          {"s", std::vector<std::string>{}},
                                                          {"t", std::vector<DType>{}},
                                                          {"p", std::vector<PartialShape>{}}}) {
    KILN_ASSERT_OK_AND_ASSIGN(tfproto::AttrValue proto, AttrToProto(value));
    EXPECT_TRUE(proto.has_list()) << name;
    KILN_ASSERT_OK_AND_ASSIGN(ir::AttrValue back, ConvertAttr(proto));
    attrs.Set(name, back);
  }
  EXPECT_TRUE(attrs.Get<std::vector<int64_t>>("i").ok());
  EXPECT_TRUE(attrs.Get<std::vector<float>>("f").ok());
  EXPECT_TRUE(attrs.Get<std::vector<bool>>("b").ok());
  EXPECT_TRUE(attrs.Get<std::vector<std::string>>("s").ok());
  EXPECT_TRUE(attrs.Get<std::vector<DType>>("t").ok());
  EXPECT_TRUE(attrs.Get<std::vector<PartialShape>>("p").ok());
}

TEST(AttrToProtoTest, NoValueAndInvalidValues) {
  KILN_ASSERT_OK_AND_ASSIGN(tfproto::AttrValue none, AttrToProto(ir::AttrValue{}));
  EXPECT_EQ(none.value_case(), tfproto::AttrValue::VALUE_NOT_SET);
  EXPECT_FALSE(AttrToProto(DType::kInvalid).ok());
  EXPECT_FALSE(AttrToProto(std::vector<DType>{DType::kFloat32, DType::kInvalid}).ok());
  EXPECT_FALSE(AttrToProto(Tensor()).ok());
}

// x: Placeholder float [-1,4]; y = Relu(x + c).
ir::Graph SmallGraph() {
  ir::Graph g;
  ir::AttrMap attrs;
  attrs.Set("dtype", DType::kFloat32);
  attrs.Set("shape", PartialShape::Known({-1, 4}));
  ir::Node* x = g.AddNode("x", "Placeholder", {}, std::move(attrs), 1);
  ir::Node* c = g.AddConst("c", Tensor::FromVector<float>({4}, {1.f, -2.f, 3.f, -4.f}));
  ir::Node* add = g.AddNode("add", "AddV2", {{x->id, 0}, {c->id, 0}}, {}, 1);
  ir::Node* relu = g.AddNode("relu", "Relu", {{add->id, 0}}, {}, 1);
  for (int id = 0; id < g.num_nodes(); ++id) EXPECT_TRUE(ir::OpRegistry::Global().ApplyDefaults(g.node(id)).ok());
  g.inputs().push_back({"input_x", {x->id, 0}});
  g.outputs().push_back({"output_y", {relu->id, 0}});
  EXPECT_TRUE(ir::InferShapes(g).ok());
  return g;
}

class TempDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = std::string(info->test_suite_name()) + "_" + info->name();
    std::replace(name.begin(), name.end(), '/', '_');
    dir_ = fs::temp_directory_path() / ("kiln_graphdef_" + std::to_string(::getpid()) + "_" + name);
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

using WriteSavedModelTest = TempDirTest;

TEST_F(WriteSavedModelTest, WritesOneMetaGraphWithTheSignature) {
  ir::Graph g = SmallGraph();
  const std::string dir = (dir_ / "nested" / "model").string();
  KILN_ASSERT_OK(WriteSavedModel(dir, g, SignatureInfo{}, {"serve", "gpu"}, "serving_default", {}));
  EXPECT_TRUE(fs::is_directory(dir + "/variables"));
  EXPECT_TRUE(fs::is_empty(dir + "/variables"));
  KILN_ASSERT_OK_AND_ASSIGN(tfproto::SavedModel model, ReadSavedModel(dir));
  EXPECT_EQ(model.saved_model_schema_version(), 1);
  ASSERT_EQ(model.meta_graphs_size(), 1);
  const auto& meta = model.meta_graphs(0);
  EXPECT_EQ(std::vector<std::string>(meta.meta_info_def().tags().begin(), meta.meta_info_def().tags().end()),
            (std::vector<std::string>{"serve", "gpu"}));
  EXPECT_FALSE(meta.has_object_graph_def());
  const auto& sig = meta.signature_def().at("serving_default");
  EXPECT_EQ(sig.method_name(), "tensorflow/serving/predict");
  EXPECT_EQ(sig.inputs().at("input_x").name(), "x:0");
  EXPECT_EQ(sig.inputs().at("input_x").dtype(), tfproto::DT_FLOAT);
  EXPECT_EQ(sig.inputs().at("input_x").tensor_shape().dim(0).size(), -1);
  EXPECT_EQ(sig.outputs().at("output_y").name(), "relu:0");
  ASSERT_EQ(meta.graph_def().node_size(), 4);
  EXPECT_EQ(meta.graph_def().node(3).name(), "relu");
  EXPECT_EQ(meta.graph_def().node(3).input(0), "add");

  LoadOptions options;
  options.tags = {"gpu", "serve"};
  KILN_ASSERT_OK_AND_ASSIGN(auto loaded, Model::Load(dir, options));
  KILN_ASSERT_OK_AND_ASSIGN(auto out, loaded->Run({{"input_x", Tensor::FromVector<float>({1, 4}, {0, 0, 0, 0})}}));
  EXPECT_TRUE(testing::TensorsNear(out.at("output_y"), Tensor::FromVector<float>({1, 4}, {1, 0, 3, 0}), 0, 0));
}

TEST_F(WriteSavedModelTest, ErrorsNameTheProblem) {
  ir::Graph g = SmallGraph();
  SignatureInfo other;
  TensorSpec z;
  z.name = "input_z";
  z.dtype = DType::kFloat32;
  other.inputs.push_back(z);
  Status s = WriteSavedModel(dir_.string(), g, other, {"serve"}, "serving_default", {});
  EXPECT_NE(s.message().find("input_z"), std::string::npos) << s.ToString();

  fs::create_directories(dir_);
  std::ofstream(dir_ / "file") << "x";
  s = WriteSavedModel((dir_ / "file" / "model").string(), g, SignatureInfo{}, {"serve"}, "serving_default", {});
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.ToString().find((dir_ / "file").string()), std::string::npos) << s.ToString();

  g.node(3).name = "bad:name";
  s = WriteSavedModel(dir_.string(), g, SignatureInfo{}, {"serve"}, "serving_default", {});
  EXPECT_EQ(s.node(), "bad:name") << s.ToString();
}

// TensorFlow's own tool reads the file and lists the signature.
TEST_F(WriteSavedModelTest, SavedModelCliShowsTheSignature) {
  FILE* which = ::popen("command -v saved_model_cli 2>/dev/null", "r");
  std::string tool;
  char buf[4096];
  while (which && fgets(buf, sizeof(buf), which)) tool += buf;
  if (which) ::pclose(which);
  while (!tool.empty() && std::isspace(static_cast<unsigned char>(tool.back()))) tool.pop_back();
  if (tool.empty()) GTEST_SKIP() << "saved_model_cli is not installed (pip install tensorflow-cpu)";

  KILN_ASSERT_OK(WriteSavedModel(dir_.string(), SmallGraph(), SignatureInfo{}, {"serve"}, "serving_default", {}));
  const std::string command = "'" + tool + "' show --dir '" + dir_.string() + "' --all 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  while (fgets(buf, sizeof(buf), pipe)) output += buf;
  const int status = ::pclose(pipe);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << command << "\n" << output;
  EXPECT_NE(output.find("signature_def['serving_default']"), std::string::npos) << output;
  EXPECT_NE(output.find("inputs['input_x']"), std::string::npos) << output;
  EXPECT_NE(output.find("outputs['output_y']"), std::string::npos) << output;
  EXPECT_NE(output.find("name: x:0"), std::string::npos) << output;
}

// The IR of a fixture as src/api/model.cc imports it, with the path Model::Load takes.
struct FixtureIr {
  ir::Graph graph;
  SignatureInfo signature;
  std::string path;
  LoadOptions options;
};

StatusOr<FixtureIr> LoadFixtureIr(const std::string& name) {
  const std::string dir = testing::FixturePath(name);
  FixtureIr out;
  if (name.rfind("onnx_", 0) == 0) {
    out.path = dir + "/model.onnx";
    KILN_ASSIGN_OR_RETURN(onnx::ImportedModel imported, onnx::ImportOnnxModel(out.path));
    out.graph = std::move(imported.graph);
    out.signature = std::move(imported.signature);
    return out;
  }
  out.path = dir + "/saved_model";
  out.options.signature_key =
      nlohmann::json::parse(std::ifstream(dir + "/meta.json")).value("signature_key", "serving_default");
  KILN_ASSIGN_OR_RETURN(tfproto::SavedModel saved, ReadSavedModel(out.path));
  KILN_ASSIGN_OR_RETURN(const tfproto::MetaGraphDef* meta, SelectMetaGraph(saved, out.options.tags));
  KILN_ASSIGN_OR_RETURN(out.graph, LoadSignatureGraph(out.path, *meta, out.options.signature_key));
  out.signature = DescribeSignature(out.options.signature_key, meta->signature_def().at(out.options.signature_key));
  return out;
}

const std::vector<std::string> kRoundTripFixtures = {
    "mnist_keras3",        "resnet_keras3",        "transformer_keras3",  "tfmodule_ops",
    "dense_tfmodule",      "mnist_tfkeras",        "transformer_tfkeras", "layers_conv_keras3",
    "layers_merge_keras3", "layers_shape_tfkeras", "onnx_resnet18",       "onnx_ops_mix",
    "onnx_gpt_decoder",    "onnx_bert_encoder",    "onnx_qdq_cnn",        "onnx_mobilenet_v3_small",
};

class SavedModelRoundTripTest : public ::testing::TestWithParam<std::string> {
 protected:
  void ExpectReloadedModelMatches(bool as_variables);
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("kiln_graphdef_rt_" + std::to_string(::getpid()) + "_" + GetParam());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

// Optimized IR written as a SavedModel loads in kiln and answers exactly as the original, with its
// constants inline and with every numeric one in variables/ (a bundle kiln writes and binds by
// shared_name, with no object graph).
TEST_P(SavedModelRoundTripTest, ReloadedModelMatchesTheOriginal) {
  for (bool as_variables : {false, true}) {
    SCOPED_TRACE(as_variables ? "constants in variables/" : "constants inline");
    ExpectReloadedModelMatches(as_variables);
    fs::remove_all(dir_);
  }
}

void SavedModelRoundTripTest::ExpectReloadedModelMatches(bool as_variables) {
  const std::string fixture = testing::FixturePath(GetParam());
  ASSERT_TRUE(fs::exists(fixture + "/meta.json"))
      << "fixture missing: run scripts/make_fixtures.py (" << fixture << ")";
  KILN_ASSERT_OK_AND_ASSIGN(FixtureIr ir, LoadFixtureIr(GetParam()));
  KILN_ASSERT_OK(passes::OptimizeForInference(ir.graph));
  KILN_ASSERT_OK(LegalizeNodeNames(ir.graph));
  fs::create_directories(dir_ / "variables");
  TensorBundleWriter bundle((dir_ / "variables" / "variables").string());
  VariableStore store;
  store.min_bytes = 0;
  store.store = [&](const std::string& node, const Tensor& value) -> StatusOr<std::string> {
    KILN_RETURN_IF_ERROR(bundle.Add(node, value));
    return node;
  };
  KILN_ASSERT_OK(WriteSavedModel(dir_.string(), ir.graph, ir.signature, {"serve"}, "serving_default", {},
                                 as_variables ? &store : nullptr));
  KILN_ASSERT_OK(bundle.Finish());
  EXPECT_EQ(bundle.size() > 0, as_variables);

  KILN_ASSERT_OK_AND_ASSIGN(auto original, Model::Load(ir.path, ir.options));
  KILN_ASSERT_OK_AND_ASSIGN(auto reloaded, Model::Load(dir_.string()));
  ASSERT_EQ(reloaded->signature().inputs.size(), original->signature().inputs.size());
  for (const auto& spec : reloaded->signature().inputs) {
    auto it = std::find_if(original->signature().inputs.begin(), original->signature().inputs.end(),
                           [&](const TensorSpec& s) { return s.name == spec.name; });
    ASSERT_NE(it, original->signature().inputs.end()) << spec.name;
    EXPECT_EQ(spec.dtype, it->dtype) << spec.name;
  }
  KILN_ASSERT_OK_AND_ASSIGN(io::NamedTensors inputs, io::ReadNpz(fixture + "/inputs.npz"));
  std::map<std::string, Tensor> feed(inputs.begin(), inputs.end());
  KILN_ASSERT_OK_AND_ASSIGN(auto want, original->Run(feed));
  KILN_ASSERT_OK_AND_ASSIGN(auto got, reloaded->Run(feed));
  ASSERT_EQ(got.size(), want.size());
  for (const auto& [name, expected] : want) {
    ASSERT_TRUE(got.count(name)) << "no output '" << name << "'";
    EXPECT_TRUE(testing::TensorsNear(got.at(name), expected, 1e-6, 0)) << "output '" << name << "'";
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, SavedModelRoundTripTest, ::testing::ValuesIn(kRoundTripFixtures),
                         [](const auto& info) { return info.param; });

// Runs `graph` on the fixture's inputs, with random values in place of its float inputs.
StatusOr<std::vector<Tensor>> RunOnFixtureInputs(const ir::Graph& graph, const std::string& fixture) {
  KILN_ASSIGN_OR_RETURN(io::NamedTensors inputs, io::ReadNpz(testing::FixturePath(fixture) + "/inputs.npz"));
  std::map<std::string, Tensor> by_name(inputs.begin(), inputs.end());
  std::vector<Tensor> feeds;
  uint64_t seed = 1;
  for (const auto& in : graph.inputs()) {
    auto it = by_name.find(in.name);
    if (it == by_name.end()) return NotFound("fixture has no input '" + in.name + "'");
    const Tensor& t = it->second;
    feeds.push_back(IsFloating(t.dtype()) ? testing::RandomTensor(t.dtype(), t.shape(), seed++) : t);
  }
  KILN_ASSIGN_OR_RETURN(auto executor, runtime::Executor::Create(graph));
  return executor->Run(feeds);
}

class FunctionRoundTripTest : public ::testing::TestWithParam<std::string> {};

// A VariableStore that keeps every constant in memory, and the reader of what it kept.
struct MemoryCheckpoint {
  std::map<std::string, Tensor> values;
  VariableStore Store(size_t min_bytes) {
    VariableStore s;
    s.min_bytes = min_bytes;
    s.store = [this](const std::string& node, const Tensor& value) -> StatusOr<std::string> {
      values["kept/" + node] = value;
      return "kept/" + node;
    };
    return s;
  }
  CheckpointReader Reader() const {
    return [this](const std::string& key, DType, const Shape&) -> StatusOr<Tensor> {
      auto it = values.find(key);
      if (it == values.end()) return NotFound("no value under '" + key + "'");
      return it->second;
    };
  }
};

// GraphToFunctionDef and GraphFromFunctionDef (and the GraphDef pair) keep ops, input shapes and
// answers, with the constants inline and with every numeric one written as a variable.
TEST_P(FunctionRoundTripTest, KeepsOpsShapesAndAnswers) {
  KILN_ASSERT_OK_AND_ASSIGN(FixtureIr ir, LoadFixtureIr(GetParam()));
  KILN_ASSERT_OK(passes::OptimizeForInference(ir.graph));
  KILN_ASSERT_OK(LegalizeNodeNames(ir.graph));
  KILN_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> want, RunOnFixtureInputs(ir.graph, GetParam()));

  KILN_ASSERT_OK_AND_ASSIGN(tfproto::FunctionDef fn, GraphToFunctionDef(ir.graph, "kiln_segment_0"));
  EXPECT_EQ(fn.signature().input_arg_size(), static_cast<int>(ir.graph.inputs().size()));
  EXPECT_EQ(fn.signature().output_arg_size(), static_cast<int>(ir.graph.outputs().size()));
  KILN_ASSERT_OK_AND_ASSIGN(ir::Graph from_fn, GraphFromFunctionDef(fn));

  std::vector<std::string> input_nodes, output_tensors;
  for (const auto& in : ir.graph.inputs()) input_nodes.push_back(ir.graph.node(in.value.node).name);
  for (const auto& out : ir.graph.outputs()) {
    output_tensors.push_back(ir.graph.node(out.value.node).name + ":" + std::to_string(out.value.index));
  }
  KILN_ASSERT_OK_AND_ASSIGN(tfproto::GraphDef def, GraphToGraphDef(ir.graph));
  KILN_ASSERT_OK_AND_ASSIGN(ir::Graph from_def, GraphFromGraphDef(def, input_nodes, output_tensors));

  MemoryCheckpoint checkpoint;
  const VariableStore store = checkpoint.Store(0);
  const CheckpointReader reader = checkpoint.Reader();
  KILN_ASSERT_OK_AND_ASSIGN(tfproto::FunctionDef fn_vars, GraphToFunctionDef(ir.graph, "kiln_segment_0", &store));
  const size_t kept = checkpoint.values.size();
  KILN_ASSERT_OK_AND_ASSIGN(tfproto::GraphDef def_vars, GraphToGraphDef(ir.graph, &store));
  EXPECT_EQ(checkpoint.values.size(), kept);  // the same constants, under the same keys
  int reads = 0;
  for (const auto& n : def_vars.node()) reads += n.op() == "ReadVariableOp";
  EXPECT_EQ(reads, static_cast<int>(kept));
  KILN_ASSERT_OK_AND_ASSIGN(ir::Graph from_fn_vars, GraphFromFunctionDef(fn_vars, &reader));
  KILN_ASSERT_OK_AND_ASSIGN(ir::Graph from_def_vars, GraphFromGraphDef(def_vars, input_nodes, output_tensors, &reader));
  for (size_t i = 0; i < from_def_vars.inputs().size(); ++i) {
    from_def_vars.inputs()[i].name = ir.graph.inputs()[i].name;
  }
  for (const ir::Graph* back : {&from_fn_vars, &from_def_vars}) {
    EXPECT_EQ(back->OpCounts(), ir.graph.OpCounts());
    KILN_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> got, RunOnFixtureInputs(*back, GetParam()));
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i) EXPECT_TRUE(testing::TensorsNear(got[i], want[i], 0, 0)) << "output " << i;
  }

  for (const ir::Graph* back : {&from_fn, &from_def}) {
    EXPECT_EQ(back->OpCounts(), ir.graph.OpCounts());
    ASSERT_EQ(back->inputs().size(), ir.graph.inputs().size());
    for (size_t i = 0; i < back->inputs().size(); ++i) {
      EXPECT_EQ(back->output_info(back->inputs()[i].value).shape,
                ir.graph.output_info(ir.graph.inputs()[i].value).shape)
          << "input " << i;
      EXPECT_EQ(back->output_info(back->inputs()[i].value).dtype,
                ir.graph.output_info(ir.graph.inputs()[i].value).dtype);
    }
  }
  for (size_t i = 0; i < from_fn.inputs().size(); ++i) EXPECT_EQ(from_fn.inputs()[i].name, ir.graph.inputs()[i].name);
  for (size_t i = 0; i < from_fn.outputs().size(); ++i)
    EXPECT_EQ(from_fn.outputs()[i].name, ir.graph.outputs()[i].name);

  // Renamed inputs so that the fixture's names find them.
  for (size_t i = 0; i < from_def.inputs().size(); ++i) from_def.inputs()[i].name = ir.graph.inputs()[i].name;
  for (const ir::Graph* back : {&from_fn, &from_def}) {
    KILN_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> got, RunOnFixtureInputs(*back, GetParam()));
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i) EXPECT_TRUE(testing::TensorsNear(got[i], want[i], 0, 0)) << "output " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, FunctionRoundTripTest,
                         ::testing::Values("mnist_keras3", "transformer_keras3", "tfmodule_ops", "onnx_ops_mix"),
                         [](const auto& info) { return info.param; });

TEST(GraphFromFunctionDefTest, ArgsNamedLikeBodyNodesStayApart) {
  ir::Graph g = SmallGraph();
  g.inputs()[0].name = "relu";  // an arg named like a body node
  KILN_ASSERT_OK_AND_ASSIGN(tfproto::FunctionDef fn, GraphToFunctionDef(g, "f"));
  EXPECT_EQ(fn.ret().at("output_y"), "relu:0");
  KILN_ASSERT_OK_AND_ASSIGN(ir::Graph back, GraphFromFunctionDef(fn));
  EXPECT_EQ(back.OpCounts(), g.OpCounts());
  EXPECT_EQ(back.inputs()[0].name, "relu");
  EXPECT_EQ(back.node(back.inputs()[0].value.node).op, "Placeholder");
  EXPECT_EQ(back.output_info(back.inputs()[0].value).shape, PartialShape::Known({-1, 4}));
  EXPECT_EQ(back.node(back.outputs()[0].value.node).op, "Relu");
}

TEST(GraphFromFunctionDefTest, RefusesBadFunctions) {
  KILN_ASSERT_OK_AND_ASSIGN(tfproto::FunctionDef good, GraphToFunctionDef(SmallGraph(), "f"));
  tfproto::FunctionDef fn = good;
  fn.mutable_ret()->erase("output_y");
  EXPECT_NE(GraphFromFunctionDef(fn).status().message().find("output_y"), std::string::npos);
  fn = good;
  (*fn.mutable_ret())["output_y"] = "relu:1";
  EXPECT_FALSE(GraphFromFunctionDef(fn).ok());
  fn = good;
  for (auto& n : *fn.mutable_node_def()) {
    if (n.name() == "add") n.set_input(0, "input_x:0");  // ":0" reads a node, and there is no node input_x
  }
  Status s = GraphFromFunctionDef(fn).status();
  EXPECT_EQ(s.code(), StatusCode::kNotFound) << s.ToString();
  fn = good;
  fn.mutable_signature()->mutable_output_arg(0)->set_type(tfproto::DT_INT32);
  EXPECT_FALSE(GraphFromFunctionDef(fn).ok());
  fn = good;
  fn.mutable_signature()->mutable_input_arg(0)->set_type(tfproto::DT_COMPLEX64);
  EXPECT_FALSE(GraphFromFunctionDef(fn).ok());
}

tfproto::NodeDef* AddNodeDef(tfproto::GraphDef& def, const std::string& name, const std::string& op,
                             std::vector<std::string> inputs) {
  tfproto::NodeDef* n = def.add_node();
  n->set_name(name);
  n->set_op(op);
  for (auto& in : inputs) n->add_input(std::move(in));
  if (op == "Placeholder") {
    (*n->mutable_attr())["dtype"].set_type(tfproto::DT_FLOAT);
    ShapeToProto(PartialShape::Known({2}), (*n->mutable_attr())["shape"].mutable_shape());
  }
  return n;
}

// x -> r = Relu(x), listed users first.
tfproto::GraphDef ReluGraphDef() {
  tfproto::GraphDef def;
  AddNodeDef(def, "r", "Relu", {"x"});
  AddNodeDef(def, "x", "Placeholder", {});
  return def;
}

// A variable read needs the checkpoint, a value of the declared dtype and shape, and a handle that
// nothing but ReadVariableOp reads; each failure names the node.
TEST(GraphFromFunctionDefTest, VariableReadsThatCannotBeMetAreErrors) {
  MemoryCheckpoint checkpoint;
  const VariableStore store = checkpoint.Store(0);
  KILN_ASSERT_OK_AND_ASSIGN(tfproto::FunctionDef fn, GraphToFunctionDef(SmallGraph(), "f", &store));
  ASSERT_EQ(checkpoint.values.count("kept/c"), 1u);
  const CheckpointReader reader = checkpoint.Reader();
  KILN_ASSERT_OK_AND_ASSIGN(ir::Graph back, GraphFromFunctionDef(fn, &reader));
  EXPECT_EQ(back.OpCounts(), SmallGraph().OpCounts());

  auto expect_error = [](const StatusOr<ir::Graph>& got, const std::string& want) {
    ASSERT_FALSE(got.ok()) << "no error; wanted '" << want << "'";
    EXPECT_NE(got.status().ToString().find(want), std::string::npos) << got.status().ToString();
  };
  expect_error(GraphFromFunctionDef(fn), "reads variable 'kept/c', but the graph was read without its checkpoint");
  expect_error(GraphFromFunctionDef(fn), "node 'c'");

  MemoryCheckpoint wrong = checkpoint;
  wrong.values["kept/c"] = Tensor::FromVector<float>({2}, {1.f, 2.f});
  const CheckpointReader wrong_reader = wrong.Reader();
  expect_error(GraphFromFunctionDef(fn, &wrong_reader), "holds float32[2] in the checkpoint, not the float32[4]");

  MemoryCheckpoint none;
  const CheckpointReader none_reader = none.Reader();
  expect_error(GraphFromFunctionDef(fn, &none_reader), "variable 'kept/c': no value under 'kept/c'");

  tfproto::FunctionDef direct = fn;  // "add" reads the handle itself
  for (auto& n : *direct.mutable_node_def()) {
    if (n.name() == "add") *n.mutable_input(1) = "c/variable:0";
  }
  expect_error(GraphFromFunctionDef(direct, &reader), "is a variable handle, which only ReadVariableOp may read");
  tfproto::FunctionDef unhandled = fn;  // the read's input is no handle
  for (auto& n : *unhandled.mutable_node_def()) {
    if (n.op() == "ReadVariableOp") *n.mutable_input(0) = "input_x";
  }
  expect_error(GraphFromFunctionDef(unhandled, &reader), "is not a VarHandleOp of the graph");
}

TEST(GraphFromGraphDefTest, ReadsNodesInAnyOrder) {
  KILN_ASSERT_OK_AND_ASSIGN(ir::Graph g, GraphFromGraphDef(ReluGraphDef(), {"x"}, {"r"}));
  ASSERT_EQ(g.inputs().size(), 1u);
  EXPECT_EQ(g.inputs()[0].name, "x");
  EXPECT_EQ(g.outputs()[0].name, "r");
  EXPECT_EQ(g.output_info(g.outputs()[0].value).shape, PartialShape::Known({2}));
  EXPECT_EQ(g.output_info(g.outputs()[0].value).dtype, DType::kFloat32);
  EXPECT_TRUE(g.node(g.outputs()[0].value.node).attrs.Has("T")) << "defaults applied";
}

void ExpectError(const StatusOr<ir::Graph>& result, StatusCode code, const std::string& node, const std::string& text) {
  ASSERT_FALSE(result.ok());
  const Status& s = result.status();
  EXPECT_EQ(s.code(), code) << s.ToString();
  EXPECT_EQ(s.node(), node) << s.ToString();
  EXPECT_NE(s.ToString().find(text), std::string::npos) << s.ToString();
}

TEST(GraphFromGraphDefTest, ErrorsNameTheNode) {
  tfproto::GraphDef def = ReluGraphDef();
  def.mutable_node(0)->set_op("NoSuchOp");
  ExpectError(GraphFromGraphDef(def, {"x"}, {"r"}), StatusCode::kUnimplemented, "r", "NoSuchOp");

  def = ReluGraphDef();
  def.mutable_node(0)->set_input(0, "ghost");
  ExpectError(GraphFromGraphDef(def, {"x"}, {"r"}), StatusCode::kNotFound, "r", "ghost");

  def = ReluGraphDef();
  def.mutable_node(0)->set_input(0, "x:1");
  ExpectError(GraphFromGraphDef(def, {"x"}, {"r"}), StatusCode::kInvalidArgument, "r", "output 1");

  for (const char* bad : {"a:b:c:d", "x:", ":0", "x:-1", "x:out:0", "^", "x:99999999999"}) {
    def = ReluGraphDef();
    def.mutable_node(0)->set_input(0, bad);
    ExpectError(GraphFromGraphDef(def, {"x"}, {"r"}), StatusCode::kInvalidArgument, "r", "malformed");
  }

  def = ReluGraphDef();
  AddNodeDef(def, "a", "Relu", {"b"});
  AddNodeDef(def, "b", "Relu", {"a"});
  auto cycle = GraphFromGraphDef(def, {"x"}, {"r"});
  ASSERT_FALSE(cycle.ok());
  EXPECT_TRUE(cycle.status().node() == "a" || cycle.status().node() == "b") << cycle.status().ToString();
  EXPECT_NE(cycle.status().message().find("cycle"), std::string::npos) << cycle.status().ToString();

  def = ReluGraphDef();
  def.mutable_node(0)->set_input(0, "r");
  ExpectError(GraphFromGraphDef(def, {"x"}, {"r"}), StatusCode::kInvalidArgument, "r", "cycle");

  def = ReluGraphDef();
  ExpectError(GraphFromGraphDef(def, {"r"}, {"r"}), StatusCode::kInvalidArgument, "r", "not a Placeholder");
  ExpectError(GraphFromGraphDef(def, {}, {"r"}), StatusCode::kInvalidArgument, "x", "not one of the graph's inputs");
  ExpectError(GraphFromGraphDef(def, {"x"}, {"nope:0"}), StatusCode::kNotFound, "", "nope");
  ExpectError(GraphFromGraphDef(def, {"x"}, {"r:3"}), StatusCode::kInvalidArgument, "", "r:3");
  ExpectError(GraphFromGraphDef(def, {"y"}, {"r"}), StatusCode::kNotFound, "", "'y'");

  def = ReluGraphDef();
  AddNodeDef(def, "r", "Relu", {"x"});
  ExpectError(GraphFromGraphDef(def, {"x"}, {"r"}), StatusCode::kInvalidArgument, "r", "two nodes");

  def = ReluGraphDef();
  def.mutable_node(1)->mutable_attr()->erase("dtype");
  ExpectError(GraphFromGraphDef(def, {"x"}, {"r"}), StatusCode::kInvalidArgument, "x", "dtype");

  def = ReluGraphDef();
  AddNodeDef(def, "many", "IdentityN", {"x"});
  (*def.mutable_node(2)->mutable_attr())["T"].mutable_list()->add_type(tfproto::DT_FLOAT);
  (*def.mutable_node(2)->mutable_attr())["T"].mutable_list()->add_type(tfproto::DT_FLOAT);
  ExpectError(GraphFromGraphDef(def, {"x"}, {"r"}), StatusCode::kInvalidArgument, "many", "IdentityN");
}

TEST(LegalizeNodeNamesTest, FixesIllegalNamesAndKeepsThemUnique) {
  ir::Graph g;
  const std::vector<std::string> names = {
      "/model/conv/Conv", "model/conv/Conv", "x:0", "_private", "ok.name-1/>", "", "na\xc3\xafve", "::",
      "model/conv/Conv_1"};
  for (const auto& n : names) g.AddConst(n, Tensor::Scalar<float>(1.f));
  ASSERT_EQ(g.num_nodes(), static_cast<int>(names.size()));
  EXPECT_FALSE(GraphToGraphDef(g).ok());
  KILN_ASSERT_OK(LegalizeNodeNames(g));
  std::set<std::string> seen;
  for (int id = 0; id < g.num_nodes(); ++id) {
    EXPECT_TRUE(IsLegalNodeName(g.node(id).name)) << g.node(id).name;
    EXPECT_TRUE(seen.insert(g.node(id).name).second) << "duplicate " << g.node(id).name;
  }
  EXPECT_EQ(g.node(1).name, "model/conv/Conv");
  EXPECT_EQ(g.node(4).name, "ok.name-1/>");
  EXPECT_EQ(g.node(8).name, "model/conv/Conv_1");
  EXPECT_EQ(g.node(0).name, "model/conv/Conv_2");
  EXPECT_EQ(g.node(2).name, "x_0");
  EXPECT_EQ(g.node(3).name, "private");
  EXPECT_EQ(g.UniqueName("x_0"), "x_0_1") << "the name index knows the new names";
  EXPECT_TRUE(GraphToGraphDef(g).ok());
}

TEST(LegalizeNodeNamesTest, LeavesALegalGraphUnchanged) {
  ir::Graph g = SmallGraph();
  std::vector<std::string> before;
  for (int id = 0; id < g.num_nodes(); ++id) before.push_back(g.node(id).name);
  KILN_ASSERT_OK(LegalizeNodeNames(g));
  for (int id = 0; id < g.num_nodes(); ++id) EXPECT_EQ(g.node(id).name, before[id]);
}

}  // namespace
}  // namespace kiln::savedmodel
