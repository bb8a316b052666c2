#include "frontends/onnx/op_versions.h"

#include <map>

namespace kiln::onnx {

int64_t DefinedAsAtOpset13Since(const std::string& op_type) {
  static const std::map<std::string, int64_t> kSince = {
#include "frontends/onnx/op_versions.inc"
  };
  auto it = kSince.find(op_type);
  return it == kSince.end() ? 0 : it->second;
}

}  // namespace kiln::onnx
