// GPU tests: run with `ctest -L gpu`; they skip, saying why, where there is no GPU.
#include "kernels/cuda/cuda_api.h"
#include "util/test_util.h"

namespace kiln {
namespace {

class CudaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (cuda::DeviceCount() == 0) GTEST_SKIP() << "no CUDA GPU on this machine (or kiln built without CUDA)";
  }
};

TEST_F(CudaTest, DescribesTheDevice) {
  KILN_ASSERT_OK_AND_ASSIGN(std::string d, cuda::DeviceDescription(0));
  std::printf("device 0: %s\n", d.c_str());
  EXPECT_NE(d.find("compute capability"), std::string::npos);
}

TEST_F(CudaTest, ReluMatchesTheCpuKernel) {
  for (Shape shape : {Shape{7}, Shape{3, 1000}, Shape{64, 28, 28, 32}, Shape{0}}) {
    Tensor x = testing::RandomTensor(DType::kFloat32, shape, 11, -3, 3);
    KILN_ASSERT_OK_AND_ASSIGN(Tensor gpu, cuda::Relu(x));
    KILN_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> cpu, testing::RunOp("Relu", {x}));
    EXPECT_TRUE(testing::TensorsNear(gpu, cpu[0], 0, 0)) << ShapeToString(shape);
  }
}

}  // namespace
}  // namespace kiln
