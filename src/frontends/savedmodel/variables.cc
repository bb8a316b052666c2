#include "frontends/savedmodel/variables.h"

#include <deque>

#include "proto/saved_object_graph.pb.h"

namespace kiln::savedmodel {
namespace {

constexpr char kObjectGraphKey[] = "_CHECKPOINTABLE_OBJECT_GRAPH";

bool IsCallOp(const std::string& op) { return op == "StatefulPartitionedCall" || op == "PartitionedCall"; }

std::string StripOutputIndex(const std::string& input) {
  const size_t colon = input.find(':');
  return colon == std::string::npos ? input : input.substr(0, colon);
}

// saved node id -> trackable node id, paired by walking both graphs from node 0 by child name.
std::map<int, int> PairObjectGraphs(const tfproto::SavedObjectGraph& saved, const tfproto::TrackableObjectGraph& ckpt) {
  std::map<int, int> pairs;
  std::deque<std::pair<int, int>> work{{0, 0}};
  while (!work.empty()) {
    auto [s, c] = work.front();
    work.pop_front();
    if (s < 0 || s >= saved.nodes_size() || c < 0 || c >= ckpt.nodes_size() || pairs.count(s)) continue;
    pairs[s] = c;
    for (const auto& sc : saved.nodes(s).children()) {
      for (const auto& cc : ckpt.nodes(c).children()) {
        if (cc.local_name() == sc.local_name()) {
          work.push_back({sc.node_id(), cc.node_id()});
          break;
        }
      }
    }
  }
  return pairs;
}

// A checkpoint without an object graph (a model kiln converted; a TensorFlow 1 graph of resource
// variables): each top-level handle's value is saved under its shared_name.
StatusOr<std::map<std::string, std::string>> MapHandlesBySharedName(const tfproto::GraphDef& graph,
                                                                    const TensorBundle& bundle) {
  std::map<std::string, std::string> keys;
  for (const auto& n : graph.node()) {
    if (n.op() != "VarHandleOp") continue;
    const auto shared = n.attr().find("shared_name");
    const std::string key = shared != n.attr().end() && !shared->second.s().empty() ? shared->second.s() : n.name();
    if (!bundle.Has(key)) {
      return NotFound("variable '" + n.name() + "' has no value in the checkpoint '" + bundle.IndexPath() +
                      "' (no key '" + key + "', and no object graph to bind it otherwise)")
          .AtNode(n.name(), n.op());
    }
    keys[n.name()] = key;
  }
  return keys;
}

}  // namespace

StatusOr<std::map<std::string, std::string>> MapVariableHandlesToCheckpointKeys(const tfproto::MetaGraphDef& meta,
                                                                               const TensorBundle& bundle) {
  std::map<std::string, std::string> keys;
  const auto& graph = meta.graph_def();
  std::map<std::string, const tfproto::NodeDef*> top_level;
  bool has_handles = false;
  for (const auto& n : graph.node()) {
    top_level[n.name()] = &n;
    has_handles |= n.op() == "VarHandleOp";
  }
  if (!has_handles) return keys;
  if (!bundle.Has(kObjectGraphKey)) return MapHandlesBySharedName(graph, bundle);
  KILN_ASSIGN_OR_RETURN(Tensor og, bundle.Read(kObjectGraphKey));
  tfproto::TrackableObjectGraph ckpt;
  if (og.dtype() != DType::kString || og.num_elements() != 1 || !ckpt.ParseFromString(og.strings()[0])) {
    return DataLoss("the checkpoint's object graph does not parse");
  }
  const auto& saved = meta.object_graph_def();
  const std::map<int, int> pairs = PairObjectGraphs(saved, ckpt);

  for (const auto& n : graph.node()) {
    if (!IsCallOp(n.op())) continue;
    auto f = n.attr().find("f");
    if (f == n.attr().end()) continue;
    auto fn = saved.concrete_functions().find(f->second.func().name());
    if (fn == saved.concrete_functions().end()) continue;
    std::vector<std::string> data_inputs;
    for (const auto& in : n.input())
      if (!in.empty() && in[0] != '^') data_inputs.push_back(StripOutputIndex(in));
    const auto& bound = fn->second.bound_inputs();
    if (bound.size() > static_cast<int>(data_inputs.size())) {
      return DataLoss("call '" + n.name() + "' captures " + std::to_string(bound.size()) + " values but has only " +
                      std::to_string(data_inputs.size()) + " inputs");
    }
    const size_t first = data_inputs.size() - static_cast<size_t>(bound.size());
    for (int k = 0; k < bound.size(); ++k) {
      const std::string& handle = data_inputs[first + k];
      auto it = top_level.find(handle);
      if (it == top_level.end() || it->second->op() != "VarHandleOp" || keys.count(handle)) continue;
      const int saved_id = bound[k];
      if (saved_id < 0 || saved_id >= saved.nodes_size() || !saved.nodes(saved_id).has_variable()) {
        return DataLoss("captured input '" + handle + "' of '" + n.name() + "' is not bound to a saved variable");
      }
      auto paired = pairs.find(saved_id);
      std::string key;
      if (paired != pairs.end()) {
        for (const auto& attr : ckpt.nodes(paired->second).attributes())
          if (attr.name() == "VARIABLE_VALUE") key = attr.checkpoint_key();
      }
      if (key.empty()) {
        return DataLoss("variable '" + saved.nodes(saved_id).variable().name() + "' (captured as '" + handle +
                        "') has no value in the checkpoint's object graph");
      }
      keys[handle] = key;
    }
  }
  return keys;
}

}  // namespace kiln::savedmodel
