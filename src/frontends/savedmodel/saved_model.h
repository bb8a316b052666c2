#pragma once
// The SavedModel frontend's entry points: read saved_model.pb, choose a MetaGraph and a
// signature, and import that signature as a frozen IR graph.

#include <string>
#include <vector>

#include "ir/graph.h"
#include "kiln/model.h"
#include "proto/saved_model.pb.h"

namespace kiln::savedmodel {

// Parses <dir>/saved_model.pb; errors name the file.
StatusOr<tfproto::SavedModel> ReadSavedModel(const std::string& dir);

// The MetaGraph whose tag set equals `tags` (order does not matter); the error lists those present.
StatusOr<const tfproto::MetaGraphDef*> SelectMetaGraph(const tfproto::SavedModel& model,
                                                       const std::vector<std::string>& tags);

// Describes every MetaGraph and its signatures.
std::vector<MetaGraphInfo> DescribeSavedModel(const tfproto::SavedModel& model);
SignatureInfo DescribeSignature(const std::string& key, const tfproto::SignatureDef& sig);

// Imports one signature with its variables frozen from <dir>/variables. The error for an unknown
// key lists the keys present.
StatusOr<ir::Graph> LoadSignatureGraph(const std::string& dir, const tfproto::MetaGraphDef& meta,
                                       const std::string& signature_key);

}  // namespace kiln::savedmodel
