#pragma once
// Numbers read from kiln's JSON files (engine headers, conversion records) with their kind and
// range checked. nlohmann's get<int64_t>() and get<float>() convert whatever number they find, and
// a float past an integer's range, or a double past float's, is undefined behaviour: these throw
// nlohmann's own exceptions instead, which the readers already turn into errors that name the file.

#include <cmath>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace kiln::io {

template <typename Int>
Int JsonInteger(const nlohmann::json& j) {
  if (!j.is_number_integer()) {
    throw nlohmann::json::type_error::create(302, "expected an integer, got " + j.dump(), &j);
  }
  const bool fits = j.is_number_unsigned()
                        ? j.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<Int>::max())
                        : j.get<int64_t>() >= static_cast<int64_t>(std::numeric_limits<Int>::min()) &&
                              (std::numeric_limits<Int>::digits >= 63 ||
                               j.get<int64_t>() <= static_cast<int64_t>(std::numeric_limits<Int>::max()));
  if (!fits) throw nlohmann::json::out_of_range::create(406, "integer out of range: " + j.dump(), &j);
  return j.get<Int>();
}

inline std::vector<int64_t> JsonIntegers(const nlohmann::json& j) {
  if (!j.is_array()) throw nlohmann::json::type_error::create(302, "expected a list of integers, got " + j.dump(), &j);
  std::vector<int64_t> values;
  for (const auto& v : j) values.push_back(JsonInteger<int64_t>(v));
  return values;
}

inline float JsonFloat(const nlohmann::json& j) {
  if (!j.is_number()) throw nlohmann::json::type_error::create(302, "expected a number, got " + j.dump(), &j);
  const double v = j.get<double>();
  if (std::isfinite(v) && std::fabs(v) > static_cast<double>(std::numeric_limits<float>::max())) {
    throw nlohmann::json::out_of_range::create(406, "number out of float32's range: " + j.dump(), &j);
  }
  return static_cast<float>(v);
}

}  // namespace kiln::io
