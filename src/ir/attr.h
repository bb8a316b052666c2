#pragma once
// Node attributes: the values TensorFlow's AttrValue can hold, as kiln reads them.

#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include "kiln/status.h"
#include "kiln/tensor.h"

namespace kiln::ir {

// A function reference (AttrValue.func); kept for ops kiln does not inline.
struct FuncRef {
  std::string name;
  bool operator==(const FuncRef&) const = default;
};

using AttrValue = std::variant<std::monostate, int64_t, float, bool, std::string, DType, PartialShape, Tensor,
                               FuncRef, std::vector<int64_t>, std::vector<float>, std::vector<bool>,
                               std::vector<std::string>, std::vector<DType>, std::vector<PartialShape>,
                               std::vector<FuncRef>>;

// "int", "list(int)", ... for error messages.
std::string AttrTypeName(const AttrValue& value);

class AttrMap {
 public:
  void Set(const std::string& name, AttrValue value) { values_[name] = std::move(value); }
  bool Has(const std::string& name) const { return values_.count(name) != 0; }
  const AttrValue* Find(const std::string& name) const;
  const std::map<std::string, AttrValue>& all() const { return values_; }

  // Typed access; a missing attribute or one of another type is an InvalidArgument naming it.
  template <typename T>
  StatusOr<T> Get(const std::string& name) const {
    const AttrValue* v = Find(name);
    if (v == nullptr) return InvalidArgument("missing attribute '" + name + "'");
    if (const T* t = std::get_if<T>(v)) return *t;
    // An empty list parses as whichever list type the caller wants.
    if constexpr (std::is_same_v<T, std::vector<int64_t>> || std::is_same_v<T, std::vector<float>> ||
                  std::is_same_v<T, std::vector<std::string>> || std::is_same_v<T, std::vector<DType>> ||
                  std::is_same_v<T, std::vector<PartialShape>> || std::is_same_v<T, std::vector<bool>> ||
                  std::is_same_v<T, std::vector<FuncRef>>) {
      if (IsEmptyList(*v)) return T{};
    }
    return InvalidArgument("attribute '" + name + "' has type " + AttrTypeName(*v) + ", expected another type");
  }
  // Like Get, but returns `fallback` when the attribute is absent.
  template <typename T>
  StatusOr<T> GetOr(const std::string& name, T fallback) const {
    if (!Has(name)) return fallback;
    return Get<T>(name);
  }

 private:
  static bool IsEmptyList(const AttrValue& v);
  std::map<std::string, AttrValue> values_;
};

}  // namespace kiln::ir
