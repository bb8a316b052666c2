// ONNX Attention (opsets 23-25): softmax(Q K^T * scale + bias) V, built from IR ops.
// Follows onnx's reference implementation: 3-D inputs are split into heads, past keys/values
// are concatenated along the sequence, grouped KV heads are repeated in place ([h0, h0, h1, ...]),
// and the bias sums the attention mask with the structural masks (causal, sliding window,
// nonpad_kv_seqlen padding), all aligned at offset = past length or nonpad_kv_seqlen - q length.
// A query row with no attendable key (its bias or its scores all -inf) gives zeros, not NaN.
#include <cmath>
#include <limits>

#include "frontends/onnx/onnx_tensor.h"
#include "frontends/onnx/ops/common.h"

namespace kiln::onnx {
namespace {

using ir::ValueRef;

constexpr double kNegInf = -std::numeric_limits<double>::infinity();

StatusOr<ValueRef> OnnxReshape(ConvertContext& ctx, ValueRef x, const std::vector<int64_t>& shape) {
  return ctx.Op("OnnxReshape", {x, ctx.Ints(shape)}, Attrs({{"T", ctx.dtype(x)}, {"allowzero", int64_t{0}}}));
}

// [batch, seq, heads * size] -> [batch, heads, seq, size]
StatusOr<ValueRef> SplitHeads(ConvertContext& ctx, ValueRef x, int64_t heads) {
  KILN_ASSIGN_OR_RETURN(x, OnnxReshape(ctx, x, {0, 0, heads, -1}));
  return Transpose(ctx, x, {0, 2, 1, 3});
}

// [batch, kv_heads, seq, size] -> [batch, kv_heads * reps, seq, size], each head repeated in place.
StatusOr<ValueRef> RepeatHeads(ConvertContext& ctx, ValueRef x, int64_t reps) {
  if (reps == 1) return x;
  KILN_ASSIGN_OR_RETURN(ValueRef shape, ShapeOf(ctx, x));
  KILN_ASSIGN_OR_RETURN(ValueRef tiled, ExpandDims(ctx, x, 2));
  KILN_ASSIGN_OR_RETURN(tiled, ctx.Op("Tile", {tiled, ctx.Ints({1, 1, reps, 1, 1})},
                                      Attrs({{"T", ctx.dtype(x)}, {"Tmultiples", DType::kInt64}})));
  auto dims = [&](int64_t begin, int64_t end) {
    return ctx.Op("OnnxSlice", {shape, ctx.Ints({begin}), ctx.Ints({end}), ctx.Ints({0}), ctx.Ints({1})},
                  Attrs({{"T", DType::kInt64}}));
  };
  KILN_ASSIGN_OR_RETURN(ValueRef batch, dims(0, 1));
  KILN_ASSIGN_OR_RETURN(ValueRef heads, dims(1, 2));
  KILN_ASSIGN_OR_RETURN(ValueRef rest, dims(2, 4));
  KILN_ASSIGN_OR_RETURN(heads, Binary(ctx, "Mul", heads, ctx.Ints({reps})));
  KILN_ASSIGN_OR_RETURN(ValueRef target, Concat(ctx, {batch, heads, rest}, 0));
  return ctx.Op("Reshape", {tiled, target}, Attrs({{"T", ctx.dtype(x)}, {"Tshape", DType::kInt64}}));
}

// A mask bias shorter than the keys along its last dim is padded with -inf (not attended).
StatusOr<ValueRef> PadKeys(ConvertContext& ctx, ValueRef bias, ValueRef keys, int64_t keys_static) {
  KILN_ASSIGN_OR_RETURN(int rank, KnownRank(ctx, bias, "attn_mask"));
  if (rank == 0) return ctx.Unsupported("a scalar attn_mask");
  const int64_t last = ctx.shape(bias).dims[rank - 1];
  ValueRef amount;
  if (last >= 0 && keys_static >= 0) {
    if (last == keys_static) return bias;
    if (last > keys_static) {
      return InvalidArgument("attn_mask's last dim " + std::to_string(last) + " exceeds the " +
                             std::to_string(keys_static) + " keys");
    }
    amount = ctx.Ints({keys_static - last});
  } else {
    KILN_ASSIGN_OR_RETURN(ValueRef have, DimOf(ctx, bias, rank - 1));
    KILN_ASSIGN_OR_RETURN(amount, Binary(ctx, "Sub", keys, have));
    KILN_ASSIGN_OR_RETURN(amount, Binary(ctx, "Maximum", amount, ctx.Int64Scalar(0)));
    KILN_ASSIGN_OR_RETURN(amount, ExpandDims(ctx, amount, 0));
  }
  KILN_ASSIGN_OR_RETURN(ValueRef pads,
                        Concat(ctx, {ctx.Ints(std::vector<int64_t>(static_cast<size_t>(2 * rank - 1), 0)), amount}, 0));
  KILN_ASSIGN_OR_RETURN(pads, OnnxReshape(ctx, pads, {rank, 2}));
  return ctx.Op("PadV2", {bias, pads, ctx.ScalarOf(ctx.dtype(bias), kNegInf)},
                Attrs({{"T", ctx.dtype(bias)}, {"Tpaddings", DType::kInt64}}));
}

struct Structure {
  bool causal = false;
  int64_t left = -1, right = -1;  // sliding window; -1 is unbounded
  ValueRef past_key;              // offsets causal/window by its length
  ValueRef nonpad;                // [batch] valid keys; offsets by nonpad - q length, masks the rest
};

// Which (query, key) pairs the causal, window and padding rules allow, as a bool tensor that
// broadcasts against [batch, heads, q, kv]; invalid when no rule applies.
StatusOr<ValueRef> AllowedKeys(ConvertContext& ctx, const Structure& s, ValueRef q_len, ValueRef kv_len) {
  const bool window = s.left >= 0 || s.right >= 0;
  if (!s.causal && !window && !s.nonpad.valid()) return ValueRef();
  auto cmp = [&](const char* op, ValueRef a, ValueRef b) { return ctx.Op(op, {a, b}, Attrs({{"T", DType::kInt64}})); };
  ValueRef allowed;
  auto both = [&](ValueRef c) -> Status {
    if (!allowed.valid()) {
      allowed = c;
      return OkStatus();
    }
    KILN_ASSIGN_OR_RETURN(allowed, ctx.Op("LogicalAnd", {allowed, c}, {}));
    return OkStatus();
  };
  KILN_ASSIGN_OR_RETURN(ValueRef j, Iota(ctx, kv_len));
  ValueRef lens;
  if (s.nonpad.valid()) {
    KILN_ASSIGN_OR_RETURN(lens, CastTo(ctx, s.nonpad, DType::kInt64));
    KILN_ASSIGN_OR_RETURN(lens, OnnxReshape(ctx, lens, {-1, 1, 1}));
  }
  if (s.causal || window) {
    // Absolute query position: [q, 1], or [batch, q, 1] with per-batch offsets.
    KILN_ASSIGN_OR_RETURN(ValueRef pos, Iota(ctx, q_len));
    KILN_ASSIGN_OR_RETURN(pos, ExpandDims(ctx, pos, 1));
    if (lens.valid()) {
      KILN_ASSIGN_OR_RETURN(ValueRef offset, Binary(ctx, "Sub", lens, q_len));
      KILN_ASSIGN_OR_RETURN(pos, Binary(ctx, "AddV2", pos, offset));
    } else if (s.past_key.valid()) {
      KILN_ASSIGN_OR_RETURN(ValueRef past_len, DimOf(ctx, s.past_key, 2));
      KILN_ASSIGN_OR_RETURN(pos, Binary(ctx, "AddV2", pos, past_len));
    }
    if (s.causal) {
      KILN_ASSIGN_OR_RETURN(ValueRef c, cmp("LessEqual", j, pos));
      KILN_RETURN_IF_ERROR(both(c));
    }
    if (window) {
      KILN_ASSIGN_OR_RETURN(ValueRef diff, Binary(ctx, "Sub", pos, j));
      if (s.left >= 0) {
        KILN_ASSIGN_OR_RETURN(ValueRef c, cmp("LessEqual", diff, ctx.Int64Scalar(s.left)));
        KILN_RETURN_IF_ERROR(both(c));
      }
      if (s.right >= 0) {
        KILN_ASSIGN_OR_RETURN(ValueRef c, cmp("GreaterEqual", diff, ctx.Int64Scalar(-s.right)));
        KILN_RETURN_IF_ERROR(both(c));
      }
    }
    if (lens.valid()) {
      KILN_ASSIGN_OR_RETURN(allowed, ExpandDims(ctx, allowed, 1));
    }
  }
  if (lens.valid()) {
    KILN_ASSIGN_OR_RETURN(ValueRef valid, ExpandDims(ctx, lens, 1));
    KILN_ASSIGN_OR_RETURN(valid, cmp("Less", j, valid));
    KILN_RETURN_IF_ERROR(both(valid));
  }
  return allowed;
}

// Heads of Q and of K/V: from q_num_heads/kv_num_heads for 3-D inputs, else from the shapes.
struct Heads {
  int64_t q = -1, kv = -1;
};

StatusOr<Heads> NumHeads(ConvertContext& ctx, int rank) {
  const bool attrs = ctx.has_attr("q_num_heads") || ctx.has_attr("kv_num_heads");
  Heads h;
  if (rank == 3) {
    if (!ctx.has_attr("q_num_heads") || !ctx.has_attr("kv_num_heads")) {
      return InvalidArgument("3-D inputs need q_num_heads and kv_num_heads");
    }
    KILN_ASSIGN_OR_RETURN(h.q, ctx.Int("q_num_heads"));
    KILN_ASSIGN_OR_RETURN(h.kv, ctx.Int("kv_num_heads"));
    if (h.q <= 0 || h.kv <= 0) return InvalidArgument("q_num_heads and kv_num_heads must be positive");
    return h;
  }
  if (attrs && ctx.opset() >= 25) {
    return InvalidArgument("q_num_heads and kv_num_heads must not be set for 4-D inputs");
  }
  h.q = ctx.shape(ctx.input(0)).dims[1];
  h.kv = ctx.shape(ctx.input(1)).dims[1];
  if (h.q < 0 || h.kv < 0) return ctx.Unsupported("4-D inputs with an unknown number of heads");
  if (ctx.shape(ctx.input(2)).dims[1] >= 0 && ctx.shape(ctx.input(2)).dims[1] != h.kv) {
    return InvalidArgument("K and V have different numbers of heads");
  }
  // Opset 23/24's reference takes these over the shapes; only agreeing values are exact here.
  for (const auto& [name, value] : {std::pair<const char*, int64_t>{"q_num_heads", h.q}, {"kv_num_heads", h.kv}}) {
    if (!ctx.has_attr(name)) continue;
    KILN_ASSIGN_OR_RETURN(int64_t attr, ctx.Int(name));
    if (attr != value) return ctx.Unsupported(std::string(name) + " that disagrees with the 4-D input's shape");
  }
  return h;
}

Status Attention(ConvertContext& ctx) {
  ValueRef q = ctx.input(0), k = ctx.input(1), v = ctx.input(2);
  const DType t = ctx.dtype(q);
  if (t != DType::kFloat32 && t != DType::kFloat16 && t != DType::kBFloat16 && t != DType::kFloat64) {
    return InvalidArgument("Q must be floating point");
  }
  for (int i : {1, 2, 4, 5}) {
    if (ctx.has_input(i) && ctx.dtype(ctx.input(i)) != t) {
      return ctx.Unsupported("K, V and past key/value of a dtype other than Q's (numpy type promotion)");
    }
  }
  KILN_ASSIGN_OR_RETURN(int rank, KnownRank(ctx, q, "Q"));
  if (rank != 3 && rank != 4) return InvalidArgument("Q must be 3-D or 4-D, got " + ctx.shape(q).ToString());
  if (ctx.rank(k) != rank || ctx.rank(v) != rank) return InvalidArgument("Q, K and V must have the same rank");
  KILN_ASSIGN_OR_RETURN(Heads heads, NumHeads(ctx, rank));
  if (heads.q % heads.kv != 0) {
    return InvalidArgument("q heads " + std::to_string(heads.q) + " do not divide by kv heads " +
                           std::to_string(heads.kv));
  }
  int64_t head_size = ctx.shape(q).dims[rank - 1];
  if (rank == 3) {
    if (head_size >= 0) head_size /= heads.q;
    KILN_ASSIGN_OR_RETURN(q, SplitHeads(ctx, q, heads.q));
    KILN_ASSIGN_OR_RETURN(k, SplitHeads(ctx, k, heads.kv));
    KILN_ASSIGN_OR_RETURN(v, SplitHeads(ctx, v, heads.kv));
  }

  if (ctx.has_input(4) != ctx.has_input(5)) return InvalidArgument("past_key and past_value must come together");
  const bool has_past = ctx.has_input(4);
  if (has_past && ctx.has_input(6)) return InvalidArgument("nonpad_kv_seqlen cannot be combined with past_key");
  if (has_past) {
    KILN_ASSIGN_OR_RETURN(k, Concat(ctx, {ctx.input(4), k}, 2));
    KILN_ASSIGN_OR_RETURN(v, Concat(ctx, {ctx.input(5), v}, 2));
  }
  if (ctx.wants_output(1)) ctx.SetOutput(1, k);
  if (ctx.wants_output(2)) ctx.SetOutput(2, v);

  KILN_ASSIGN_OR_RETURN(float softcap, ctx.Float("softcap", 0.0f));
  KILN_ASSIGN_OR_RETURN(int64_t mode, ctx.Int("qk_matmul_output_mode", 0));
  if (mode < 0 || mode > 3) return InvalidArgument("qk_matmul_output_mode must be 0..3, got " + std::to_string(mode));
  if (ctx.wants_output(3) && mode == 0 && softcap > 0) {
    // onnx's reference returns the soft-capped scores here; the spec and function body the raw ones.
    return ctx.Unsupported("qk_matmul_output_mode 0 with softcap (the reference and the spec disagree)");
  }
  DType softmax_type = t;
  if (ctx.has_attr("softmax_precision")) {
    KILN_ASSIGN_OR_RETURN(int64_t p, ctx.Int("softmax_precision"));
    if (p != 1 && p != 10 && p != 11 && p != 16) {
      return InvalidArgument("softmax_precision must be 1, 10, 11 or 16, got " + std::to_string(p));
    }
    KILN_ASSIGN_OR_RETURN(softmax_type, DTypeFromOnnx(static_cast<int>(p)));
  }

  // Q and K are each scaled by sqrt(scale), in double then rounded to T, as the reference does.
  double scale = 0;
  if (ctx.has_attr("scale")) {
    KILN_ASSIGN_OR_RETURN(float s, ctx.Float("scale"));
    scale = s;
  } else {
    if (head_size < 0) return ctx.Unsupported("the default scale with an unknown head size");
    scale = 1.0 / std::sqrt(static_cast<double>(head_size));
  }
  const ValueRef sqrt_scale = ctx.ScalarOf(t, std::sqrt(scale));
  KILN_ASSIGN_OR_RETURN(ValueRef k_rep, RepeatHeads(ctx, k, heads.q / heads.kv));
  KILN_ASSIGN_OR_RETURN(ValueRef v_rep, RepeatHeads(ctx, v, heads.q / heads.kv));
  KILN_ASSIGN_OR_RETURN(ValueRef qs, Binary(ctx, "Mul", q, sqrt_scale));
  KILN_ASSIGN_OR_RETURN(ValueRef ks, Binary(ctx, "Mul", k_rep, sqrt_scale));
  KILN_ASSIGN_OR_RETURN(ValueRef qk, ctx.Op("BatchMatMulV2", {qs, ks}, Attrs({{"T", t}, {"adj_y", true}})));
  ValueRef capped = qk;
  if (softcap > 0) {
    const ValueRef cap = ctx.ScalarOf(t, softcap);
    KILN_ASSIGN_OR_RETURN(capped, Binary(ctx, "RealDiv", qk, cap));
    KILN_ASSIGN_OR_RETURN(capped, Unary(ctx, "Tanh", capped));
    KILN_ASSIGN_OR_RETURN(capped, Binary(ctx, "Mul", capped, cap));
  }

  KILN_ASSIGN_OR_RETURN(ValueRef q_len, DimOf(ctx, q, 2));
  KILN_ASSIGN_OR_RETURN(ValueRef kv_len, DimOf(ctx, k, 2));
  ValueRef bias;
  if (ctx.has_input(3)) {
    bias = ctx.input(3);
    if (ctx.dtype(bias) == DType::kBool) {
      KILN_ASSIGN_OR_RETURN(bias, Select(ctx, bias, ctx.ScalarOf(t, 0), ctx.ScalarOf(t, kNegInf)));
    } else if (ctx.dtype(bias) != t) {
      return ctx.Unsupported("an attn_mask that is neither bool nor Q's dtype (numpy type promotion)");
    }
    KILN_ASSIGN_OR_RETURN(bias, PadKeys(ctx, bias, kv_len, ctx.shape(k).dims[2]));
  }
  Structure s;
  KILN_ASSIGN_OR_RETURN(int64_t causal, ctx.Int("is_causal", 0));
  s.causal = causal != 0;
  KILN_ASSIGN_OR_RETURN(s.left, ctx.Int("left_window_size", -1));
  KILN_ASSIGN_OR_RETURN(s.right, ctx.Int("right_window_size", -1));
  if (s.left < -1 || s.right < -1) return InvalidArgument("window sizes must be -1 or nonnegative");
  if (has_past) s.past_key = ctx.input(4);
  if (ctx.has_input(6)) s.nonpad = ctx.input(6);
  KILN_ASSIGN_OR_RETURN(ValueRef allowed, AllowedKeys(ctx, s, q_len, kv_len));
  if (allowed.valid()) {
    KILN_ASSIGN_OR_RETURN(ValueRef structural, Select(ctx, allowed, ctx.ScalarOf(t, 0), ctx.ScalarOf(t, kNegInf)));
    if (bias.valid()) {
      KILN_ASSIGN_OR_RETURN(bias, Binary(ctx, "AddV2", bias, structural));
    } else {
      bias = structural;
    }
  }
  ValueRef scores = capped;
  if (bias.valid()) {
    KILN_ASSIGN_OR_RETURN(scores, Binary(ctx, "AddV2", capped, bias));
  }

  KILN_ASSIGN_OR_RETURN(ValueRef logits, CastTo(ctx, scores, softmax_type));
  KILN_ASSIGN_OR_RETURN(ValueRef probs, Unary(ctx, "Softmax", logits));
  // Rows whose logits are all -inf, or whose bias masks every key, are zero rather than NaN.
  const ValueRef neg_inf = ctx.ScalarOf(softmax_type, kNegInf);
  KILN_ASSIGN_OR_RETURN(ValueRef row_max, Reduce(ctx, "Max", logits, {-1}, true));
  KILN_ASSIGN_OR_RETURN(ValueRef dead, Binary(ctx, "Equal", row_max, neg_inf));
  if (bias.valid()) {
    KILN_ASSIGN_OR_RETURN(ValueRef bias_max, Reduce(ctx, "Max", bias, {-1}, true));
    KILN_ASSIGN_OR_RETURN(ValueRef masked, Binary(ctx, "Equal", bias_max, ctx.ScalarOf(t, kNegInf)));
    KILN_ASSIGN_OR_RETURN(dead, ctx.Op("LogicalOr", {dead, masked}, {}));
  }
  KILN_ASSIGN_OR_RETURN(probs, Select(ctx, dead, ctx.ScalarOf(softmax_type, 0), probs));
  KILN_ASSIGN_OR_RETURN(probs, CastTo(ctx, probs, t));

  KILN_ASSIGN_OR_RETURN(ValueRef y, ctx.Op("BatchMatMulV2", {probs, v_rep}, Attrs({{"T", t}})));
  if (rank == 3) {
    KILN_ASSIGN_OR_RETURN(y, Transpose(ctx, y, {0, 2, 1, 3}));
    KILN_ASSIGN_OR_RETURN(y, OnnxReshape(ctx, y, {0, 0, -1}));
  }
  ctx.SetOutput(0, y);
  if (ctx.wants_output(3)) {
    const ValueRef by_mode[] = {qk, capped, scores, probs};
    ctx.SetOutput(3, by_mode[mode]);
  }
  return OkStatus();
}

}  // namespace

KILN_REGISTER_ONNX_OP("Attention", Attention);

}  // namespace kiln::onnx
