#pragma once
// Graph passes run on every imported graph before it is executed.

#include <optional>
#include <vector>

#include "ir/graph.h"

namespace kiln::passes {

// Rewires users of Identity-like ops (Identity, IdentityN, StopGradient, Snapshot,
// PreventGradient) to their inputs; the ops become dead.
Status RemoveIdentities(ir::Graph& graph);

// The outputs of `node` when it can be computed now: Shape/Size/Rank of a fully known shape, or
// a node whose inputs are all constants and whose CPU kernel succeeds, with results of at most
// 16 MB. nullopt otherwise.
std::optional<std::vector<Tensor>> EvaluateConstantNode(const ir::Graph& graph, const ir::Node& node);

// Evaluates nodes whose inputs are all constants (and Shape/Size/Rank of fully known shapes)
// and replaces them with Const nodes. Needs inferred shapes.
Status FoldConstants(ir::Graph& graph);

// The inference pipeline: identity removal, shape inference, constant folding, dead-node
// removal, shape inference again.
Status OptimizeForInference(ir::Graph& graph);

}  // namespace kiln::passes
