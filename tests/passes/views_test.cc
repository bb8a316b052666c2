// Strided views (passes/views.h): the element each view index reads, checked against the ops it
// stands for, and the axes a view lays its tensor out in.
#include "passes/views.h"

#include <gtest/gtest.h>

namespace kiln::passes {
namespace {

// The storage offset that `index` of `view` reads.
int64_t At(const StridedView& view, const std::vector<int64_t>& index) {
  int64_t at = view.offset;
  for (size_t d = 0; d < index.size(); ++d) {
    int64_t i = index[d];
    for (auto it = view.dims[d].rbegin(); it != view.dims[d].rend(); ++it) {
      at += i % it->first * it->second;
      i /= it->first;
    }
  }
  return at;
}

TEST(StridedViewTest, ReshapesOfAWholeTensorAreContiguous) {
  const auto v = StridedView::Contiguous({4, 6}).Reshaped({2, 2, 3, 2});
  ASSERT_TRUE(v);
  EXPECT_EQ(v->shape(), Shape({2, 2, 3, 2}));
  const auto strides = v->Strides();
  ASSERT_TRUE(strides);
  EXPECT_EQ(*strides, (std::vector<std::pair<int64_t, int64_t>>{{2, 12}, {2, 6}, {3, 2}, {2, 1}}));
}

// PyTorch's MultiheadAttention as exported to ONNX: the packed projection [seq, batch, 3 * embed]
// split into q, k and v, each then [batch * heads, seq, depth] through a reshape that merges batch
// with heads (no one stride walks it) and a transpose, and back to [batch, heads, seq, depth].
TEST(StridedViewTest, SeesThroughThePackedProjectionsSplitIntoHeads) {
  constexpr int64_t S = 5, B = 2, H = 3, D = 4, E = H * D;
  for (int64_t part = 0; part < 3; ++part) {
    auto v = StridedView::Contiguous({S, B, 3 * E}).Reshaped({S, B, 3, E});
    ASSERT_TRUE(v);
    v = v->Reshaped({1, S, B, 3, E});
    ASSERT_TRUE(v);
    v = v->Transposed({3, 1, 2, 0, 4}).Reshaped({3, S, B, E});  // Squeeze
    ASSERT_TRUE(v);
    StridedView picked = v->Picked(0, part, false);
    v = picked.Reshaped({S, B * H, D});
    ASSERT_TRUE(v);
    EXPECT_FALSE(v->Strides());  // batch and heads merged: factors, no one stride
    v = v->Transposed({1, 0, 2}).Reshaped({B, H, S, D});
    ASSERT_TRUE(v);
    for (int64_t b = 0; b < B; ++b)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t s = 0; s < S; ++s)
          for (int64_t d = 0; d < D; ++d) {
            ASSERT_EQ(At(*v, {b, h, s, d}), (s * B + b) * 3 * E + part * E + h * D + d);
          }
    const auto axes = AxesOf(*v, S * B * 3 * E);
    ASSERT_TRUE(axes);
    EXPECT_EQ(axes->shape, Shape({S, B, 3, H, D}));
    EXPECT_EQ(axes->axis_of_dim, (std::vector<int>{1, 3, 0, 4}));
    EXPECT_EQ(axes->fixed, (std::vector<std::pair<int, int64_t>>{{2, part}}));
  }
}

TEST(StridedViewTest, PicksIndicesOfMergedAxes) {
  // [6] as [2 (stride 1), 3 (stride 2)] after a transpose and merge: index 4 is (1, 1).
  auto v = StridedView::Contiguous({3, 2}).Transposed({1, 0}).Reshaped({6});
  ASSERT_TRUE(v);
  EXPECT_EQ(v->Picked(0, 4, true).offset, 1 * 1 + 1 * 2);
  EXPECT_EQ(v->Picked(0, 4, true).shape(), Shape({1}));
}

TEST(StridedViewTest, ReshapesThatCutAFactorUnevenlyAreNoViews) {
  // A transposed [2, 3] as [3, 2] cannot be read as [2, 3] with strides.
  EXPECT_FALSE(StridedView::Contiguous({2, 3}).Transposed({1, 0}).Reshaped({2, 3}));
  EXPECT_FALSE(StridedView::Contiguous({2, 3}).Reshaped({5}));
}

TEST(StridedViewTest, AxesNeedDimsThatTileTheStorage) {
  StridedView broadcast = StridedView::Contiguous({4});
  broadcast.dims = {{{3, 0}}, {{4, 1}}};  // a dim of stride 0 reads elements twice
  EXPECT_FALSE(AxesOf(broadcast, 4));
  StridedView skew = StridedView::Contiguous({4, 6}).Picked(1, 1, false);
  skew.offset = 7;  // not a sum of indices of the axes it would need
  EXPECT_FALSE(AxesOf(skew, 24));
  StridedView column = StridedView::Contiguous({4, 6}).Picked(1, 5, false);  // [4] stride 6, offset 5
  const auto axes = AxesOf(column, 24);
  ASSERT_TRUE(axes);
  EXPECT_EQ(axes->shape, Shape({4, 6}));
  EXPECT_EQ(axes->fixed, (std::vector<std::pair<int, int64_t>>{{1, 5}}));
}

}  // namespace
}  // namespace kiln::passes
