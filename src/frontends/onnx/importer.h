#pragma once
// ONNX file -> kiln IR: graph inputs become Placeholders, initializers Consts, local functions
// are inlined, and every node goes through its op converter (ops/*.cc).

#include <map>
#include <string>

#include "ir/graph.h"
#include "kiln/model.h"
#include "kiln/status.h"

namespace kiln::onnx {

struct ImportedModel {
  ir::Graph graph;
  SignatureInfo signature;  // the graph's inputs and outputs, in file order
};

// Reads and converts the model at `path`. Ops kiln cannot convert are all listed in one error
// before anything is converted; other errors name the node.
StatusOr<ImportedModel> ImportOnnxModel(const std::string& path);

// Whether `path` names an ONNX file rather than a SavedModel directory.
bool IsOnnxPath(const std::string& path);

}  // namespace kiln::onnx
