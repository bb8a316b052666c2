// FuseLayerNorms: layer normalization written out as ops becomes one KilnLayerNorm node named after
// the pattern's last node. Both spellings start from mean = Mean(x, trailing axes, keep_dims):
// the centred one of ONNX's importer and PyTorch's exports (x - mean, normalized) and the affine
// one of Keras (x * inv + shift, inv = Rsqrt(variance + epsilon) * scale); MatchCentred and
// MatchAffine spell them out. Every intermediate value must be read only inside the pattern.
#include <algorithm>
#include <set>

#include "ir/ops/fused_ops.h"
#include "passes/fusion.h"
#include "passes/fusion_util.h"

namespace kiln::passes {
namespace {

using fusion::OtherInput;
using ir::ValueRef;

// The nodes reading output 0 of node `id`, and its one reader (-1 unless exactly one).
class Readers {
 public:
  explicit Readers(const ir::Graph& graph) : uses_(graph) {}
  std::set<int> Of(int id) const { return uses_.Readers({id, 0}); }
  int Sole(int id) const { return uses_.SoleReader({id, 0}); }

 private:
  fusion::ValueUses uses_;
};

bool IsOp(const ir::Node& n, std::initializer_list<const char*> ops) {
  return std::any_of(ops.begin(), ops.end(), [&](const char* op) { return n.op == op; });
}

// The first axis of a keep_dims Mean over the trailing axes of its rank-`rank` input; -1 otherwise.
int TrailingMeanAxis(const ir::Graph& graph, const ir::Node& n, int rank) {
  if (n.op != "Mean" || n.inputs.size() != 2 || n.outputs.size() != 1) return -1;
  StatusOr<bool> keep = n.attrs.GetOr<bool>("keep_dims", false);
  const Tensor* axes = fusion::ConstTensor(graph, n.inputs[1]);
  if (!keep.ok() || !*keep || axes == nullptr || axes->num_elements() == 0) return -1;
  StatusOr<std::vector<int64_t>> values = axes->ToInt64Vector();
  if (!values.ok()) return -1;
  std::set<int64_t> set;
  for (int64_t a : *values) {
    if (a < -rank || a >= rank) return -1;
    set.insert(a < 0 ? a + rank : a);
  }
  const int first = static_cast<int>(*set.begin());
  if (*set.rbegin() != rank - 1 || static_cast<int>(set.size()) != rank - first) return -1;
  return first;
}

// Whether `p` holds one value per element of x's dims from `axis` on: those dims exactly, after
// any number of leading dims of 1.
bool FitsNormalizedDims(const PartialShape& p, const PartialShape& x, int axis) {
  if (!p.rank_known || !x.rank_known || p.rank() < x.rank() - axis || p.rank() > x.rank()) return false;
  const int offset = x.rank() - p.rank();
  for (int d = 0; d < p.rank(); ++d) {
    const int o = d + offset;
    if (o < axis ? p.dims[d] != 1 : (p.dims[d] < 0 || p.dims[d] != x.dims[o])) return false;
  }
  return true;
}

struct LayerNormMatch {
  int last = -1;
  ValueRef x;
  std::optional<ValueRef> scale, offset;
  int axis = 0;
  float epsilon = 0.0f;
};

// variance + epsilon, from the squares `square` on: the Mean of the squares over the axes of m,
// then the Add of a scalar epsilon (into m.epsilon). The Add's node, or -1.
int MatchVariancePlusEpsilon(const ir::Graph& graph, const Readers& readers, int square, int rank,
                             LayerNormMatch& m) {
  const int variance = readers.Sole(square);
  if (variance < 0 || TrailingMeanAxis(graph, graph.node(variance), rank) != m.axis ||
      graph.node(variance).inputs[0] != ValueRef{square, 0}) {
    return -1;
  }
  const int add_eps = readers.Sole(variance);
  if (add_eps < 0 || !IsOp(graph.node(add_eps), {"Add", "AddV2"})) return -1;
  const std::optional<ValueRef> eps = OtherInput(graph.node(add_eps), {variance, 0});
  const std::optional<float> epsilon = eps ? fusion::ScalarFloatConst(graph, *eps) : std::nullopt;
  if (!epsilon) return -1;
  m.epsilon = *epsilon;
  return add_eps;
}

// Node `n` is binary op `op` (or one of its aliases) and takes `operand` of the normalized dims'
// shape beside the value of node `from`; returns that operand.
std::optional<ValueRef> NormalizedOperand(const ir::Graph& graph, const ir::Node& n,
                                          std::initializer_list<const char*> ops, int from, const LayerNormMatch& m) {
  if (!IsOp(n, ops)) return std::nullopt;
  const std::optional<ValueRef> other = OtherInput(n, {from, 0});
  if (!other) return std::nullopt;
  const ir::OutputInfo& info = graph.output_info(*other);
  if (info.dtype != DType::kFloat32 || !FitsNormalizedDims(info.shape, graph.output_info(m.x).shape, m.axis)) {
    return std::nullopt;
  }
  return other;
}

// The centred spelling (ONNX's importer, PyTorch's older exports), from the Mean node `mean`:
//   d = Sub(x, mean); variance = Mean(Square(d) | Mul(d, d) | Pow(d, 2))
//   y = Mul(d, Rsqrt(variance + epsilon)) | RealDiv(d, Sqrt(variance + epsilon))
//   [y = Mul(y, scale)] [y = Add(y, offset)]
bool MatchCentred(const ir::Graph& graph, const Readers& readers, int mean, int rank, LayerNormMatch& m) {
  const int sub = readers.Sole(mean);
  if (sub < 0 || graph.node(sub).op != "Sub" || graph.node(sub).inputs != std::vector<ValueRef>{m.x, {mean, 0}}) {
    return false;
  }
  const ValueRef d{sub, 0};
  const std::set<int> d_readers = readers.Of(sub);
  if (d_readers.size() != 2) return false;
  int square = -1, normalize = -1;
  for (int r : d_readers) {
    const ir::Node& n = graph.node(r);
    const bool squares = (n.op == "Square" && n.inputs.size() == 1) ||
                         (n.op == "Mul" && n.inputs.size() == 2 && n.inputs[0] == d && n.inputs[1] == d) ||
                         (n.op == "Pow" && n.inputs.size() == 2 && n.inputs[0] == d &&
                          fusion::ScalarFloatConst(graph, n.inputs[1]) == 2.0f);
    (squares ? square : normalize) = r;
  }
  if (square < 0 || normalize < 0) return false;
  const int add_eps = MatchVariancePlusEpsilon(graph, readers, square, rank, m);
  const int root = add_eps < 0 ? -1 : readers.Sole(add_eps);
  if (root < 0 || readers.Sole(root) != normalize) return false;
  const ir::Node& r = graph.node(root);
  const ir::Node& n = graph.node(normalize);
  const bool by_rsqrt = r.op == "Rsqrt" && n.op == "Mul" && OtherInput(n, d) == ValueRef{root, 0};
  const bool by_sqrt = r.op == "Sqrt" && IsOp(n, {"RealDiv", "Div"}) &&
                       n.inputs == std::vector<ValueRef>{d, {root, 0}};
  if (!by_rsqrt && !by_sqrt) return false;
  m.last = normalize;
  int next = readers.Sole(m.last);
  if (next >= 0 && (m.scale = NormalizedOperand(graph, graph.node(next), {"Mul"}, m.last, m))) m.last = next;
  next = readers.Sole(m.last);
  if (next >= 0 && (m.offset = NormalizedOperand(graph, graph.node(next), {"Add", "AddV2"}, m.last, m))) {
    m.last = next;
  }
  return true;
}

// The affine spelling (Keras 3's LayerNormalization, tf.nn.batch_normalization as tf.keras uses
// it), from the Mean node `mean`:
//   variance = Mean(SquaredDifference(x, mean)); inv = Rsqrt(variance + epsilon) [* scale]
//   y = Mul(x, inv) + (Mul(Neg(mean), inv) [+ offset])    (Keras 3)
//   y = Mul(x, inv) + (offset - Mul(mean, inv))           (tf.keras)
bool MatchAffine(const ir::Graph& graph, const Readers& readers, int mean, int rank, LayerNormMatch& m) {
  const std::set<int> mean_readers = readers.Of(mean);
  if (mean_readers.size() != 2) return false;
  int square = -1, shift = -1;
  for (int r : mean_readers) {
    const ir::Node& n = graph.node(r);
    const bool squares = n.op == "SquaredDifference" && OtherInput(n, {mean, 0}) == m.x;
    (squares ? square : shift) = r;
  }
  if (square < 0 || shift < 0) return false;
  const int add_eps = MatchVariancePlusEpsilon(graph, readers, square, rank, m);
  const int root = add_eps < 0 ? -1 : readers.Sole(add_eps);
  if (root < 0 || graph.node(root).op != "Rsqrt") return false;
  int inv = root;
  if (const int next = readers.Sole(root); next >= 0) {
    m.scale = NormalizedOperand(graph, graph.node(next), {"Mul"}, root, m);
    if (!m.scale) return false;
    inv = next;
  }
  // inv is read by Mul(x, inv) and by the mean's product.
  const std::set<int> inv_readers = readers.Of(inv);
  if (inv_readers.size() != 2) return false;
  int scaled_x = -1, scaled_mean = -1;
  const bool negated = graph.node(shift).op == "Neg";
  const ValueRef mean_term = negated ? ValueRef{shift, 0} : ValueRef{mean, 0};
  for (int r : inv_readers) {
    const ir::Node& n = graph.node(r);
    if (n.op != "Mul") return false;
    const std::optional<ValueRef> other = OtherInput(n, {inv, 0});
    if (other == m.x) scaled_x = r;
    if (other == mean_term) scaled_mean = r;
  }
  if (scaled_x < 0 || scaled_mean < 0 || (negated ? readers.Sole(shift) : shift) != scaled_mean) return false;
  // The shift: -mean * inv [+ offset], or offset - mean * inv.
  int shift_end = scaled_mean;
  const int after = readers.Sole(scaled_mean);
  if (after < 0) return false;
  const ir::Node& a = graph.node(after);
  if (negated) {
    const bool is_sum = OtherInput(a, {scaled_mean, 0}) == ValueRef{scaled_x, 0};
    if (!is_sum && (m.offset = NormalizedOperand(graph, a, {"Add", "AddV2"}, scaled_mean, m))) shift_end = after;
  } else {
    if (a.op != "Sub" || a.inputs.size() != 2 || a.inputs[1] != ValueRef{scaled_mean, 0}) return false;
    m.offset = NormalizedOperand(graph, a, {"Sub"}, scaled_mean, m);
    if (!m.offset) return false;
    shift_end = after;
  }
  const int sum = readers.Sole(shift_end);
  if (sum < 0 || readers.Sole(scaled_x) != sum || !IsOp(graph.node(sum), {"Add", "AddV2"}) ||
      OtherInput(graph.node(sum), {shift_end, 0}) != ValueRef{scaled_x, 0}) {
    return false;
  }
  m.last = sum;
  return true;
}

// Layer normalization starting at Mean node `id`, in either spelling, or nullopt.
std::optional<LayerNormMatch> MatchAt(const ir::Graph& graph, const Readers& readers, int id) {
  const ir::Node& mean = graph.node(id);
  if (mean.op != "Mean" || mean.inputs.empty()) return std::nullopt;
  LayerNormMatch m;
  m.x = mean.inputs[0];
  const ir::OutputInfo& xi = graph.output_info(m.x);
  if (xi.dtype != DType::kFloat32 || !xi.shape.rank_known) return std::nullopt;
  const int rank = xi.shape.rank();
  m.axis = TrailingMeanAxis(graph, mean, rank);
  if (m.axis < 0) return std::nullopt;
  LayerNormMatch centred = m;
  if (MatchCentred(graph, readers, id, rank, centred)) return centred;
  if (MatchAffine(graph, readers, id, rank, m)) return m;
  return std::nullopt;
}

// A constant of the normalized dims' shape filled with `value`, or nullopt when they are unknown.
std::optional<ValueRef> FilledConst(ir::Graph& graph, const LayerNormMatch& m, const std::string& name, float value) {
  const PartialShape& x = graph.output_info(m.x).shape;
  Shape dims;
  for (int d = m.axis; d < x.rank(); ++d) {
    if (x.dims[d] < 0) return std::nullopt;
    dims.push_back(x.dims[d]);
  }
  Tensor t(DType::kFloat32, dims);
  std::fill(t.data<float>(), t.data<float>() + t.num_elements(), value);
  return ValueRef{graph.AddConst(name, std::move(t))->id, 0};
}

}  // namespace

Status FuseLayerNorms(ir::Graph& graph) {
  graph.RemoveDeadNodes();
  std::vector<LayerNormMatch> matches;
  {
    const Readers readers(graph);
    for (int id = 0; id < graph.num_nodes(); ++id) {
      if (std::optional<LayerNormMatch> m = MatchAt(graph, readers, id)) matches.push_back(*m);
    }
  }
  for (const LayerNormMatch& m : matches) {
    const std::string name = graph.node(m.last).name;
    std::optional<ValueRef> scale = m.scale ? m.scale : FilledConst(graph, m, name + "/scale", 1.0f);
    std::optional<ValueRef> offset = m.offset ? m.offset : FilledConst(graph, m, name + "/offset", 0.0f);
    if (!scale || !offset) continue;
    ir::AttrMap attrs;
    attrs.Set("T", DType::kFloat32);
    attrs.Set("axis", static_cast<int64_t>(m.axis));
    attrs.Set("epsilon", m.epsilon);
    fusion::RewriteNode(graph, m.last, ir::kLayerNormOp, {m.x, *scale, *offset}, std::move(attrs));
  }
  graph.RemoveDeadNodes();
  return OkStatus();
}

}  // namespace kiln::passes
