#include "convert/segments.h"

#include <algorithm>
#include <set>

#include "ir/op_registry.h"

namespace kiln::convert {
namespace {

std::string TensorName(const ir::Graph& graph, ir::ValueRef v) {
  return graph.node(v.node).name + ":" + std::to_string(v.index);
}

}  // namespace

std::string SegmentInputName(int i) { return "kiln_input_" + std::to_string(i); }

int CountEngineOps(const ir::Graph& graph) {
  int n = 0;
  for (int i = 0; i < graph.num_nodes(); ++i) n += graph.node(i).op == "KilnEngineOp";
  return n;
}

StatusOr<std::vector<ExtractedSegment>> ExtractSegments(ir::Graph& graph, const partition::Partition& partition,
                                                        const engine::EngineOpSpec& base) {
  // Users of every value, and the graph's outputs, to find what leaves each segment.
  std::map<ir::ValueRef, std::vector<int>> users;
  for (int i = 0; i < graph.num_nodes(); ++i) {
    for (const ir::ValueRef& in : graph.node(i).inputs) users[in].push_back(i);
  }
  std::set<ir::ValueRef> graph_outputs;
  for (const auto& out : graph.outputs()) graph_outputs.insert(out.value);

  // Engine outputs stand for tensors of the original graph; calibration keys use those names.
  std::map<ir::ValueRef, std::string> original_names;
  auto original_name = [&](ir::ValueRef v) {
    auto it = original_names.find(v);
    return it != original_names.end() ? it->second : TensorName(graph, v);
  };

  // Segments are named in the order the graph reaches them.
  KILN_ASSIGN_OR_RETURN(std::vector<int> topo, graph.TopologicalOrder());
  std::vector<int> position(static_cast<size_t>(graph.num_nodes()), 0);
  for (size_t i = 0; i < topo.size(); ++i) position[topo[i]] = static_cast<int>(i);
  std::vector<const partition::Segment*> ordered;
  for (const auto& seg : partition.segments) {
    if (!seg.nodes.empty()) ordered.push_back(&seg);
  }
  auto first = [&](const partition::Segment* s) {
    int p = graph.num_nodes();
    for (int id : s->nodes) p = std::min(p, position[id]);
    return p;
  };
  std::stable_sort(ordered.begin(), ordered.end(), [&](auto* a, auto* b) { return first(a) < first(b); });

  std::vector<ExtractedSegment> result;
  for (size_t k = 0; k < ordered.size(); ++k) {
    // Constants are copied into every segment that reads them rather than moved, so one shared
    // by two segments (or by native ops) never becomes an engine output.
    std::vector<int> members, constants;
    for (int id : ordered[k]->nodes) {
      if (graph.node(id).op != "Const") members.push_back(id);
    }
    for (int id : members) {
      for (const ir::ValueRef& in : graph.node(id).inputs) {
        if (graph.node(in.node).op == "Const" &&
            std::find(constants.begin(), constants.end(), in.node) == constants.end()) {
          constants.push_back(in.node);
        }
      }
    }
    members.insert(members.begin(), constants.begin(), constants.end());  // still topologically ordered
    const std::set<int> in_segment(members.begin(), members.end());
    ExtractedSegment seg;
    seg.spec = base;
    seg.spec.name = graph.UniqueName("KilnEngineOp_" + std::to_string(k));
    seg.spec.function = seg.spec.name + "_native";

    // Inputs: values from outside read by members, in order of first use.
    std::vector<ir::ValueRef> inputs;
    std::map<ir::ValueRef, int> input_index;
    for (int id : members) {
      for (const ir::ValueRef& in : graph.node(id).inputs) {
        if (in_segment.count(in.node) || input_index.count(in)) continue;
        input_index[in] = static_cast<int>(inputs.size());
        inputs.push_back(in);
      }
    }
    // Outputs: members' values read outside the segment or by the graph's outputs.
    std::vector<ir::ValueRef> outputs;
    for (int id : members) {
      if (graph.node(id).op == "Const") continue;  // copies; the original stays for other readers
      for (int o = 0; o < static_cast<int>(graph.node(id).outputs.size()); ++o) {
        const ir::ValueRef v{id, o};
        bool leaves = graph_outputs.count(v) > 0;
        for (int u : users[v]) leaves |= !in_segment.count(u);
        if (leaves) outputs.push_back(v);
      }
    }
    if (outputs.empty()) continue;  // nothing uses the segment; dead-node removal drops it

    // The native graph: Placeholders for the inputs, then the members, as they are.
    std::map<int, int> new_id;
    for (size_t i = 0; i < inputs.size(); ++i) {
      const ir::OutputInfo& info = graph.output_info(inputs[i]);
      ir::AttrMap attrs;
      attrs.Set("dtype", info.dtype);
      attrs.Set("shape", info.shape);
      ir::Node* p = seg.native.AddNode(SegmentInputName(static_cast<int>(i)), "Placeholder", {}, std::move(attrs), 1);
      p->outputs[0] = info;
      seg.native.inputs().push_back({SegmentInputName(static_cast<int>(i)), {p->id, 0}});
      seg.spec.input_dtypes.push_back(info.dtype);
      seg.spec.input_shapes.push_back(info.shape);
      seg.spec.input_tensors.push_back(original_name(inputs[i]));
    }
    for (int id : members) {
      const ir::Node& n = graph.node(id);
      std::vector<ir::ValueRef> ins;
      for (const ir::ValueRef& in : n.inputs) {
        if (in_segment.count(in.node)) {
          ins.push_back({new_id.at(in.node), in.index});
        } else {
          const int i = input_index.at(in);
          ins.push_back({seg.native.inputs()[i].value.node, 0});
        }
      }
      ir::Node* copy = seg.native.AddNode(n.name, n.op, std::move(ins), n.attrs, static_cast<int>(n.outputs.size()));
      copy->outputs = n.outputs;
      new_id[id] = copy->id;
    }
    for (size_t o = 0; o < outputs.size(); ++o) {
      seg.native.outputs().push_back(
          {"kiln_output_" + std::to_string(o), {new_id.at(outputs[o].node), outputs[o].index}});
      const ir::OutputInfo& info = graph.output_info(outputs[o]);
      seg.spec.output_dtypes.push_back(info.dtype);
      seg.spec.output_shapes.push_back(info.shape);
    }

    // The engine op takes the segment's place.
    ir::Node* op =
        graph.AddNode(seg.spec.name, "KilnEngineOp", inputs, seg.spec.ToAttrs(), static_cast<int>(outputs.size()));
    const int op_id = op->id;
    for (size_t o = 0; o < outputs.size(); ++o) {
      graph.node(op_id).outputs[o] = graph.output_info(outputs[o]);
      const ir::ValueRef replacement{op_id, static_cast<int>(o)};
      original_names[replacement] = original_name(outputs[o]);
      graph.ReplaceAllUses(outputs[o], replacement);
    }
    // Members may now read the engine's outputs; they are dead, but keep the graph acyclic by
    // pointing them back at their own values.
    for (int id : members) {
      for (ir::ValueRef& in : graph.node(id).inputs) {
        if (in.node == op_id) in = outputs[in.index];
      }
    }
    result.push_back(std::move(seg));
  }
  graph.RemoveDeadNodes();
  KILN_RETURN_IF_ERROR(ir::InferShapes(graph));
  return result;
}

}  // namespace kiln::convert
