// OnnxTopK: ONNX's backend cases, ties and NaN, random inputs against a stable sort, shape
// inference and bad K / axis.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "kernels/array_test_util.h"

namespace kiln {
namespace {

using namespace testing;  // NOLINT: test helpers

Tensor K(int64_t k) { return I64({1}, {k}); }

// Rows from onnx 1.23's onnx/backend/test/case/node/topk.py.
TEST(OnnxTopKTest, MatchesOnnxBackendCases) {
  const Tensor x = F32({3, 4}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
  const Tensor values = F32({3, 3}, {3, 2, 1, 7, 6, 5, 11, 10, 9});
  const Tensor indices = I64({3, 3}, {3, 2, 1, 3, 2, 1, 3, 2, 1});
  EXPECT_TRUE(OpMatches("OnnxTopK", {x, K(3)}, Attrs({{"axis", int64_t{1}}}), {values, indices}));
  EXPECT_TRUE(OpMatches("OnnxTopK", {x, K(3)}, {}, {values, indices}));
  EXPECT_TRUE(OpMatches("OnnxTopK", {F32({3, 4}, {0, 1, 2, 3, 4, 5, 6, 7, 11, 10, 9, 8}), K(3)},
                        Attrs({{"axis", int64_t{1}}, {"largest", int64_t{0}}}),
                        {F32({3, 3}, {0, 1, 2, 4, 5, 6, 8, 9, 10}), I64({3, 3}, {0, 1, 2, 0, 1, 2, 3, 2, 1})}));
  EXPECT_TRUE(OpMatches("OnnxTopK", {I64({3, 4}, {0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 1, 1}), K(3)}, {},
                        {I64({3, 3}, {0, 0, 0, 1, 1, 1, 2, 2, 1}), I64({3, 3}, {0, 1, 2, 0, 1, 2, 0, 1, 2})}));
  EXPECT_TRUE(OpMatches("OnnxTopK", {I64({4}, {0, 0, 0, 0}), K(3)}, Attrs({{"axis", int64_t{0}}}),
                        {I64({3}, {0, 0, 0}), I64({3}, {0, 1, 2})}));
}

TEST(OnnxTopKTest, TiesKeepLowerIndexAndNanRanksHighest) {
  const float nan = std::nanf("");
  const Tensor x = F32({6}, {1, nan, 3, 3, nan, -1});
  EXPECT_TRUE(OpMatches("OnnxTopK", {x, K(4)}, {}, {F32({4}, {nan, nan, 3, 3}), I64({4}, {1, 4, 2, 3})}));
  EXPECT_TRUE(OpMatches("OnnxTopK", {x, K(5)}, Attrs({{"largest", int64_t{0}}}),
                        {F32({5}, {-1, 1, 3, 3, nan}), I64({5}, {5, 0, 2, 3, 1})}));
  EXPECT_TRUE(OpMatches("OnnxTopK", {x, K(0)}, {}, {F32({0}, {}), I64({0}, {})}));
}

// Values and indices of a stable sort of each line along `axis`.
std::vector<Tensor> RefTopK(const Tensor& x, int axis, int64_t k, bool largest) {
  const std::vector<double> v = ToDoubles(x);
  const Shape& s = x.shape();
  Shape os = s;
  os[axis] = k;
  std::vector<double> ov(NumElements(os));
  std::vector<int64_t> oi(ov.size());
  for (int64_t o = 0; o < NumElements(os); ++o) {
    std::vector<int64_t> pos = Unravel(o, os);
    const int64_t rank = pos[axis];
    std::vector<int64_t> order(s[axis]);
    std::iota(order.begin(), order.end(), 0);
    const auto at = [&](int64_t j) {
      std::vector<int64_t> p = pos;
      p[axis] = j;
      return v[Ravel(p, s)];
    };
    std::stable_sort(order.begin(), order.end(),
                     [&](int64_t a, int64_t b) { return largest ? at(a) > at(b) : at(a) < at(b); });
    oi[o] = order[rank];
    ov[o] = at(order[rank]);
  }
  return {FromDoubles(x.dtype(), os, ov), I64(os, oi)};
}

TEST(OnnxTopKTest, MatchesStableSort) {
  uint64_t seed = 1;
  for (DType dtype : {DType::kFloat32, DType::kFloat16, DType::kFloat64, DType::kInt32, DType::kInt64, DType::kUInt8}) {
    for (int64_t axis : {0, 1, -1}) {
      for (int64_t largest : {0, 1}) {
        // Few distinct values, so ties are common.
        const Tensor x = RandomTensor(dtype, {5, 7, 3}, seed++, 0, 6);
        const int a = static_cast<int>((axis + 3) % 3);
        const int64_t k = x.dim(a) - 1;
        EXPECT_TRUE(OpMatches("OnnxTopK", {x, K(k)},
                              Attrs({{"axis", axis}, {"largest", largest}, {"sorted", int64_t{0}}}),
                              RefTopK(x, a, k, largest != 0)))
            << DTypeName(dtype) << " axis " << axis << " largest " << largest;
      }
    }
  }
}

TEST(OnnxTopKTest, InfersShapes) {
  auto out = InferOp("OnnxTopK", {Ph(DType::kFloat16, PS({-1, 9})), Const(K(4))});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ((*out)[0].dtype, DType::kFloat16);
  EXPECT_EQ((*out)[0].shape.ToString(), "[?,4]");
  EXPECT_EQ((*out)[1].dtype, DType::kInt64);
  EXPECT_EQ((*out)[1].shape.ToString(), "[?,4]");
  EXPECT_EQ(InferredShape("OnnxTopK", {Ph(DType::kFloat32, PS({2, 9})), Ph(DType::kInt64, PS({1}))},
                          Attrs({{"axis", int64_t{0}}})),
            "[?,9]");
}

TEST(OnnxTopKTest, RejectsBadInputs) {
  const Tensor x = F32({2, 3}, {1, 2, 3, 4, 5, 6});
  EXPECT_TRUE(OpFails("OnnxTopK", {x, K(4)}, {}, "K = 4 is not in [0, 3]"));
  EXPECT_TRUE(OpFails("OnnxTopK", {x, K(-1)}, {}, "K = -1 is not in [0, 3]"));
  EXPECT_TRUE(OpFails("OnnxTopK", {x, I64({2}, {1, 1})}, {}, "K must hold one value"));
  EXPECT_TRUE(OpFails("OnnxTopK", {x, F32({1}, {1})}, {}, "K must be int64"));
  EXPECT_TRUE(OpFails("OnnxTopK", {x, K(1)}, Attrs({{"axis", int64_t{2}}}), "out of range"));
  EXPECT_TRUE(OpFails("OnnxTopK", {FromDoubles(DType::kBool, {2}, {0, 1}), K(1)}, {}, "does not support dtype bool"));
}

}  // namespace
}  // namespace kiln
