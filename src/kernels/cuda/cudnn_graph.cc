// Plan choice and execution for the kernels on cuDNN's graph API (cudnn_graph.h).
#ifdef KILN_HAVE_CUDNN_FRONTEND

#include "kernels/cuda/cudnn_graph.h"

#include <algorithm>
#include <cstdlib>
#include <vector>

#include "cuda/timing.h"
#include "runtime/tactics.h"

namespace kiln::cuda::cudnn_graph {

Status Check(fe::error_t status, const char* step) {
  if (status.is_good()) return OkStatus();
  return Unimplemented(std::string("cuDNN graph ") + step + ": " + status.get_message());
}

StatusOr<Plan> ChoosePlan(StreamContext& ctx, cudnnHandle_t handle, const std::string& key, fe::graph::Graph& graph,
                          VariantPack& pack, int candidates) {
  const int device = ctx.device().index;
  Plan plan{key};
  if (auto known = runtime::FindTactic(device, key)) {
    const int64_t index = std::atoll(known->c_str());
    if (index >= 0 && index < graph.get_execution_plan_count() && graph.build_plan_at_index(index).is_good()) {
      plan.index = index;
      KILN_RETURN_IF_ERROR(Check(graph.get_workspace_size_plan_at_index(index, plan.workspace), "workspace size"));
      return plan;
    }
  }
  KILN_RETURN_IF_ERROR(Check(graph.build_plans(fe::BuildPlanPolicy_t::ALL), "build_plans"));
  const int64_t count = std::min<int64_t>(graph.get_execution_plan_count(), candidates);
  int64_t most = 0;
  std::vector<int64_t> sizes(static_cast<size_t>(count), -1);
  for (int64_t i = 0; i < count; ++i) {
    if (graph.get_workspace_size_plan_at_index(i, sizes[i]).is_good()) most = std::max(most, sizes[i]);
  }
  KILN_ASSIGN_OR_RETURN(std::shared_ptr<Buffer> workspace, ctx.Scratch(static_cast<size_t>(most)));
  auto run = [&](int i) {
    return sizes[i] >= 0 && graph.execute_plan_at_index(handle, pack, workspace->data(), i).is_good();
  };
  KILN_ASSIGN_OR_RETURN(int best, FastestCandidate(ctx.stream(), static_cast<int>(count), run));
  if (best < 0) return Unimplemented("no cuDNN plan ran for " + key);
  plan.index = best;
  plan.workspace = sizes[best];
  runtime::RecordTactic(device, key, std::to_string(best));
  return plan;
}

StatusOr<bool> Execute(StreamContext& ctx, cudnnHandle_t handle, fe::graph::Graph& graph, const Plan& plan,
                       VariantPack& pack) {
  if (runtime::RecordingTactics()) runtime::NoteTacticUse(plan.key, std::to_string(plan.index));
  std::shared_ptr<Buffer> workspace;
  if (plan.workspace > 0) {
    KILN_ASSIGN_OR_RETURN(workspace, ctx.Scratch(static_cast<size_t>(plan.workspace)));
  }
  return graph.execute_plan_at_index(handle, pack, workspace ? workspace->data() : nullptr, plan.index).is_good();
}

}  // namespace kiln::cuda::cudnn_graph

#endif  // KILN_HAVE_CUDNN_FRONTEND
