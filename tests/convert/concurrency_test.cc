// Threads sharing one loaded model, native or converted, get exactly the answers one thread gets,
// also while engines are being built at run time for shapes other threads are not using. Run under
// ThreadSanitizer by scripts/sanitize.sh thread.
#include <thread>

#include "convert/convert_test_util.h"

namespace kiln {
namespace {

using testing::Mnist;
using testing::MnistModel;

constexpr int kThreads = 6;
const int64_t kBatches[kThreads] = {1, 3, 8, 1, 5, 8};

// Each thread runs its batch size three times and checks each answer against `want`.
void RunFromThreads(const Model& model, const std::map<int64_t, Tensor>& want) {
  std::vector<std::string> failures(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const Tensor input = testing::Rows(Mnist().images, t, kBatches[t]);
      for (int i = 0; i < 3 && failures[t].empty(); ++i) {
        auto got = testing::RunSingle(model, "input_1", input);
        if (!got.ok()) {
          failures[t] = got.status().ToString();
        } else if (!testing::TensorsNear(*got, want.at(t), 0, 0)) {
          failures[t] = "run " + std::to_string(i) + " differs from one thread's answer";
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(failures[t], "") << "thread " << t;
}

// What one thread gets from `model` for each thread's rows.
std::map<int64_t, Tensor> OneThreadAnswers(const Model& model) {
  std::map<int64_t, Tensor> want;
  for (int t = 0; t < kThreads; ++t) {
    auto got = testing::RunSingle(model, "input_1", testing::Rows(Mnist().images, t, kBatches[t]));
    EXPECT_TRUE(got.ok()) << got.status().ToString();
    if (got.ok()) want[t] = *got;
  }
  return want;
}

TEST(ModelConcurrency, ThreadsShareANativeModel) {
  KILN_ASSERT_OK_AND_ASSIGN(auto model, Model::Load(MnistModel()));
  RunFromThreads(*model, OneThreadAnswers(*model));
}

// A converted model loaded twice: one copy answers from one thread (building an engine per batch
// size), the other from all threads at once, building the same engines concurrently with runs of
// the ones already built.
TEST(ModelConcurrency, EnginesBuiltWhileOtherThreadsRun) {
  testing::TempDir tmp("concurrency");
  ConversionParams params;
  params.engine_device = Device::CPU();
  params.maximum_cached_engines = 4;
  KILN_ASSERT_OK(testing::ConvertSaveLoad(MnistModel(), params, tmp.path("m")).status());
  KILN_ASSERT_OK_AND_ASSIGN(auto reference, Model::Load(tmp.path("m")));
  const std::map<int64_t, Tensor> want = OneThreadAnswers(*reference);
  KILN_ASSERT_OK_AND_ASSIGN(auto shared, Model::Load(tmp.path("m")));
  RunFromThreads(*shared, want);
  const EngineOpStats stats = shared->engine_stats().at(0);
  EXPECT_EQ(stats.native_runs, 0);
  EXPECT_GE(stats.engines_built, 4);  // batches 1, 3, 5 and 8
}

}  // namespace
}  // namespace kiln
