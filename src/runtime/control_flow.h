#pragma once
// Kernels of control-flow nodes (If, Case, Loop, While and their Stateless forms; see
// src/ir/ops/control_flow_ops.cc). Each runs its bodies with executors of their own, made once
// with the node's executor and on its device; a condition is read on the host, a body runs where
// its executor placed its nodes.

#include <string>

#include "runtime/executor.h"

namespace kiln::runtime {

bool IsControlFlowOp(const std::string& op);

// The kernel of control-flow node `node` of `graph`: executors for its bodies (from the graph's
// function library) with `options`' device, TF32 setting and iteration limit. An error names the
// body that cannot run.
StatusOr<KernelFn> MakeControlFlowKernel(const ir::Graph& graph, const ir::Node& node, const ExecutorOptions& options);

}  // namespace kiln::runtime
