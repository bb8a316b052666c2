// A model past protobuf's 2 GB converts, saves, loads and runs: an ONNX file whose 2.25 GiB of
// weights lie in external data, made for the test by scripts/make_large_onnx.py (onnx and
// onnxruntime) in a temporary directory. The converted model keeps its weights in variables/ and its
// engine's after the engine's graph; saved_model.pb holds the graph alone. It needs about 12 GiB of
// memory and 8 GiB of disk, and skips, saying so, where those are not there.
#include <sys/statvfs.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "convert/convert_test_util.h"
#include "io/npy.h"
#include "kiln/converter.h"

namespace kiln {
namespace {

namespace fs = std::filesystem;

constexpr uint64_t kGiB = uint64_t{1} << 30;

uint64_t AvailableMemory() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  uint64_t kib = 0;
  while (in >> key >> kib) {
    if (key == "MemAvailable:") return kib * 1024;
    in.ignore(256, '\n');
  }
  return 0;
}

uint64_t FreeDisk(const std::string& path) {
  struct statvfs s {};
  return statvfs(path.c_str(), &s) == 0 ? static_cast<uint64_t>(s.f_bavail) * s.f_frsize : 0;
}

TEST(LargeModelTest, WeightsPastTwoGigabytesRoundTrip) {
  if (std::getenv("KILN_SKIP_LARGE_MODEL_TEST") != nullptr) {
    GTEST_SKIP() << "KILN_SKIP_LARGE_MODEL_TEST is set (the sanitizer builds skip this test)";
  }
  if (AvailableMemory() < 14 * kGiB) {
    GTEST_SKIP() << "needs 14 GiB of available memory, the machine has " << AvailableMemory() / kGiB << " GiB";
  }
  testing::TempDir tmp("large");
  if (FreeDisk(tmp.path()) < 8 * kGiB) GTEST_SKIP() << "needs 8 GiB of free disk under " << tmp.path();
  if (std::system("python3 -c 'import onnx, onnxruntime' > /dev/null 2>&1") != 0) {
    GTEST_SKIP() << "python3 with onnx and onnxruntime is not installed (scripts/setup.sh installs them)";
  }
  const std::string source = tmp.path("source");
  const std::string make = "python3 " + testing::SourcePath("scripts/make_large_onnx.py") + " " + source;
  ASSERT_EQ(std::system(make.c_str()), 0) << make;
  KILN_ASSERT_OK_AND_ASSIGN(io::NamedTensors inputs, io::ReadNpz(source + "/inputs.npz"));
  KILN_ASSERT_OK_AND_ASSIGN(io::NamedTensors outputs, io::ReadNpz(source + "/outputs.npz"));
  ASSERT_EQ(inputs.size(), 1u);
  ASSERT_GT(fs::file_size(source + "/weights.bin"), 2 * kGiB);

  ConversionParams params;
  params.engine_device = Device::CPU();
  KILN_ASSERT_OK_AND_ASSIGN(auto converter, Converter::Create(source + "/model.onnx", params));
  KILN_ASSERT_OK(converter->Convert());
  const Tensor x = inputs[0].second;
  KILN_ASSERT_OK(converter->Build(InputsFrom({{{inputs[0].first, x}}})));
  const std::string dir = tmp.path("converted");
  KILN_ASSERT_OK(converter->Save(dir));
  converter.reset();
  EXPECT_LT(fs::file_size(dir + "/saved_model.pb"), 64u * 1024);
  EXPECT_GT(fs::file_size(dir + "/variables/variables.data-00000-of-00001"), 2 * kGiB);
  EXPECT_GT(fs::file_size(dir + "/assets/kiln/engines/KilnEngineOp_0.0.engine"), 2 * kGiB);
  fs::remove_all(source);

  KILN_ASSERT_OK_AND_ASSIGN(auto model, Model::Load(dir));
  testing::WarningCapture warnings;
  KILN_ASSERT_OK_AND_ASSIGN(auto got, model->Run({{inputs[0].first, x}}));
  testing::ExpectOneCallBySavedEngine(*model, warnings);
  ASSERT_EQ(got.count(outputs[0].first), 1u);
  EXPECT_TRUE(testing::TensorsNear(got.at(outputs[0].first), outputs[0].second, 1e-4, 1e-4));
}

}  // namespace
}  // namespace kiln
