#pragma once
// What the graph-pass tests share: a graph builder, node counts, the check that a pass keeps a
// graph's outputs, and fixture models loaded as IR graphs.

#include <functional>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "ir/graph.h"
#include "util/test_util.h"

namespace kiln::testing {

// Builds a graph node by node, with op defaults applied and output counts from the registry.
class Builder {
 public:
  ir::ValueRef Input(const std::string& name, Shape shape);
  ir::ValueRef Const(const std::string& name, Tensor value);
  ir::ValueRef RandomConst(const std::string& name, Shape shape, double lo = -1.0, double hi = 1.0);
  ir::ValueRef Op(const std::string& name, const std::string& op, std::vector<ir::ValueRef> inputs,
                  ir::AttrMap attrs = {});
  void Output(ir::ValueRef v);

  ir::Graph& graph() { return graph_; }
  const std::vector<Shape>& input_shapes() const { return input_shapes_; }

 private:
  ir::Graph graph_;
  std::vector<Shape> input_shapes_;
  uint64_t seed_ = 100;
};

ir::AttrMap Attrs(std::initializer_list<std::pair<const std::string, ir::AttrValue>> values);
const ir::Node* FindNode(const ir::Graph& graph, const std::string& name);
// Nodes of type `op`; nodes of a KilnFused* type.
int Count(const ir::Graph& graph, const std::string& op);
int CountFused(const ir::Graph& graph);

using BuildFn = std::function<void(Builder&)>;
using PassFn = std::function<Status(ir::Graph&)>;

// Builds the graph twice, runs `pass` on the second copy, and checks that both give the same
// outputs (within 1e-5) on random inputs; the passed graph is returned in `fused`.
void ExpectPassKeepsOutputs(const BuildFn& build, const PassFn& pass, ir::Graph& fused);

// Loads a fixture (SavedModel or ONNX) as an IR graph, optimized as Model::Load does.
StatusOr<ir::Graph> LoadFixtureGraph(const std::string& name);

// The fixture's recorded inputs (inputs.npz), in the order of `graph`'s inputs.
StatusOr<std::vector<Tensor>> FixtureInputs(const std::string& name, const ir::Graph& graph);

}  // namespace kiln::testing
