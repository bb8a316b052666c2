// ScatterND and ScatterElements: ONNX's spec/backend examples with every reduction, random inputs
// against a naive in-order reference, and bad inputs.
#include <cmath>

#include "kernels/array_test_util.h"

namespace kiln {
namespace {

using namespace testing;  // NOLINT: test helpers
using List = std::vector<int64_t>;

double Combine(const std::string& reduction, double a, double b) {
  if (reduction == "add") return a + b;
  if (reduction == "mul") return a * b;
  if (reduction == "max") return std::max(a, b);
  if (reduction == "min") return std::min(a, b);
  return b;
}

const char* const kReductions[] = {"none", "add", "mul", "max", "min"};

TEST(OnnxScatterNDTest, MatchesSpecExamples) {
  const Tensor data = F32({8}, {1, 2, 3, 4, 5, 6, 7, 8});
  const Tensor indices = I64({4, 1}, {4, 3, 1, 7});
  const Tensor updates = F32({4}, {9, 10, 11, 12});
  EXPECT_TRUE(OpMatches("ScatterND", {data, indices, updates}, {}, {F32({8}, {1, 11, 3, 10, 9, 6, 7, 12})}));
  // Duplicate indices (4 and -4) combine in order.
  const Tensor dup = I64({4, 1}, {4, 3, -4, 7});
  const std::vector<std::pair<std::string, std::vector<float>>> reduced = {{"add", {1, 2, 3, 14, 25, 6, 7, 20}},
                                                                           {"mul", {1, 2, 3, 40, 495, 6, 7, 96}},
                                                                           {"max", {1, 2, 3, 10, 11, 6, 7, 12}},
                                                                           {"min", {1, 2, 3, 4, 5, 6, 7, 8}}};
  for (const auto& [reduction, want] : reduced) {
    EXPECT_TRUE(OpMatches("ScatterND", {data, dup, updates}, Attrs({{"reduction", reduction}}), {F32({8}, want)}))
        << reduction;
  }
  // Slices: data 4x4x4, indices [[0], [2]] replace two 4x4 slices.
  std::vector<float> d(64), u(32);
  for (int i = 0; i < 64; ++i) d[i] = static_cast<float>(i % 7);
  for (int i = 0; i < 32; ++i) u[i] = static_cast<float>(100 + i);
  std::vector<float> want = d;
  std::copy(u.begin(), u.begin() + 16, want.begin());
  std::copy(u.begin() + 16, u.end(), want.begin() + 32);
  EXPECT_TRUE(
      OpMatches("ScatterND", {F32({4, 4, 4}, d), I64({2, 1}, {0, 2}), F32({2, 4, 4}, u)}, {}, {F32({4, 4, 4}, want)}));
}

TEST(OnnxScatterNDTest, MatchesNaiveReference) {
  const Shape ds = {4, 3, 2}, is = {5, 2}, us = {5, 2};
  uint64_t seed = 1;
  for (const char* reduction : kReductions) {
    for (DType dtype : {DType::kFloat32, DType::kFloat64, DType::kInt32, DType::kInt64, DType::kFloat16}) {
      const Tensor data = RandomTensor(dtype, ds, seed++, -5, 5);
      const Tensor updates = RandomTensor(dtype, us, seed++, -5, 5);
      std::vector<int64_t> idx(NumElements(is));
      for (size_t j = 0; j < idx.size(); ++j) idx[j] = static_cast<int64_t>((j * 7 + seed) % (j % 2 ? 3 : 4));
      std::vector<double> out = ToDoubles(data);
      const std::vector<double> upd = ToDoubles(updates);
      for (int64_t u = 0; u < 5; ++u) {
        const int64_t base = Ravel({idx[2 * u], idx[2 * u + 1], 0}, ds);
        for (int64_t k = 0; k < 2; ++k) out[base + k] = Combine(reduction, out[base + k], upd[u * 2 + k]);
      }
      EXPECT_TRUE(OpMatches("ScatterND", {data, I64(is, idx), updates}, Attrs({{"reduction", std::string(reduction)}}),
                            {FromDoubles(dtype, ds, out)}, 1e-2, 1e-3))
          << reduction << " " << DTypeName(dtype);
    }
  }
  // reduction none moves any dtype: rows 2 and 0 take the updates, row 1 keeps data.
  for (DType dtype : MovementDTypes()) {
    const Tensor data = RandomAny(dtype, {3, 2}, seed++);
    const Tensor updates = RandomAny(dtype, {2, 2}, seed++);
    auto r = RunOp("ScatterND", {data, I64({2, 1}, {2, 0}), updates});
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    const Tensor& got = (*r)[0];
    EXPECT_TRUE(TensorsNear(TakeFlat(got, {2}, {4, 5}), TakeFlat(updates, {2}, {0, 1}))) << DTypeName(dtype);
    EXPECT_TRUE(TensorsNear(TakeFlat(got, {2}, {2, 3}), TakeFlat(data, {2}, {2, 3}))) << DTypeName(dtype);
    EXPECT_TRUE(TensorsNear(TakeFlat(got, {2}, {0, 1}), TakeFlat(updates, {2}, {2, 3}))) << DTypeName(dtype);
  }
}

TEST(OnnxScatterNDTest, RejectsBadInputs) {
  const Tensor data = F32({4, 3}, std::vector<float>(12, 0));
  EXPECT_TRUE(OpFails("ScatterND", {data, I64({1, 1}, {4}), F32({1, 3}, {1, 2, 3})}, {}, "indices[0,0] = 4 is not in"));
  EXPECT_TRUE(OpFails("ScatterND", {data, I64({1, 1}, {1}), F32({1, 2}, {1, 2})}, {}, "updates must have shape [1,3]"));
  EXPECT_TRUE(OpFails("ScatterND", {data, I64({1, 3}, {0, 0, 0}), F32({1}, {1})}, {}, "must be in [1, 2]"));
  EXPECT_TRUE(OpFails("ScatterND", {data, I64({1, 1}, {1}), I32({1, 3}, {1, 2, 3})}, {}, "updates has dtype int32"));
  EXPECT_TRUE(OpFails("ScatterND", {data, I64({1, 1}, {1}), F32({1, 3}, {1, 2, 3})},
                      Attrs({{"reduction", std::string("sum")}}), "unknown reduction 'sum'"));
  EXPECT_TRUE(OpFails("ScatterND",
                      {FromDoubles(DType::kBool, {2}, {0, 1}), I64({1, 1}, {1}), FromDoubles(DType::kBool, {1}, {1})},
                      Attrs({{"reduction", std::string("add")}}), "does not support dtype bool"));
}

TEST(OnnxScatterElementsTest, MatchesSpecExamples) {
  EXPECT_TRUE(OpMatches("ScatterElements",
                        {F32({3, 3}, std::vector<float>(9, 0)), I64({2, 3}, {1, 0, 2, 0, 2, 1}),
                         F32({2, 3}, {1.0f, 1.1f, 1.2f, 2.0f, 2.1f, 2.2f})},
                        {}, {F32({3, 3}, {2.0f, 1.1f, 0.0f, 1.0f, 0.0f, 2.2f, 0.0f, 2.1f, 1.2f})}));
  const Tensor data = F32({1, 5}, {1, 2, 3, 4, 5});
  const ir::AttrMap axis1 = Attrs({{"axis", int64_t{1}}});
  EXPECT_TRUE(OpMatches("ScatterElements", {data, I64({1, 2}, {1, 3}), F32({1, 2}, {1.1f, 2.1f})}, axis1,
                        {F32({1, 5}, {1, 1.1f, 3, 2.1f, 5})}));
  EXPECT_TRUE(OpMatches("ScatterElements", {data, I64({1, 2}, {1, -3}), F32({1, 2}, {1.1f, 2.1f})}, axis1,
                        {F32({1, 5}, {1, 1.1f, 2.1f, 4, 5})}));
  const std::vector<std::pair<std::string, std::vector<float>>> reduced = {{"add", {1, 5.2f, 3, 4, 5}},
                                                                           {"mul", {1, 4.62f, 3, 4, 5}},
                                                                           {"max", {1, 2.1f, 3, 4, 5}},
                                                                           {"min", {1, 1.1f, 3, 4, 5}}};
  for (const auto& [reduction, want] : reduced) {
    ir::AttrMap a = axis1;
    a.Set("reduction", reduction);
    EXPECT_TRUE(OpMatches("ScatterElements", {data, I64({1, 2}, {1, 1}), F32({1, 2}, {1.1f, 2.1f})}, a,
                          {F32({1, 5}, want)}, 1e-5))
        << reduction;
  }
}

TEST(OnnxScatterElementsTest, MatchesNaiveReference) {
  const Shape ds = {3, 4, 5};
  uint64_t seed = 1;
  for (const char* reduction : kReductions) {
    for (int64_t axis : {0, 1, -1}) {
      const int a = static_cast<int>((axis + 3) % 3);
      Shape is = {2, 3, 4};
      is[a] = 6;
      for (DType dtype : {DType::kFloat32, DType::kInt64, DType::kUInt8}) {
        const Tensor data = RandomTensor(dtype, ds, seed++, 0, 9);
        const Tensor updates = RandomTensor(dtype, is, seed++, 0, 9);
        const Tensor indices =
            RandomTensor(DType::kInt32, is, seed++, -static_cast<double>(ds[a]), static_cast<double>(ds[a]));
        const std::vector<int64_t> idx = *indices.ToInt64Vector();
        std::vector<double> out = ToDoubles(data);
        const std::vector<double> upd = ToDoubles(updates);
        for (int64_t j = 0; j < NumElements(is); ++j) {
          List pos = Unravel(j, is);
          pos[a] = idx[j] < 0 ? idx[j] + ds[a] : idx[j];
          double& o = out[Ravel(pos, ds)];
          o = Combine(reduction, o, upd[j]);
          if (dtype == DType::kUInt8) o = static_cast<double>(static_cast<uint8_t>(static_cast<int64_t>(o)));
        }
        EXPECT_TRUE(OpMatches("ScatterElements", {data, indices, updates},
                              Attrs({{"axis", axis}, {"reduction", std::string(reduction)}}),
                              {FromDoubles(dtype, ds, out)}, 1e-4, 1e-5))
            << reduction << " axis " << axis << " " << DTypeName(dtype);
      }
    }
  }
}

TEST(OnnxScatterElementsTest, RejectsBadInputs) {
  const Tensor data = F32({2, 3}, {1, 2, 3, 4, 5, 6});
  EXPECT_TRUE(OpFails("ScatterElements", {data, I64({1, 1}, {2}), F32({1, 1}, {9})}, {}, "indices[0,0] = 2 is not in"));
  EXPECT_TRUE(
      OpFails("ScatterElements", {data, I64({1, 2}, {0, 1}), F32({1, 1}, {9})}, {}, "must have the shape of indices"));
  EXPECT_TRUE(
      OpFails("ScatterElements", {data, I64({1, 4}, {0, 0, 0, 0}), F32({1, 4}, {1, 1, 1, 1})}, {}, "larger than data"));
  EXPECT_TRUE(OpFails("ScatterElements", {data, I64({2}, {0, 1}), F32({2}, {1, 1})}, {}, "must have the rank of data"));
  EXPECT_TRUE(OpFails("ScatterElements", {data, I64({1, 1}, {0}), F32({1, 1}, {9})}, Attrs({{"axis", int64_t{-3}}}),
                      "out of range"));
}

}  // namespace
}  // namespace kiln
