// The partitioner on small hand-built graphs: clusters, cycles avoided, minimum_segment_size,
// the denylist, the engine cap, and a reason for every node left native.
#include "partition/partitioner.h"

#include <random>

#include "ir/op_registry.h"
#include "util/test_util.h"

namespace kiln::partition {
namespace {

// A graph built node by node; ops named "Bad" are what the test engine cannot convert.
class GraphBuilder {
 public:
  GraphBuilder() {
    ir::AttrMap attrs;
    attrs.Set("dtype", DType::kFloat32);
    attrs.Set("shape", PartialShape::Known({4}));
    input_ = graph_.AddNode("x", "Placeholder", {}, attrs, 1)->id;
    graph_.inputs().push_back({"x", {input_, 0}});
  }
  int Add(const std::string& name, const std::string& op, std::vector<int> inputs) {
    std::vector<ir::ValueRef> refs;
    for (int i : inputs) refs.push_back({i, 0});
    return graph_.AddNode(name, op, refs, {}, 1)->id;
  }
  int input() const { return input_; }
  ir::Graph& graph() { return graph_; }
  void Output(int id) { graph_.outputs().push_back({"y" + std::to_string(id), {id, 0}}); }

 private:
  ir::Graph graph_;
  int input_ = -1;
};

Status TestEngine(const ir::Graph&, const ir::Node& n) {
  if (n.op == "Bad") return Unimplemented("the test engine has no converter for Bad");
  return OkStatus();
}

std::vector<std::string> Names(const ir::Graph& g, const Segment& s) {
  std::vector<std::string> names;
  for (int id : s.nodes) names.push_back(g.node(id).name);
  return names;
}

TEST(PartitionerTest, ChainBecomesOneSegment) {
  GraphBuilder b;
  int a = b.Add("a", "Relu", {b.input()});
  int c = b.Add("b", "Neg", {a});
  int d = b.Add("c", "Exp", {c});
  b.Output(d);
  KILN_ASSERT_OK_AND_ASSIGN(Partition p, PartitionGraph(b.graph(), TestEngine, {}));
  ASSERT_EQ(p.segments.size(), 1u);
  EXPECT_EQ(Names(b.graph(), p.segments[0]), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_TRUE(p.native_reasons.empty());
}

TEST(PartitionerTest, UnsupportedOpSplitsTwoSegmentsWithItsReason) {
  GraphBuilder b;
  int n1 = b.Add("a1", "Relu", {b.input()});
  int n2 = b.Add("a2", "Neg", {n1});
  int n3 = b.Add("a3", "Exp", {n2});
  int bad = b.Add("bad", "Bad", {n3});
  int m1 = b.Add("b1", "Relu", {bad});
  int m2 = b.Add("b2", "Neg", {m1});
  int m3 = b.Add("b3", "Exp", {m2});
  b.Output(m3);
  KILN_ASSERT_OK_AND_ASSIGN(Partition p, PartitionGraph(b.graph(), TestEngine, {}));
  ASSERT_EQ(p.segments.size(), 2u);
  ASSERT_EQ(p.native_reasons.count(bad), 1u);
  EXPECT_EQ(p.native_reasons.at(bad), "the test engine has no converter for Bad");
}

// a feeds c directly and through an unconvertible b: one segment {a, c} would need b's output
// inside and feed b from inside, a cycle through the native runtime. They stay apart.
TEST(PartitionerTest, NeverMergesAcrossANativePath) {
  GraphBuilder b;
  int a = b.Add("a", "Relu", {b.input()});
  int bad = b.Add("bad", "Bad", {a});
  int c = b.Add("c", "AddV2", {a, bad});
  b.Output(c);
  PartitionOptions options;
  options.minimum_segment_size = 1;
  KILN_ASSERT_OK_AND_ASSIGN(Partition p, PartitionGraph(b.graph(), TestEngine, options));
  ASSERT_EQ(p.segments.size(), 2u);
  for (const Segment& s : p.segments) EXPECT_EQ(s.nodes.size(), 1u);
}

TEST(PartitionerTest, SmallSegmentsStayNativeAndIdentitiesDoNotCount) {
  GraphBuilder b;
  int a = b.Add("a", "Relu", {b.input()});
  int i1 = b.Add("i1", "Identity", {a});
  int i2 = b.Add("i2", "Identity", {i1});
  int c = b.Add("c", "Neg", {i2});
  b.Output(c);
  KILN_ASSERT_OK_AND_ASSIGN(Partition p, PartitionGraph(b.graph(), TestEngine, {}));  // minimum 3
  EXPECT_TRUE(p.segments.empty());
  ASSERT_EQ(p.native_reasons.count(a), 1u);
  EXPECT_EQ(p.native_reasons.at(a), "its segment has 2 op(s), fewer than minimum_segment_size 3");

  PartitionOptions two;
  two.minimum_segment_size = 2;
  KILN_ASSERT_OK_AND_ASSIGN(p, PartitionGraph(b.graph(), TestEngine, two));
  ASSERT_EQ(p.segments.size(), 1u);
  EXPECT_EQ(p.segments[0].counted_ops, 2);
  EXPECT_EQ(p.segments[0].nodes.size(), 4u);
}

TEST(PartitionerTest, DenylistAndDisabledConversionAreReasons) {
  GraphBuilder b;
  int a = b.Add("a", "Relu", {b.input()});
  int c = b.Add("c", "Neg", {a});
  int d = b.Add("d", "Exp", {c});
  b.Output(d);
  PartitionOptions deny;
  deny.minimum_segment_size = 1;
  deny.denylist = {"Neg"};
  KILN_ASSERT_OK_AND_ASSIGN(Partition p, PartitionGraph(b.graph(), TestEngine, deny));
  EXPECT_EQ(p.segments.size(), 2u);
  EXPECT_EQ(p.native_reasons.at(c), "op Neg is on the denylist");

  PartitionOptions off;
  off.minimum_segment_size = -1;
  KILN_ASSERT_OK_AND_ASSIGN(p, PartitionGraph(b.graph(), TestEngine, off));
  EXPECT_TRUE(p.segments.empty());
  EXPECT_EQ(p.native_reasons.size(), 3u);
  EXPECT_EQ(p.native_reasons.at(a), "conversion is disabled (minimum_segment_size is -1)");
}

TEST(PartitionerTest, EngineCapKeepsTheLargestSegments) {
  GraphBuilder b;
  int x = b.input();
  std::vector<int> small, large;
  int prev = x;
  for (int i = 0; i < 2; ++i) small.push_back(prev = b.Add("s" + std::to_string(i), "Relu", {prev}));
  int bad = b.Add("bad", "Bad", {prev});
  prev = bad;
  for (int i = 0; i < 4; ++i) large.push_back(prev = b.Add("l" + std::to_string(i), "Neg", {prev}));
  b.Output(prev);
  PartitionOptions options;
  options.minimum_segment_size = 1;
  options.maximum_segments = 1;
  KILN_ASSERT_OK_AND_ASSIGN(Partition p, PartitionGraph(b.graph(), TestEngine, options));
  ASSERT_EQ(p.segments.size(), 1u);
  EXPECT_EQ(p.segments[0].nodes, large);
  EXPECT_NE(p.native_reasons.at(small[0]).find("past the cap of 1 engines"), std::string::npos);
}

// On random DAGs with random unconvertible nodes, no segment has a path that leaves it and comes
// back (which would make the converted graph cyclic), and every node is either in exactly one
// segment or has a reason.
TEST(PartitionerTest, RandomGraphsNeverGetCyclicSegments) {
  std::mt19937 rng(17);
  for (int trial = 0; trial < 50; ++trial) {
    GraphBuilder b;
    std::vector<int> ids = {b.input()};
    for (int i = 0; i < 30; ++i) {
      std::vector<int> inputs;
      const int fan_in = 1 + static_cast<int>(rng() % 2);
      for (int k = 0; k < fan_in; ++k) inputs.push_back(ids[rng() % ids.size()]);
      ids.push_back(b.Add("n" + std::to_string(i), rng() % 4 == 0 ? "Bad" : "AddV2", inputs));
    }
    b.Output(ids.back());
    const ir::Graph& g = b.graph();
    PartitionOptions options;
    options.minimum_segment_size = 1;
    KILN_ASSERT_OK_AND_ASSIGN(Partition p, PartitionGraph(g, TestEngine, options));

    const int n = g.num_nodes();
    std::vector<std::vector<int>> succ(n);
    for (int id = 0; id < n; ++id)
      for (const auto& in : g.node(id).inputs) succ[in.node].push_back(id);
    auto reachable_from = [&](const std::vector<int>& start) {
      std::vector<bool> seen(n, false);
      std::vector<int> stack = start;
      while (!stack.empty()) {
        int v = stack.back();
        stack.pop_back();
        for (int s : succ[v])
          if (!seen[s]) seen[s] = true, stack.push_back(s);
      }
      return seen;
    };
    std::vector<int> owner(n, -1);
    for (size_t k = 0; k < p.segments.size(); ++k) {
      for (int id : p.segments[k].nodes) {
        ASSERT_EQ(owner[id], -1) << "node in two segments";
        owner[id] = static_cast<int>(k);
      }
    }
    for (int id = 1; id < n; ++id) EXPECT_TRUE(owner[id] >= 0 || p.native_reasons.count(id)) << "node " << id;
    for (size_t k = 0; k < p.segments.size(); ++k) {
      const std::vector<bool> out = reachable_from(p.segments[k].nodes);
      for (int v = 0; v < n; ++v) {
        if (!out[v] || owner[v] == static_cast<int>(k)) continue;
        // v is outside the segment and reachable from it: the segment must not be reachable from v.
        const std::vector<bool> back = reachable_from({v});
        for (int id : p.segments[k].nodes) ASSERT_FALSE(back[id]) << "trial " << trial << ": cycle through node " << v;
      }
    }
  }
}

}  // namespace
}  // namespace kiln::partition
