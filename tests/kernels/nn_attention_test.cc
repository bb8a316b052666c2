// KilnAttention against a naive reference: every layout the fusion pass writes, broadcast heads and
// biases, 16-bit operands, and operands that do not fit together.
#include <array>
#include <cmath>

#include "ir/ops/attention_op.h"
#include "kernels/nn_test_util.h"

namespace kiln {
namespace {

using nn_test::Attrs;
using nn_test::ExpectOp;
using nn_test::ExpectOpError;

struct Problem {
  int64_t batch = 2, heads = 3, seq_q = 5, seq_kv = 7, depth = 8, depth_v = 8;
  int64_t kv_heads = 3;  // 1: one key and value head for every query head
  std::string q_layout = "BHSD", k_layout = "BHSD", v_layout = "BHSD", out_layout = "BHSD";
  Shape bias;  // empty: no bias
  float scale = 0.35f;
};

// A tensor with logical dims [b, h, s, d] stored in `layout`.
Tensor Operand(DType dtype, const std::string& layout, std::array<int64_t, 4> dims, uint64_t seed) {
  const ir::AttentionLayout l = ir::ParseAttentionLayout(layout).value();
  Shape stored(4);
  for (int d = 0; d < 4; ++d) stored[l.axis[d]] = dims[d];
  return testing::RandomTensor(dtype, stored, seed, -2, 2);
}

// Element [b, h, s, d] of a tensor stored in `layout`; dims of 1 broadcast.
double At(const std::vector<double>& v, const Tensor& t, const std::string& layout, std::array<int64_t, 4> index) {
  const ir::AttentionLayout l = ir::ParseAttentionLayout(layout).value();
  int64_t offset = 0;
  for (int a = 0; a < 4; ++a) {
    int d = 0;
    while (l.axis[d] != a) ++d;
    offset = offset * t.dim(a) + (t.dim(a) == 1 ? 0 : index[d]);
  }
  return v[offset];
}

Tensor Reference(const Problem& p, const std::vector<Tensor>& in, DType dtype) {
  const std::vector<double> q = nn_test::AsDoubles(in[0]), k = nn_test::AsDoubles(in[1]), v = nn_test::AsDoubles(in[2]);
  const std::vector<double> bias = in.size() > 3 ? nn_test::AsDoubles(in[3]) : std::vector<double>{};
  Shape bias4(4 - p.bias.size(), 1);
  bias4.insert(bias4.end(), p.bias.begin(), p.bias.end());
  const ir::AttentionLayout ol = ir::ParseAttentionLayout(p.out_layout).value();
  Shape out_shape(4);
  const std::array<int64_t, 4> out_dims = {p.batch, p.heads, p.seq_q, p.depth_v};
  for (int d = 0; d < 4; ++d) out_shape[ol.axis[d]] = out_dims[d];
  Tensor out_t(dtype, out_shape);
  std::vector<double> out(out_t.num_elements());
  for (int64_t b = 0; b < p.batch; ++b)
    for (int64_t h = 0; h < p.heads; ++h)
      for (int64_t i = 0; i < p.seq_q; ++i) {
        std::vector<double> s(p.seq_kv);
        double max = -INFINITY;
        for (int64_t j = 0; j < p.seq_kv; ++j) {
          double dot = 0;
          for (int64_t d = 0; d < p.depth; ++d) {
            dot += At(q, in[0], p.q_layout, {b, h, i, d}) * At(k, in[1], p.k_layout, {b, h, j, d});
          }
          s[j] = dot * p.scale;
          if (!bias.empty()) {
            const int64_t at =
                (((b % bias4[0]) * bias4[1] + h % bias4[1]) * bias4[2] + i % bias4[2]) * bias4[3] + j % bias4[3];
            s[j] += bias[at];
          }
          max = std::max(max, s[j]);
        }
        double sum = 0;
        for (double& x : s) sum += x = std::exp(x - max);
        for (int64_t d = 0; d < p.depth_v; ++d) {
          double acc = 0;
          for (int64_t j = 0; j < p.seq_kv; ++j) acc += s[j] / sum * At(v, in[2], p.v_layout, {b, h, j, d});
          std::array<int64_t, 4> index = {b, h, i, d}, stored{};
          for (int dd = 0; dd < 4; ++dd) stored[ol.axis[dd]] = index[dd];
          out[((stored[0] * out_shape[1] + stored[1]) * out_shape[2] + stored[2]) * out_shape[3] + stored[3]] = acc;
        }
      }
  return nn_test::FromDoubles(dtype, out_shape, out);
}

std::vector<Tensor> Inputs(const Problem& p, DType dtype, uint64_t seed) {
  std::vector<Tensor> in = {Operand(dtype, p.q_layout, {p.batch, p.heads, p.seq_q, p.depth}, seed),
                            Operand(dtype, p.k_layout, {p.batch, p.kv_heads, p.seq_kv, p.depth}, seed + 1),
                            Operand(dtype, p.v_layout, {p.batch, p.kv_heads, p.seq_kv, p.depth_v}, seed + 2)};
  if (!p.bias.empty()) in.push_back(testing::RandomTensor(dtype, p.bias, seed + 3, -3, 3));
  return in;
}

ir::AttrMap AttentionAttrs(const Problem& p, DType dtype) {
  return Attrs({{"T", dtype},
                {"scale", p.scale},
                {"q_layout", p.q_layout},
                {"k_layout", p.k_layout},
                {"v_layout", p.v_layout},
                {"out_layout", p.out_layout}});
}

TEST(NnAttentionTest, MatchesNaiveReferenceInEveryLayout) {
  std::vector<Problem> problems;
  problems.push_back({});
  problems.push_back({.q_layout = "BSHD", .k_layout = "BSHD", .v_layout = "BSHD", .out_layout = "BSHD",
                      .bias = {2, 1, 1, 7}});
  problems.push_back({.k_layout = "BHDS", .bias = {5, 7}});
  problems.push_back({.depth_v = 16, .bias = {2, 3, 5, 7}, .scale = 1.0f});
  problems.push_back({.kv_heads = 1, .q_layout = "BSHD", .out_layout = "SBHD"});
  problems.push_back({.batch = 1, .heads = 4, .seq_q = 64, .seq_kv = 64, .depth = 64, .depth_v = 64, .kv_heads = 4,
                      .q_layout = "BSHD", .k_layout = "BSHD", .v_layout = "BSHD", .out_layout = "BSHD",
                      .bias = {1, 1, 1, 64}, .scale = 0.125f});
  uint64_t seed = 10;
  for (DType dtype : {DType::kFloat32, DType::kFloat16, DType::kBFloat16}) {
    for (const Problem& p : problems) {
      SCOPED_TRACE(std::string(DTypeName(dtype)) + " q " + p.q_layout + " k " + p.k_layout + " out " + p.out_layout +
                   " bias " + ShapeToString(p.bias));
      const std::vector<Tensor> in = Inputs(p, dtype, seed += 4);
      const double tol = dtype == DType::kFloat32 ? 1e-5 : dtype == DType::kFloat16 ? 1e-2 : 5e-2;
      ExpectOp(ir::kAttentionOp, in, AttentionAttrs(p, dtype), Reference(p, in, dtype), tol, tol);
    }
  }
}

// q, k and v read from one tensor packed as [seq, batch, 3, heads, depth] (a fused projection), each
// at its index of the packed axis ("SB0HD", "SB1HD", "SB2HD"), give what the three apart give.
TEST(NnAttentionTest, PackedOperandsReadTheirIndexOfTheAxis) {
  const Problem p{.seq_kv = 5, .q_layout = "SBHD", .k_layout = "SBHD", .v_layout = "SBHD", .out_layout = "BSHD",
                  .bias = {2, 1, 1, 5}};
  for (DType dtype : {DType::kFloat32, DType::kFloat16}) {
    SCOPED_TRACE(DTypeName(dtype));
    const Tensor packed = testing::RandomTensor(dtype, {p.seq_q, p.batch, 3, p.heads, p.depth}, 31, -2, 2);
    const Tensor bias = testing::RandomTensor(dtype, p.bias, 32, -3, 3);
    std::vector<Tensor> apart;
    for (int32_t i = 0; i < 3; ++i) {
      auto picked = testing::RunOp("GatherV2", {packed, Tensor::Scalar<int32_t>(i), Tensor::Scalar<int32_t>(2)},
                                   Attrs({{"Tparams", dtype}}));
      ASSERT_TRUE(picked.ok()) << picked.status().ToString();
      apart.push_back((*picked)[0]);
    }
    apart.push_back(bias);
    ir::AttrMap attrs = AttentionAttrs(p, dtype);
    attrs.Set("q_layout", std::string("SB0HD"));
    attrs.Set("k_layout", std::string("SB1HD"));
    attrs.Set("v_layout", std::string("SB2HD"));
    const double tol = dtype == DType::kFloat32 ? 1e-5 : 1e-2;
    ExpectOp(ir::kAttentionOp, {packed, packed, packed, bias}, attrs, Reference(p, apart, dtype), tol, tol);

    ir::AttrMap bad = attrs;
    bad.Set("k_layout", std::string("SB3HD"));
    ExpectOpError(ir::kAttentionOp, {packed, packed, packed, bias}, bad, "no index 3");
    bad = attrs;
    bad.Set("out_layout", std::string("BS0HD"));
    ExpectOpError(ir::kAttentionOp, {packed, packed, packed, bias}, bad, "may not hold digits");
    bad = attrs;
    bad.Set("v_layout", std::string("SBHD"));
    ExpectOpError(ir::kAttentionOp, {packed, packed, packed, bias}, bad, "rank 4");
    bad = attrs;
    bad.Set("q_layout", std::string("SB0HH"));
    ExpectOpError(ir::kAttentionOp, {packed, packed, packed, bias}, bad, "q_layout");
  }
}

TEST(NnAttentionTest, EmptyProblemsGiveEmptyOrZeroOutputs) {
  Problem p{.seq_q = 0};
  ExpectOp(ir::kAttentionOp, Inputs(p, DType::kFloat32, 1), AttentionAttrs(p, DType::kFloat32),
           Tensor(DType::kFloat32, {2, 3, 0, 8}), 0);
  p = Problem{.seq_kv = 0};  // nothing to attend to: sums over no keys
  ExpectOp(ir::kAttentionOp, Inputs(p, DType::kFloat32, 1), AttentionAttrs(p, DType::kFloat32),
           nn_test::FromDoubles(DType::kFloat32, {2, 3, 5, 8}, std::vector<double>(2 * 3 * 5 * 8, 0.0)), 0);
}

TEST(NnAttentionTest, OperandsThatDoNotFitAreClearErrors) {
  const Problem p;
  std::vector<Tensor> in = Inputs(p, DType::kFloat32, 3);
  ir::AttrMap attrs = AttentionAttrs(p, DType::kFloat32);
  attrs.Set("k_layout", std::string("BHSX"));
  ExpectOpError(ir::kAttentionOp, in, attrs, "k_layout");

  std::vector<Tensor> bad = Inputs(p, DType::kFloat32, 3);
  bad[1] = Operand(DType::kFloat32, "BHSD", {2, 3, 7, 4}, 4);
  ExpectOpError(ir::kAttentionOp, bad, AttentionAttrs(p, DType::kFloat32), "depth");

  bad = Inputs(p, DType::kFloat32, 3);
  bad[2] = Operand(DType::kFloat32, "BHSD", {2, 3, 6, 8}, 4);
  ExpectOpError(ir::kAttentionOp, bad, AttentionAttrs(p, DType::kFloat32), "sequence");

  bad = Inputs(p, DType::kFloat32, 3);
  bad[1] = Operand(DType::kFloat32, "BHSD", {2, 2, 7, 8}, 4);
  ExpectOpError(ir::kAttentionOp, bad, AttentionAttrs(p, DType::kFloat32), "heads");

  bad = Inputs(p, DType::kFloat32, 3);
  bad.push_back(testing::RandomTensor(DType::kFloat32, {3, 7}, 5));
  ExpectOpError(ir::kAttentionOp, bad, AttentionAttrs(p, DType::kFloat32), "bias");

  bad = Inputs(p, DType::kFloat32, 3);
  bad[0] = testing::RandomTensor(DType::kFloat32, {2, 3, 5}, 6);
  ExpectOpError(ir::kAttentionOp, bad, AttentionAttrs(p, DType::kFloat32), "rank 4");
}

}  // namespace
}  // namespace kiln
