// Converted models on the CUDA backend: engines built and saved for the GPU, loaded and run on the
// run's stream with device tensors, in every float precision, and the fallback ladder there.
#include <cuda_runtime.h>

#include <thread>

#include "convert/convert_test_util.h"
#include "engine/engine_file.h"
#include "io/npy.h"

namespace kiln {
namespace {

using testing::Mnist;
using testing::MnistBatches;
using testing::MnistModel;

class CudaEngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (CudaDeviceCount() == 0) GTEST_SKIP() << "no CUDA GPU on this machine (or kiln built without CUDA)";
    KILN_ASSERT_OK_AND_ASSIGN(auto native, Model::Load(MnistModel()));
    KILN_ASSERT_OK_AND_ASSIGN(expected_, testing::RunSingle(*native, "input_1", Mnist().images));
  }
  Tensor expected_;
};

struct Tolerance {
  Precision precision;
  double max_abs_diff, min_agreement;
};

TEST_F(CudaEngineTest, ConvertedMnistRunsOnGpuEnginesInEveryFloatPrecision) {
  for (const Tolerance& t : {Tolerance{Precision::kFP32, 1e-4, 1.0}, Tolerance{Precision::kFP16, 5e-3, 0.99},
                             Tolerance{Precision::kBF16, 4e-2, 0.99}}) {
    SCOPED_TRACE(PrecisionName(t.precision));
    testing::TempDir tmp("cuda_engine");
    ConversionParams params;
    params.precision_mode = t.precision;
    KILN_ASSERT_OK_AND_ASSIGN(auto model,
                              testing::ConvertSaveLoad(MnistModel(), params, tmp.path("m"), {},
                                                       InputsFrom(MnistBatches(360, 360)), true, Device::CUDA()));
    testing::WarningCapture warnings;
    KILN_ASSERT_OK_AND_ASSIGN(Tensor got, testing::RunSingle(*model, "input_1", Mnist().images));
    EXPECT_TRUE(got.on_host());
    EXPECT_LE(testing::MaxAbsDiff(got, expected_), t.max_abs_diff);
    EXPECT_GE(testing::Top1Agreement(got, expected_), t.min_agreement);

    // The saved GPU engine answered: no build, no fallback, no warning.
    testing::ExpectOneCallBySavedEngine(*model, warnings);

    // The engine file names the GPU and the libraries it was built with.
    const std::string path = tmp.path("m/assets/kiln/engines/KilnEngineOp_0.0.engine");
    KILN_ASSERT_OK_AND_ASSIGN(std::string bytes, io::ReadFile(path));
    KILN_ASSERT_OK_AND_ASSIGN(engine::EngineFile file, engine::ParseEngineFile(bytes));
    EXPECT_EQ(file.header.device.backend, "cuda");
    EXPECT_FALSE(file.header.device.compute_capability.empty());
    for (const char* lib : {"cuda", "driver", "cudnn", "cublas"}) {
      EXPECT_EQ(file.header.device.library_versions.count(lib), 1u) << lib;
    }
  }
}

// Device inputs in, device outputs out: the engine runs on the run's stream.
TEST_F(CudaEngineTest, EnginesTakeAndReturnDeviceTensors) {
  testing::TempDir tmp("cuda_engine_io");
  KILN_ASSERT_OK_AND_ASSIGN(auto model, testing::ConvertSaveLoad(MnistModel(), {}, tmp.path("m"), {},
                                                                 InputsFrom(MnistBatches(360, 360)), true,
                                                                 Device::CUDA()));
  KILN_ASSERT_OK_AND_ASSIGN(Tensor images, CopyTensor(Mnist().images, Device::CUDA()));
  RunOptions stay;
  stay.outputs_on_device = true;
  KILN_ASSERT_OK_AND_ASSIGN(auto out, model->Run({{"input_1", images}}, stay));
  ASSERT_EQ(out.size(), 1u);
  const Tensor& got = out.begin()->second;
  EXPECT_EQ(got.device(), Device::CUDA());
  KILN_ASSERT_OK_AND_ASSIGN(Tensor back, CopyTensor(got, Device::CPU()));
  EXPECT_LE(testing::MaxAbsDiff(back, expected_), 1e-4);
  EXPECT_EQ(model->engine_stats()[0].engine_runs, 1);
}

// A model converted for the CPU and loaded on the GPU: its engine file is for another backend, so
// the GPU engine is built at first use, with a warning that says why.
TEST_F(CudaEngineTest, EnginesOfAnotherBackendAreRebuiltOnTheGpu) {
  testing::TempDir tmp("cuda_engine_foreign");
  KILN_ASSERT_OK_AND_ASSIGN(auto on_cpu, testing::ConvertSaveLoad(MnistModel(), {}, tmp.path("m"), {},
                                                                  InputsFrom(MnistBatches(360, 360))));
  on_cpu.reset();
  testing::WarningCapture warnings;
  KILN_ASSERT_OK_AND_ASSIGN(auto model, Model::Load(tmp.path("m"), {.device = Device::CUDA()}));
  EXPECT_TRUE(warnings.Saw("built for the cpu backend")) << warnings.All();
  KILN_ASSERT_OK_AND_ASSIGN(Tensor got, testing::RunSingle(*model, "input_1", Mnist().images));
  EXPECT_LE(testing::MaxAbsDiff(got, expected_), 1e-4);
  const EngineOpStats stats = model->engine_stats()[0];
  EXPECT_EQ(stats.engines_loaded, 0);
  EXPECT_EQ(stats.engines_built, 1);
  EXPECT_EQ(stats.engine_runs, 1);
}

// Shapes no engine covers, with building at run time off: the native segment answers on the GPU.
TEST_F(CudaEngineTest, ShapesOutsideTheEnginesRunNativelyOnTheGpu) {
  testing::TempDir tmp("cuda_engine_fallback");
  ConversionParams params;
  params.allow_build_at_runtime = false;
  KILN_ASSERT_OK_AND_ASSIGN(auto model, testing::ConvertSaveLoad(MnistModel(), params, tmp.path("m"), {},
                                                                 InputsFrom(MnistBatches(8, 8)), true,
                                                                 Device::CUDA()));
  testing::WarningCapture warnings;
  KILN_ASSERT_OK_AND_ASSIGN(Tensor got, testing::RunSingle(*model, "input_1", Mnist().images));
  EXPECT_LE(testing::MaxAbsDiff(got, expected_), 1e-4);
  EXPECT_TRUE(warnings.Saw("building at run time is disabled")) << warnings.All();
  const EngineOpStats stats = model->engine_stats()[0];
  EXPECT_EQ(stats.native_runs, 1);
  EXPECT_EQ(stats.engine_runs, 0);
}

// A build that fails on the GPU (the convolutions need more than max_workspace_size_bytes): the
// native segment answers there, with a warning saying why; without fallback it is an error.
TEST_F(CudaEngineTest, AFailedGpuBuildRunsTheSegmentNatively) {
  ConversionParams params;
  params.max_workspace_size_bytes = 4096;
  params.engine_device = Device::CUDA();
  testing::TempDir tmp("cuda_engine_workspace");
  KILN_ASSERT_OK_AND_ASSIGN(auto model, testing::ConvertSaveLoad(MnistModel(), params, tmp.path("m"), {}, {}, true,
                                                                 Device::CUDA()));
  testing::WarningCapture warnings;
  KILN_ASSERT_OK_AND_ASSIGN(Tensor got, testing::RunSingle(*model, "input_1", Mnist().images));
  EXPECT_LE(testing::MaxAbsDiff(got, expected_), 1e-4);
  EXPECT_TRUE(warnings.Saw("more than max_workspace_size_bytes (4096)")) << warnings.All();
  EXPECT_EQ(model->engine_stats()[0].native_runs, 1);

  params.allow_native_fallback = false;
  testing::TempDir strict("cuda_engine_workspace_strict");
  KILN_ASSERT_OK_AND_ASSIGN(model, testing::ConvertSaveLoad(MnistModel(), params, strict.path("m"), {}, {}, true,
                                                            Device::CUDA()));
  auto failed = testing::RunSingle(*model, "input_1", Mnist().images);
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.status().message().find("max_workspace_size_bytes"), std::string::npos) << failed.status().ToString();
}

TEST_F(CudaEngineTest, ThreadsShareOneConvertedModel) {
  testing::TempDir tmp("cuda_engine_threads");
  KILN_ASSERT_OK_AND_ASSIGN(auto model, testing::ConvertSaveLoad(MnistModel(), {}, tmp.path("m"), {},
                                                                 InputsFrom(MnistBatches(360, 360)), true,
                                                                 Device::CUDA()));
  KILN_ASSERT_OK_AND_ASSIGN(Tensor want, testing::RunSingle(*model, "input_1", Mnist().images));
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        auto got = testing::RunSingle(*model, "input_1", Mnist().images);
        mismatches[t] += !got.ok() || !testing::TensorsNear(*got, want, 0, 0);
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < 4; ++t) EXPECT_EQ(mismatches[t], 0) << "thread " << t;
  EXPECT_EQ(model->engine_stats()[0].engine_runs, 41);
}

}  // namespace
}  // namespace kiln
