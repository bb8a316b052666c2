#include "io/npy.h"

#include <cstdlib>
#include <filesystem>

#include "util/test_util.h"

namespace kiln {
namespace {

namespace fs = std::filesystem;

class NpyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("kiln_npy_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Path(const std::string& name) { return (dir_ / name).string(); }
  fs::path dir_;
};

TEST_F(NpyTest, RoundTripsEveryDType) {
  for (DType d : {DType::kFloat32, DType::kFloat16, DType::kFloat64, DType::kInt8, DType::kUInt8, DType::kInt16,
                  DType::kInt32, DType::kInt64, DType::kBool}) {
    for (Shape shape : {Shape{}, Shape{5}, Shape{2, 3}, Shape{0, 4}, Shape{2, 1, 3, 2}}) {
      Tensor t = testing::RandomTensor(d, shape, 7, -50, 50);
      KILN_ASSERT_OK(io::WriteNpy(Path("a.npy"), t));
      KILN_ASSERT_OK_AND_ASSIGN(Tensor back, io::ReadNpy(Path("a.npy")));
      EXPECT_TRUE(testing::TensorsNear(back, t, 0, 0)) << DTypeName(d) << ShapeToString(shape);
    }
  }
}

TEST_F(NpyTest, NpzRoundTripKeepsNamesAndOrder) {
  io::NamedTensors in = {{"logits", testing::RandomTensor(DType::kFloat32, {3, 10}, 1)},
                         {"classes", testing::RandomTensor(DType::kInt64, {3}, 2, 0, 10)}};
  KILN_ASSERT_OK(io::WriteNpz(Path("o.npz"), in));
  KILN_ASSERT_OK_AND_ASSIGN(io::NamedTensors out, io::ReadNpz(Path("o.npz")));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].first, "logits");
  EXPECT_EQ(out[1].first, "classes");
  EXPECT_TRUE(testing::TensorsNear(out[0].second, in[0].second, 0, 0));
  EXPECT_TRUE(testing::TensorsNear(out[1].second, in[1].second, 0, 0));
}

TEST_F(NpyTest, ReadsWhatNumpyWrites) {
  const std::string script =
      "import numpy as np; np.save('" + Path("np.npy") + "', np.arange(12, dtype=np.float32).reshape(3,4)); "
      "np.savez('" + Path("np.npz") + "', a=np.array([[1,2],[3,4]], np.int32), b=np.array([True, False])); "
      "np.savez_compressed('" + Path("npc.npz") + "', c=np.linspace(0, 1, 1000).astype(np.float16))";
  if (std::system(("python3 -c \"" + script + "\" 2>/dev/null").c_str()) != 0) GTEST_SKIP() << "numpy unavailable";
  KILN_ASSERT_OK_AND_ASSIGN(Tensor a, io::ReadNpy(Path("np.npy")));
  EXPECT_EQ(a.shape(), (Shape{3, 4}));
  EXPECT_EQ(a.data<float>()[11], 11.0f);
  KILN_ASSERT_OK_AND_ASSIGN(io::NamedTensors z, io::ReadNpz(Path("np.npz")));
  ASSERT_EQ(z.size(), 2u);
  EXPECT_EQ(z[0].first, "a");
  EXPECT_EQ(z[0].second.data<int32_t>()[3], 4);
  EXPECT_EQ(z[1].second.dtype(), DType::kBool);
  KILN_ASSERT_OK_AND_ASSIGN(io::NamedTensors c, io::ReadNpz(Path("npc.npz")));
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].second.num_elements(), 1000);
  EXPECT_EQ(HalfToFloat(c[0].second.data<Half>()[999]), 1.0f);
}

TEST_F(NpyTest, RejectsFilesThatAreNotNpy) {
  KILN_ASSERT_OK(io::WriteFile(Path("bad.npy"), "this is not numpy data"));
  auto r = io::ReadNpy(Path("bad.npy"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("is not a .npy file"), std::string::npos);
  EXPECT_NE(r.status().message().find("bad.npy"), std::string::npos);

  auto missing = io::ReadNpy(Path("nope.npy"));
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);

  Tensor t = testing::RandomTensor(DType::kFloat32, {4, 4}, 3);
  std::string bytes = io::SerializeNpy(t);
  KILN_ASSERT_OK(io::WriteFile(Path("short.npy"), bytes.substr(0, bytes.size() - 3)));
  auto truncated = io::ReadNpy(Path("short.npy"));
  ASSERT_FALSE(truncated.ok());
  EXPECT_NE(truncated.status().message().find("holds"), std::string::npos) << truncated.status().ToString();

  std::string header_cut = bytes.substr(0, 20);
  KILN_ASSERT_OK(io::WriteFile(Path("hdr.npy"), header_cut));
  EXPECT_FALSE(io::ReadNpy(Path("hdr.npy")).ok());

  KILN_ASSERT_OK(io::WriteFile(Path("bad.npz"), "PK\x03\x04 garbage"));
  auto z = io::ReadNpz(Path("bad.npz"));
  ASSERT_FALSE(z.ok());
  EXPECT_NE(z.status().message().find("not a valid .npz"), std::string::npos);
}

}  // namespace
}  // namespace kiln
