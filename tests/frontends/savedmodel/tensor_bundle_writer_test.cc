#include "frontends/savedmodel/tensor_bundle_writer.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "frontends/savedmodel/tensor_bundle.h"
#include "util/test_util.h"

namespace kiln::savedmodel {
namespace {

namespace fs = std::filesystem;

class TensorBundleWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("kiln_bundle_writer_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Prefix() const { return (dir_ / "variables").string(); }
  fs::path dir_;
};

// What the writer writes, the reader reads back exactly, checksums included, for every numeric dtype
// (bools as 0/1), empty and scalar tensors, and keys in any order of adding.
TEST_F(TensorBundleWriterTest, EveryNumericDTypeReadsBack) {
  std::map<std::string, Tensor> written;
  uint64_t seed = 1;
  for (DType dtype : {DType::kFloat32, DType::kFloat16, DType::kBFloat16, DType::kFloat64, DType::kInt8,
                      DType::kUInt8, DType::kInt16, DType::kUInt16, DType::kInt32, DType::kInt64, DType::kUInt32,
                      DType::kUInt64, DType::kBool}) {
    const std::string name(DTypeName(dtype));
    written["z/" + name] = testing::RandomTensor(dtype, {3, 5}, seed++, -100, 100);
  }
  written["a/scalar"] = Tensor::Scalar<float>(2.5f);
  written["m/empty"] = Tensor(DType::kFloat32, {0, 7});
  TensorBundleWriter writer(Prefix());
  for (auto it = written.rbegin(); it != written.rend(); ++it) KILN_ASSERT_OK(writer.Add(it->first, it->second));
  KILN_ASSERT_OK(writer.Finish());

  KILN_ASSERT_OK_AND_ASSIGN(TensorBundle bundle, TensorBundle::Open(Prefix()));
  EXPECT_EQ(bundle.Keys().size(), written.size());
  for (const auto& [key, want] : written) {
    KILN_ASSERT_OK_AND_ASSIGN(Tensor got, bundle.Read(key));
    EXPECT_TRUE(testing::TensorsNear(got, want, 0, 0)) << key;
  }
}

TEST_F(TensorBundleWriterTest, BadTensorsAndKeysAreRefusedByName) {
  TensorBundleWriter writer(Prefix());
  KILN_ASSERT_OK(writer.Add("w", Tensor::Scalar<float>(1)));
  Status twice = writer.Add("w", Tensor::Scalar<float>(2));
  EXPECT_NE(twice.message().find("'w' is added to"), std::string::npos) << twice.ToString();
  Status empty_key = writer.Add("", Tensor::Scalar<float>(1));
  EXPECT_NE(empty_key.message().find("needs a key"), std::string::npos) << empty_key.ToString();
  Status strings = writer.Add("s", Tensor::Strings({1}, {"x"}));
  EXPECT_NE(strings.message().find("'s' (string) is not numeric"), std::string::npos) << strings.ToString();
}

TEST_F(TensorBundleWriterTest, NoTensorsWritesNoFiles) {
  TensorBundleWriter writer(Prefix());
  KILN_ASSERT_OK(writer.Finish());
  EXPECT_TRUE(fs::is_empty(dir_));
}

TEST_F(TensorBundleWriterTest, AnUnwritableDirectoryIsAnErrorNamingTheShard) {
  TensorBundleWriter writer((dir_ / "missing" / "variables").string());
  Status s = writer.Add("w", Tensor::Scalar<float>(1));
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.ToString().find("variables.data-00000-of-00001"), std::string::npos) << s.ToString();
}

}  // namespace
}  // namespace kiln::savedmodel
