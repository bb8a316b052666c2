#pragma once
// What kiln's kernels on cuDNN's graph API share (built only with the cuDNN frontend headers,
// KILN_HAVE_CUDNN_FRONTEND): errors as a Status, the choice of an execution plan by timing the
// candidates cuDNN offers (kept as tactics, runtime/tactics.h), running it, and a process-wide cache
// of built graphs by problem.

#include <cudnn_frontend.h>

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "cuda/stream_context.h"

namespace kiln::cuda::cudnn_graph {

namespace fe = cudnn_frontend;
using TensorAttrs = std::shared_ptr<fe::graph::Tensor_attributes>;
using VariantPack = std::unordered_map<TensorAttrs, void*>;

// OK, or Unimplemented naming the step that failed and cuDNN's message.
Status Check(fe::error_t status, const char* step);

// The execution plan a problem runs with.
struct Plan {
  std::string key;  // the problem, as its tactic is named
  int64_t index = 0;
  int64_t workspace = 0;
};

// The plan the tactic `key` names when it still builds; else the fastest of the first `candidates`
// plans cuDNN offers, timed on the stream with `pack`'s tensors, and recorded as the tactic.
StatusOr<Plan> ChoosePlan(StreamContext& ctx, cudnnHandle_t handle, const std::string& key, fe::graph::Graph& graph,
                          VariantPack& pack, int candidates = 4);

// Runs `plan` on the stream with a workspace from the run's memory; false when cuDNN refuses it.
StatusOr<bool> Execute(StreamContext& ctx, cudnnHandle_t handle, fe::graph::Graph& graph, const Plan& plan,
                       VariantPack& pack);

// Built graphs by problem key, for the process, each with its plan: G has members `graph` (a
// shared_ptr<fe::graph::Graph>) and `plan`, and the tensors a run binds. A problem cuDNN does not
// take is kept as null, so it is described only once.
template <typename G>
class GraphCache {
 public:
  // The graph for `key`: from the cache, or made by `describe` and given the fastest plan, timed
  // with the tensors `bind` gives. Null when cuDNN does not take the problem.
  std::shared_ptr<const G> Get(StreamContext& ctx, cudnnHandle_t handle, const std::string& key,
                               const std::function<StatusOr<G>()>& describe,
                               const std::function<VariantPack(const G&)>& bind) {
    if (std::optional<std::shared_ptr<const G>> known = Find(key)) return *known;
    std::shared_ptr<G> made;
    if (StatusOr<G> described = describe(); described.ok()) {
      made = std::make_shared<G>(std::move(described).value());
      VariantPack pack = bind(*made);
      StatusOr<Plan> plan = ChoosePlan(ctx, handle, key, *made->graph, pack);
      if (plan.ok()) {
        made->plan = std::move(plan).value();
      } else {
        made = nullptr;
      }
    }
    return Insert(key, std::move(made));
  }


  // The entry for `key` (null: cuDNN does not take it), or nullopt when it is not known yet.
  std::optional<std::shared_ptr<const G>> Find(const std::string& key) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = graphs_.find(key);
    if (it == graphs_.end()) return std::nullopt;
    return it->second;
  }
  // Keeps `made` for `key` unless another thread got there first; returns the entry kept.
  std::shared_ptr<const G> Insert(const std::string& key, std::shared_ptr<const G> made) {
    std::lock_guard<std::mutex> lock(mu_);
    return graphs_.emplace(key, std::move(made)).first->second;
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<const G>> graphs_;
};

}  // namespace kiln::cuda::cudnn_graph
