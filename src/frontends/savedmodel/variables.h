#pragma once
// Binds the variables a SavedModel's functions capture to their values in the checkpoint.

#include <map>
#include <string>

#include "frontends/savedmodel/tensor_bundle.h"
#include "proto/saved_model.pb.h"

namespace kiln::savedmodel {

// Maps the name of each top-level VarHandleOp that a function call captures to its checkpoint
// key. Route: the callee's bound_inputs name SavedObjectGraph variables; walking that graph and
// the checkpoint's TrackableObjectGraph together from the root by child names pairs each with
// its trackable object, whose VARIABLE_VALUE attribute holds the key. A checkpoint without an
// object graph (a model kiln converted, a TensorFlow 1 graph) binds every top-level handle to the
// key named by its shared_name instead.
StatusOr<std::map<std::string, std::string>> MapVariableHandlesToCheckpointKeys(const tfproto::MetaGraphDef& meta,
                                                                               const TensorBundle& bundle);

}  // namespace kiln::savedmodel
