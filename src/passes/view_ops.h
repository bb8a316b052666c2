#pragma once
// What the attention passes know about the ops around an attention: those that only move
// elements, and those that compute each row (the last axis) of a tensor on its own.

#include <optional>
#include <string>
#include <vector>

#include "ir/graph.h"

namespace kiln::passes {

// The shape of `v` when every dim is known and positive.
std::optional<Shape> KnownShape(const ir::Graph& graph, ir::ValueRef v);

// Ops whose output is their first input's elements in the same order (reshapes).
bool KeepsOrder(const std::string& op);

// The permutation of Transpose node `n`: its constant perm when that names each of `rank` axes
// once, else nullopt (as for any other node).
std::optional<std::vector<int>> TransposePermutation(const ir::Graph& graph, const ir::Node& n, int rank);

// The input of `n` whose rows (last axis) it computes one at a time into rows of its float32
// output, the others being constants: a product by a constant matrix (MatMul, BatchMatMul*), or a
// broadcast Add, Sub, Mul or BiasAdd with a constant of at most one row. nullopt for other nodes.
std::optional<int> RowwiseInput(const ir::Graph& graph, const ir::Node& n);

// Row-wise nodes, first to last, each read only by the next; `input` is the first one's row input.
struct RowwiseRun {
  std::vector<int> nodes;
  ir::ValueRef input;
};

// Copies of the run's nodes applied to `input`, a tensor of any rank with the run's row length
// (MatMuls become batched products for ranks above 2); shapes inferred. The last copy's output.
StatusOr<ir::ValueRef> ReapplyRowwise(ir::Graph& graph, const RowwiseRun& run, ir::ValueRef input);

}  // namespace kiln::passes
