// Fused matrix products with their whole epilogue in cuBLASLt (bias, residual, ReLU, and at 16 bits
// GELU in its tanh form) and with the epilogues cuBLASLt lacks (the exact GELU at float32, other
// activations, batches of products) give the CPU's answers in float32, float16 and bfloat16.
#include <string>
#include <tuple>
#include <vector>

#include "gpu/gpu_test_util.h"

namespace kiln {
namespace {

using testing::ExpectGpuMatchesCpu;
using testing::OneOp;

class GemmEpilogueTest : public ::testing::TestWithParam<DType> {
 protected:
  void SetUp() override {
    if (CudaDeviceCount() == 0) GTEST_SKIP() << "no CUDA GPU on this machine (or kiln built without CUDA)";
  }
};

Tensor Random(Shape shape, uint64_t seed) {
  return testing::RandomTensor(DType::kFloat32, std::move(shape), seed, -1, 1);
}

// x [rows, k] . w [k, n] (w constant, or stored [n, k] with transpose_b) and the epilogue `fused_ops`.
OneOp FusedMatMul(int64_t rows, int64_t k, int64_t n, bool transpose_b, const std::vector<std::string>& fused_ops) {
  OneOp spec{"KilnFusedMatMul",
             {Random({rows, k}, 1), transpose_b ? Random({n, k}, 2) : Random({k, n}, 2)},
             {false, true},
             {}};
  for (const std::string& op : fused_ops) {
    if (op == "BiasAdd") spec.values.push_back(Random({n}, 3)), spec.constant.push_back(true);
    if (op == "Add") spec.values.push_back(Random({rows, n}, 4)), spec.constant.push_back(false);
  }
  spec.attrs.Set("transpose_a", false);
  spec.attrs.Set("transpose_b", transpose_b);
  spec.attrs.Set("fused_ops", fused_ops);
  return spec;
}

TEST_P(GemmEpilogueTest, EveryEpilogueMatchesTheCpu) {
  const std::vector<std::vector<std::string>> epilogues = {
      {"BiasAdd"},          {"BiasAdd", "KilnGelu"}, {"KilnGelu"},          {"BiasAdd", "Relu"},
      {"BiasAdd", "Add", "Relu"}, {"Add", "KilnGelu"},   {"BiasAdd", "Tanh"},
  };
  for (const auto& fused_ops : epilogues) {
    for (const auto& [rows, k, n] : std::vector<std::tuple<int64_t, int64_t, int64_t>>{{64, 96, 128}, {7, 33, 19}}) {
      for (bool transpose_b : {false, true}) {
        SCOPED_TRACE(::testing::Message() << fused_ops.back() << " with " << fused_ops.size() << " steps, " << rows
                                          << "x" << k << "x" << n << (transpose_b ? " transposed" : ""));
        ExpectGpuMatchesCpu(FusedMatMul(rows, k, n, transpose_b, fused_ops), GetParam(), 1e-4);
      }
    }
  }
}

TEST_P(GemmEpilogueTest, BatchesOfRowsTimesOneMatrixWithGelu) {
  // How ONNX's MatMul of a sequence by a weight imports: one GEMM over every row of the batch.
  OneOp spec{"KilnFusedBatchMatMulV2",
             {testing::RandomTensor(DType::kFloat32, {2, 5, 24}, 5, -1, 1), Random({24, 40}, 6), Random({40}, 7)},
             {false, true, true},
             {}};
  spec.attrs.Set("adj_x", false);
  spec.attrs.Set("adj_y", false);
  spec.attrs.Set("fused_ops", std::vector<std::string>{"BiasAdd", "KilnGelu"});
  ExpectGpuMatchesCpu(spec, GetParam(), 1e-4);
}

INSTANTIATE_TEST_SUITE_P(DTypes, GemmEpilogueTest,
                         ::testing::Values(DType::kFloat32, DType::kFloat16, DType::kBFloat16),
                         [](const auto& info) { return std::string(DTypeName(info.param)); });

}  // namespace
}  // namespace kiln
