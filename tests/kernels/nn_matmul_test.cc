// MatMul and BatchMatMul{,V2,V3} against a naive triple loop in double.
#include "kernels/nn_test_util.h"

namespace kiln {
namespace {

using nn_test::Attrs;
using nn_test::ExpectOp;
using nn_test::ExpectOpError;

// Naive batched product with numpy broadcasting of the batch dims; result in `dtype`.
Tensor RefBatchMatMul(const Tensor& x, const Tensor& y, bool adj_x, bool adj_y, DType dtype) {
  const std::vector<double> xv = nn_test::AsDoubles(x), yv = nn_test::AsDoubles(y);
  const int rx = x.rank(), ry = y.rank();
  const int64_t m = x.dim(adj_x ? rx - 1 : rx - 2), k = x.dim(adj_x ? rx - 2 : rx - 1);
  const int64_t n = y.dim(adj_y ? ry - 2 : ry - 1);
  const int rb = std::max(rx, ry) - 2;
  Shape batch(rb), xb(rb, 1), yb(rb, 1);
  for (int i = 0; i < rx - 2; ++i) xb[rb - (rx - 2) + i] = x.dim(i);
  for (int i = 0; i < ry - 2; ++i) yb[rb - (ry - 2) + i] = y.dim(i);
  for (int i = 0; i < rb; ++i) batch[i] = std::max(xb[i], yb[i]);
  Shape out_shape = batch;
  out_shape.push_back(m);
  out_shape.push_back(n);
  std::vector<double> out(NumElements(out_shape));
  for (int64_t b = 0; b < NumElements(batch); ++b) {
    int64_t rem = b, xo = 0, yo = 0, xs = 1, ys = 1;
    for (int i = rb - 1; i >= 0; --i) {
      const int64_t idx = rem % batch[i];
      rem /= batch[i];
      xo += (xb[i] == 1 ? 0 : idx) * xs;
      yo += (yb[i] == 1 ? 0 : idx) * ys;
      xs *= xb[i];
      ys *= yb[i];
    }
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double acc = 0;
        for (int64_t p = 0; p < k; ++p) {
          const double a = xv[xo * m * k + (adj_x ? p * m + i : i * k + p)];
          const double c = yv[yo * k * n + (adj_y ? j * k + p : p * n + j)];
          acc += a * c;
        }
        out[b * m * n + i * n + j] = acc;
      }
  }
  return nn_test::FromDoubles(dtype, out_shape, out);
}

TEST(NnMatMulTest, MatchesNaiveProductForEveryTransposeAndDtype) {
  const DType dtypes[] = {DType::kFloat32, DType::kFloat16, DType::kBFloat16, DType::kFloat64,
                          DType::kInt32,   DType::kInt64,   DType::kUInt8};
  const std::vector<std::pair<Shape, Shape>> cases = {{{3, 5}, {5, 4}}, {{1, 7}, {7, 1}}, {{17, 33}, {33, 9}}};
  uint64_t seed = 1;
  for (DType dtype : dtypes) {
    for (const auto& [sa, sb] : cases) {
      for (bool ta : {false, true}) {
        for (bool tb : {false, true}) {
          Shape a_shape = ta ? Shape{sa[1], sa[0]} : sa;
          Shape b_shape = tb ? Shape{sb[1], sb[0]} : sb;
          Tensor a = dtype == DType::kUInt8 ? testing::RandomTensor(dtype, a_shape, seed++, 0, 6)
                                            : nn_test::Random(dtype, a_shape, seed++);
          Tensor b = dtype == DType::kUInt8 ? testing::RandomTensor(dtype, b_shape, seed++, 0, 6)
                                            : nn_test::Random(dtype, b_shape, seed++);
          SCOPED_TRACE(std::string(DTypeName(dtype)) + " " + a.DebugString() + " x " + b.DebugString() +
                       " ta=" + std::to_string(ta) + " tb=" + std::to_string(tb));
          ExpectOp("MatMul", {a, b}, Attrs({{"transpose_a", ta}, {"transpose_b", tb}, {"T", dtype}}),
                   RefBatchMatMul(a, b, ta, tb, dtype), nn_test::Tolerance(dtype), 1e-2);
        }
      }
    }
  }
}

TEST(NnMatMulTest, RejectsBadOperands) {
  const Tensor a = nn_test::Random(DType::kFloat32, {3, 4}, 1);
  ExpectOpError("MatMul", {a, nn_test::Random(DType::kFloat32, {5, 2}, 2)}, {}, "inner dimensions");
  ExpectOpError("MatMul", {a, nn_test::Random(DType::kFloat32, {4}, 3)}, {}, "matrices");
  ExpectOpError("MatMul", {a, nn_test::Random(DType::kFloat16, {4, 2}, 4)}, {}, "dtype");
  ExpectOpError("MatMul", {a, nn_test::Random(DType::kFloat32, {3, 2}, 5)}, Attrs({{"transpose_b", true}}),
                "inner dimensions");
}

TEST(NnBatchMatMulTest, BatchMatMulV1MatchesNaiveProduct) {
  uint64_t seed = 10;
  for (DType dtype : {DType::kFloat32, DType::kFloat16, DType::kInt32}) {
    for (bool adj_x : {false, true}) {
      for (bool adj_y : {false, true}) {
        const Tensor x = nn_test::Random(dtype, adj_x ? Shape{2, 3, 5, 4} : Shape{2, 3, 4, 5}, seed++);
        const Tensor y = nn_test::Random(dtype, adj_y ? Shape{2, 3, 6, 5} : Shape{2, 3, 5, 6}, seed++);
        SCOPED_TRACE(std::string(DTypeName(dtype)) + " adj_x=" + std::to_string(adj_x) +
                     " adj_y=" + std::to_string(adj_y));
        ExpectOp("BatchMatMul", {x, y}, Attrs({{"adj_x", adj_x}, {"adj_y", adj_y}}),
                 RefBatchMatMul(x, y, adj_x, adj_y, dtype), nn_test::Tolerance(dtype), 1e-2);
      }
    }
  }
}

TEST(NnBatchMatMulTest, BatchMatMulV2BroadcastsBatchDims) {
  const std::vector<std::pair<Shape, Shape>> cases = {{{2, 1, 4, 5}, {3, 5, 6}}, {{4, 5}, {2, 3, 5, 6}},
                                                      {{2, 3, 4, 5}, {5, 6}},    {{7, 1, 3}, {1, 3, 2}},
                                                      {{1, 9, 8}, {4, 8, 1}},    {{3, 0, 5}, {5, 2}}};
  uint64_t seed = 100;
  for (DType dtype : {DType::kFloat32, DType::kFloat64, DType::kInt64, DType::kBFloat16}) {
    for (const auto& [sx, sy] : cases) {
      for (bool adj_x : {false, true}) {
        for (bool adj_y : {false, true}) {
          Shape xs = sx, ys = sy;
          if (adj_x) std::swap(xs[xs.size() - 1], xs[xs.size() - 2]);
          if (adj_y) std::swap(ys[ys.size() - 1], ys[ys.size() - 2]);
          const Tensor x = nn_test::Random(dtype, xs, seed++);
          const Tensor y = nn_test::Random(dtype, ys, seed++);
          SCOPED_TRACE(x.DebugString() + " x " + y.DebugString() + " adj_x=" + std::to_string(adj_x) +
                       " adj_y=" + std::to_string(adj_y));
          ExpectOp("BatchMatMulV2", {x, y}, Attrs({{"adj_x", adj_x}, {"adj_y", adj_y}}),
                   RefBatchMatMul(x, y, adj_x, adj_y, dtype), nn_test::Tolerance(dtype), 1e-2);
        }
      }
    }
  }
}

TEST(NnBatchMatMulTest, BatchMatMulV3ConvertsMixedTypes) {
  const Tensor x8 = testing::RandomTensor(DType::kInt8, {2, 3, 4}, 1, -100, 100);
  const Tensor y8 = testing::RandomTensor(DType::kInt8, {4, 5}, 2, -100, 100);
  ExpectOp("BatchMatMulV3", {x8, y8}, Attrs({{"Ta", DType::kInt8}, {"Tb", DType::kInt8}, {"Tout", DType::kInt32}}),
           RefBatchMatMul(x8, y8, false, false, DType::kInt32), 0);
  const Tensor xf = nn_test::Random(DType::kFloat32, {2, 4, 3}, 3);
  const Tensor yb = nn_test::Random(DType::kBFloat16, {2, 4, 5}, 4);
  ExpectOp("BatchMatMulV3", {xf, yb},
           Attrs({{"Ta", DType::kFloat32}, {"Tb", DType::kBFloat16}, {"Tout", DType::kFloat32}, {"adj_x", true}}),
           RefBatchMatMul(xf, yb, true, false, DType::kFloat32), 1e-5);
  const Tensor xh = nn_test::Random(DType::kFloat16, {3, 2, 4}, 5);
  const Tensor yh = nn_test::Random(DType::kFloat16, {1, 4, 2}, 6);
  ExpectOp("BatchMatMulV3", {xh, yh},
           Attrs({{"Ta", DType::kFloat16}, {"Tb", DType::kFloat16}, {"Tout", DType::kFloat16}}),
           RefBatchMatMul(xh, yh, false, false, DType::kFloat16), 1e-2);
}

TEST(NnBatchMatMulTest, RejectsBadOperands) {
  const Tensor x = nn_test::Random(DType::kFloat32, {2, 3, 4}, 1);
  ExpectOpError("BatchMatMulV2", {x, nn_test::Random(DType::kFloat32, {2, 5, 6}, 2)}, {}, "inner dimensions");
  ExpectOpError("BatchMatMulV2", {x, nn_test::Random(DType::kFloat32, {3, 4, 6}, 3)}, {}, "broadcast");
  ExpectOpError("BatchMatMulV2", {x, nn_test::Random(DType::kFloat32, {4}, 4)}, {}, "rank 2 or more");
  ExpectOpError("BatchMatMul", {x, nn_test::Random(DType::kFloat32, {1, 4, 6}, 5)}, {}, "batch dimensions");
  ExpectOpError("BatchMatMul", {x, nn_test::Random(DType::kFloat32, {4, 6}, 6)}, {}, "equal rank");
  ExpectOpError("BatchMatMulV2", {x, nn_test::Random(DType::kInt32, {2, 4, 6}, 7)}, {}, "dtype");
}

}  // namespace
}  // namespace kiln
