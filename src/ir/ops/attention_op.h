#pragma once
// KilnAttention, the fused scaled dot-product attention that passes::FuseAttention makes:
//   out = softmax(scale * q . k^T + bias) . v
// for each batch entry and head, the softmax over the keys. Inputs q, k, v and an optional bias;
// attrs T, scale, and q_layout, k_layout, v_layout, out_layout. Each operand has four dims: batch,
// head, sequence and depth (the query's, the keys' and values', the query's again for the output;
// depth is the values' depth for v and the output). A layout is a permutation of "BHSD" giving the
// order in which the operand stores them: "BHSD" is [batch, head, seq, depth], "BSHD" the
// [batch, seq, head, depth] of a projection split into heads, "BHDS" a transposed key. An operand
// (not the output) may have more stored axes, each read at one index, given as a digit: "BS1HD" is
// the key of a projection packed as [batch, seq, 3 (q, k, v), head, depth]. Batch and head dims of 1
// broadcast across q, k and v; the bias broadcasts (numpy rules) onto the scores
// [batch, head, seq_q, seq_kv].

#include <array>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ir/attr.h"
#include "kiln/status.h"

namespace kiln::ir {

inline constexpr char kAttentionOp[] = "KilnAttention";

// The logical dims of an attention operand, in the order of the letters "BHSD".
enum AttentionDim { kAttentionBatch = 0, kAttentionHead = 1, kAttentionSeq = 2, kAttentionDepth = 3 };

struct AttentionLayout {
  // axis[d]: the stored axis that holds logical dim d.
  std::array<int, 4> axis = {0, 1, 2, 3};
  // The other stored axes, each read at one index: (axis, index).
  std::vector<std::pair<int, int>> fixed;
  int rank() const { return 4 + static_cast<int>(fixed.size()); }
  // The layout's letters and digits, e.g. "BSHD", "SB2HD".
  std::string ToString() const;
  bool operator==(const AttentionLayout& o) const = default;
};
// Each of "BHSD" once, in any order, with at most four digits 0-9 among them; or an error naming
// the string.
StatusOr<AttentionLayout> ParseAttentionLayout(std::string_view letters);
// The layout of the value Transpose(x, perm) reads as x, when the Transpose's output is laid out
// as `layout` (of rank 4): stored axis j of x holds the logical dim that the output holds at axis i,
// perm[i] = j.
AttentionLayout LayoutBeforeTranspose(const AttentionLayout& layout, const std::array<int, 4>& perm);
// The layout of Transpose(y, perm)'s output when y is laid out as `layout`.
AttentionLayout LayoutAfterTranspose(const AttentionLayout& layout, const std::array<int, 4>& perm);

struct AttentionAttrs {
  float scale = 1.0f;
  AttentionLayout q, k, v, out;
};
StatusOr<AttentionAttrs> ParseAttentionAttrs(const AttrMap& attrs);

}  // namespace kiln::ir
