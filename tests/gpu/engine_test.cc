// Converted models on the CUDA backend: engines built and saved for the GPU, loaded and run on the
// run's stream with device tensors, in every float precision, and the fallback ladder there.
#include <cuda_runtime.h>

#include <thread>

#include "convert/convert_test_util.h"
#include "engine/cuda/cuda_backend.h"
#include "engine/engine_file.h"
#include "engine/engine_op.h"
#include "io/npy.h"
#include "ir/op_registry.h"
#include "runtime/executor.h"

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
  EXPECT_NE(failed.status().message().find("max_workspace_size_bytes"), std::string::npos)
      << failed.status().ToString();
}

// The CUDA backend's engines, made to fail at run time on demand, as a lost or faulting device fails
// them: everything else about them is the real backend's.
class FlakyEngine : public engine::Engine {
 public:
  FlakyEngine(std::unique_ptr<engine::Engine> real, const bool& fail) : real_(std::move(real)), fail_(fail) {}
  const std::vector<engine::ShapeProfile>& profiles() const override { return real_->profiles(); }
  StatusOr<std::vector<Tensor>> Run(const std::vector<Tensor>& inputs, runtime::DeviceContext* device) const override {
    if (fail_) return Internal("an illegal memory access was encountered");
    return real_->Run(inputs, device);
  }
  StatusOr<std::string> SerializePayload() const override { return real_->SerializePayload(); }
  std::map<std::string, int> OpCounts() const override { return real_->OpCounts(); }

 private:
  std::unique_ptr<engine::Engine> real_;
  const bool& fail_;
};

class FlakyCudaBackend : public engine::Backend {
 public:
  explicit FlakyCudaBackend(const bool& fail) : real_(engine::CudaBackend(0)), fail_(fail) {}
  engine::DeviceInfo device() const override { return real_.device(); }
  Status Validate(const ir::Graph& graph, const ir::Node& node) const override { return real_.Validate(graph, node); }
  StatusOr<std::unique_ptr<engine::Engine>> Build(const ir::Graph& segment,
                                                  const engine::BuildConfig& config) const override {
    KILN_ASSIGN_OR_RETURN(auto built, real_.Build(segment, config));
    return std::unique_ptr<engine::Engine>(new FlakyEngine(std::move(built), fail_));
  }
  StatusOr<std::unique_ptr<engine::Engine>> Deserialize(const std::vector<engine::ShapeProfile>& profiles,
                                                        std::string_view payload) const override {
    return real_.Deserialize(profiles, payload);
  }

 private:
  const engine::Backend& real_;
  const bool& fail_;
};

// x [?, 64] -> MatMul -> BiasAdd -> Relu, as a converter segment.
ir::Graph DenseSegment() {
  ir::Graph g;
  ir::AttrMap a;
  a.Set("dtype", DType::kFloat32);
  a.Set("shape", PartialShape::Known({-1, 64}));
  ir::Node* x = g.AddNode("kiln_input_0", "Placeholder", {}, a, 1);
  g.inputs().push_back({"kiln_input_0", {x->id, 0}});
  ir::Node* w = g.AddConst("w", testing::RandomTensor(DType::kFloat32, {64, 32}, 1));
  ir::Node* b = g.AddConst("b", testing::RandomTensor(DType::kFloat32, {32}, 2));
  ir::Node* y = g.AddNode("y", "MatMul", {{x->id, 0}, {w->id, 0}}, {}, 1);
  ir::Node* yb = g.AddNode("yb", "BiasAdd", {{y->id, 0}, {b->id, 0}}, {}, 1);
  ir::Node* r = g.AddNode("r", "Relu", {{yb->id, 0}}, {}, 1);
  for (ir::Node* n : {y, yb, r}) EXPECT_TRUE(ir::OpRegistry::Global().ApplyDefaults(*n).ok());
  g.outputs().push_back({"kiln_output_0", {r->id, 0}});
  EXPECT_TRUE(ir::InferShapes(g).ok());
  return g;
}

// A CUDA engine that fails at run time: the segment's native ops answer on the GPU instead, with one
// warning that says why; without fallback the failure is the call's error.
TEST_F(CudaEngineTest, AnEngineFailingAtRunTimeHandsTheCallToTheNativeSegment) {
  const ir::Graph segment = DenseSegment();  // built the same way each time
  engine::EngineOpSpec spec;
  spec.name = "seg";
  spec.function = "seg_native";
  spec.input_dtypes = spec.output_dtypes = {DType::kFloat32};
  spec.input_shapes = {PartialShape::Known({-1, 64})};
  spec.output_shapes = {PartialShape::Known({-1, 32})};
  spec.input_tensors = {"x:0"};
  const Tensor x = testing::RandomTensor(DType::kFloat32, {16, 64}, 3);
  KILN_ASSERT_OK_AND_ASSIGN(auto on_cpu, runtime::Executor::Create(segment, {}));
  KILN_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> want, on_cpu->Run({x}));

  for (bool fallback : {true, false}) {
    SCOPED_TRACE(fallback ? "with fallback" : "without fallback");
    bool fail = false;
    FlakyCudaBackend backend(fail);
    spec.allow_native_fallback = fallback;
    KILN_ASSERT_OK_AND_ASSIGN(auto op, engine::EngineOp::Create(spec, DenseSegment(), backend, {}, Device::CUDA()));
    KILN_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> first, op->Run({x}));
    KILN_ASSERT_OK_AND_ASSIGN(Tensor engine_answer, CopyTensor(first[0], Device::CPU()));
    EXPECT_TRUE(testing::TensorsNear(engine_answer, want[0], 1e-4, 1e-4));
    EXPECT_EQ(op->stats().engine_runs, 1);

    fail = true;
    testing::WarningCapture warnings;
    auto second = op->Run({x});
    if (!fallback) {
      ASSERT_FALSE(second.ok());
      EXPECT_NE(second.status().message().find("failed at run time"), std::string::npos) << second.status().ToString();
      continue;
    }
    KILN_ASSERT_OK(second.status());
    KILN_ASSERT_OK_AND_ASSIGN(Tensor native_answer, CopyTensor((*second)[0], Device::CPU()));
    EXPECT_TRUE(testing::TensorsNear(native_answer, want[0], 1e-4, 1e-4));
    EXPECT_TRUE(warnings.Saw("failed at run time: Internal: an illegal memory access was encountered; running the "
                             "segment's native ops"))
        << warnings.All();
    EXPECT_EQ(op->stats().native_runs, 1);
    EXPECT_EQ(op->stats().engine_runs, 1);
  }
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
