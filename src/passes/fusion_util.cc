#include "passes/fusion_util.h"

#include <deque>

#include "ir/op_registry.h"

namespace kiln::passes::fusion {
namespace {

constexpr char kFusedNamesAttr[] = "_kiln_fused_names";
constexpr char kFusedOpsAttr[] = "_kiln_fused_ops";
// How many nodes one rewrite may record: fusion patterns are a few nodes long.
constexpr size_t kMaxFused = 64;

void Append(std::vector<std::string>& to, const std::vector<std::string>& more) {
  to.insert(to.end(), more.begin(), more.end());
}

// Records on `after` what node `before` (its former self) and the nodes between `after`'s inputs
// and it were, walking back from `before`'s inputs and stopping at the producers of the new ones.
void RecordFused(const ir::Graph& graph, const ir::Node& before, ir::Node& after) {
  std::set<int> boundary;
  for (const ir::ValueRef& v : after.inputs) boundary.insert(v.node);
  std::vector<std::string> names = {before.name}, ops = {before.op};
  Append(names, FusedNames(before));
  Append(ops, FusedOps(before));
  std::set<int> seen;
  std::deque<int> queue;
  for (const ir::ValueRef& v : before.inputs) queue.push_back(v.node);
  while (!queue.empty() && seen.size() < kMaxFused) {
    const int id = queue.front();
    queue.pop_front();
    const ir::Node& n = graph.node(id);
    if (boundary.count(id) || !seen.insert(id).second || n.op == "Const" || n.op == "Placeholder") continue;
    names.push_back(n.name);
    ops.push_back(n.op);
    Append(names, FusedNames(n));
    Append(ops, FusedOps(n));
    for (const ir::ValueRef& v : n.inputs) queue.push_back(v.node);
  }
  after.attrs.Set(kFusedNamesAttr, std::move(names));
  after.attrs.Set(kFusedOpsAttr, std::move(ops));
}

std::vector<std::string> StringsAttr(const ir::Node& node, const char* name) {
  StatusOr<std::vector<std::string>> v = node.attrs.GetOr<std::vector<std::string>>(name, {});
  return v.ok() ? *v : std::vector<std::string>{};
}

}  // namespace

std::vector<std::string> FusedNames(const ir::Node& node) { return StringsAttr(node, kFusedNamesAttr); }
std::vector<std::string> FusedOps(const ir::Node& node) { return StringsAttr(node, kFusedOpsAttr); }

const Tensor* ConstTensor(const ir::Graph& graph, ir::ValueRef v) {
  const ir::Node& n = graph.node(v.node);
  if (n.op != "Const") return nullptr;
  const ir::AttrValue* value = n.attrs.Find("value");
  return value ? std::get_if<Tensor>(value) : nullptr;
}

std::optional<float> ScalarFloatConst(const ir::Graph& graph, ir::ValueRef v) {
  const Tensor* t = ConstTensor(graph, v);
  if (t == nullptr || t->num_elements() != 1 || t->dtype() != DType::kFloat32) return std::nullopt;
  return t->data<float>()[0];
}

std::optional<ir::ValueRef> OtherInput(const ir::Node& n, ir::ValueRef v) {
  if (n.inputs.size() != 2 || (n.inputs[0] == v) == (n.inputs[1] == v)) return std::nullopt;
  return n.inputs[n.inputs[0] == v ? 1 : 0];
}

ValueUses::ValueUses(const ir::Graph& graph) {
  for (int id = 0; id < graph.num_nodes(); ++id) {
    for (const ir::ValueRef& in : graph.node(id).inputs) {
      ++counts_[in];
      last_user_[in] = id;
      readers_[in].insert(id);
    }
  }
  for (const auto& out : graph.outputs()) {
    ++counts_[out.value];
    graph_outputs_.insert(out.value);
  }
}

int ValueUses::count(ir::ValueRef v) const {
  auto it = counts_.find(v);
  return it == counts_.end() ? 0 : it->second;
}

int ValueUses::SoleUser(ir::ValueRef v) const {
  if (count(v) != 1 || is_graph_output(v)) return -1;
  return last_user_.at(v);
}

std::set<int> ValueUses::Readers(ir::ValueRef v) const {
  auto it = readers_.find(v);
  if (is_graph_output(v) || it == readers_.end()) return {};
  return it->second;
}

int ValueUses::SoleReader(ir::ValueRef v) const {
  const std::set<int> r = Readers(v);
  return r.size() == 1 ? *r.begin() : -1;
}

std::optional<std::vector<float>> PerChannelValues(const Tensor& t, const PartialShape& out, int axis) {
  if (t.dtype() != DType::kFloat32 || !out.rank_known || axis < 0 || axis >= out.rank()) return std::nullopt;
  const int64_t channels = out.dims[axis];
  const int offset = out.rank() - t.rank();
  if (channels <= 0 || offset < 0) return std::nullopt;
  int64_t length = 1;
  for (int d = 0; d < t.rank(); ++d) {
    const int64_t size = t.dim(d);
    if (size == 1) continue;
    if (d + offset != axis || size != channels) return std::nullopt;
    length = size;
  }
  const float* data = t.data<float>();
  std::vector<float> values(static_cast<size_t>(channels));
  for (int64_t c = 0; c < channels; ++c) values[c] = data[length == 1 ? 0 : c];
  return values;
}

namespace {

// Same rank and no two known dims that differ; `merged` takes the known dims of both.
bool Compatible(const PartialShape& a, const PartialShape& b, PartialShape& merged) {
  if (!a.rank_known || !b.rank_known) {
    merged = a.rank_known ? a : b;
    return true;
  }
  if (a.rank() != b.rank()) return false;
  merged = a;
  for (int i = 0; i < a.rank(); ++i) {
    if (a.dims[i] >= 0 && b.dims[i] >= 0 && a.dims[i] != b.dims[i]) return false;
    if (a.dims[i] < 0) merged.dims[i] = b.dims[i];
  }
  return true;
}

}  // namespace

bool RewriteNode(ir::Graph& graph, int id, std::string op, std::vector<ir::ValueRef> inputs, ir::AttrMap attrs) {
  ir::Node& n = graph.node(id);
  ir::Node saved = n;
  n.op = std::move(op);
  n.inputs = std::move(inputs);
  n.attrs = std::move(attrs);
  n.outputs.assign(1, ir::OutputInfo{});
  PartialShape merged;
  const bool ok = ir::InferNodeShapes(graph, n).ok() && n.outputs[0].dtype == saved.outputs[0].dtype &&
                  Compatible(n.outputs[0].shape, saved.outputs[0].shape, merged);
  if (!ok) {
    n = std::move(saved);
    return false;
  }
  n.outputs[0].shape = merged;
  RecordFused(graph, saved, n);
  return true;
}

}  // namespace kiln::passes::fusion
