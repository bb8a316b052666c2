#pragma once
// Reading an ONNX file: the ModelProto, its opsets, and what its graph takes and gives.

#include <map>
#include <string>
#include <vector>

#include "kiln/model.h"
#include "kiln/status.h"
#include "proto/onnx.pb.h"

namespace kiln::onnx {

// kiln implements every op as opsets kMinOpset to kMaxOpset define it. Older models read where
// each op they use is defined as at kMinOpset (see op_versions.h).
inline constexpr int64_t kMinOpset = 13;
inline constexpr int64_t kMaxOpset = 28;

// Parses `path` (files up to 2 GB; larger tensors belong in external data). A file that is not
// a ModelProto, or one with no graph, is an error naming the file.
StatusOr<onnxproto::ModelProto> ReadModelProto(const std::string& path);

// Domain ("" for the default ONNX domain; "ai.onnx" is read as "") -> opset version.
// A default-domain opset above kMaxOpset (or below 1) is an error.
StatusOr<std::map<std::string, int64_t>> ModelOpsets(const onnxproto::ModelProto& model);

// A graph input/output as a TensorSpec: dtype, shape with -1 for symbolic or missing dims and
// their names in dim_names. Errors name the value.
StatusOr<TensorSpec> SpecFromValueInfo(const onnxproto::ValueInfoProto& info);

// The graph's real inputs (those that are not initializers) and outputs, in file order.
StatusOr<SignatureInfo> DescribeGraph(const onnxproto::GraphProto& graph);

}  // namespace kiln::onnx
