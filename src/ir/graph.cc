#include "ir/graph.h"

#include <algorithm>

namespace kiln::ir {

Node* Graph::AddNode(std::string name, std::string op, std::vector<ValueRef> inputs, AttrMap attrs,
                     int num_outputs) {
  auto node = std::make_unique<Node>();
  node->id = num_nodes();
  node->name = UniqueName(name);
  node->op = std::move(op);
  node->inputs = std::move(inputs);
  node->attrs = std::move(attrs);
  node->outputs.resize(static_cast<size_t>(num_outputs));
  name_to_id_[node->name] = node->id;
  nodes_.push_back(std::move(node));
  return nodes_.back().get();
}

Node* Graph::AddConst(std::string name, Tensor value) {
  AttrMap attrs;
  const DType dtype = value.dtype();
  const Shape shape = value.shape();
  attrs.Set("dtype", dtype);
  attrs.Set("value", std::move(value));
  Node* n = AddNode(std::move(name), "Const", {}, std::move(attrs), 1);
  n->outputs[0] = {dtype, PartialShape::Known(shape)};
  return n;
}

StatusOr<std::vector<int>> Graph::TopologicalOrder() const {
  // Iterative DFS with colours so a cycle is reported instead of overflowing the stack.
  enum : uint8_t { kWhite, kGrey, kBlack };
  std::vector<uint8_t> colour(nodes_.size(), kWhite);
  std::vector<int> order;
  order.reserve(nodes_.size());
  for (int root = 0; root < num_nodes(); ++root) {
    if (colour[root] != kWhite) continue;
    std::vector<std::pair<int, size_t>> stack{{root, 0}};
    colour[root] = kGrey;
    while (!stack.empty()) {
      auto& [id, next] = stack.back();
      const Node& n = *nodes_[id];
      if (next < n.inputs.size()) {
        const int in = n.inputs[next++].node;
        if (in < 0 || in >= num_nodes()) {
          return Internal("node '" + n.name + "' has a dangling input");
        }
        if (colour[in] == kGrey) return InvalidArgument("the graph has a cycle through node '" + nodes_[in]->name + "'");
        if (colour[in] == kWhite) {
          colour[in] = kGrey;
          stack.push_back({in, 0});
        }
      } else {
        colour[id] = kBlack;
        order.push_back(id);
        stack.pop_back();
      }
    }
  }
  return order;
}

void Graph::ReplaceAllUses(ValueRef from, ValueRef to) {
  for (auto& n : nodes_)
    for (auto& in : n->inputs)
      if (in == from) in = to;
  for (auto& out : outputs_)
    if (out.value == from) out.value = to;
}

void Graph::RemoveDeadNodes() {
  std::vector<bool> live(nodes_.size(), false);
  std::vector<int> work;
  for (const auto& e : outputs_) work.push_back(e.value.node);
  for (const auto& e : inputs_) work.push_back(e.value.node);
  while (!work.empty()) {
    const int id = work.back();
    work.pop_back();
    if (id < 0 || live[id]) continue;
    live[id] = true;
    for (const auto& in : nodes_[id]->inputs) work.push_back(in.node);
  }
  std::vector<int> new_id(nodes_.size(), -1);
  std::vector<std::unique_ptr<Node>> kept;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (!live[i]) continue;
    new_id[i] = static_cast<int>(kept.size());
    kept.push_back(std::move(nodes_[i]));
  }
  nodes_ = std::move(kept);
  name_to_id_.clear();
  for (auto& n : nodes_) {
    n->id = new_id[n->id];
    name_to_id_[n->name] = n->id;
    for (auto& in : n->inputs) in.node = new_id[in.node];
  }
  for (auto& e : outputs_) e.value.node = new_id[e.value.node];
  for (auto& e : inputs_) e.value.node = new_id[e.value.node];
}

const Graph* Graph::function(const std::string& name) const {
  auto it = functions_.find(name);
  return it == functions_.end() ? nullptr : it->second.get();
}

Graph* Graph::mutable_function(const std::string& name) {
  auto it = functions_.find(name);
  return it == functions_.end() ? nullptr : it->second.get();
}

std::string Graph::AddFunction(const std::string& base, Graph body) {
  std::string name = base;
  for (int i = 1; functions_.count(name); ++i) name = base + "_" + std::to_string(i);
  functions_[name] = std::make_unique<Graph>(std::move(body));
  return name;
}

std::string Graph::UniqueName(const std::string& base) {
  if (!name_to_id_.count(base)) return base;
  for (int i = 1;; ++i) {
    std::string candidate = base + "_" + std::to_string(i);
    if (!name_to_id_.count(candidate)) return candidate;
  }
}

Status Graph::RenameNode(int id, std::string name) {
  if (id < 0 || id >= num_nodes()) return InvalidArgument("no node with id " + std::to_string(id));
  Node& n = *nodes_[id];
  if (name == n.name) return OkStatus();
  if (name_to_id_.count(name)) return InvalidArgument("node name '" + name + "' is already used").AtNode(n.name, n.op);
  name_to_id_.erase(n.name);
  name_to_id_[name] = id;
  n.name = std::move(name);
  return OkStatus();
}

std::map<std::string, int> Graph::OpCounts() const {
  std::map<std::string, int> counts;
  for (const auto& n : nodes_) ++counts[n->op];
  return counts;
}

}  // namespace kiln::ir
