// Einsum against a naive sum over every label assignment.
#include <map>

#include "kernels/nn_test_util.h"

namespace kiln {
namespace {

using nn_test::Attrs;
using nn_test::ExpectOp;
using nn_test::ExpectOpError;

// Naive einsum for an equation of letters only. A label's size is the largest among the operands;
// an operand dim of size 1 broadcasts (this models what "..." does).
Tensor RefEinsum(const std::string& equation, const std::vector<Tensor>& inputs, DType dtype) {
  const size_t arrow = equation.find("->");
  std::vector<std::string> terms;
  std::string lhs = equation.substr(0, arrow), cur;
  for (char c : lhs) {
    if (c == ',') {
      terms.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  terms.push_back(cur);
  const std::string out_term = equation.substr(arrow + 2);
  std::map<char, int64_t> size;
  for (size_t i = 0; i < terms.size(); ++i)
    for (size_t d = 0; d < terms[i].size(); ++d) size[terms[i][d]] = std::max(size[terms[i][d]], inputs[i].dim(d));
  std::vector<char> labels;
  for (const auto& [l, s] : size) labels.push_back(l);
  std::vector<std::vector<double>> values;
  for (const auto& t : inputs) values.push_back(nn_test::AsDoubles(t));
  Shape out_shape;
  for (char l : out_term) out_shape.push_back(size[l]);
  std::vector<double> out(NumElements(out_shape), 0.0);
  std::map<char, int64_t> idx;
  int64_t total = 1;
  for (char l : labels) total *= size[l];
  for (int64_t flat = 0; flat < total; ++flat) {
    int64_t rem = flat;
    for (auto it = labels.rbegin(); it != labels.rend(); ++it) {
      idx[*it] = rem % size[*it];
      rem /= size[*it];
    }
    double prod = 1;
    for (size_t i = 0; i < terms.size(); ++i) {
      int64_t off = 0;
      for (size_t d = 0; d < terms[i].size(); ++d) {
        const int64_t dim = inputs[i].dim(d);
        off = off * dim + (dim == 1 ? 0 : idx[terms[i][d]]);
      }
      prod *= values[i][off];
    }
    int64_t o = 0;
    for (char l : out_term) o = o * size[l] + idx[l];
    out[o] += prod;
  }
  return nn_test::FromDoubles(dtype, out_shape, out);
}

struct EinsumCase {
  std::string equation;
  std::vector<Shape> shapes;
  std::string reference;  // letters-only equivalent, when the equation uses "..."
};

TEST(NnEinsumTest, MatchesNaiveSumForKerasAndGeneralEquations) {
  const std::vector<EinsumCase> cases = {
      // What Keras EinsumDense and MultiHeadAttention emit.
      {"abc,cd->abd", {{2, 3, 4}, {4, 5}}},
      {"abc,cde->abde", {{2, 3, 4}, {4, 5, 6}}},
      {"abcd,cde->abe", {{2, 3, 4, 5}, {4, 5, 6}}},
      {"aecd,abcd->acbe", {{2, 3, 4, 5}, {2, 6, 4, 5}}},
      {"acbe,aecd->abcd", {{2, 3, 4, 5}, {2, 5, 3, 6}}},
      {"BTNH,BSNH->BNTS", {{2, 5, 3, 4}, {2, 7, 3, 4}}},
      {"BNTS,BSNH->BTNH", {{2, 3, 5, 7}, {2, 7, 3, 4}}},
      {"...b,bc->...c", {{2, 3, 4}, {4, 5}}, "xyb,bc->xyc"},
      {"...b,bc->...c", {{4}, {4, 5}}, "b,bc->c"},
      {"...ij,...jk->...ik", {{2, 1, 3, 4}, {5, 4, 2}}, "xyij,yjk->xyik"},
      {"...ij,...jk->...ik", {{3, 4}, {2, 4, 5}}, "ij,yjk->yik"},
      {"ab...,bc->ac...", {{3, 4, 2, 2}, {4, 5}}, "abxy,bc->acxy"},
      // Transposed, outer, dot and reduced forms.
      {"ij,jk->ki", {{3, 4}, {4, 5}}},
      {"ij,kj->ik", {{3, 4}, {5, 4}}},
      {"ij,ij->i", {{3, 4}, {3, 4}}},
      {"i,j->ij", {{3}, {5}}},
      {"ab,ab->", {{3, 4}, {3, 4}}},
      {"abc,cd->a", {{2, 3, 4}, {4, 5}}},
      {"abc,ad->bcd", {{3, 2, 5}, {3, 4}}},
      {"abc->cb", {{2, 3, 4}}},
      {"abc->cab", {{2, 3, 4}}},
      {"ab->", {{3, 4}}},
      {"...c->...", {{2, 3, 4}}, "xyc->xy"},
      {"abc->abc", {{2, 1, 3}}},
      {"ab,bc->ac", {{1, 7}, {7, 1}}},
      {"ab,bc->ac", {{3, 0}, {0, 2}}},
  };
  uint64_t seed = 1;
  for (DType dtype : {DType::kFloat32, DType::kFloat16, DType::kFloat64, DType::kInt32, DType::kInt64}) {
    for (const auto& c : cases) {
      std::vector<Tensor> inputs;
      for (const auto& s : c.shapes) inputs.push_back(nn_test::Random(dtype, s, seed++));
      SCOPED_TRACE(c.equation + " " + std::string(DTypeName(dtype)) + " " + inputs[0].DebugString());
      const Tensor expected = RefEinsum(c.reference.empty() ? c.equation : c.reference, inputs, dtype);
      ExpectOp("Einsum", inputs,
               Attrs({{"equation", c.equation}, {"N", static_cast<int64_t>(inputs.size())}, {"T", dtype}}), expected,
               dtype == DType::kFloat16 ? 5e-2 : nn_test::Tolerance(dtype), 1e-2);
    }
  }
}

TEST(NnEinsumTest, MatchesTensorFlow) {
  // tf.einsum("aecd,abcd->acbe", a, b) with a = pattern([2,3,2,4]), b = pattern([2,2,2,4], 11, 41, 20).
  const Tensor a = nn_test::Pattern({2, 3, 2, 4});
  const Tensor b = nn_test::Pattern({2, 2, 2, 4}, 11, 41, 20.0);
  const Tensor expected = Tensor::FromVector<float>(
      {2, 2, 2, 3}, {0.644999981f,  -1.27699995f,  0.134000003f,  0.171000004f,  -1.31299996f,  0.536000013f,
                     -0.191000029f, -0.177000016f, -0.163000003f, -0.430000007f, -0.296999991f, -0.16399999f,
                     -0.940000057f, -0.891000032f, -0.842000008f, -0.70599997f,  -0.825000048f, -0.944000006f,
                     1.23000002f,   1.19499993f,   1.16000009f,   -0.670000017f, -0.585999966f, -0.502000034f});
  ExpectOp("Einsum", {a, b}, Attrs({{"equation", std::string("aecd,abcd->acbe")}}), expected, 1e-5);
}

TEST(NnEinsumTest, RejectsBadEquationsAndOperands) {
  const Tensor a = nn_test::Random(DType::kFloat32, {2, 3}, 1);
  const Tensor b = nn_test::Random(DType::kFloat32, {4, 5}, 2);
  ExpectOpError("Einsum", {a, b}, Attrs({{"equation", std::string("ab,bc->ac")}}), "label 'b' has size 3");
  ExpectOpError("Einsum", {a, b}, Attrs({{"equation", std::string("abc,cd->abd")}}), "input 0 has shape [2,3]");
  ExpectOpError("Einsum", {a, b}, Attrs({{"equation", std::string("ab,cd")}}), "exactly one '->'");
  ExpectOpError("Einsum", {a, b}, Attrs({{"equation", std::string("ab,cd->ax")}}), "output label 'x'");
  ExpectOpError("Einsum", {a, b}, Attrs({{"equation", std::string("ab,cd->aa")}}), "repeats a label");
  ExpectOpError("Einsum", {a, b}, Attrs({{"equation", std::string("ab->ab")}}), "names 1 operands");
  ExpectOpError("Einsum", {a, a, a}, Attrs({{"equation", std::string("ab,ab,ab->a")}}), "1 or 2 only");
  ExpectOpError("Einsum", {nn_test::Random(DType::kFloat32, {3, 3}, 3)}, Attrs({{"equation", std::string("ii->i")}}),
                "diagonals");
  ExpectOpError("Einsum",
                {nn_test::Random(DType::kFloat32, {2, 3, 4}, 4), nn_test::Random(DType::kFloat32, {4, 4, 5}, 5)},
                Attrs({{"equation", std::string("...b,...bc->...c")}}), "do not broadcast");
  ExpectOpError("Einsum", {nn_test::Random(DType::kFloat32, {2, 3, 4}, 6)},
                Attrs({{"equation", std::string("...c->c")}}), "no ellipsis");
  ExpectOpError("Einsum", {a, nn_test::Random(DType::kInt32, {3, 5}, 7)},
                Attrs({{"equation", std::string("ab,bc->ac")}}), "dtype");
}

}  // namespace
}  // namespace kiln
