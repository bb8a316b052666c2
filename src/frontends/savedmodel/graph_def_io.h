#pragma once
// kiln's IR written back as TensorFlow protos (AttrValue, GraphDef, FunctionDef, SavedModel) and
// GraphDefs / FunctionDefs in that form read back into IR. The readers are strict: they serve
// serialized engine graphs, so bad data is an error naming the node, never a crash.

#include <functional>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "kiln/model.h"
#include "proto/graph.pb.h"

namespace kiln::savedmodel {

// The inverse of ConvertAttr: every kind of ir::AttrValue as a TensorFlow AttrValue. An empty
// list of any type is written as an empty list (it reads back as an empty list); std::monostate as
// an AttrValue with no value set.
StatusOr<tfproto::AttrValue> AttrToProto(const ir::AttrValue& value);

// Whether TensorFlow accepts `name` as a node name: [A-Za-z0-9.][A-Za-z0-9_.\-/>]*.
bool IsLegalNodeName(const std::string& name);

// Renames nodes whose names TensorFlow would refuse (ONNX names such as "/conv/Conv" or "x:0")
// to legal names unique in the graph; nodes with legal names keep them.
Status LegalizeNodeNames(ir::Graph& graph);

// Where a graph's large constants go when it is written, so that a model's weights are not bound
// by protobuf's 2 GB: each Const whose value is numeric and of at least `min_bytes` is given to
// `store`, which keeps it (in a tensor bundle, say) and returns its key, and is written as a
// variable read once, as TensorFlow writes one:
//   VarHandleOp "<name>/variable" (shared_name: the key) -> ReadVariableOp "<name>" (dtype)
// The Const's users read the ReadVariableOp, which has its name.
struct VariableStore {
  size_t min_bytes = 1024;
  std::function<StatusOr<std::string>(const std::string& node_name, const Tensor& value)> store;
};

// The value saved under a variable's key (its shared_name), of the dtype and shape its handle
// declares (the reader checks the value against them), for readers of graphs written with a
// VariableStore.
using CheckpointReader = std::function<StatusOr<Tensor>(const std::string& key, DType dtype, const Shape& shape)>;

// One NodeDef per node in topological order; inputs read "producer" for output 0 and
// "producer:i" for flat output i. An illegal node name is an error naming the node. With
// `variables`, large constants are written as variables (VariableStore).
StatusOr<tfproto::GraphDef> GraphToGraphDef(const ir::Graph& graph, const VariableStore* variables = nullptr);

// Reads a GraphDef in the form GraphToGraphDef writes. The Placeholders named in `input_nodes`
// become the graph inputs (in that order, named after the node) and `output_tensors` ("node" or
// "node:i") the graph outputs (named by those strings). Attributes get the op's defaults and
// shapes are inferred. Unknown ops, dangling or malformed inputs and cycles are errors naming
// the node. A variable read (VariableStore's form) becomes a Const of the value `checkpoint`
// gives for its key; without a checkpoint, or a value of another dtype or shape, it is an error.
StatusOr<ir::Graph> GraphFromGraphDef(const tfproto::GraphDef& def, const std::vector<std::string>& input_nodes,
                                      const std::vector<std::string>& output_tensors,
                                      const CheckpointReader* checkpoint = nullptr);

// The graph as a function: graph inputs become input args (named by their GraphEndpoint, with
// their shapes in arg_attr "_output_shapes"), graph outputs output args bound by ret to
// "node:i"; Placeholders are left out of the body and their users read the arg.
StatusOr<tfproto::FunctionDef> GraphToFunctionDef(const ir::Graph& graph, const std::string& function_name,
                                                  const VariableStore* variables = nullptr);

// The graph's function library (the bodies of its control-flow nodes) and, recursively, the
// bodies' own, as FunctionDefs with their constants inline. A function of the graph keeps its
// name; one of function F's library is written as "F__name", and F's nodes name it so.
StatusOr<std::vector<tfproto::FunctionDef>> FunctionLibraryToProto(const ir::Graph& graph);

// The inverse of GraphToFunctionDef: args become Placeholders (shape from arg_attr
// "_output_shapes" when present), output args the graph outputs. Body inputs may read "arg",
// "node", "node:i" or "node:out_arg:i". Strict as GraphFromGraphDef, and reads variables the same way.
StatusOr<ir::Graph> GraphFromFunctionDef(const tfproto::FunctionDef& fn, const CheckpointReader* checkpoint = nullptr);

// Writes <dir>/saved_model.pb (creating `dir` and its parents) with one MetaGraph tagged `tags`
// holding GraphToGraphDef(graph) plus `library`, and one signature `signature_key` whose inputs
// and outputs are the graph's (GraphEndpoint names are the signature keys). The variables/
// directory is created; with `variables`, the graph's large constants go through it (the caller
// writes what it stored, e.g. into variables/variables with a TensorBundleWriter), else they stay
// inline. No object graph is written: each variable's checkpoint key is its shared_name.
Status WriteSavedModel(const std::string& dir, const ir::Graph& graph, const SignatureInfo& signature,
                       const std::vector<std::string>& tags, const std::string& signature_key,
                       const std::vector<tfproto::FunctionDef>& library, const VariableStore* variables = nullptr);

}  // namespace kiln::savedmodel
