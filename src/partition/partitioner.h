#pragma once
// The partitioner: which nodes an engine runs and which stay on the native runtime. A node is a
// candidate when the engine's converter validates it (the same check conversion makes, so
// "supported" never drifts from "convertible"); candidates are clustered without creating
// cycles; clusters too small, denylisted ops and clusters past the engine cap stay native. Every
// node that stays native has its reason written down.

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "kiln/status.h"

namespace kiln::partition {

struct PartitionOptions {
  // Clusters with fewer ops than this (identity-like ops not counted) stay native; -1 disables
  // conversion altogether.
  int minimum_segment_size = 3;
  std::set<std::string> denylist;  // op types that always stay native
  int maximum_segments = -1;       // keep at most this many segments, the largest; -1: no cap
};

// The engine's check of one node: OK when it can convert it, else the reason it cannot.
using NodeValidator = std::function<Status(const ir::Graph&, const ir::Node&)>;

struct Segment {
  std::vector<int> nodes;  // node ids, in topological order
  int counted_ops = 0;     // nodes that count toward minimum_segment_size
};

struct Partition {
  std::vector<Segment> segments;              // largest first
  std::map<int, std::string> native_reasons;  // node id -> why it stays native
};

// Partitions `graph` (its shapes inferred). Placeholders and graph plumbing are never segment
// members; constants join the segment of the node they feed when the validator accepts them.
StatusOr<Partition> PartitionGraph(const ir::Graph& graph, const NodeValidator& validate,
                                   const PartitionOptions& options);

// Identity-like ops (Identity, IdentityN, StopGradient, Snapshot, PreventGradient) do not count
// toward minimum_segment_size.
bool IsIdentityLike(const std::string& op);

}  // namespace kiln::partition
