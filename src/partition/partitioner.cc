#include "partition/partitioner.h"

#include <algorithm>
#include <numeric>

namespace kiln::partition {
namespace {

// Union-find over node ids, with each cluster's successor clusters kept so that a merge can be
// checked for cycles.
class Clusters {
 public:
  explicit Clusters(int n) : parent_(n), members_(n), succ_(n) {
    std::iota(parent_.begin(), parent_.end(), 0);
    for (int i = 0; i < n; ++i) members_[i] = {i};
  }

  int Find(int x) {
    while (parent_[x] != x) x = parent_[x] = parent_[parent_[x]];
    return x;
  }

  void AddEdge(int from, int to) {
    const int a = Find(from), b = Find(to);
    if (a == b) return;
    succ_[a].insert(b);
  }

  // Merging a and b (a feeds b) creates a cycle when b is also reachable from a through some
  // other cluster.
  bool CanMerge(int a, int b) {
    a = Find(a);
    b = Find(b);
    if (a == b) return true;
    std::vector<int> stack;
    std::set<int> seen;
    for (int s : succ_[a]) {
      if (Find(s) != b) stack.push_back(Find(s));
    }
    while (!stack.empty()) {
      const int c = stack.back();
      stack.pop_back();
      if (c == b) return false;
      if (c == a || !seen.insert(c).second) continue;
      for (int s : succ_[c]) stack.push_back(Find(s));
    }
    return true;
  }

  void Merge(int a, int b) {
    a = Find(a);
    b = Find(b);
    if (a == b) return;
    if (members_[a].size() < members_[b].size()) std::swap(a, b);
    parent_[b] = a;
    members_[a].insert(members_[a].end(), members_[b].begin(), members_[b].end());
    members_[b].clear();
    // Other clusters may still name b (or ids merged before); Find maps those to a.
    std::set<int> succ;
    for (int x : succ_[a]) succ.insert(Find(x));
    for (int x : succ_[b]) succ.insert(Find(x));
    succ.erase(a);
    succ_[a] = std::move(succ);
    succ_[b].clear();
  }

 private:
  std::vector<int> parent_;
  std::vector<std::vector<int>> members_;
  std::vector<std::set<int>> succ_;
};

}  // namespace

bool IsIdentityLike(const std::string& op) {
  static const std::set<std::string> kOps = {"Identity", "IdentityN", "StopGradient", "Snapshot", "PreventGradient"};
  return kOps.count(op) != 0;
}

StatusOr<Partition> PartitionGraph(const ir::Graph& graph, const NodeValidator& validate,
                                   const PartitionOptions& options) {
  Partition result;
  KILN_ASSIGN_OR_RETURN(std::vector<int> order, graph.TopologicalOrder());
  std::vector<int> position(graph.num_nodes());
  for (size_t i = 0; i < order.size(); ++i) position[order[i]] = static_cast<int>(i);

  // Candidates: nodes the engine validates and the user has not denylisted.
  std::vector<bool> candidate(graph.num_nodes(), false);
  for (int id : order) {
    const ir::Node& n = graph.node(id);
    if (n.op == "Placeholder") continue;
    if (options.minimum_segment_size < 0) {
      result.native_reasons[id] = "conversion is disabled (minimum_segment_size is -1)";
      continue;
    }
    if (options.denylist.count(n.op)) {
      result.native_reasons[id] = "op " + n.op + " is on the denylist";
      continue;
    }
    Status s = validate(graph, n);
    if (!s.ok()) {
      result.native_reasons[id] = s.message();
      continue;
    }
    candidate[id] = true;
  }

  // Cluster along edges between candidates, in topological order, never closing a cycle
  // through a node outside the merged pair.
  Clusters clusters(graph.num_nodes());
  for (int id : order) {
    for (const ir::ValueRef& in : graph.node(id).inputs) clusters.AddEdge(in.node, id);
  }
  for (int id : order) {
    if (!candidate[id]) continue;
    for (const ir::ValueRef& in : graph.node(id).inputs) {
      if (!candidate[in.node]) continue;
      if (clusters.CanMerge(in.node, id)) clusters.Merge(in.node, id);
    }
  }

  // Whole clusters: constants alone are not segments, small ones stay native.
  std::map<int, Segment> by_root;
  for (int id : order) {
    if (!candidate[id]) continue;
    Segment& s = by_root[clusters.Find(id)];
    s.nodes.push_back(id);
    const std::string& op = graph.node(id).op;
    if (!IsIdentityLike(op) && op != "Const") ++s.counted_ops;
  }
  std::vector<Segment> segments;
  for (auto& [root, s] : by_root) {
    if (s.counted_ops == 0 || s.counted_ops < options.minimum_segment_size) {
      const std::string why = s.counted_ops == 0 ? "feeds no converted op"
                                                 : "its segment has " + std::to_string(s.counted_ops) +
                                                       " op(s), fewer than minimum_segment_size " +
                                                       std::to_string(options.minimum_segment_size);
      for (int id : s.nodes) result.native_reasons[id] = why;
      continue;
    }
    segments.push_back(std::move(s));
  }
  std::stable_sort(segments.begin(), segments.end(),
                   [](const Segment& a, const Segment& b) { return a.counted_ops > b.counted_ops; });
  if (options.maximum_segments >= 0 && static_cast<int>(segments.size()) > options.maximum_segments) {
    for (size_t i = static_cast<size_t>(options.maximum_segments); i < segments.size(); ++i) {
      for (int id : segments[i].nodes) {
        result.native_reasons[id] = "its segment is past the cap of " + std::to_string(options.maximum_segments) +
                                    " engines (smaller segments stay native)";
      }
    }
    segments.resize(static_cast<size_t>(options.maximum_segments));
  }
  for (auto& s : segments) {
    std::sort(s.nodes.begin(), s.nodes.end(), [&](int a, int b) { return position[a] < position[b]; });
  }
  result.segments = std::move(segments);
  return result;
}

}  // namespace kiln::partition
