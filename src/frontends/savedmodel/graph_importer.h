#pragma once
// Turns one signature of a MetaGraph into kiln's IR: a Placeholder per signature input, every
// function call inlined, variables frozen into constants, control-only and save/restore nodes
// left behind (only what the signature's outputs depend on is imported).

#include <functional>
#include <string>

#include "ir/graph.h"
#include "proto/saved_model.pb.h"

namespace kiln::savedmodel {

// Returns the value of the variable behind a top-level VarHandleOp node.
using VariableReader = std::function<StatusOr<Tensor>(const std::string& handle_node)>;

StatusOr<ir::Graph> ImportSignature(const tfproto::MetaGraphDef& meta, const std::string& signature_key,
                                    const VariableReader& read_variable);

}  // namespace kiln::savedmodel
