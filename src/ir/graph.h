#pragma once
// kiln's IR: a graph of nodes whose outputs are typed, shaped values.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ir/attr.h"
#include "kiln/status.h"
#include "kiln/tensor.h"

namespace kiln::ir {

// One output of one node.
struct ValueRef {
  int node = -1;
  int index = 0;
  bool valid() const { return node >= 0; }
  bool operator==(const ValueRef&) const = default;
  auto operator<=>(const ValueRef&) const = default;
};

struct OutputInfo {
  DType dtype = DType::kInvalid;
  PartialShape shape;
};

struct Node {
  int id = -1;
  std::string name;
  std::string op;
  std::vector<ValueRef> inputs;
  AttrMap attrs;
  std::vector<OutputInfo> outputs;
};

// A named input or output of the graph (a signature's tensors).
struct GraphEndpoint {
  std::string name;
  ValueRef value;
};

class Graph {
 public:
  Graph() = default;
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;
  Graph(Graph&&) = default;
  Graph& operator=(Graph&&) = default;

  // Adds a node; `num_outputs` output slots start with unknown dtype and shape.
  Node* AddNode(std::string name, std::string op, std::vector<ValueRef> inputs, AttrMap attrs, int num_outputs);
  // Adds a Const node holding `value`.
  Node* AddConst(std::string name, Tensor value);

  Node& node(int id) { return *nodes_[id]; }
  const Node& node(int id) const { return *nodes_[id]; }
  int num_nodes() const { return static_cast<int>(nodes_.size()); }
  const OutputInfo& output_info(ValueRef v) const { return nodes_[v.node]->outputs[v.index]; }

  std::vector<GraphEndpoint>& inputs() { return inputs_; }
  const std::vector<GraphEndpoint>& inputs() const { return inputs_; }
  std::vector<GraphEndpoint>& outputs() { return outputs_; }
  const std::vector<GraphEndpoint>& outputs() const { return outputs_; }

  // Node ids in an order where every node follows its inputs; an error names a node on a cycle.
  StatusOr<std::vector<int>> TopologicalOrder() const;
  // Rewires every use of `from` (inputs and graph outputs) to `to`.
  void ReplaceAllUses(ValueRef from, ValueRef to);
  // Drops nodes that no graph output depends on (graph inputs are kept) and renumbers the rest.
  void RemoveDeadNodes();
  // A name not yet used by any node, built from `base`.
  std::string UniqueName(const std::string& base);
  // Gives node `id` a new name; a name another node holds is an error.
  Status RenameNode(int id, std::string name);
  // Op type -> count, for summaries.
  std::map<std::string, int> OpCounts() const;

  // The graphs this graph's control-flow nodes run (If's branches, Loop's body), by the names
  // their FuncRef attributes give. Each is a graph of its own: its inputs are the values the
  // node passes in, and it reads nothing of the graph that calls it. A body's own control-flow
  // nodes find their bodies in the body's library.
  const std::map<std::string, std::unique_ptr<Graph>>& functions() const { return functions_; }
  const Graph* function(const std::string& name) const;
  Graph* mutable_function(const std::string& name);
  // Adds `body` under a name not yet in the library, built from `base`, and returns the name.
  std::string AddFunction(const std::string& base, Graph body);

 private:
  std::vector<std::unique_ptr<Node>> nodes_;
  std::map<std::string, int> name_to_id_;
  std::vector<GraphEndpoint> inputs_;
  std::vector<GraphEndpoint> outputs_;
  std::map<std::string, std::unique_ptr<Graph>> functions_;
};

}  // namespace kiln::ir
