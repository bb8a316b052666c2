// The native runtime on a GPU: placement, copies, I/O binding, streams, memory and errors.
#include <cuda_runtime.h>

#include <thread>

#include "io/npy.h"
#include "ir/op_registry.h"
#include "ir/shape_fns.h"
#include "kiln/model.h"
#include "runtime/executor.h"
#include "util/test_util.h"

namespace kiln {
namespace {

class CudaRuntimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (CudaDeviceCount() == 0) GTEST_SKIP() << "no CUDA GPU on this machine (or kiln built without CUDA)";
  }
  static std::string Mnist() { return testing::SourcePath("fixtures/mnist/saved_model"); }
  static Tensor Images() { return io::ReadNpy(testing::SourcePath("fixtures/mnist/heldout_images.npy")).value(); }
};

TEST_F(CudaRuntimeTest, MnistOnTheGpuMatchesTheCpu) {
  KILN_ASSERT_OK_AND_ASSIGN(auto cpu, Model::Load(Mnist()));
  KILN_ASSERT_OK_AND_ASSIGN(auto gpu, Model::Load(Mnist(), {.device = Device::CUDA()}));
  EXPECT_EQ(gpu->device(), Device::CUDA());
  EXPECT_TRUE(gpu->host_nodes().empty()) << gpu->host_nodes()[0].name << ": " << gpu->host_nodes()[0].reason;
  const std::string input = cpu->signature().inputs[0].name;
  KILN_ASSERT_OK_AND_ASSIGN(auto want, cpu->Run({{input, Images()}}));
  KILN_ASSERT_OK_AND_ASSIGN(auto got, gpu->Run({{input, Images()}}));
  for (const auto& [name, t] : want) {
    ASSERT_TRUE(got.at(name).on_host());
    EXPECT_TRUE(testing::TensorsNear(got.at(name), t, 1e-5, 1e-4)) << name;
  }
}

// x -> Reshape(x, Pack(StridedSlice(Shape(x)), -1)) -> Relu: the shape arithmetic stays on the
// host, the data on the device, and only the small shape vector would cross (it never does).
TEST_F(CudaRuntimeTest, ShapeComputationsStayOnTheHost) {
  ir::Graph g;
  ir::AttrMap pa;
  pa.Set("dtype", DType::kFloat32);
  pa.Set("shape", PartialShape::Known({4, 3, 5}));
  ir::Node* x = g.AddNode("x", "Placeholder", {}, pa, 1);
  g.inputs().push_back({"x", {x->id, 0}});
  ir::AttrMap sa;
  sa.Set("out_type", DType::kInt32);
  ir::Node* shape = g.AddNode("shape", "Shape", {{x->id, 0}}, sa, 1);
  ir::Node* begin = g.AddConst("begin", Tensor::FromVector<int32_t>({1}, {0}));
  ir::Node* end = g.AddConst("end", Tensor::FromVector<int32_t>({1}, {1}));
  ir::Node* step = g.AddConst("step", Tensor::FromVector<int32_t>({1}, {1}));
  ir::AttrMap ss;
  ss.Set("shrink_axis_mask", int64_t{1});
  ir::Node* batch = g.AddNode("batch", "StridedSlice", {{shape->id, 0}, {begin->id, 0}, {end->id, 0}, {step->id, 0}},
                              ss, 1);
  ir::Node* minus_one = g.AddConst("minus_one", Tensor::Scalar<int32_t>(-1));
  ir::AttrMap pk;
  pk.Set("N", int64_t{2});
  ir::Node* pack = g.AddNode("pack", "Pack", {{batch->id, 0}, {minus_one->id, 0}}, pk, 1);
  ir::Node* reshape = g.AddNode("reshape", "Reshape", {{x->id, 0}, {pack->id, 0}}, {}, 1);
  ir::Node* relu = g.AddNode("relu", "Relu", {{reshape->id, 0}}, {}, 1);
  g.outputs().push_back({"y", {relu->id, 0}});
  for (int i = 0; i < g.num_nodes(); ++i) KILN_ASSERT_OK(ir::OpRegistry::Global().ApplyDefaults(g.node(i)));
  KILN_ASSERT_OK(ir::InferShapes(g));

  KILN_ASSERT_OK_AND_ASSIGN(auto ex, runtime::Executor::Create(g, {.device = Device::CUDA()}));
  const runtime::Placement& p = ex->placement();
  EXPECT_FALSE(p.OnDevice(shape->id));
  EXPECT_FALSE(p.OnDevice(batch->id));
  EXPECT_FALSE(p.OnDevice(pack->id));
  EXPECT_TRUE(p.OnDevice(reshape->id));
  EXPECT_TRUE(p.OnDevice(relu->id));
  EXPECT_EQ(p.host_reasons.at(shape->id), "reads only its inputs' shapes");
  EXPECT_EQ(p.host_reasons.at(pack->id), "computes a shape value that only the host reads");

  const Tensor in = testing::RandomTensor(DType::kFloat32, {4, 3, 5}, 3, -1, 1);
  KILN_ASSERT_OK_AND_ASSIGN(auto got, ex->Run({in}));
  KILN_ASSERT_OK_AND_ASSIGN(auto cpu, runtime::Executor::Create(g));
  KILN_ASSERT_OK_AND_ASSIGN(auto want, cpu->Run({in}));
  EXPECT_EQ(got[0].shape(), (Shape{4, 15}));
  EXPECT_TRUE(testing::TensorsNear(got[0], want[0], 0, 0));
}

TEST_F(CudaRuntimeTest, InputsAndOutputsCanStayOnTheDevice) {
  KILN_ASSERT_OK_AND_ASSIGN(auto model, Model::Load(Mnist(), {.device = Device::CUDA()}));
  const std::string input = model->signature().inputs[0].name;
  const Tensor images = Images();
  KILN_ASSERT_OK_AND_ASSIGN(auto on_host, model->Run({{input, images}}));
  KILN_ASSERT_OK_AND_ASSIGN(Tensor on_device, CopyTensor(images, Device::CUDA()));
  RunOptions stay;
  stay.outputs_on_device = true;
  KILN_ASSERT_OK_AND_ASSIGN(auto out, model->Run({{input, on_device}}, stay));
  for (const auto& [name, t] : out) {
    EXPECT_EQ(t.device(), Device::CUDA()) << name;
    KILN_ASSERT_OK_AND_ASSIGN(Tensor back, CopyTensor(t, Device::CPU()));
    EXPECT_TRUE(testing::TensorsNear(back, on_host.at(name), 0, 0)) << name;
  }
}

// I/O binding on the caller's stream: the caller owns the input's memory, and nothing waits until
// the caller synchronizes.
TEST_F(CudaRuntimeTest, RunsOnTheCallersStreamAndMemory) {
  KILN_ASSERT_OK_AND_ASSIGN(auto model, Model::Load(Mnist(), {.device = Device::CUDA()}));
  const std::string input = model->signature().inputs[0].name;
  const Tensor images = Images();
  KILN_ASSERT_OK_AND_ASSIGN(auto want, model->Run({{input, images}}));
  cudaStream_t stream = nullptr;
  ASSERT_EQ(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), cudaSuccess);
  void* mine = nullptr;
  ASSERT_EQ(cudaMalloc(&mine, images.byte_size()), cudaSuccess);
  ASSERT_EQ(cudaMemcpy(mine, images.raw_data(), images.byte_size(), cudaMemcpyHostToDevice), cudaSuccess);
  {
    KILN_ASSERT_OK_AND_ASSIGN(Tensor bound, Tensor::FromPointer(images.dtype(), images.shape(), mine, Device::CUDA()));
    RunOptions options;
    options.stream = stream;
    options.outputs_on_device = true;
    KILN_ASSERT_OK_AND_ASSIGN(auto out, model->Run({{input, bound}}, options));
    ASSERT_EQ(cudaStreamSynchronize(stream), cudaSuccess);
    for (const auto& [name, t] : out) {
      KILN_ASSERT_OK_AND_ASSIGN(Tensor back, CopyTensor(t, Device::CPU(), stream));
      EXPECT_TRUE(testing::TensorsNear(back, want.at(name), 0, 0)) << name;
    }
  }
  ASSERT_EQ(cudaStreamSynchronize(stream), cudaSuccess);
  cudaFree(mine);
  cudaStreamDestroy(stream);
}

// The memory plan holds on the device: what a run allocates goes back to kiln's pool, and repeated
// runs take it from there rather than from the driver.
TEST_F(CudaRuntimeTest, SteadyRunsReuseThePool) {
  KILN_ASSERT_OK_AND_ASSIGN(auto model, Model::Load(Mnist(), {.device = Device::CUDA()}));
  const std::string input = model->signature().inputs[0].name;
  const Tensor images = Images();
  KILN_ASSERT_OK(model->Run({{input, images}}).status());
  KILN_ASSERT_OK_AND_ASSIGN(DeviceMemoryStats before, GetDeviceMemoryStats(Device::CUDA()));
  KILN_ASSERT_OK(ResetPeakDeviceMemory(Device::CUDA()));
  for (int i = 0; i < 5; ++i) KILN_ASSERT_OK(model->Run({{input, images}}).status());
  KILN_ASSERT_OK_AND_ASSIGN(DeviceMemoryStats after, GetDeviceMemoryStats(Device::CUDA()));
  EXPECT_EQ(after.in_use_bytes, before.in_use_bytes);  // the weights, nothing left behind
  EXPECT_EQ(after.reserved_bytes, before.reserved_bytes);
  EXPECT_GT(after.peak_bytes, after.in_use_bytes);
  std::printf("weights %lld bytes, run peak %lld bytes, pool %lld bytes\n",
              static_cast<long long>(after.in_use_bytes), static_cast<long long>(after.peak_bytes),
              static_cast<long long>(after.reserved_bytes));
}

// Elementwise kernels run in place on values nothing reads after them: x -> Exp -> Neg, then
// Mul with x (still live). With forwarding two x-sized buffers are live at once, not three.
TEST_F(CudaRuntimeTest, ElementwiseKernelsReuseDeadInputs) {
  ir::Graph g;
  ir::AttrMap pa;
  pa.Set("dtype", DType::kFloat32);
  pa.Set("shape", PartialShape::Known({1024, 1024}));
  ir::Node* x = g.AddNode("x", "Placeholder", {}, pa, 1);
  g.inputs().push_back({"x", {x->id, 0}});
  ir::Node* a = g.AddNode("a", "Exp", {{x->id, 0}}, {}, 1);
  ir::Node* b = g.AddNode("b", "Neg", {{a->id, 0}}, {}, 1);
  ir::Node* c = g.AddNode("c", "Mul", {{b->id, 0}, {x->id, 0}}, {}, 1);
  g.outputs().push_back({"y", {c->id, 0}});
  for (int i = 0; i < g.num_nodes(); ++i) KILN_ASSERT_OK(ir::OpRegistry::Global().ApplyDefaults(g.node(i)));
  KILN_ASSERT_OK(ir::InferShapes(g));
  KILN_ASSERT_OK_AND_ASSIGN(auto gpu, runtime::Executor::Create(g, {.device = Device::CUDA()}));
  KILN_ASSERT_OK_AND_ASSIGN(auto cpu, runtime::Executor::Create(g));
  const Tensor in = testing::RandomTensor(DType::kFloat32, {1024, 1024}, 5, -2, 2);
  KILN_ASSERT_OK_AND_ASSIGN(auto want, cpu->Run({in}));
  KILN_ASSERT_OK_AND_ASSIGN(DeviceMemoryStats before, GetDeviceMemoryStats(Device::CUDA()));
  KILN_ASSERT_OK(ResetPeakDeviceMemory(Device::CUDA()));
  KILN_ASSERT_OK_AND_ASSIGN(auto got, gpu->Run({in}));
  KILN_ASSERT_OK_AND_ASSIGN(DeviceMemoryStats after, GetDeviceMemoryStats(Device::CUDA()));
  EXPECT_TRUE(testing::TensorsNear(got[0], want[0], 1e-6, 1e-6));
  const int64_t run_peak = after.peak_bytes - before.in_use_bytes;
  EXPECT_LE(run_peak, 2 * static_cast<int64_t>(in.byte_size()) + (int64_t{1} << 20)) << run_peak << " bytes";
}

TEST_F(CudaRuntimeTest, ThreadsShareOneModel) {
  KILN_ASSERT_OK_AND_ASSIGN(auto model, Model::Load(Mnist(), {.device = Device::CUDA()}));
  const std::string input = model->signature().inputs[0].name;
  const Tensor images = Images();
  KILN_ASSERT_OK_AND_ASSIGN(auto want, model->Run({{input, images}}));
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        auto got = model->Run({{input, images}});
        if (!got.ok()) {
          ++mismatches[t];
          continue;
        }
        for (const auto& [name, v] : want) mismatches[t] += !testing::TensorsNear(got->at(name), v, 0, 0);
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < 4; ++t) EXPECT_EQ(mismatches[t], 0) << "thread " << t;
}

// Constant filters are put in cuDNN's layout once, when the model is loaded, and only that copy
// lives on the device; a filter computed in the run is arranged per run. Both match the CPU.
TEST_F(CudaRuntimeTest, ConstantFiltersAreArrangedOnceAtLoad) {
  ir::Graph g;
  auto placeholder = [&](const std::string& name, Shape shape) {
    ir::AttrMap a;
    a.Set("dtype", DType::kFloat32);
    a.Set("shape", PartialShape::Known(shape));
    ir::Node* n = g.AddNode(name, "Placeholder", {}, a, 1);
    g.inputs().push_back({name, {n->id, 0}});
    return n;
  };
  auto conv = [&](const std::string& name, const std::string& op, ir::Node* x, ir::Node* w, const std::string& format) {
    ir::AttrMap a;
    a.Set("strides", std::vector<int64_t>{1, 1, 1, 1});
    a.Set("padding", std::string("SAME"));
    a.Set("data_format", format);
    ir::Node* n = g.AddNode(name, op, {{x->id, 0}, {w->id, 0}}, a, 1);
    g.outputs().push_back({name, {n->id, 0}});
  };
  ir::Node* x = placeholder("x", {2, 9, 9, 64});
  ir::Node* x_nchw = placeholder("x_nchw", {2, 64, 9, 9});
  ir::Node* w_in = placeholder("w_in", {3, 3, 64, 32});
  ir::Node* w = g.AddConst("w", testing::RandomTensor(DType::kFloat32, {3, 3, 64, 32}, 1, -1, 1));
  ir::Node* dw = g.AddConst("dw", testing::RandomTensor(DType::kFloat32, {3, 3, 64, 2}, 2, -1, 1));
  conv("nhwc", "Conv2D", x, w, "NHWC");
  conv("nchw", "Conv2D", x_nchw, w, "NCHW");
  conv("depthwise", "DepthwiseConv2dNative", x, dw, "NHWC");
  conv("computed_filter", "Conv2D", x, w_in, "NHWC");
  for (int i = 0; i < g.num_nodes(); ++i) KILN_ASSERT_OK(ir::OpRegistry::Global().ApplyDefaults(g.node(i)));
  KILN_ASSERT_OK(ir::InferShapes(g));

  KILN_ASSERT_OK_AND_ASSIGN(DeviceMemoryStats before, GetDeviceMemoryStats(Device::CUDA()));
  KILN_ASSERT_OK_AND_ASSIGN(auto gpu, runtime::Executor::Create(g, {.device = Device::CUDA()}));
  KILN_ASSERT_OK_AND_ASSIGN(DeviceMemoryStats loaded, GetDeviceMemoryStats(Device::CUDA()));
  // One arranged copy of w per layout (NHWC, NCHW) and one of dw; the filters as given stay on the host.
  const int64_t arranged = 2 * 3 * 3 * 64 * 32 * 4 + 3 * 3 * 64 * 2 * 4;
  EXPECT_GE(loaded.in_use_bytes - before.in_use_bytes, arranged);
  EXPECT_LT(loaded.in_use_bytes - before.in_use_bytes, arranged + 3 * 3 * 64 * 32 * 4);

  KILN_ASSERT_OK_AND_ASSIGN(auto cpu, runtime::Executor::Create(g));
  const std::vector<Tensor> in = {testing::RandomTensor(DType::kFloat32, {2, 9, 9, 64}, 3, -1, 1),
                                  testing::RandomTensor(DType::kFloat32, {2, 64, 9, 9}, 4, -1, 1),
                                  std::get<Tensor>(*w->attrs.Find("value"))};
  KILN_ASSERT_OK_AND_ASSIGN(auto want, cpu->Run(in));
  for (int run = 0; run < 2; ++run) {
    KILN_ASSERT_OK_AND_ASSIGN(auto got, gpu->Run(in));
    for (size_t i = 0; i < want.size(); ++i) {
      EXPECT_TRUE(testing::TensorsNear(got[i], want[i], 1e-4, 1e-4)) << g.outputs()[i].name << " run " << run;
    }
  }
}

TEST_F(CudaRuntimeTest, OutOfMemoryNamesTheBytes) {
  KILN_ASSERT_OK_AND_ASSIGN(auto ctx, runtime::OpenDeviceContext(Device::CUDA(), nullptr, false));
  auto huge = ctx->Allocate(DType::kFloat32, {int64_t{1} << 40});
  ASSERT_FALSE(huge.ok());
  EXPECT_EQ(huge.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(huge.status().message().find("allocating 4398046511104 bytes"), std::string::npos)
      << huge.status().ToString();
  KILN_ASSERT_OK(ctx->Allocate(DType::kFloat32, {16}).status());  // the device is still usable
}

TEST_F(CudaRuntimeTest, DevicesThatDoNotExistAreClearErrors) {
  auto model = Model::Load(Mnist(), {.device = Device::CUDA(CudaDeviceCount())});
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(model.status().message().find("CUDA GPU(s)"), std::string::npos) << model.status().ToString();
}

TEST_F(CudaRuntimeTest, AnInputOnAnotherDeviceIsRefused) {
  if (CudaDeviceCount() < 2) GTEST_SKIP() << "needs two GPUs";
  KILN_ASSERT_OK_AND_ASSIGN(auto model, Model::Load(Mnist(), {.device = Device::CUDA(0)}));
  KILN_ASSERT_OK_AND_ASSIGN(Tensor elsewhere, CopyTensor(Images(), Device::CUDA(1)));
  auto out = model->Run({{model->signature().inputs[0].name, elsewhere}});
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("is on cuda:1"), std::string::npos) << out.status().ToString();
}

TEST_F(CudaRuntimeTest, CpuModelsTakeDeviceInputs) {
  KILN_ASSERT_OK_AND_ASSIGN(auto model, Model::Load(Mnist()));
  const std::string input = model->signature().inputs[0].name;
  KILN_ASSERT_OK_AND_ASSIGN(auto want, model->Run({{input, Images()}}));
  KILN_ASSERT_OK_AND_ASSIGN(Tensor on_device, CopyTensor(Images(), Device::CUDA()));
  KILN_ASSERT_OK_AND_ASSIGN(auto got, model->Run({{input, on_device}}));
  for (const auto& [name, t] : want) EXPECT_TRUE(testing::TensorsNear(got.at(name), t, 0, 0)) << name;
}

}  // namespace
}  // namespace kiln
