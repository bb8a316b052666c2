// Bad SavedModels and bad inputs get clear errors that say what is wrong and where.
#include <filesystem>
#include <fstream>

#include "frontends/savedmodel/saved_model.h"
#include "io/npy.h"
#include "kiln/model.h"
#include "util/test_util.h"

namespace kiln {
namespace {

namespace fs = std::filesystem;

class SavedModelErrorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    src_ = testing::FixturePath("dense_blog") + "/saved_model";
    ASSERT_TRUE(fs::exists(src_)) << "fixture missing: " << src_;
    dir_ = fs::temp_directory_path() / ("kiln_sm_errors_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::copy(src_, dir_, fs::copy_options::recursive);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Dir() const { return dir_.string(); }
  std::string File(const std::string& rel) const { return (dir_ / rel).string(); }
  static std::string Contents(const std::string& path) { return *io::ReadFile(path); }
  static void Overwrite(const std::string& path, const std::string& bytes) { ASSERT_TRUE(io::WriteFile(path, bytes).ok()); }

  Status LoadError(const LoadOptions& options = {}) {
    auto m = Model::Load(Dir(), options);
    return m.ok() ? OkStatus() : m.status();
  }

  std::string src_;
  fs::path dir_;
};

#define EXPECT_ERROR_MENTIONS(status, text)                                              \
  do {                                                                                   \
    const ::kiln::Status s_ = (status);                                                  \
    EXPECT_FALSE(s_.ok());                                                               \
    EXPECT_NE(s_.ToString().find(text), std::string::npos) << "error was: " << s_.ToString(); \
  } while (0)

TEST_F(SavedModelErrorsTest, TruncatedSavedModelPb) {
  const std::string pb = Contents(File("saved_model.pb"));
  Overwrite(File("saved_model.pb"), pb.substr(0, pb.size() / 2));
  Status s = LoadError();
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_ERROR_MENTIONS(s, "saved_model.pb");
}

TEST_F(SavedModelErrorsTest, CorruptedSavedModelPb) {
  std::string pb = Contents(File("saved_model.pb"));
  for (size_t i = 0; i < pb.size(); i += 7) pb[i] = static_cast<char>(0xff - pb[i]);
  Overwrite(File("saved_model.pb"), pb);
  EXPECT_ERROR_MENTIONS(LoadError(), "saved_model.pb");
}

TEST_F(SavedModelErrorsTest, MissingDirectoryAndMissingPb) {
  EXPECT_ERROR_MENTIONS(Model::Load(Dir() + "/nope").status(), "is not a directory");
  fs::remove(File("saved_model.pb"));
  EXPECT_ERROR_MENTIONS(LoadError(), "has no saved_model.pb");
}

TEST_F(SavedModelErrorsTest, IndexWithWrongMagic) {
  std::string index = Contents(File("variables/variables.index"));
  index[index.size() - 1] ^= 0x55;
  Overwrite(File("variables/variables.index"), index);
  Status s = LoadError();
  EXPECT_ERROR_MENTIONS(s, "variables.index");
  EXPECT_ERROR_MENTIONS(s, "magic");
}

TEST_F(SavedModelErrorsTest, IndexWithBadBlockCrc) {
  std::string index = Contents(File("variables/variables.index"));
  index[3] ^= 0x01;  // inside the first data block
  Overwrite(File("variables/variables.index"), index);
  Status s = LoadError();
  EXPECT_ERROR_MENTIONS(s, "variables.index");
}

TEST_F(SavedModelErrorsTest, MissingDataShard) {
  for (const auto& e : fs::directory_iterator(File("variables"))) {
    if (e.path().filename().string().find(".data-") != std::string::npos) fs::remove(e.path());
  }
  Status s = LoadError();
  EXPECT_ERROR_MENTIONS(s, "variables.data-00000-of-00001");
}

TEST_F(SavedModelErrorsTest, CorruptedVariableData) {
  std::string data = Contents(File("variables/variables.data-00000-of-00001"));
  // Keras 3 stores each variable twice; flip a byte in every 64 so whichever copy is read is hit.
  for (size_t i = 0; i < data.size(); i += 64) data[i] ^= 0x40;
  Overwrite(File("variables/variables.data-00000-of-00001"), data);
  EXPECT_ERROR_MENTIONS(LoadError(), "variables.data-00000-of-00001");
}

TEST_F(SavedModelErrorsTest, UnknownTagSetListsTheOnesPresent) {
  Status s = LoadError(LoadOptions{{"train"}, "serving_default"});
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_ERROR_MENTIONS(s, "no MetaGraph with tag set 'train'");
  EXPECT_ERROR_MENTIONS(s, "'serve'");
}

TEST_F(SavedModelErrorsTest, UnknownSignatureListsTheOnesPresent) {
  Status s = LoadError(LoadOptions{{"serve"}, "predict"});
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_ERROR_MENTIONS(s, "signature 'predict' not found");
  EXPECT_ERROR_MENTIONS(s, "'serving_default'");
}

TEST_F(SavedModelErrorsTest, UnsupportedOpsAreAllListedBeforeRunning) {
  KILN_ASSERT_OK_AND_ASSIGN(auto saved, savedmodel::ReadSavedModel(Dir()));
  int renamed = 0;
  for (auto& fn : *saved.mutable_meta_graphs(0)->mutable_graph_def()->mutable_library()->mutable_function()) {
    for (auto& node : *fn.mutable_node_def()) {
      if (node.op() == "MatMul") node.set_op("FancyMatMul"), ++renamed;
      if (node.op() == "BiasAdd") node.set_op("FancyBiasAdd"), ++renamed;
    }
  }
  ASSERT_GE(renamed, 2);
  Overwrite(File("saved_model.pb"), saved.SerializeAsString());
  Status s = LoadError();
  EXPECT_EQ(s.code(), StatusCode::kUnimplemented);
  EXPECT_ERROR_MENTIONS(s, "(FancyMatMul)");
  EXPECT_ERROR_MENTIONS(s, "(FancyBiasAdd)");
  EXPECT_ERROR_MENTIONS(s, "node '");
}

// A function that calls itself is refused at the importer's nesting bound, not followed until the
// stack runs out: the function the signature wrapper calls is made to return a call of itself.
TEST_F(SavedModelErrorsTest, RecursiveFunctionsAreRefusedAtTheirNestingBound) {
  KILN_ASSERT_OK_AND_ASSIGN(auto saved, savedmodel::ReadSavedModel(Dir()));
  auto* library = saved.mutable_meta_graphs(0)->mutable_graph_def()->mutable_library();
  const tfproto::NodeDef* call = nullptr;
  for (const auto& fn : library->function()) {
    for (const auto& node : fn.node_def()) {
      if (node.op() == "StatefulPartitionedCall" && node.attr().count("f")) call = &node;
    }
  }
  ASSERT_NE(call, nullptr) << "no function of dense_blog calls another";
  const tfproto::NodeDef call_copy = *call;
  const std::string callee = call_copy.attr().at("f").func().name();
  for (auto& fn : *library->mutable_function()) {
    if (fn.signature().name() != callee) continue;
    tfproto::NodeDef* again = fn.add_node_def();
    *again = call_copy;
    again->set_name("again");
    again->clear_input();
    for (const auto& arg : fn.signature().input_arg()) again->add_input(arg.name());
    for (auto& ret : *fn.mutable_ret()) ret.second = "again:output:0";
  }
  Overwrite(File("saved_model.pb"), saved.SerializeAsString());
  EXPECT_ERROR_MENTIONS(LoadError(), "nest deeper than");
}

class SavedModelInputErrorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto m = Model::Load(testing::FixturePath("dense_blog") + "/saved_model");
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    model_ = std::move(m).value();
  }
  Status RunError(const std::map<std::string, Tensor>& inputs) {
    auto r = model_->Run(inputs);
    return r.ok() ? OkStatus() : r.status();
  }
  std::unique_ptr<Model> model_;
};

TEST_F(SavedModelInputErrorsTest, WrongDTypeRankAndShape) {
  EXPECT_ERROR_MENTIONS(RunError({{"input_1", Tensor(DType::kInt32, {2, 784})}}),
                        "input 'input_1' expects float32 [?,784], got int32 [2,784]");
  EXPECT_ERROR_MENTIONS(RunError({{"input_1", Tensor(DType::kFloat32, {784})}}),
                        "input 'input_1' expects float32 [?,784], got float32 [784]");
  EXPECT_ERROR_MENTIONS(RunError({{"input_1", Tensor(DType::kFloat32, {2, 783})}}),
                        "input 'input_1' expects float32 [?,784], got float32 [2,783]");
}

TEST_F(SavedModelInputErrorsTest, MissingAndExtraInputs) {
  EXPECT_ERROR_MENTIONS(RunError({}), "missing input(s) 'input_1'");
  EXPECT_ERROR_MENTIONS(RunError({{"input_1", Tensor(DType::kFloat32, {2, 784})}, {"bogus", Tensor(DType::kFloat32, {1})}}),
                        "unknown input(s) 'bogus'");
}

}  // namespace
}  // namespace kiln

namespace kiln {
namespace {

TEST(SavedModelInitSignatureTest, RefusedWithAReason) {
  auto m = Model::Load(testing::FixturePath("tfmodule_ops") + "/saved_model", LoadOptions{{"serve"}, "__saved_model_init_op"});
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), StatusCode::kUnimplemented);
  EXPECT_NE(m.status().message().find("produces no tensor"), std::string::npos) << m.status().ToString();
}

}  // namespace
}  // namespace kiln
