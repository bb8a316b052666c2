// Fused convolutions on the GPU as one cuDNN graph (conv, bias, residual, activation): the same
// answers as the CPU's fused kernel, the graph path taken where it applies (its tactic recorded),
// and the conv-then-epilogue path where it does not.
#include <cuda_runtime.h>

#include "gpu/gpu_test_util.h"
#include "ir/op_registry.h"
#include "runtime/executor.h"
#include "runtime/tactics.h"

namespace kiln {
namespace {

using ir::ValueRef;
using testing::Attrs;
using testing::Cast;

// Which path computes the case: cuDNN's graph, conv then epilogue, or either (where it depends on
// what the cuDNN version's runtime fusion takes).
enum class Path { kGraph, kSeparate, kEither };

struct Case {
  const char* name;
  DType dtype;
  int64_t channels, filters;
  std::vector<std::string> fused_ops;
  Path path;
};

class FusedConvGraphTest : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override {
    if (CudaDeviceCount() == 0) GTEST_SKIP() << "no CUDA GPU on this machine (or kiln built without CUDA)";
  }
};

// The fused convolution over NHWC inputs with values of `dtype` precision, computed in `t`.
struct FusedConv {
  ir::Graph graph;
  std::vector<Tensor> feed;
};

FusedConv Build(const Case& c, DType t) {
  testing::Builder b;
  auto values = [&](Shape shape, uint64_t seed, double range) {
    return Cast(Cast(testing::RandomTensor(DType::kFloat32, std::move(shape), seed, -range, range), c.dtype), t);
  };
  auto input = [&](const std::string& name, Shape shape) {
    ir::AttrMap a;
    a.Set("dtype", t);
    a.Set("shape", PartialShape::Known(shape));
    ir::Node* n = b.graph().AddNode(name, "Placeholder", {}, a, 1);
    b.graph().inputs().push_back({name, {n->id, 0}});
    return ValueRef{n->id, 0};
  };
  FusedConv f;
  std::vector<ValueRef> inputs = {input("x", {2, 9, 10, c.channels}),
                                  b.Const("w", values({3, 3, c.channels, c.filters}, 1, 0.3))};
  f.feed.push_back(values({2, 9, 10, c.channels}, 3, 1.0));
  for (const std::string& op : c.fused_ops) {
    if (op == "BiasAdd") inputs.push_back(b.Const("bias", values({c.filters}, 2, 1.0)));
    if (op == "Add") {
      inputs.push_back(input("r", {2, 5, 5, c.filters}));
      f.feed.push_back(values({2, 5, 5, c.filters}, 4, 1.0));
    }
  }
  b.Output(b.Op("conv", "KilnFusedConv2D", inputs,
                Attrs({{"T", t},
                       {"strides", std::vector<int64_t>{1, 2, 2, 1}},
                       {"padding", std::string("SAME")},
                       {"fused_ops", c.fused_ops}})));
  EXPECT_TRUE(ir::InferShapes(b.graph()).ok());
  f.graph = std::move(b.graph());
  return f;
}

TEST_P(FusedConvGraphTest, MatchesTheCpu) {
  const Case& c = GetParam();
  // The CPU's fused kernel computes in float32, on the same (rounded) values.
  FusedConv reference = Build(c, DType::kFloat32), on_gpu = Build(c, c.dtype);
  KILN_ASSERT_OK_AND_ASSIGN(auto cpu, runtime::Executor::Create(reference.graph));
  KILN_ASSERT_OK_AND_ASSIGN(auto gpu, runtime::Executor::Create(on_gpu.graph, {.device = Device::CUDA()}));
  KILN_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> want, cpu->Run(reference.feed));
  runtime::TacticRecorder recorder;
  for (int run = 0; run < 2; ++run) {  // the first chooses the plan, the second reuses it
    KILN_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> got, gpu->Run(on_gpu.feed));
    const double tol = c.dtype == DType::kFloat32 ? 1e-4 : 3e-2;
    EXPECT_TRUE(testing::TensorsNear(Cast(got[0], DType::kFloat32), want[0], tol, tol)) << "run " << run;
  }
  bool graph_tactic = false;
  for (const auto& [key, value] : recorder.tactics()) graph_tactic |= key.rfind("cudnn-graph-conv", 0) == 0;
  if (c.path != Path::kEither) EXPECT_EQ(graph_tactic, c.path == Path::kGraph);
}

INSTANTIATE_TEST_SUITE_P(
    Epilogues, FusedConvGraphTest,
    ::testing::Values(
        Case{"half_bias_residual_relu", DType::kFloat16, 16, 32, {"BiasAdd", "Add", "Relu"}, Path::kGraph},
        // A clipped relu: cuDNN 9.19's runtime fusion on an H100 declined it (2026-12-07).
        Case{"half_bias_relu6", DType::kFloat16, 16, 8, {"BiasAdd", "Relu6"}, Path::kEither},
        Case{"bf16_bias_sigmoid", DType::kBFloat16, 8, 16, {"BiasAdd", "Sigmoid"}, Path::kGraph},
        Case{"half_bias_only", DType::kFloat16, 16, 16, {"BiasAdd"}, Path::kGraph},
        // Channels that are not a multiple of 8 (1 to 5, every epilogue), float32 and Selu: conv,
        // then epilogue.
        Case{"half_three_channels", DType::kFloat16, 3, 16, {"BiasAdd", "Relu"}, Path::kSeparate},
        Case{"half_one_channel_residual", DType::kFloat16, 1, 32, {"BiasAdd", "Add", "Relu"}, Path::kSeparate},
        Case{"bf16_two_channels_gelu", DType::kBFloat16, 2, 8, {"BiasAdd", "KilnGelu"}, Path::kSeparate},
        Case{"float_three_channels_leaky", DType::kFloat32, 3, 12, {"BiasAdd", "LeakyRelu"}, Path::kSeparate},
        Case{"half_five_channels", DType::kFloat16, 5, 16, {"BiasAdd", "Tanh"}, Path::kSeparate},
        Case{"float_bias_relu", DType::kFloat32, 16, 16, {"BiasAdd", "Relu"}, Path::kSeparate},
        Case{"half_selu", DType::kFloat16, 16, 16, {"BiasAdd", "Selu"}, Path::kSeparate}),
    [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace kiln
