// The EngineOp's ladder against a backend whose builds and engines can be made to fail: an
// engine failing at run time, a failing build, and the input check in front of both.
#include "engine/engine_op.h"

#include <atomic>
#include <chrono>
#include <thread>

#include "convert/convert_test_util.h"
#include "ir/op_registry.h"

namespace kiln::engine {
namespace {

struct FakeBehaviour {
  bool fail_build = false;
  bool fail_run = false;
  int builds = 0;
  // With rendezvous > 0, each run waits (up to 5 s) until that many runs have been inside at once;
  // `most` is the largest number seen inside together.
  int rendezvous = 0;
  std::atomic<int> inside{0}, most{0};
};

// Its engines add 100 to the input, so a test can tell which path answered.
class FakeEngine : public Engine {
 public:
  FakeEngine(std::vector<ShapeProfile> profiles, FakeBehaviour& b) : profiles_(std::move(profiles)), b_(b) {}
  const std::vector<ShapeProfile>& profiles() const override { return profiles_; }
  StatusOr<std::vector<Tensor>> Run(const std::vector<Tensor>& inputs, runtime::DeviceContext*) const override {
    if (b_.fail_run) return Internal("device lost");
    if (b_.rendezvous > 0) {
      const int now = ++b_.inside;
      for (int seen = b_.most.load(); now > seen && !b_.most.compare_exchange_weak(seen, now);) {
      }
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
      while (b_.most.load() < b_.rendezvous && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
      --b_.inside;
    }
    Tensor out = inputs[0].Clone();
    for (int64_t i = 0; i < out.num_elements(); ++i) out.data<float>()[i] += 100.f;
    return std::vector<Tensor>{out};
  }
  StatusOr<std::string> SerializePayload() const override { return std::string("fake"); }
  std::map<std::string, int> OpCounts() const override { return {}; }

 private:
  std::vector<ShapeProfile> profiles_;
  FakeBehaviour& b_;
};

class FakeBackend : public Backend {
 public:
  explicit FakeBackend(FakeBehaviour& b) : b_(b) {}
  DeviceInfo device() const override { return {"fake", "fake device", "", {}}; }
  Status Validate(const ir::Graph&, const ir::Node&) const override { return OkStatus(); }
  StatusOr<std::unique_ptr<Engine>> Build(const ir::Graph&, const BuildConfig& config) const override {
    ++b_.builds;
    if (b_.fail_build) return Unimplemented("the fake backend cannot build this");
    return std::unique_ptr<Engine>(new FakeEngine(config.profiles, b_));
  }
  StatusOr<std::unique_ptr<Engine>> Deserialize(const std::vector<ShapeProfile>&, std::string_view) const override {
    return Unimplemented("no files");
  }

 private:
  FakeBehaviour& b_;
};

// x [?,4] -> Relu, as a segment.
std::unique_ptr<EngineOp> MakeOp(const Backend& backend, bool allow_fallback) {
  ir::Graph g;
  ir::AttrMap attrs;
  attrs.Set("dtype", DType::kFloat32);
  attrs.Set("shape", PartialShape::Known({-1, 4}));
  ir::Node* x = g.AddNode("kiln_input_0", "Placeholder", {}, attrs, 1);
  g.inputs().push_back({"kiln_input_0", {x->id, 0}});
  ir::AttrMap relu_attrs;
  relu_attrs.Set("T", DType::kFloat32);
  ir::Node* relu = g.AddNode("relu", "Relu", {{x->id, 0}}, relu_attrs, 1);
  g.outputs().push_back({"kiln_output_0", {relu->id, 0}});
  EXPECT_TRUE(ir::InferShapes(g).ok());
  EngineOpSpec spec;
  spec.name = "seg";
  spec.function = "seg_native";
  spec.input_dtypes = {DType::kFloat32};
  spec.output_dtypes = {DType::kFloat32};
  spec.input_shapes = {PartialShape::Known({-1, 4})};
  spec.output_shapes = {PartialShape::Known({-1, 4})};
  spec.input_tensors = {"x:0"};
  spec.allow_native_fallback = allow_fallback;
  return EngineOp::Create(spec, std::move(g), backend, {}).value();
}

Tensor Input() { return Tensor::FromVector<float>({2, 4}, {-1, 2, -3, 4, 5, -6, 7, -8}); }

TEST(EngineOpFallback, AnEngineFailingAtRunTimeFallsBackOnceWarned) {
  FakeBehaviour b;
  FakeBackend backend(b);
  auto op = MakeOp(backend, /*allow_fallback=*/true);
  KILN_ASSERT_OK_AND_ASSIGN(auto engine_out, op->Run({Input()}));
  EXPECT_EQ(engine_out[0].data<float>()[0], 99.f);  // the engine answered

  b.fail_run = true;
  testing::WarningCapture warnings;
  for (int i = 0; i < 3; ++i) {
    KILN_ASSERT_OK_AND_ASSIGN(auto out, op->Run({Input()}));
    EXPECT_EQ(out[0].data<float>()[0], 0.f);  // Relu(-1): the native segment answered
    EXPECT_EQ(out[0].data<float>()[1], 2.f);
  }
  ASSERT_EQ(warnings.warnings().size(), 1u) << warnings.All();
  EXPECT_EQ(warnings.warnings()[0],
            "the engine of segment 'seg' failed at run time: Internal: device lost; running the segment's native ops");
  const EngineOpStats s = op->stats();
  EXPECT_EQ(s.engine_runs, 1);
  EXPECT_EQ(s.native_runs, 3);
  EXPECT_EQ(s.engines_built, 1);
}

// The op's lock covers its cache and statistics, not the engines: two threads run one engine at
// the same time (each run waits until the other is inside too; serialized runs would time out).
TEST(EngineOpConcurrency, ThreadsRunOneEngineAtOnce) {
  FakeBehaviour b;
  FakeBackend backend(b);
  auto op = MakeOp(backend, /*allow_fallback=*/true);
  KILN_ASSERT_OK(op->Run({Input()}).status());  // builds the engine
  b.rendezvous = 2;
  std::vector<StatusOr<std::vector<Tensor>>> results(2, Internal("not run"));
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) threads.emplace_back([&, t] { results[t] = op->Run({Input()}); });
  for (auto& th : threads) th.join();
  EXPECT_EQ(b.most.load(), 2);
  for (const auto& r : results) {
    KILN_ASSERT_OK(r.status());
    EXPECT_EQ((*r)[0].data<float>()[0], 99.f);  // the engine answered both
  }
  const EngineOpStats s = op->stats();
  EXPECT_EQ(s.engine_runs, 3);
  EXPECT_EQ(s.engines_built, 1);
  EXPECT_EQ(b.builds, 1);
}

TEST(EngineOpFallback, WithoutFallbackFailuresAreErrors) {
  FakeBehaviour b;
  FakeBackend backend(b);
  auto op = MakeOp(backend, /*allow_fallback=*/false);
  b.fail_run = true;
  auto run = op->Run({Input()});
  ASSERT_FALSE(run.ok());
  EXPECT_EQ(run.status().message(),
            "the engine of segment 'seg' failed at run time: Internal: device lost; native fallback is disabled "
            "(allow_native_fallback=false)");

  FakeBehaviour fails_build{true, false, 0};
  FakeBackend broken(fails_build);
  auto op2 = MakeOp(broken, /*allow_fallback=*/false);
  run = op2->Run({Input()});
  ASSERT_FALSE(run.ok());
  EXPECT_NE(run.status().message().find("building an engine for segment 'seg' at shapes [2,4]: the fake backend "
                                        "cannot build this"),
            std::string::npos)
      << run.status().ToString();
}

TEST(EngineOpFallback, AFailedBuildRunsNativelyAndIsNotRetried) {
  FakeBehaviour b{true, false, 0};
  FakeBackend backend(b);
  auto op = MakeOp(backend, /*allow_fallback=*/true);
  testing::WarningCapture warnings;
  KILN_ASSERT_OK_AND_ASSIGN(auto out, op->Run({Input()}));
  EXPECT_EQ(out[0].data<float>()[1], 2.f);
  EXPECT_TRUE(warnings.Saw("building an engine for segment 'seg' at shapes [2,4]")) << warnings.All();
  KILN_ASSERT_OK_AND_ASSIGN(out, op->Run({Input()}));
  EXPECT_EQ(warnings.warnings().size(), 1u) << "one warning per shape";
  EXPECT_EQ(op->stats().native_runs, 2);
  EXPECT_EQ(b.builds, 1);
  KILN_ASSERT_OK_AND_ASSIGN(out, op->Run({testing::Rows(Input(), 0, 1)}));  // another shape: tried once
  EXPECT_EQ(b.builds, 2);
  EXPECT_EQ(warnings.warnings().size(), 2u);
}

TEST(EngineOpFallback, InputsAreCheckedBeforeAnything) {
  FakeBehaviour b;
  FakeBackend backend(b);
  auto op = MakeOp(backend, /*allow_fallback=*/true);
  auto run = op->Run({Tensor::FromVector<float>({4}, {1, 2, 3, 4})});
  ASSERT_FALSE(run.ok());
  EXPECT_EQ(run.status().message(), "segment 'seg' input 0 (x:0) expects float32 [?,4], got float32 [4]");
  run = op->Run({Input(), Input()});
  ASSERT_FALSE(run.ok());
  EXPECT_EQ(run.status().message(), "segment 'seg' takes 1 inputs, got 2");
  EXPECT_EQ(b.builds, 0);
}

}  // namespace
}  // namespace kiln::engine
