// KilnAttention (attention_op.h): its layouts and its shape function.
#include "ir/ops/attention_op.h"

#include <algorithm>

#include "ir/op_registry.h"

namespace kiln::ir {
namespace {

constexpr std::string_view kLetters = "BHSD";

// One dim of the problem from the operands that hold it: -1 while unknown, and a dim of 1 broadcasts
// (batch and head only). An error names the operands that disagree.
class ProblemDim {
 public:
  ProblemDim(const char* name, bool broadcasts) : name_(name), broadcasts_(broadcasts) {}
  Status Take(int64_t d, const char* operand) {
    if (d < 0) unknown_ = true;
    if (d < 0 || d == value_) return OkStatus();
    if (value_ < 0 || (broadcasts_ && value_ == 1)) {
      value_ = d;
      from_ = operand;
      return OkStatus();
    }
    if (broadcasts_ && d == 1) return OkStatus();
    return InvalidArgument(std::string("the ") + name_ + " of " + operand + " (" + std::to_string(d) +
                           ") does not match that of " + from_ + " (" + std::to_string(value_) + ")");
  }
  // The dim, or -1 while unknown: a dim of 1 seen beside an unknown one may yet broadcast.
  int64_t value() const { return broadcasts_ && value_ == 1 && unknown_ ? -1 : value_; }

 private:
  const char* name_;
  bool broadcasts_;
  bool unknown_ = false;
  int64_t value_ = -1;
  const char* from_ = "";
};

int64_t DimOf(const PartialShape& s, const AttentionLayout& l, AttentionDim d) { return s.dims[l.axis[d]]; }

Status AttentionShape(InferenceContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(3, 4));
  KILN_ASSIGN_OR_RETURN(AttentionAttrs a, ParseAttentionAttrs(ctx.attrs()));
  const DType t = ctx.input_dtype(0);
  if (t != DType::kFloat32 && t != DType::kFloat16 && t != DType::kBFloat16) {
    return InvalidArgument("q must be float32, float16 or bfloat16, got " + std::string(DTypeName(t)));
  }
  static constexpr const char* kNames[] = {"q", "k", "v", "bias"};
  for (int i = 1; i < ctx.num_inputs(); ++i) {
    if (ctx.input_dtype(i) != t) {
      return InvalidArgument(std::string(kNames[i]) + " is " + std::string(DTypeName(ctx.input_dtype(i))) +
                             ", not " + std::string(DTypeName(t)) + " as q");
    }
  }
  const AttentionLayout* layouts[] = {&a.q, &a.k, &a.v};
  for (int i = 0; i < 3; ++i) {
    const PartialShape& s = ctx.input_shape(i);
    if (!s.rank_known) continue;
    if (s.rank() != layouts[i]->rank()) {
      return InvalidArgument(std::string(kNames[i]) + " must have rank " + std::to_string(layouts[i]->rank()) +
                             " (layout " + layouts[i]->ToString() + "), got " + s.ToString());
    }
    for (const auto& [axis, index] : layouts[i]->fixed) {
      if (s.dims[axis] >= 0 && index >= s.dims[axis]) {
        return InvalidArgument(std::string(kNames[i]) + " " + s.ToString() + " has no index " + std::to_string(index) +
                               " along axis " + std::to_string(axis) + " (layout " + layouts[i]->ToString() + ")");
      }
    }
  }
  const PartialShape &q = ctx.input_shape(0), &k = ctx.input_shape(1), &v = ctx.input_shape(2);
  ProblemDim batch("batch", true), heads("heads", true), seq_kv("key sequence", false), depth("depth", false);
  int64_t seq_q = -1, depth_v = -1;
  if (q.rank_known) {
    KILN_RETURN_IF_ERROR(batch.Take(DimOf(q, a.q, kAttentionBatch), "q"));
    KILN_RETURN_IF_ERROR(heads.Take(DimOf(q, a.q, kAttentionHead), "q"));
    KILN_RETURN_IF_ERROR(depth.Take(DimOf(q, a.q, kAttentionDepth), "q"));
    seq_q = DimOf(q, a.q, kAttentionSeq);
  }
  if (k.rank_known) {
    KILN_RETURN_IF_ERROR(batch.Take(DimOf(k, a.k, kAttentionBatch), "k"));
    KILN_RETURN_IF_ERROR(heads.Take(DimOf(k, a.k, kAttentionHead), "k"));
    KILN_RETURN_IF_ERROR(depth.Take(DimOf(k, a.k, kAttentionDepth), "k"));
    KILN_RETURN_IF_ERROR(seq_kv.Take(DimOf(k, a.k, kAttentionSeq), "k"));
  }
  if (v.rank_known) {
    KILN_RETURN_IF_ERROR(batch.Take(DimOf(v, a.v, kAttentionBatch), "v"));
    KILN_RETURN_IF_ERROR(heads.Take(DimOf(v, a.v, kAttentionHead), "v"));
    KILN_RETURN_IF_ERROR(seq_kv.Take(DimOf(v, a.v, kAttentionSeq), "v"));
    depth_v = DimOf(v, a.v, kAttentionDepth);
  }
  if (!q.rank_known || !k.rank_known || !v.rank_known) {
    KILN_RETURN_IF_ERROR(batch.Take(-1, "an operand of unknown rank"));
    KILN_RETURN_IF_ERROR(heads.Take(-1, "an operand of unknown rank"));
  }
  const std::array<int64_t, 4> logical = {batch.value(), heads.value(), seq_q, depth_v};
  if (ctx.num_inputs() == 4 && ctx.input_shape(3).rank_known) {
    const PartialShape& bias = ctx.input_shape(3);
    if (bias.rank() > 4) return InvalidArgument("bias must have rank 4 or less, got " + bias.ToString());
    const std::array<int64_t, 4> scores = {logical[0], logical[1], seq_q, seq_kv.value()};
    for (int i = 0; i < bias.rank(); ++i) {
      const int64_t b = bias.dims[i], s = scores[4 - bias.rank() + i];
      if (b >= 0 && s >= 0 && b != 1 && b != s) {
        return InvalidArgument("bias " + bias.ToString() + " does not broadcast onto the scores [batch " +
                               std::to_string(scores[0]) + ", heads " + std::to_string(scores[1]) + ", " +
                               std::to_string(scores[2]) + ", " + std::to_string(scores[3]) + "]");
      }
    }
  }
  PartialShape out = PartialShape::Known(Shape(4, -1));
  for (int d = 0; d < 4; ++d) out.dims[a.out.axis[d]] = logical[d];
  ctx.set_output(0, t, std::move(out));
  return OkStatus();
}

}  // namespace

std::string AttentionLayout::ToString() const {
  std::string s(rank(), '?');
  for (int d = 0; d < 4; ++d) s[axis[d]] = kLetters[d];
  for (const auto& [a, index] : fixed) s[a] = static_cast<char>('0' + index);
  return s;
}

StatusOr<AttentionLayout> ParseAttentionLayout(std::string_view letters) {
  AttentionLayout l;
  std::string sorted;
  for (int i = 0; i < static_cast<int>(letters.size()); ++i) {
    const char c = letters[i];
    if (c >= '0' && c <= '9') {
      l.fixed.push_back({i, c - '0'});
    } else {
      sorted += c;
    }
  }
  std::sort(sorted.begin(), sorted.end());
  if (sorted != "BDHS" || l.fixed.size() > 4) {
    return InvalidArgument("attention layout \"" + std::string(letters) +
                           "\" is not \"BHSD\" in some order with at most four digits among the letters");
  }
  for (int i = 0; i < static_cast<int>(letters.size()); ++i) {
    if (const size_t d = kLetters.find(letters[i]); d != std::string_view::npos) l.axis[d] = i;
  }
  return l;
}

AttentionLayout LayoutBeforeTranspose(const AttentionLayout& layout, const std::array<int, 4>& perm) {
  AttentionLayout x;
  for (int d = 0; d < 4; ++d) x.axis[d] = perm[layout.axis[d]];
  return x;
}

AttentionLayout LayoutAfterTranspose(const AttentionLayout& layout, const std::array<int, 4>& perm) {
  AttentionLayout out;
  for (int d = 0; d < 4; ++d) {
    out.axis[d] = static_cast<int>(std::find(perm.begin(), perm.end(), layout.axis[d]) - perm.begin());
  }
  return out;
}

StatusOr<AttentionAttrs> ParseAttentionAttrs(const AttrMap& attrs) {
  AttentionAttrs a;
  KILN_ASSIGN_OR_RETURN(a.scale, attrs.GetOr<float>("scale", 1.0f));
  std::pair<const char*, AttentionLayout*> layouts[] = {
      {"q_layout", &a.q}, {"k_layout", &a.k}, {"v_layout", &a.v}, {"out_layout", &a.out}};
  for (auto& [name, layout] : layouts) {
    KILN_ASSIGN_OR_RETURN(std::string letters, attrs.GetOr<std::string>(name, "BHSD"));
    StatusOr<AttentionLayout> parsed = ParseAttentionLayout(letters);
    if (!parsed.ok()) return InvalidArgument(std::string(name) + ": " + parsed.status().message());
    *layout = *parsed;
  }
  if (!a.out.fixed.empty()) return InvalidArgument("out_layout " + a.out.ToString() + " may not hold digits");
  return a;
}

KILN_REGISTER_OP(OpDefBuilder(kAttentionOp)
                     .Attr("T", DType::kFloat32)
                     .Attr("scale", 1.0f)
                     .Attr("q_layout", std::string("BHSD"))
                     .Attr("k_layout", std::string("BHSD"))
                     .Attr("v_layout", std::string("BHSD"))
                     .Attr("out_layout", std::string("BHSD"))
                     .Output("output")
                     .Shape(AttentionShape));

}  // namespace kiln::ir
