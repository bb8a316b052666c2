// FuseLayerNorms: layer normalization written out as ops, the way frontends import it (ONNX's
// LayerNormalization, and older exports' ReduceMean/Sub/Pow/ReduceMean/Add/Sqrt/Div), becomes one
// KilnLayerNorm node named after the pattern's last node:
//   mean = Mean(x, trailing axes, keep_dims); d = Sub(x, mean)
//   variance = Mean(Square(d) | Mul(d, d) | Pow(d, 2), the same axes, keep_dims)
//   y = Mul(d, Rsqrt(variance + epsilon)) | RealDiv(d, Sqrt(variance + epsilon))
//   [y = Mul(y, scale)] [y = Add(y, offset)]
// Every intermediate value must be read only inside the pattern.
#include <algorithm>
#include <set>

#include "ir/ops/fused_ops.h"
#include "passes/fusion.h"
#include "passes/fusion_util.h"

namespace kiln::passes {
namespace {

using fusion::OtherInput;
using ir::ValueRef;

// The nodes that read each value (each once, however many of its inputs do), and graph outputs.
class Readers {
 public:
  explicit Readers(const ir::Graph& graph) {
    for (int id = 0; id < graph.num_nodes(); ++id) {
      for (const ValueRef& in : graph.node(id).inputs) readers_[in].insert(id);
    }
    for (const auto& out : graph.outputs()) outputs_.insert(out.value);
  }
  // The readers of output 0 of `node`, or empty when it is a graph output (it must stay).
  std::set<int> Of(int node) const {
    const ValueRef v{node, 0};
    if (outputs_.count(v)) return {};
    auto it = readers_.find(v);
    return it == readers_.end() ? std::set<int>{} : it->second;
  }
  // The one reader of output 0 of `node`, or -1.
  int Sole(int node) const {
    const std::set<int> r = Of(node);
    return r.size() == 1 ? *r.begin() : -1;
  }

 private:
  std::map<ValueRef, std::set<int>> readers_;
  std::set<ValueRef> outputs_;
};

bool IsOp(const ir::Node& n, std::initializer_list<const char*> ops) {
  return std::any_of(ops.begin(), ops.end(), [&](const char* op) { return n.op == op; });
}

// A scalar float constant (any shape of one element), or nullopt.
std::optional<float> ScalarConst(const ir::Graph& graph, ValueRef v) {
  const Tensor* t = fusion::ConstTensor(graph, v);
  if (t == nullptr || t->num_elements() != 1 || t->dtype() != DType::kFloat32) return std::nullopt;
  return t->data<float>()[0];
}

// The first axis of a keep_dims Mean over the trailing axes of its rank-`rank` input; -1 otherwise.
int TrailingMeanAxis(const ir::Graph& graph, const ir::Node& n, int rank) {
  if (n.op != "Mean" || n.inputs.size() != 2 || n.outputs.size() != 1) return -1;
  StatusOr<bool> keep = n.attrs.GetOr<bool>("keep_dims", false);
  const Tensor* axes = fusion::ConstTensor(graph, n.inputs[1]);
  if (!keep.ok() || !*keep || axes == nullptr || axes->num_elements() == 0) return -1;
  std::set<int64_t> set;
  for (int64_t i = 0; i < axes->num_elements(); ++i) {
    int64_t a;
    if (axes->dtype() == DType::kInt32) {
      a = axes->data<int32_t>()[i];
    } else if (axes->dtype() == DType::kInt64) {
      a = axes->data<int64_t>()[i];
    } else {
      return -1;
    }
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

// The pattern starting at Mean node `id`, or nullopt.
std::optional<LayerNormMatch> MatchAt(const ir::Graph& graph, const Readers& readers, int id) {
  const ir::Node& mean = graph.node(id);
  if (mean.op != "Mean" || mean.inputs.empty()) return std::nullopt;
  const ValueRef x = mean.inputs[0];
  const ir::OutputInfo& xi = graph.output_info(x);
  if (xi.dtype != DType::kFloat32 || !xi.shape.rank_known) return std::nullopt;
  const int rank = xi.shape.rank();
  LayerNormMatch m;
  m.x = x;
  m.axis = TrailingMeanAxis(graph, mean, rank);
  if (m.axis < 0) return std::nullopt;

  const int sub = readers.Sole(id);
  if (sub < 0 || graph.node(sub).op != "Sub" || graph.node(sub).inputs != std::vector<ValueRef>{x, {id, 0}}) {
    return std::nullopt;
  }
  const ValueRef d{sub, 0};
  const std::set<int> d_readers = readers.Of(sub);
  if (d_readers.size() != 2) return std::nullopt;
  int square = -1, normalize = -1;
  for (int r : d_readers) {
    const ir::Node& n = graph.node(r);
    const bool squares = (n.op == "Square" && n.inputs.size() == 1) ||
                         (n.op == "Mul" && n.inputs.size() == 2 && n.inputs[0] == d && n.inputs[1] == d) ||
                         (n.op == "Pow" && n.inputs.size() == 2 && n.inputs[0] == d &&
                          ScalarConst(graph, n.inputs[1]) == 2.0f);
    (squares ? square : normalize) = r;
  }
  if (square < 0 || normalize < 0) return std::nullopt;
  const int variance = readers.Sole(square);
  if (variance < 0 || TrailingMeanAxis(graph, graph.node(variance), rank) != m.axis ||
      graph.node(variance).inputs[0] != ValueRef{square, 0}) {
    return std::nullopt;
  }
  const int add_eps = readers.Sole(variance);
  if (add_eps < 0 || !IsOp(graph.node(add_eps), {"Add", "AddV2"})) return std::nullopt;
  const std::optional<ValueRef> eps = OtherInput(graph.node(add_eps), {variance, 0});
  const std::optional<float> epsilon = eps ? ScalarConst(graph, *eps) : std::nullopt;
  if (!epsilon) return std::nullopt;
  m.epsilon = *epsilon;
  const int root = readers.Sole(add_eps);
  if (root < 0 || readers.Sole(root) != normalize) return std::nullopt;
  const ir::Node& r = graph.node(root);
  const ir::Node& n = graph.node(normalize);
  const bool by_rsqrt = r.op == "Rsqrt" && n.op == "Mul" && OtherInput(n, d) == ValueRef{root, 0};
  const bool by_sqrt = r.op == "Sqrt" && IsOp(n, {"RealDiv", "Div"}) &&
                       n.inputs == std::vector<ValueRef>{d, {root, 0}};
  if (!by_rsqrt && !by_sqrt) return std::nullopt;

  // The optional scale and offset, each of the normalized dims' shape.
  m.last = normalize;
  auto take = [&](std::initializer_list<const char*> ops, std::optional<ValueRef>& operand) {
    const int next = readers.Sole(m.last);
    if (next < 0 || !IsOp(graph.node(next), ops)) return;
    const std::optional<ValueRef> other = OtherInput(graph.node(next), {m.last, 0});
    if (!other) return;
    const ir::OutputInfo& info = graph.output_info(*other);
    if (info.dtype != DType::kFloat32 || !FitsNormalizedDims(info.shape, xi.shape, m.axis)) return;
    operand = *other;
    m.last = next;
  };
  take({"Mul"}, m.scale);
  take({"Add", "AddV2"}, m.offset);
  return m;
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
