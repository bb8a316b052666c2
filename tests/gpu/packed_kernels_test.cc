// The memory-bound kernels' packed paths (16-byte loads and stores, a pack of elements per thread)
// and the element-wise paths they fall back to give the CPU's answers: elementwise chains with every
// kind of broadcast operand, layer norms of short and long rows, channels-last max pools (with and
// without an epilogue) and binary ops, in float32, float16 and bfloat16, at sizes that take each path.
#include <cuda_runtime.h>

#include "gpu/gpu_test_util.h"
#include "ir/op_registry.h"
#include "ir/ops/fused_ops.h"
#include "runtime/executor.h"

namespace kiln {
namespace {

using testing::ExpectGpuMatchesCpu;
using testing::OneOp;

class PackedKernelTest : public ::testing::TestWithParam<DType> {
 protected:
  void SetUp() override {
    if (CudaDeviceCount() == 0) GTEST_SKIP() << "no CUDA GPU on this machine (or kiln built without CUDA)";
  }
};

Tensor Random(Shape shape, uint64_t seed, double lo = -2.0, double hi = 2.0) {
  return testing::RandomTensor(DType::kFloat32, std::move(shape), seed, lo, hi);
}

std::string Step(const char* op, bool binary = false, bool lhs = true, int operand = 0) {
  return ir::EncodeElementwiseStep(op, binary, lhs, operand);
}

TEST_P(PackedKernelTest, ElementwiseChainsWithEveryOperandKind) {
  // x [rows, cols]: a scalar, a per-column vector (a pack per pack where cols is a multiple of the
  // pack), a per-row vector (one value per pack where cols is), and a full-size operand.
  for (const auto& [rows, cols] : std::vector<std::pair<int64_t, int64_t>>{{64, 768}, {16, 40}, {7, 13}, {3, 8}}) {
    OneOp spec{ir::kFusedElementwiseOp,
               {Random({rows, cols}, 1), Random({}, 2), Random({cols}, 3), Random({rows, 1}, 4),
                Random({rows, cols}, 5)},
               {false, true, true, true, false},
               {}};
    spec.attrs.Set("ops", std::vector<std::string>{Step("Mul", true, true, 1), Step("Erf"),
                                                   Step("AddV2", true, false, 2), Step("Sub", true, true, 3),
                                                   Step("Mul", true, false, 4), Step("Tanh"), Step("KilnGelu")});
    spec.attrs.Set("params", std::vector<float>{0, 0, 0, 0, 0, 0, 0.70710678f});
    ExpectGpuMatchesCpu(spec, GetParam());
  }
}

TEST_P(PackedKernelTest, LayerNormsOfShortAndLongRows) {
  // 768 and 64 columns take a warp per row; 13 and 5000 columns a block per row.
  for (const auto& [rows, cols] : std::vector<std::pair<int64_t, int64_t>>{{33, 768}, {9, 64}, {5, 13}, {3, 5000}}) {
    OneOp spec{ir::kLayerNormOp, {Random({rows, cols}, 6, -3, 5), Random({cols}, 7), Random({cols}, 8)},
               {false, true, true}, {}};
    spec.attrs.Set("axis", int64_t{1});
    spec.attrs.Set("epsilon", 1e-5f);
    ExpectGpuMatchesCpu(spec, GetParam(), 1e-4);
  }
}

TEST_P(PackedKernelTest, ChannelsLastMaxPools) {
  // 16 channels take packs; 6 do not. 3x3 and 2x2 windows take the unrolled kernel, 4x3 the general one.
  const std::vector<std::pair<std::vector<int64_t>, std::vector<int64_t>>> windows = {
      {{1, 3, 3, 1}, {1, 2, 2, 1}}, {{1, 3, 3, 1}, {1, 1, 1, 1}}, {{1, 2, 2, 1}, {1, 2, 2, 1}},
      {{1, 2, 2, 1}, {1, 1, 3, 1}}, {{1, 4, 3, 1}, {1, 2, 2, 1}}};
  for (int64_t channels : {16, 6}) {
    for (const auto& [ksize, strides] : windows) {
      for (const std::string padding : {"VALID", "SAME"}) {
        OneOp spec{"MaxPool", {Random({2, 11, 9, channels}, 9)}, {false}, {}};
        spec.attrs.Set("ksize", ksize);
        spec.attrs.Set("strides", strides);
        spec.attrs.Set("padding", padding);
        spec.attrs.Set("data_format", std::string("NHWC"));
        SCOPED_TRACE(::testing::PrintToString(ksize) + " strides " + ::testing::PrintToString(strides) + " " + padding);
        ExpectGpuMatchesCpu(spec, GetParam());
        // With the epilogue of the convolution before it.
        spec.values.push_back(Random({channels}, 10));
        spec.constant.push_back(true);
        spec.attrs.Set("fused_ops", std::vector<std::string>{"BiasAdd", "Relu"});
        ExpectGpuMatchesCpu(spec, GetParam());
      }
    }
  }
}

TEST_P(PackedKernelTest, BinaryOpsOfSameShapesAndScalars) {
  for (const int64_t n : {4096, 4100}) {
    ExpectGpuMatchesCpu({"AddV2", {Random({n}, 10), Random({n}, 11)}, {false, false}, {}}, GetParam());
    ExpectGpuMatchesCpu({"Mul", {Random({4, n}, 12), Random({}, 13)}, {false, true}, {}}, GetParam());
    ExpectGpuMatchesCpu({"Sub", {Random({}, 14), Random({2, n}, 15)}, {true, false}, {}}, GetParam());
  }
}

INSTANTIATE_TEST_SUITE_P(DTypes, PackedKernelTest,
                         ::testing::Values(DType::kFloat32, DType::kFloat16, DType::kBFloat16),
                         [](const auto& info) { return std::string(DTypeName(info.param)); });

}  // namespace
}  // namespace kiln
