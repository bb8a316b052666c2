#include "ir/attr.h"

namespace kiln::ir {

std::string AttrTypeName(const AttrValue& value) {
  static const char* kNames[] = {"none",       "int",        "float",        "bool",        "string",
                                 "type",       "shape",      "tensor",       "func",        "list(int)",
                                 "list(float)", "list(bool)", "list(string)", "list(type)", "list(shape)",
                                 "list(func)"};
  return kNames[value.index()];
}

const AttrValue* AttrMap::Find(const std::string& name) const {
  auto it = values_.find(name);
  return it == values_.end() ? nullptr : &it->second;
}

bool AttrMap::IsEmptyList(const AttrValue& v) {
  return std::visit(
      [](const auto& x) {
        using X = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<X, std::vector<int64_t>> || std::is_same_v<X, std::vector<float>> ||
                      std::is_same_v<X, std::vector<bool>> || std::is_same_v<X, std::vector<std::string>> ||
                      std::is_same_v<X, std::vector<DType>> || std::is_same_v<X, std::vector<PartialShape>> ||
                      std::is_same_v<X, std::vector<FuncRef>>) {
          return x.empty();
        } else {
          return false;
        }
      },
      v);
}

}  // namespace kiln::ir
