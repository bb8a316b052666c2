// Calibration tables as JSON files (format "kiln-calibration", version 1).
#include "calibrate/table.h"

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "io/npy.h"

namespace kiln::calibrate {
namespace {

using nlohmann::json;

constexpr const char* kFormat = "kiln-calibration";
constexpr int kVersion = 1;

Status CheckAmax(const std::string& path, const std::string& tensor, double amax) {
  if (!std::isfinite(amax) || amax < 0) {
    return InvalidArgument("calibration table '" + path + "': tensor '" + tensor +
                           "': amax must be finite and non-negative, got " + std::to_string(amax));
  }
  return OkStatus();
}

// {"alpha": number in (0, 1], "channel_amax": [finite non-negative numbers]}.
StatusOr<ChannelSmoothing> ReadSmoothing(const std::string& where, const json& j) {
  const std::string expected = "\"smoothing\" must be {\"alpha\": number in (0, 1], \"channel_amax\": [numbers]}";
  if (!j.is_object() || !j.contains("alpha") || !j["alpha"].is_number() || !j.contains("channel_amax") ||
      !j["channel_amax"].is_array()) {
    return InvalidArgument(where + ": " + expected + ", got " + j.dump());
  }
  ChannelSmoothing sm;
  const double alpha = j["alpha"].get<double>();
  if (!(alpha > 0 && alpha <= 1)) {
    return InvalidArgument(where + ": smoothing alpha must be in (0, 1], got " + j["alpha"].dump());
  }
  sm.alpha = static_cast<float>(alpha);
  for (const json& c : j["channel_amax"]) {
    if (!c.is_number() || !std::isfinite(c.get<double>()) || c.get<double>() < 0 ||
        c.get<double>() > static_cast<double>(std::numeric_limits<float>::max())) {
      return InvalidArgument(where + ": \"channel_amax\" entries must be finite non-negative float32 numbers, got " +
                             c.dump());
    }
    sm.channel_amax.push_back(static_cast<float>(c.get<double>()));
  }
  return sm;
}

}  // namespace

Status WriteCalibrationTable(const CalibrationTable& table, const std::string& path) {
  json tensors = json::object();
  for (const auto& [name, amax] : table.amax) {
    KILN_RETURN_IF_ERROR(CheckAmax(path, name, amax));
    tensors[name] = {{"amax", static_cast<double>(amax)}};
  }
  for (const auto& [name, sm] : table.smoothing) {
    if (!tensors.contains(name)) {
      return InvalidArgument("calibration table '" + path + "': tensor '" + name + "' is smoothed but has no amax");
    }
    if (!(sm.alpha > 0 && sm.alpha <= 1)) {
      return InvalidArgument("calibration table '" + path + "': tensor '" + name +
                             "': smoothing alpha must be in (0, 1], got " + std::to_string(sm.alpha));
    }
    for (float a : sm.channel_amax) KILN_RETURN_IF_ERROR(CheckAmax(path, name, a));
    tensors[name]["smoothing"] = {{"alpha", sm.alpha}, {"channel_amax", sm.channel_amax}};
  }
  json j = {{"format", kFormat}, {"version", kVersion}, {"calibrator", table.calibrator}, {"tensors", tensors}};
  return io::WriteFile(path, j.dump(2) + "\n");
}

StatusOr<CalibrationTable> ReadCalibrationTable(const std::string& path) {
  KILN_ASSIGN_OR_RETURN(std::string text, io::ReadFile(path));
  const std::string where = "calibration table '" + path + "'";
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {  // a syntax error, or a number past a double's range
    return InvalidArgument(where + " is not valid JSON: " + e.what());
  }
  if (!j.is_object() || !j.contains("format") || j["format"] != kFormat) {
    return InvalidArgument(where + " is not a kiln calibration table (\"format\" must be \"" + kFormat + "\")");
  }
  if (!j.contains("version") || !j["version"].is_number_integer() || j["version"].get<int64_t>() != kVersion) {
    return InvalidArgument(where + " has version " + (j.contains("version") ? j["version"].dump() : "<missing>") +
                           "; this kiln reads version " + std::to_string(kVersion));
  }
  CalibrationTable table;
  if (j.contains("calibrator")) {
    if (!j["calibrator"].is_string()) return InvalidArgument(where + ": \"calibrator\" must be a string");
    table.calibrator = j["calibrator"].get<std::string>();
  }
  if (!j.contains("tensors") || !j["tensors"].is_object()) {
    return InvalidArgument(where + ": \"tensors\" must be an object of tensor name -> {\"amax\": number}");
  }
  for (const auto& [name, entry] : j["tensors"].items()) {
    if (!entry.is_object() || !entry.contains("amax") || !entry["amax"].is_number()) {
      return InvalidArgument(where + ": tensor '" + name + "': expected {\"amax\": number}, got " + entry.dump());
    }
    const double amax = entry["amax"].get<double>();
    KILN_RETURN_IF_ERROR(CheckAmax(path, name, amax));
    if (amax > static_cast<double>(std::numeric_limits<float>::max())) {
      return InvalidArgument(where + ": tensor '" + name + "': amax " + entry["amax"].dump() +
                             " does not fit in float32");
    }
    table.amax[name] = static_cast<float>(amax);
    if (!entry.contains("smoothing")) continue;
    KILN_ASSIGN_OR_RETURN(table.smoothing[name], ReadSmoothing(where + ": tensor '" + name + "'", entry["smoothing"]));
  }
  return table;
}

}  // namespace kiln::calibrate
