#pragma once
// Which opsets define an ONNX op as opset 13 does: kiln implements each op from opset 13 on, so
// a model of an older opset reads only where every op it uses is defined as at 13.

#include <cstdint>
#include <string>

namespace kiln::onnx {

// The opset from which the default-domain op `op_type` has had the definition it has at opset
// 13 (its schema's since_version in effect at 13); 0 when the op did not exist by opset 13.
int64_t DefinedAsAtOpset13Since(const std::string& op_type);

}  // namespace kiln::onnx
