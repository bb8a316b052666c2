#include <set>

#include "passes/passes.h"

namespace kiln::passes {

Status RemoveIdentities(ir::Graph& graph) {
  static const std::set<std::string> kIdentityOps = {"Identity", "IdentityN", "StopGradient", "Snapshot",
                                                     "PreventGradient"};
  for (int id = 0; id < graph.num_nodes(); ++id) {
    ir::Node& n = graph.node(id);
    if (!kIdentityOps.count(n.op)) continue;
    for (int i = 0; i < static_cast<int>(n.inputs.size()) && i < static_cast<int>(n.outputs.size()); ++i) {
      graph.ReplaceAllUses({id, i}, n.inputs[i]);
    }
  }
  graph.RemoveDeadNodes();
  return OkStatus();
}

}  // namespace kiln::passes
