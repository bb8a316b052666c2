// Choosing a device on the command line, and devices in the API, as a machine without a GPU sees
// them (the GPU side runs in tests/gpu).
#include "cli/cli_test_util.h"
#include "kiln/model.h"
#include "util/test_util.h"

namespace kiln {
namespace {

using testing::RunKiln;

TEST(DeviceTest, ParsesDeviceNames) {
  EXPECT_EQ(*ParseDevice("cpu"), Device::CPU());
  EXPECT_EQ(*ParseDevice("cuda"), Device::CUDA(0));
  EXPECT_EQ(*ParseDevice("cuda:3"), Device::CUDA(3));
  EXPECT_EQ(Device::CUDA(2).ToString(), "cuda:2");
  for (const char* bad : {"tpu", "cuda:", "cuda:-1", "cuda:x", "CUDA", ""}) {
    auto d = ParseDevice(bad);
    ASSERT_FALSE(d.ok()) << bad;
    EXPECT_NE(d.status().message().find("expected cpu, cuda or cuda:N"), std::string::npos) << bad;
  }
}

TEST(DeviceTest, HostTensorsStayPutAndReportTheirDevice) {
  const Tensor t = testing::RandomTensor(DType::kFloat32, {2, 3}, 1);
  EXPECT_TRUE(t.on_host());
  EXPECT_EQ(t.DebugString(), "float32[2,3]");
  KILN_ASSERT_OK_AND_ASSIGN(Tensor same, CopyTensor(t, Device::CPU()));
  EXPECT_EQ(same.raw_data(), t.raw_data());
  KILN_ASSERT_OK(CheckDeviceUsable(Device::CPU()));
}

class NoGpuTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (CudaDeviceCount() > 0) GTEST_SKIP() << "this machine has a CUDA GPU; the GPU tests cover it";
  }
};

TEST_F(NoGpuTest, AskingForTheGpuIsAClearError) {
  const Status usable = CheckDeviceUsable(Device::CUDA());
  EXPECT_EQ(usable.code(), StatusCode::kUnavailable);
  auto model = Model::Load(testing::SourcePath("fixtures/mnist/saved_model"), {.device = Device::CUDA()});
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(model.status().message().find("cannot use cuda:0"), std::string::npos) << model.status().ToString();
  auto copy = CopyTensor(Tensor(DType::kFloat32, {4}), Device::CUDA());
  ASSERT_FALSE(copy.ok());
  EXPECT_EQ(copy.status().code(), StatusCode::kUnavailable);
}

TEST_F(NoGpuTest, TheCommandSaysThereIsNoGpu) {
  const std::string model = testing::SourcePath("fixtures/mnist/saved_model");
  for (const std::string& cmd : {"run --dir " + model + " --device cuda --input input_1=" +
                                     testing::SourcePath("fixtures/mnist/heldout_images.npy"),
                                 "bench --dir " + model + " --device cuda --batch 1 --iters 1 --warmup 0",
                                 "show --dir " + model + " --tag_set serve --signature_def serving_default "
                                                         "--device cuda"}) {
    const testing::CliResult r = RunKiln(cmd);
    EXPECT_NE(r.output.find("cannot use cuda:0"), std::string::npos) << cmd << "\n" << r.output;
  }
  const testing::CliResult bad = RunKiln("run --dir " + model + " --device gpu:1");
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.output.find("unknown device 'gpu:1'"), std::string::npos) << bad.output;
}

TEST_F(NoGpuTest, CpuRunsNeverNeedCuda) {
  KILN_ASSERT_OK_AND_ASSIGN(auto model, Model::Load(testing::SourcePath("fixtures/mnist/saved_model")));
  EXPECT_EQ(model->device(), Device::CPU());
  EXPECT_TRUE(model->host_nodes().empty());
  KILN_ASSERT_OK(model->Run({{"input_1", testing::RandomTensor(DType::kFloat32, {2, 28, 28, 1}, 3, 0, 1)}}).status());
  EXPECT_EQ(GetDeviceMemoryStats(Device::CUDA()).status().code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace kiln
