#pragma once
// Helpers shared by the fusion passes: who reads each value, constant operands, per-channel
// vectors, and rewriting a node in place (so it keeps its name and id).

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "ir/graph.h"

namespace kiln::passes::fusion {

// The value of a Const node's output, or nullptr.
const Tensor* ConstTensor(const ir::Graph& graph, ir::ValueRef v);
// The value of a float32 constant holding one element (of any shape), or nullopt.
std::optional<float> ScalarFloatConst(const ir::Graph& graph, ir::ValueRef v);

// The input of binary node `n` that is not `v`, when exactly one of its two inputs is `v`.
std::optional<ir::ValueRef> OtherInput(const ir::Node& n, ir::ValueRef v);

// How often each value is read: one use per node input slot, one per graph output.
class ValueUses {
 public:
  explicit ValueUses(const ir::Graph& graph);
  int count(ir::ValueRef v) const;
  bool is_graph_output(ir::ValueRef v) const { return graph_outputs_.count(v) != 0; }
  // The node that reads `v` when that is its only use and `v` is not a graph output; else -1.
  int SoleUser(ir::ValueRef v) const;
  // The nodes that read `v` (each once, however many of its inputs do); empty when `v` is a graph
  // output, which must stay as it is.
  std::set<int> Readers(ir::ValueRef v) const;
  // The one node that reads `v` (through one input or several), or -1; -1 for graph outputs.
  int SoleReader(ir::ValueRef v) const;

 private:
  std::map<ir::ValueRef, int> counts_;
  std::map<ir::ValueRef, int> last_user_;
  std::map<ir::ValueRef, std::set<int>> readers_;
  std::set<ir::ValueRef> graph_outputs_;
};

// The float32 tensor `t` as one value per channel of a value shaped `out` along `axis`, when `t`
// broadcasts onto `out` without changing it and varies at most along `axis` (a single value
// repeats). nullopt otherwise, or when out's channel dim is unknown.
std::optional<std::vector<float>> PerChannelValues(const Tensor& t, const PartialShape& out, int axis);

// Turns node `id` into a node of type `op` with `inputs` and `attrs` and one output, and reruns
// its shape function. When that fails, or gives another dtype or an incompatible shape, the node
// is restored and false returned. The rewritten node records the names and op types of the nodes
// it takes the place of (itself before, and every node between its new inputs and it), so that
// what names the original layers still finds the fused one (FusedNames, FusedOps).
bool RewriteNode(ir::Graph& graph, int id, std::string op, std::vector<ir::ValueRef> inputs, ir::AttrMap attrs);

// The nodes a fused node took the place of, by name and by op type (empty for other nodes). Kept
// while a graph is compiled, not in saved graphs.
std::vector<std::string> FusedNames(const ir::Node& node);
std::vector<std::string> FusedOps(const ir::Node& node);

}  // namespace kiln::passes::fusion
