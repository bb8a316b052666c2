// GatherElements and GatherND: ONNX's spec examples, random inputs of every data-movement dtype
// against a naive multi-index reference, shape inference and bad indices.
#include "kernels/array_test_util.h"

namespace kiln {
namespace {

using namespace testing;  // NOLINT: test helpers
using List = std::vector<int64_t>;

Tensor Iota(DType dtype, const Shape& shape, double from = 0) {
  std::vector<double> v(NumElements(shape));
  for (size_t i = 0; i < v.size(); ++i) v[i] = from + static_cast<double>(i);
  return Values(dtype, shape, v);
}

// Random indices in [-dim, dim) of `shape`, as int64.
Tensor RandomIndices(const Shape& shape, int64_t dim, uint64_t seed) {
  return RandomTensor(DType::kInt64, shape, seed, static_cast<double>(-dim), static_cast<double>(dim));
}

TEST(OnnxGatherElementsTest, MatchesSpecExamples) {
  const ir::AttrMap axis1 = Attrs({{"axis", int64_t{1}}});
  EXPECT_TRUE(OpMatches("GatherElements", {F32({2, 2}, {1, 2, 3, 4}), I64({2, 2}, {0, 0, 1, 0})}, axis1,
                        {F32({2, 2}, {1, 1, 4, 3})}));
  const Tensor data = F32({3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  EXPECT_TRUE(
      OpMatches("GatherElements", {data, I32({2, 3}, {1, 2, 0, 2, 0, 0})}, {}, {F32({2, 3}, {4, 8, 3, 7, 2, 3})}));
  EXPECT_TRUE(
      OpMatches("GatherElements", {data, I64({2, 3}, {-1, -2, 0, -2, 0, 0})}, {}, {F32({2, 3}, {7, 5, 3, 4, 2, 3})}));
}

TEST(OnnxGatherElementsTest, MatchesNaiveReference) {
  uint64_t seed = 1;
  const Shape ds = {3, 4, 5};
  for (DType dtype : MovementDTypes()) {
    for (int64_t axis : {0, 1, -1}) {
      const int a = static_cast<int>((axis + 3) % 3);
      Shape is = {2, 4, 3};  // no larger than data off the axis
      is[a] = 6;
      const Tensor data = RandomAny(dtype, ds, seed++);
      const Tensor indices = RandomIndices(is, ds[a], seed++);
      const std::vector<int64_t> idx = *indices.ToInt64Vector();
      std::vector<int64_t> src;
      for (int64_t j = 0; j < NumElements(is); ++j) {
        List pos = Unravel(j, is);
        pos[a] = idx[j] < 0 ? idx[j] + ds[a] : idx[j];
        src.push_back(Ravel(pos, ds));
      }
      EXPECT_TRUE(OpMatches("GatherElements", {data, indices}, Attrs({{"axis", axis}}), {TakeFlat(data, is, src)}))
          << DTypeName(dtype) << " axis " << axis;
    }
  }
}

TEST(OnnxGatherElementsTest, RejectsBadInputs) {
  const Tensor data = Iota(DType::kFloat32, {2, 3});
  EXPECT_TRUE(OpFails("GatherElements", {data, I64({2, 1}, {0, 2})}, {}, "indices[1,0] = 2 is not in [-2, 2)"));
  EXPECT_TRUE(OpFails("GatherElements", {data, I64({1, 1}, {-3})}, {}, "is not in [-2, 2)"));
  EXPECT_TRUE(OpFails("GatherElements", {data, I64({2}, {0, 1})}, {}, "must have the rank of data"));
  EXPECT_TRUE(OpFails("GatherElements", {data, I64({1, 4}, {0, 0, 0, 0})}, {}, "larger than data"));
  EXPECT_TRUE(OpFails("GatherElements", {data, F32({1, 1}, {0})}, {}, "indices must be int32 or int64"));
  EXPECT_TRUE(OpFails("GatherElements", {data, I64({1, 1}, {0})}, Attrs({{"axis", int64_t{2}}}), "out of range"));
}

TEST(OnnxGatherNDTest, MatchesSpecExamples) {
  const Tensor d2 = Iota(DType::kInt32, {2, 2});
  const Tensor d3 = Iota(DType::kFloat32, {2, 2, 2});
  EXPECT_TRUE(OpMatches("GatherND", {d2, I64({2, 2}, {0, 0, 1, 1})}, {}, {I32({2}, {0, 3})}));
  EXPECT_TRUE(OpMatches("GatherND", {d2, I64({2, 1}, {1, 0})}, {}, {I32({2, 2}, {2, 3, 0, 1})}));
  EXPECT_TRUE(OpMatches("GatherND", {d3, I64({2, 2}, {0, 1, 1, 0})}, {}, {F32({2, 2}, {2, 3, 4, 5})}));
  EXPECT_TRUE(OpMatches("GatherND", {d3, I64({2, 1, 2}, {0, 1, 1, 0})}, {}, {F32({2, 1, 2}, {2, 3, 4, 5})}));
  EXPECT_TRUE(OpMatches("GatherND", {d3, I64({2, 1}, {1, 0})}, Attrs({{"batch_dims", int64_t{1}}}),
                        {F32({2, 2}, {2, 3, 4, 5})}));
  EXPECT_TRUE(OpMatches("GatherND", {d3, I64({2, 1, 2}, {-1, -2, 0, -1})}, {}, {F32({2, 1, 2}, {4, 5, 2, 3})}));
}

TEST(OnnxGatherNDTest, MatchesNaiveReference) {
  struct Case {
    Shape data, indices;
    int64_t batch_dims;
  };
  const std::vector<Case> cases = {
      {{4, 3, 2}, {5, 2}, 0},          {{4, 3, 2}, {2, 3, 3}, 0}, {{4, 3, 2}, {4, 2, 1}, 1},
      {{2, 3, 4, 5}, {2, 3, 2, 1}, 2}, {{2, 3, 4}, {2, 0, 2}, 1},
  };
  uint64_t seed = 100;
  for (DType dtype : MovementDTypes()) {
    for (const auto& c : cases) {
      const int64_t b = c.batch_dims, m = c.indices.back(), q = static_cast<int64_t>(c.indices.size());
      const Tensor data = RandomAny(dtype, c.data, seed++);
      // Each index column ranges over its own data dim.
      std::vector<int64_t> idx(NumElements(c.indices));
      const Tensor r = RandomTensor(DType::kFloat64, c.indices, seed++, 0, 1);
      for (size_t j = 0; j < idx.size(); ++j) {
        const int64_t dim = c.data[b + static_cast<int64_t>(j) % m];
        idx[j] = static_cast<int64_t>(r.data<double>()[j] * 2 * static_cast<double>(dim)) - dim;
      }
      Shape out(c.indices.begin(), c.indices.end() - 1);
      out.insert(out.end(), c.data.begin() + b + m, c.data.end());
      std::vector<int64_t> src;
      for (int64_t o = 0; o < NumElements(out); ++o) {
        const List opos = Unravel(o, out);
        List pos(opos.begin(), opos.begin() + b);
        List ipos(opos.begin(), opos.begin() + q - 1);
        ipos.push_back(0);
        for (int64_t k = 0; k < m; ++k) {
          ipos.back() = k;
          const int64_t v = idx[Ravel(ipos, c.indices)];
          pos.push_back(v < 0 ? v + c.data[b + k] : v);
        }
        pos.insert(pos.end(), opos.begin() + q - 1, opos.end());
        src.push_back(Ravel(pos, c.data));
      }
      EXPECT_TRUE(
          OpMatches("GatherND", {data, I64(c.indices, idx)}, Attrs({{"batch_dims", b}}), {TakeFlat(data, out, src)}))
          << DTypeName(dtype) << " data " << ShapeToString(c.data) << " indices " << ShapeToString(c.indices);
    }
  }
}

TEST(OnnxGatherNDTest, InfersShapes) {
  EXPECT_EQ(InferredShape("GatherND", {Ph(DType::kFloat32, PS({-1, 4, 5})), Ph(DType::kInt64, PS({-1, 7, 1}))},
                          Attrs({{"batch_dims", int64_t{1}}})),
            "[?,7,5]");
  EXPECT_EQ(InferredShape("GatherND", {Ph(DType::kFloat32, PS({3, 4})), Ph(DType::kInt64, PS({6, -1}))}), "<unknown>");
}

TEST(OnnxGatherNDTest, RejectsBadInputs) {
  const Tensor data = Iota(DType::kFloat32, {2, 3});
  EXPECT_TRUE(OpFails("GatherND", {data, I64({1, 2}, {1, 3})}, {}, "indices[0,1] = 3 is not in [-3, 3)"));
  EXPECT_TRUE(OpFails("GatherND", {data, I64({1, 3}, {0, 0, 0})}, {}, "must be in [1, 2]"));
  EXPECT_TRUE(OpFails("GatherND", {data, I64({3, 1}, {0, 0, 0})}, Attrs({{"batch_dims", int64_t{1}}}),
                      "batch dim 0 of data and indices differ"));
  EXPECT_TRUE(OpFails("GatherND", {data, I64({2, 1}, {0, 0})}, Attrs({{"batch_dims", int64_t{2}}}),
                      "batch_dims 2 must be less than"));
  EXPECT_TRUE(OpFails("GatherND", {data, F32({1, 1}, {0})}, {}, "indices must be int32 or int64"));
}

}  // namespace
}  // namespace kiln
