// GPU tests: run with `ctest -L gpu`; they skip, saying why, where there is no GPU.
#include "cuda/cuda_api.h"
#include "kiln/device.h"
#include "util/test_util.h"

namespace kiln {
namespace {

class CudaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (CudaDeviceCount() == 0) GTEST_SKIP() << "no CUDA GPU on this machine (or kiln built without CUDA)";
  }
};

TEST_F(CudaTest, DescribesTheDevice) {
  KILN_ASSERT_OK_AND_ASSIGN(std::string d, cuda::DeviceDescription(0));
  std::printf("device 0: %s\nlibraries: %s\n", d.c_str(), cuda::LibraryVersions().c_str());
  EXPECT_NE(d.find("compute capability"), std::string::npos);
}

TEST_F(CudaTest, TensorsRoundTripThroughTheDevice) {
  for (DType dtype : {DType::kFloat32, DType::kFloat16, DType::kInt64, DType::kBool}) {
    for (Shape shape : {Shape{7}, Shape{3, 1000}, Shape{0}, Shape{}}) {
      Tensor x = testing::RandomTensor(dtype, shape, 11, -3, 3);
      KILN_ASSERT_OK_AND_ASSIGN(Tensor on_gpu, CopyTensor(x, Device::CUDA()));
      EXPECT_EQ(on_gpu.device(), Device::CUDA());
      EXPECT_EQ(on_gpu.ToFloatVector().size(), 0u);
      KILN_ASSERT_OK_AND_ASSIGN(Tensor back, CopyTensor(on_gpu, Device::CPU()));
      EXPECT_TRUE(back.on_host());
      EXPECT_TRUE(testing::TensorsNear(back, x, 0, 0)) << x.DebugString();
      EXPECT_TRUE(testing::TensorsNear(on_gpu.Clone(), x, 0, 0)) << x.DebugString();
    }
  }
}

TEST_F(CudaTest, MemoryStatisticsCountTensors) {
  KILN_ASSERT_OK(ResetPeakDeviceMemory(Device::CUDA()));
  KILN_ASSERT_OK_AND_ASSIGN(DeviceMemoryStats before, GetDeviceMemoryStats(Device::CUDA()));
  {
    KILN_ASSERT_OK_AND_ASSIGN(Tensor big, CopyTensor(Tensor(DType::kFloat32, {1 << 20}), Device::CUDA()));
    KILN_ASSERT_OK_AND_ASSIGN(DeviceMemoryStats during, GetDeviceMemoryStats(Device::CUDA()));
    EXPECT_EQ(during.in_use_bytes - before.in_use_bytes, 4 << 20);
    EXPECT_GE(during.reserved_bytes, during.in_use_bytes);
  }
  KILN_ASSERT_OK(CopyTensor(Tensor(DType::kFloat32, {1}), Device::CPU()).status());
  KILN_ASSERT_OK_AND_ASSIGN(DeviceMemoryStats after, GetDeviceMemoryStats(Device::CUDA()));
  EXPECT_EQ(after.in_use_bytes, before.in_use_bytes);
  EXPECT_GE(after.peak_bytes - before.in_use_bytes, 4 << 20);
}

TEST_F(CudaTest, AMissingDeviceIsAClearError) {
  Status s = CheckDeviceUsable(Device::CUDA(CudaDeviceCount()));
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_NE(s.message().find("CUDA GPU(s)"), std::string::npos) << s.ToString();
}

}  // namespace
}  // namespace kiln
