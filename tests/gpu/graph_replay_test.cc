// Executor runs replayed as CUDA graphs (what CUDA engines run): the same answers as ordinary runs
// on fresh inputs at every step, from the host or on the caller's stream, from several threads at
// once, and ordinary runs where a run cannot be captured.
#include <cuda_runtime.h>

#include <cstdlib>
#include <thread>

#include "convert/convert_test_util.h"
#include "ir/op_registry.h"
#include "runtime/device_context.h"
#include "runtime/graph_replays.h"

namespace kiln {
namespace {

class GraphReplayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (CudaDeviceCount() == 0) GTEST_SKIP() << "no CUDA GPU on this machine (or kiln built without CUDA)";
  }

  ir::Node* Placeholder(ir::Graph& g, const std::string& name, DType dtype, std::vector<int64_t> dims) {
    ir::AttrMap a;
    a.Set("dtype", dtype);
    a.Set("shape", PartialShape::Known(std::move(dims)));
    ir::Node* p = g.AddNode(name, "Placeholder", {}, a, 1);
    g.inputs().push_back({name, {p->id, 0}});
    return p;
  }
  ir::Node* Op(ir::Graph& g, const std::string& name, const std::string& op, std::vector<ir::ValueRef> inputs,
               ir::AttrMap attrs = {}) {
    ir::Node* n = g.AddNode(name, op, std::move(inputs), std::move(attrs), 1);
    EXPECT_TRUE(ir::OpRegistry::Global().ApplyDefaults(*n).ok());
    return n;
  }

  // x [?, 64] -> MatMul -> BiasAdd -> Relu -> MatMul -> Softmax (a product on cuBLAS, elementwise
  // and reduction kernels, several intermediates).
  ir::Graph Mlp() {
    ir::Graph g;
    ir::Node* x = Placeholder(g, "x", DType::kFloat32, {-1, 64});
    ir::Node* w1 = g.AddConst("w1", testing::RandomTensor(DType::kFloat32, {64, 48}, 1));
    ir::Node* b1 = g.AddConst("b1", testing::RandomTensor(DType::kFloat32, {48}, 2));
    ir::Node* w2 = g.AddConst("w2", testing::RandomTensor(DType::kFloat32, {48, 10}, 3));
    ir::Node* h = Op(g, "h", "MatMul", {{x->id, 0}, {w1->id, 0}});
    ir::Node* hb = Op(g, "hb", "BiasAdd", {{h->id, 0}, {b1->id, 0}});
    ir::Node* r = Op(g, "r", "Relu", {{hb->id, 0}});
    ir::Node* y = Op(g, "y", "MatMul", {{r->id, 0}, {w2->id, 0}});
    ir::Node* p = Op(g, "p", "Softmax", {{y->id, 0}});
    g.outputs().push_back({"probs", {p->id, 0}});
    g.outputs().push_back({"logits", {y->id, 0}});
    EXPECT_TRUE(ir::InferShapes(g).ok());
    return g;
  }

  std::unique_ptr<runtime::Executor> OnGpu(const ir::Graph& g) {
    auto ex = runtime::Executor::Create(g, {.device = Device::CUDA()});
    EXPECT_TRUE(ex.ok()) << ex.status().ToString();
    return ex.ok() ? std::move(ex).value() : nullptr;
  }

  static void ExpectSame(const std::vector<Tensor>& got, const std::vector<Tensor>& want) {
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i) {
      KILN_ASSERT_OK_AND_ASSIGN(Tensor host, CopyTensor(got[i], Device::CPU()));
      EXPECT_TRUE(testing::TensorsNear(host, want[i], 1e-6, 1e-6)) << "output " << i;
    }
  }
};

TEST_F(GraphReplayTest, ReplaysAnswerLikeOrdinaryRunsOnFreshInputs) {
  ir::Graph g = Mlp();
  auto ex = OnGpu(g);
  ASSERT_NE(ex, nullptr);
  KILN_ASSERT_OK_AND_ASSIGN(auto replays, runtime::CreateGraphReplays(*ex));
  for (int step = 0; step < 6; ++step) {
    SCOPED_TRACE(step);
    Tensor x = testing::RandomTensor(DType::kFloat32, {8, 64}, 100 + step);
    KILN_ASSERT_OK_AND_ASSIGN(auto want, ex->Run({x}));
    KILN_ASSERT_OK_AND_ASSIGN(auto got, replays->Run({x}, nullptr));
    EXPECT_TRUE(got[0].on_host());
    ExpectSame(got, want);
  }
  runtime::ReplayStats s = replays->stats();
  EXPECT_EQ(s.uncaptured_runs, 2);  // algorithm choices, then the recording
  EXPECT_EQ(s.captures, 1);
  EXPECT_EQ(s.failed_captures, 0);
  EXPECT_EQ(s.replays, 4);
  EXPECT_GT(s.arena_bytes, 0u);

  // Another batch is a graph of its own; the first keeps replaying.
  for (int step = 0; step < 4; ++step) {
    for (int64_t batch : {3, 8}) {
      Tensor x = testing::RandomTensor(DType::kFloat32, {batch, 64}, 200 + step + batch);
      KILN_ASSERT_OK_AND_ASSIGN(auto want, ex->Run({x}));
      KILN_ASSERT_OK_AND_ASSIGN(auto got, replays->Run({x}, nullptr));
      ExpectSame(got, want);
    }
  }
  s = replays->stats();
  EXPECT_EQ(s.captures, 2);
  EXPECT_EQ(s.replays, 4 + 4 + 2);
}

// On the caller's stream, with device inputs: the outputs stay on the device and are the caller's
// own (a later replay does not overwrite them).
TEST_F(GraphReplayTest, DeviceRunsLeaveTheirOutputsOnTheDevice) {
  ir::Graph g = Mlp();
  auto ex = OnGpu(g);
  ASSERT_NE(ex, nullptr);
  KILN_ASSERT_OK_AND_ASSIGN(auto replays, runtime::CreateGraphReplays(*ex));
  cudaStream_t stream = nullptr;
  ASSERT_EQ(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), cudaSuccess);
  {
    KILN_ASSERT_OK_AND_ASSIGN(auto ctx, runtime::OpenDeviceContext(Device::CUDA(), stream, false));
    std::vector<std::vector<Tensor>> kept, wanted;
    for (int step = 0; step < 5; ++step) {
      Tensor x = testing::RandomTensor(DType::kFloat32, {16, 64}, 300 + step);
      KILN_ASSERT_OK_AND_ASSIGN(wanted.emplace_back(), ex->Run({x}));
      KILN_ASSERT_OK_AND_ASSIGN(Tensor on_device, ctx->ToDevice(x));
      KILN_ASSERT_OK_AND_ASSIGN(kept.emplace_back(), replays->Run({on_device}, ctx.get()));
      for (const Tensor& t : kept.back()) EXPECT_EQ(t.device(), Device::CUDA());
    }
    KILN_ASSERT_OK(ctx->Synchronize());
    for (size_t i = 0; i < kept.size(); ++i) ExpectSame(kept[i], wanted[i]);
    EXPECT_EQ(replays->stats().replays, 3);
  }
  cudaStreamDestroy(stream);
}

// Concurrent runs never share a captured graph's arena: each thread's answers are its own.
TEST_F(GraphReplayTest, ConcurrentRunsEachTakeAGraphOfTheirOwn) {
  ir::Graph g = Mlp();
  auto ex = OnGpu(g);
  ASSERT_NE(ex, nullptr);
  KILN_ASSERT_OK_AND_ASSIGN(auto replays, runtime::CreateGraphReplays(*ex));
  constexpr int kThreads = 4, kSteps = 25;
  std::vector<Tensor> inputs, wanted;
  for (int t = 0; t < kThreads; ++t) {
    inputs.push_back(testing::RandomTensor(DType::kFloat32, {32, 64}, 400 + t));
    KILN_ASSERT_OK_AND_ASSIGN(auto want, ex->Run({inputs.back()}));
    wanted.push_back(want[1]);
  }
  std::vector<int> wrong(kThreads, 0), failed(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int step = 0; step < kSteps; ++step) {
        auto got = replays->Run({inputs[t]}, nullptr);
        if (!got.ok()) {
          ++failed[t];
        } else if (!testing::TensorsNear((*got)[1], wanted[t], 1e-6, 1e-6)) {
          ++wrong[t];
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(failed[t], 0) << "thread " << t;
    EXPECT_EQ(wrong[t], 0) << "thread " << t;
  }
  const runtime::ReplayStats s = replays->stats();
  EXPECT_GE(s.captures, 1);
  EXPECT_LE(s.captures, kThreads);
  EXPECT_GT(s.replays, kThreads * kSteps / 2);
}

// Pad moves elements by index maps the host computes and copies over: a captured run keeps those
// copies' sources (pinned buffers made before the capture), and replays stay right.
TEST_F(GraphReplayTest, HostComputedIndexMapsAreReplayedToo) {
  ir::Graph g;
  ir::Node* x = Placeholder(g, "x", DType::kFloat32, {4, 6});
  ir::Node* pads = g.AddConst("pads", Tensor::FromVector<int32_t>({2, 2}, {1, 1, 2, 0}));
  ir::Node* pad = Op(g, "pad", "Pad", {{x->id, 0}, {pads->id, 0}});
  ir::Node* relu = Op(g, "relu", "Relu", {{pad->id, 0}});
  g.outputs().push_back({"y", {relu->id, 0}});
  KILN_ASSERT_OK(ir::InferShapes(g));
  auto ex = OnGpu(g);
  ASSERT_NE(ex, nullptr);
  KILN_ASSERT_OK_AND_ASSIGN(auto replays, runtime::CreateGraphReplays(*ex));
  for (int step = 0; step < 6; ++step) {
    Tensor in = testing::RandomTensor(DType::kFloat32, {4, 6}, 500 + step);
    KILN_ASSERT_OK_AND_ASSIGN(auto want, ex->Run({in}));
    KILN_ASSERT_OK_AND_ASSIGN(auto got, replays->Run({in}, nullptr));
    ExpectSame(got, want);
  }
  EXPECT_EQ(replays->stats().failed_captures, 0);
  EXPECT_EQ(replays->stats().replays, 4);
}

// Gather reads its indices on the host: a run fed device indices waits for the device, which a
// capture cannot. The first capture finds it out, before any call that would break the capture, and
// runs stay ordinary (and right) from then on, with one warning saying why.
TEST_F(GraphReplayTest, RunsThatWaitForTheDeviceStayUncaptured) {
  ir::Graph g;
  ir::Node* params = g.AddConst("params", testing::RandomTensor(DType::kFloat32, {10, 4}, 5));
  ir::Node* indices = Placeholder(g, "indices", DType::kInt32, {3});
  ir::Node* gather = Op(g, "gather", "Gather", {{params->id, 0}, {indices->id, 0}});
  g.outputs().push_back({"rows", {gather->id, 0}});
  KILN_ASSERT_OK(ir::InferShapes(g));
  auto ex = OnGpu(g);
  ASSERT_NE(ex, nullptr);
  KILN_ASSERT_OK_AND_ASSIGN(auto replays, runtime::CreateGraphReplays(*ex));
  testing::WarningCapture warnings;
  for (int step = 0; step < 8; ++step) {
    Tensor idx = Tensor::FromVector<int32_t>({3}, {step % 10, (step + 3) % 10, 9});
    KILN_ASSERT_OK_AND_ASSIGN(auto want, ex->Run({idx}));
    KILN_ASSERT_OK_AND_ASSIGN(auto got, replays->Run({idx}, nullptr));
    ExpectSame(got, want);
  }
  const runtime::ReplayStats s = replays->stats();
  EXPECT_EQ(s.replays, 0);
  EXPECT_EQ(s.failed_captures, 1);
  EXPECT_EQ(s.uncaptured_runs, 8);
  EXPECT_EQ(warnings.warnings().size(), 1u) << warnings.All();
  EXPECT_TRUE(warnings.Saw("not captured as a CUDA graph")) << warnings.All();
  EXPECT_TRUE(warnings.Saw("reads a device value on the host")) << warnings.All();
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);
}

TEST_F(GraphReplayTest, TheEnvironmentCanTurnCaptureOff) {
  ir::Graph g = Mlp();
  auto ex = OnGpu(g);
  ASSERT_NE(ex, nullptr);
  setenv("KILN_CUDA_GRAPHS", "0", 1);
  auto replays = runtime::CreateGraphReplays(*ex);
  unsetenv("KILN_CUDA_GRAPHS");
  KILN_ASSERT_OK(replays.status());
  Tensor x = testing::RandomTensor(DType::kFloat32, {4, 64}, 9);
  KILN_ASSERT_OK_AND_ASSIGN(auto want, ex->Run({x}));
  for (int step = 0; step < 4; ++step) {
    KILN_ASSERT_OK_AND_ASSIGN(auto got, (*replays)->Run({x}, nullptr));
    ExpectSame(got, want);
  }
  EXPECT_EQ((*replays)->stats().replays, 0);
  EXPECT_EQ((*replays)->stats().captures, 0);
}

}  // namespace
}  // namespace kiln
