// The EngineOp's ladder: shape-keyed LRU cache, building at run time or not, native fallback or
// an error, shape profiles, a workspace too small, and the engine files a model is loaded with
// (corrupted, for another device, from another kiln version, or none at all).
#include <filesystem>

#include "convert/convert_test_util.h"
#include "engine/engine_file.h"
#include "io/npy.h"

namespace kiln {
namespace {

using testing::Mnist;
using testing::MnistBatches;
using testing::MnistModel;
namespace fs = std::filesystem;

Tensor Batch(int64_t n) { return testing::Rows(Mnist().images, 0, n); }

// The native model's answer for the first n digits.
Tensor Expected(int64_t n) {
  auto native = Model::Load(MnistModel()).value();
  return testing::RunSingle(*native, "input_1", Batch(n)).value();
}

TEST(EngineOpLadder, CacheEvictsTheLeastRecentlyUsedEngine) {
  testing::TempDir tmp("lru");
  ConversionParams params;
  params.maximum_cached_engines = 2;
  KILN_ASSERT_OK_AND_ASSIGN(auto model, testing::ConvertSaveLoad(MnistModel(), params, tmp.path("m")));
  auto run = [&](int64_t n) {
    auto got = testing::RunSingle(*model, "input_1", Batch(n));
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_TRUE(testing::TensorsNear(*got, Expected(n), 1e-6, 1e-5)) << "batch " << n;
  };
  run(1);
  run(2);
  run(1);  // cached: 1 most recent, then 2
  EXPECT_EQ(model->engine_stats()[0].engines_built, 2);
  run(3);  // evicts 2
  EngineOpStats s = model->engine_stats()[0];
  EXPECT_EQ(s.engines_built, 3);
  EXPECT_EQ(s.engines_evicted, 1);
  EXPECT_EQ(s.cached_engines, 2);
  run(1);  // still cached
  EXPECT_EQ(model->engine_stats()[0].engines_built, 3);
  run(2);  // was evicted: built again
  s = model->engine_stats()[0];
  EXPECT_EQ(s.engines_built, 4);
  EXPECT_EQ(s.engine_runs, 6);
  EXPECT_EQ(s.native_runs, 0);
}

TEST(EngineOpLadder, WithoutBuildingAtRunTimeUnknownShapesRunNatively) {
  testing::TempDir tmp("nobuild");
  ConversionParams params;
  params.allow_build_at_runtime = false;
  KILN_ASSERT_OK_AND_ASSIGN(
      auto model, testing::ConvertSaveLoad(MnistModel(), params, tmp.path("m"), {}, InputsFrom(MnistBatches(8, 8))));
  testing::WarningCapture warnings;
  KILN_ASSERT_OK_AND_ASSIGN(Tensor eight, testing::RunSingle(*model, "input_1", Batch(8)));
  EXPECT_TRUE(testing::TensorsNear(eight, Expected(8), 1e-6, 1e-5));
  KILN_ASSERT_OK_AND_ASSIGN(Tensor three, testing::RunSingle(*model, "input_1", Batch(3)));
  EXPECT_TRUE(testing::TensorsNear(three, Expected(3), 1e-6, 1e-5));
  KILN_ASSERT_OK_AND_ASSIGN(three, testing::RunSingle(*model, "input_1", Batch(3)));
  const EngineOpStats s = model->engine_stats()[0];
  EXPECT_EQ(s.engine_runs, 1);
  EXPECT_EQ(s.native_runs, 2);
  EXPECT_EQ(s.engines_built, 0);
  ASSERT_EQ(warnings.warnings().size(), 1u) << "warned once: " << warnings.All();
  EXPECT_TRUE(
      warnings.Saw("no engine for input shapes [3,28,28,1] (engines cover: [8,28,28,1]) and building at run "
                   "time is disabled (allow_build_at_runtime=false); running the segment's native ops"))
      << warnings.All();
}

TEST(EngineOpLadder, WithoutFallbackAMissingEngineIsAnError) {
  testing::TempDir tmp("nofallback");
  ConversionParams params;
  params.allow_build_at_runtime = false;
  params.allow_native_fallback = false;
  KILN_ASSERT_OK_AND_ASSIGN(auto model, testing::ConvertSaveLoad(MnistModel(), params, tmp.path("m")));
  auto got = testing::RunSingle(*model, "input_1", Batch(2));
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(got.status().message().find("has no engine for input shapes [2,28,28,1] (engines cover: none)"),
            std::string::npos)
      << got.status().ToString();
  EXPECT_NE(got.status().message().find("native fallback is disabled (allow_native_fallback=false)"),
            std::string::npos);
  EXPECT_EQ(got.status().node(), "KilnEngineOp_0");
}

TEST(EngineOpLadder, AFailedBuildFallsBackOrFails) {
  ConversionParams params;
  params.max_workspace_size_bytes = 4096;  // far below what the convolutions need
  {
    testing::TempDir tmp("workspace");
    KILN_ASSERT_OK_AND_ASSIGN(auto model, testing::ConvertSaveLoad(MnistModel(), params, tmp.path("m")));
    testing::WarningCapture warnings;
    KILN_ASSERT_OK_AND_ASSIGN(Tensor got, testing::RunSingle(*model, "input_1", Batch(4)));
    EXPECT_TRUE(testing::TensorsNear(got, Expected(4), 1e-6, 1e-5));
    EXPECT_TRUE(warnings.Saw("more than max_workspace_size_bytes (4096)")) << warnings.All();
    EXPECT_EQ(model->engine_stats()[0].native_runs, 1);
  }
  params.allow_native_fallback = false;
  testing::TempDir tmp("workspace_strict");
  KILN_ASSERT_OK_AND_ASSIGN(auto model, testing::ConvertSaveLoad(MnistModel(), params, tmp.path("m")));
  auto got = testing::RunSingle(*model, "input_1", Batch(4));
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.status().message().find("max_workspace_size_bytes"), std::string::npos) << got.status().ToString();
}

TEST(EngineOpLadder, ShapesOutsideEveryProfileRunNatively) {
  struct Case {
    ProfileStrategy strategy;
    bool five_has_engine;  // batch 5 lies inside the range [1..8] but matches no exact profile
    size_t profiles;
  };
  for (const Case& c : {Case{ProfileStrategy::kRange, true, 1}, Case{ProfileStrategy::kOptimal, false, 3},
                        Case{ProfileStrategy::kRangeOptimal, true, 4}}) {
    SCOPED_TRACE(ProfileStrategyName(c.strategy));
    testing::TempDir tmp("profiles");
    ConversionParams params;
    params.use_dynamic_shape = true;
    params.profile_strategy = c.strategy;
    params.allow_build_at_runtime = false;
    std::vector<InputSet> sets = {{{"input_1", Batch(1)}}, {{"input_1", Batch(4)}}, {{"input_1", Batch(8)}}};
    KILN_ASSERT_OK_AND_ASSIGN(auto model,
                              testing::ConvertSaveLoad(MnistModel(), params, tmp.path("m"), {}, InputsFrom(sets)));
    KILN_ASSERT_OK_AND_ASSIGN(ConversionSummary summary, SummarizeConvertedModel(tmp.path("m")));
    ASSERT_EQ(summary.engines[0].engines.size(), 1u) << "one engine covering every profile";
    const std::string key = summary.engines[0].engines[0];
    EXPECT_EQ(static_cast<size_t>(std::count(key.begin(), key.end(), '|')) + 1, c.profiles) << key;

    testing::WarningCapture warnings;
    for (int64_t n : {1, 4, 8, 5, 16}) {
      KILN_ASSERT_OK_AND_ASSIGN(Tensor got, testing::RunSingle(*model, "input_1", Batch(n)));
      EXPECT_TRUE(testing::TensorsNear(got, Expected(n), 1e-6, 1e-5)) << "batch " << n;
    }
    const EngineOpStats s = model->engine_stats()[0];
    EXPECT_EQ(s.engine_runs, c.five_has_engine ? 4 : 3);
    EXPECT_EQ(s.native_runs, c.five_has_engine ? 1 : 2);
    EXPECT_TRUE(warnings.Saw("no engine for input shapes [16,28,28,1]")) << warnings.All();
  }
}

// Rewrites the saved engine of KilnEngineOp_0 in `dir` with `edit` applied to its header.
void EditEngineHeader(const std::string& dir, const std::function<void(engine::EngineHeader&)>& edit) {
  const std::string path = dir + "/assets/kiln/engines/KilnEngineOp_0.0.engine";
  auto bytes = io::ReadFile(path);
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  auto file = engine::ParseEngineFile(*bytes);
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  edit(file->header);
  KILN_ASSERT_OK(io::WriteFile(path, engine::WriteEngineFile(file->header, file->payload)));
}

class EngineFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ConversionParams params;
    params.allow_build_at_runtime = GetBuildAtRuntime();
    params.engine_device = Device::CPU();  // the files are checked against the CPU backend
    auto converter = Converter::Create(MnistModel(), params).value();
    KILN_ASSERT_OK(converter->Convert());
    KILN_ASSERT_OK(converter->Build(InputsFrom(MnistBatches(4, 4))));
    KILN_ASSERT_OK(converter->Save(dir()));
  }
  virtual bool GetBuildAtRuntime() const { return true; }
  std::string dir() const { return tmp_.path("m"); }
  // Loads the model, runs batch 4 and checks the answer; returns the op's stats.
  EngineOpStats LoadAndRun() {
    auto model = Model::Load(dir());
    EXPECT_TRUE(model.ok()) << model.status().ToString();
    if (!model.ok()) return {};
    auto got = testing::RunSingle(**model, "input_1", Batch(4));
    EXPECT_TRUE(got.ok()) << got.status().ToString();
    if (got.ok()) EXPECT_TRUE(testing::TensorsNear(*got, Expected(4), 1e-6, 1e-5));
    return (*model)->engine_stats()[0];
  }
  testing::TempDir tmp_{"engine_files"};
};

TEST_F(EngineFileTest, AnIntactEngineIsUsed) {
  testing::WarningCapture warnings;
  const EngineOpStats s = LoadAndRun();
  EXPECT_EQ(s.engines_loaded, 1);
  EXPECT_EQ(s.engines_built, 0);
  EXPECT_TRUE(warnings.warnings().empty()) << warnings.All();
}

TEST_F(EngineFileTest, ACorruptedEngineIsRebuilt) {
  const std::string path = dir() + "/assets/kiln/engines/KilnEngineOp_0.0.engine";
  std::string bytes = io::ReadFile(path).value();
  bytes[bytes.size() / 2] ^= 0x5a;
  KILN_ASSERT_OK(io::WriteFile(path, bytes));
  testing::WarningCapture warnings;
  const EngineOpStats s = LoadAndRun();
  EXPECT_EQ(s.engines_loaded, 0);
  EXPECT_EQ(s.engines_built, 1);
  EXPECT_TRUE(
      warnings.Saw("KilnEngineOp_0.0.engine' of segment 'KilnEngineOp_0' is not used: engine file failed "
                   "its checksum (the file is corrupted); it will be rebuilt when needed"))
      << warnings.All();
}

TEST_F(EngineFileTest, ATruncatedOrForeignFileIsRebuilt) {
  const std::string path = dir() + "/assets/kiln/engines/KilnEngineOp_0.0.engine";
  const std::string bytes = io::ReadFile(path).value();
  KILN_ASSERT_OK(io::WriteFile(path, bytes.substr(0, 30)));
  testing::WarningCapture warnings;
  EXPECT_EQ(LoadAndRun().engines_built, 1);
  EXPECT_TRUE(warnings.Saw("truncated")) << warnings.All();
  KILN_ASSERT_OK(io::WriteFile(path, "PK\x03\x04 not an engine"));
  EXPECT_EQ(LoadAndRun().engines_built, 1);
  EXPECT_TRUE(warnings.Saw("not a kiln engine file (bad magic)")) << warnings.All();
}

TEST_F(EngineFileTest, AnEngineForAnotherDeviceIsRebuilt) {
  EditEngineHeader(dir(), [](engine::EngineHeader& h) {
    h.device.name = "NVIDIA H100 80GB HBM3";
    h.device.compute_capability = "9.0";
  });
  testing::WarningCapture warnings;
  EXPECT_EQ(LoadAndRun().engines_built, 1);
  EXPECT_TRUE(warnings.Saw("it was built for device 'NVIDIA H100 80GB HBM3' (compute capability 9.0)"))
      << warnings.All();
}

TEST_F(EngineFileTest, AnEngineFromAnotherKilnVersionIsRebuilt) {
  EditEngineHeader(dir(), [](engine::EngineHeader& h) { h.kiln_version = "0.0.1"; });
  testing::WarningCapture warnings;
  EXPECT_EQ(LoadAndRun().engines_built, 1);
  EXPECT_TRUE(warnings.Saw("it was built by kiln 0.0.1, this is kiln " KILN_VERSION)) << warnings.All();
}

class EngineFileNoBuildTest : public EngineFileTest {
 protected:
  bool GetBuildAtRuntime() const override { return false; }
};

TEST_F(EngineFileNoBuildTest, AnUnusableEngineRunsNativelyWhenBuildingIsOff) {
  EditEngineHeader(dir(), [](engine::EngineHeader& h) { h.device.library_versions["openblas"] = "OpenBLAS 0.1"; });
  testing::WarningCapture warnings;
  const EngineOpStats s = LoadAndRun();
  EXPECT_EQ(s.engines_built, 0);
  EXPECT_EQ(s.native_runs, 1);
  EXPECT_TRUE(warnings.Saw("it was built with openblas OpenBLAS 0.1")) << warnings.All();
  EXPECT_TRUE(warnings.Saw("the segment runs its native ops where it has no engine")) << warnings.All();
}

TEST(EngineFiles, SavingWithoutEnginesBuildsOnFirstUse) {
  testing::TempDir tmp("noengines");
  KILN_ASSERT_OK_AND_ASSIGN(auto model, testing::ConvertSaveLoad(MnistModel(), ConversionParams{}, tmp.path("m"), {},
                                                                 InputsFrom(MnistBatches(4, 4)),
                                                                 /*save_engines=*/false));
  EXPECT_TRUE(!fs::exists(tmp.path("m/assets/kiln/engines")) || fs::is_empty(tmp.path("m/assets/kiln/engines")));
  KILN_ASSERT_OK_AND_ASSIGN(Tensor got, testing::RunSingle(*model, "input_1", Batch(4)));
  EXPECT_TRUE(testing::TensorsNear(got, Expected(4), 1e-6, 1e-5));
  EXPECT_EQ(model->engine_stats()[0].engines_built, 1);

  // `kiln build`'s path: engines for these shapes, written into the model.
  KILN_ASSERT_OK(BuildEngines(tmp.path("m"), InputsFrom(MnistBatches(4, 4))));
  KILN_ASSERT_OK_AND_ASSIGN(auto rebuilt, Model::Load(tmp.path("m")));
  KILN_ASSERT_OK_AND_ASSIGN(got, testing::RunSingle(*rebuilt, "input_1", Batch(4)));
  EXPECT_EQ(rebuilt->engine_stats()[0].engines_loaded, 1);
  EXPECT_EQ(rebuilt->engine_stats()[0].engines_built, 0);
}

}  // namespace
}  // namespace kiln
