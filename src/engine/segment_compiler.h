#pragma once
// What the CPU and CUDA backends share: which nodes engines take, and how a segment becomes the
// optimized graph an engine runs (inputs narrowed to the shape profiles, fusion, precision, weights
// folded) and its serialized form.

#include <string>
#include <string_view>
#include <vector>

#include "engine/backend.h"
#include "runtime/executor.h"

namespace kiln::engine {

// OK when an engine of `backend` ("cpu", "cuda") takes `node`; else why not. Both backends claim
// the same ops, so a model partitions the same way for either.
Status ValidateEngineNode(const ir::Graph& graph, const ir::Node& node, std::string_view backend);

struct CompiledSegment {
  ir::Graph graph;                 // shapes inferred
  std::vector<std::string> notes;  // what the build decided that a user should know
};

// A private copy of `segment`, its inputs narrowed to the profiles' shapes, fused for engines, with
// the precision of config (reduced-precision rounding and quantization as explicit ops, weights
// converted once by folding).
StatusOr<CompiledSegment> CompileSegment(const ir::Graph& segment, const BuildConfig& config);

// Fails when the executor's memory plan needs more than config.max_workspace_size_bytes.
Status CheckWorkspace(const runtime::Executor& executor, const BuildConfig& config);

// The compiled graph as an engine payload, and back; `backend` names the payload in errors.
StatusOr<std::string> SerializeGraph(const ir::Graph& graph, std::string_view backend);
StatusOr<ir::Graph> DeserializeGraph(std::string_view payload, std::string_view backend);

}  // namespace kiln::engine
