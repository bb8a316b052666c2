#pragma once
// Turns the partitioner's segments into KilnEngineOp nodes: each segment's nodes move into a
// graph of their own (the native fallback, later the engine's source) and one KilnEngineOp takes
// their place in the model's graph.

#include <map>
#include <string>
#include <vector>

#include "engine/engine_op.h"
#include "ir/graph.h"
#include "partition/partitioner.h"

namespace kiln::convert {

struct ExtractedSegment {
  engine::EngineOpSpec spec;  // input_tensors name the original graph's tensors
  ir::Graph native;           // Placeholders kiln_input_<i>, outputs kiln_output_<i>
};

// Replaces every segment of `partition` in `graph` (shapes inferred) with a KilnEngineOp whose
// attributes come from `base` (precision, cache size, ...); names and function names are
// KilnEngineOp_<k> and KilnEngineOp_<k>_native. Dead nodes are removed afterwards.
StatusOr<std::vector<ExtractedSegment>> ExtractSegments(ir::Graph& graph, const partition::Partition& partition,
                                                        const engine::EngineOpSpec& base);

// The Placeholder name of segment input i inside its native graph.
std::string SegmentInputName(int i);

// Whether `graph` holds KilnEngineOp nodes (it was converted by kiln).
int CountEngineOps(const ir::Graph& graph);

}  // namespace kiln::convert
