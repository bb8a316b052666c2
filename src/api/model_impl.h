#pragma once
// What a loaded Model holds, shared by the Model API and the converter (which runs and saves
// converted models through the same structure).

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/engine_op.h"
#include "ir/graph.h"
#include "kiln/model.h"
#include "proto/graph.pb.h"
#include "runtime/executor.h"

namespace kiln {

struct Model::Impl {
  SignatureInfo signature;
  ir::Graph graph;
  // For converted models: one per KilnEngineOp node, run by the executor in its place.
  std::vector<std::unique_ptr<engine::EngineOp>> engine_ops;
  std::unique_ptr<runtime::Executor> executor;

  // Builds the executor for `options.device`, with the engine ops' kernels for their nodes.
  Status Prepare(const LoadOptions& options);
  // Checks named inputs against the signature and runs the graph.
  StatusOr<std::map<std::string, Tensor>> Run(const std::map<std::string, Tensor>& inputs,
                                               const RunOptions& options = {}) const;
};

namespace api {

// Model::Load without the wrapper.
StatusOr<std::unique_ptr<Model::Impl>> LoadModel(const std::string& path, const LoadOptions& options);

// The frontend step of loading: the frozen, optimized graph and its signature. A converted
// model's KilnEngineOp nodes come back as nodes, and the functions they name with them.
struct ImportedModel {
  SignatureInfo signature;
  ir::Graph graph;
  std::map<std::string, tfproto::FunctionDef> functions;
};
StatusOr<ImportedModel> ImportModel(const std::string& path, const LoadOptions& options);

}  // namespace api
}  // namespace kiln
