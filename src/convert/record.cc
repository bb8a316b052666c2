#include "convert/record.h"

#include <nlohmann/json.hpp>

#include "io/json_numbers.h"
#include "io/npy.h"

namespace kiln::convert {

Status WriteConversionRecord(const std::string& path, const ConversionRecord& r) {
  const ConversionParams& p = r.params;
  nlohmann::json native = nlohmann::json::array();
  for (const auto& n : r.native_nodes) native.push_back({{"name", n.name}, {"op", n.op}, {"reason", n.reason}});
  const nlohmann::json j = {
      {"format", "kiln-conversion"},
      {"version", 1},
      {"kiln_version", r.kiln_version},
      {"source", r.source},
      {"params",
       {{"precision_mode", PrecisionName(p.precision_mode)},
        {"allow_tf32", p.allow_tf32},
        {"engine_device", p.engine_device ? p.engine_device->ToString() : ""},
        {"max_workspace_size_bytes", p.max_workspace_size_bytes},
        {"minimum_segment_size", p.minimum_segment_size},
        {"maximum_cached_engines", p.maximum_cached_engines},
        {"use_calibration", p.use_calibration},
        {"calibrator", CalibratorName(p.calibrator)},
        {"smoothing_alpha", p.smoothing_alpha ? nlohmann::json(*p.smoothing_alpha) : nlohmann::json(nullptr)},
        {"allow_build_at_runtime", p.allow_build_at_runtime},
        {"use_dynamic_shape", p.use_dynamic_shape},
        {"profile_strategy", ProfileStrategyName(p.profile_strategy)},
        {"denylist", p.denylist},
        {"maximum_segments", p.maximum_segments},
        {"allow_native_fallback", p.allow_native_fallback},
        {"keep_precision", PrecisionPinStrings(p.keep_precision)}}},
      {"total_ops", r.total_ops},
      {"native_nodes", native},
      {"notes", r.notes},
      {"dim_names", r.dim_names},
  };
  return io::WriteFile(path, j.dump(2) + "\n");
}

StatusOr<ConversionRecord> ReadConversionRecord(const std::string& path) {
  KILN_ASSIGN_OR_RETURN(std::string text, io::ReadFile(path));
  const auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object() || j.value("format", "") != "kiln-conversion") {
    return DataLoss("not a kiln conversion record").InFile(path);
  }
  ConversionRecord r;
  try {
    r.kiln_version = j.at("kiln_version").get<std::string>();
    r.source = j.at("source").get<std::string>();
    const auto& p = j.at("params");
    KILN_ASSIGN_OR_RETURN(r.params.precision_mode, ParsePrecision(p.at("precision_mode").get<std::string>()));
    r.params.allow_tf32 = p.value("allow_tf32", false);
    if (const std::string device = p.value("engine_device", ""); !device.empty()) {
      KILN_ASSIGN_OR_RETURN(r.params.engine_device, ParseDevice(device));
    }
    r.params.max_workspace_size_bytes = io::JsonInteger<int64_t>(p.at("max_workspace_size_bytes"));
    r.params.minimum_segment_size = io::JsonInteger<int>(p.at("minimum_segment_size"));
    r.params.maximum_cached_engines = io::JsonInteger<int>(p.at("maximum_cached_engines"));
    r.params.use_calibration = p.at("use_calibration").get<bool>();
    KILN_ASSIGN_OR_RETURN(r.params.calibrator, ParseCalibrator(p.at("calibrator").get<std::string>()));
    if (p.contains("smoothing_alpha") && !p.at("smoothing_alpha").is_null()) {
      r.params.smoothing_alpha = io::JsonFloat(p.at("smoothing_alpha"));
    }
    r.params.allow_build_at_runtime = p.at("allow_build_at_runtime").get<bool>();
    r.params.use_dynamic_shape = p.at("use_dynamic_shape").get<bool>();
    KILN_ASSIGN_OR_RETURN(r.params.profile_strategy, ParseProfileStrategy(p.at("profile_strategy").get<std::string>()));
    r.params.denylist = p.at("denylist").get<std::vector<std::string>>();
    r.params.maximum_segments = io::JsonInteger<int>(p.at("maximum_segments"));
    r.params.allow_native_fallback = p.at("allow_native_fallback").get<bool>();
    KILN_ASSIGN_OR_RETURN(r.params.keep_precision,
                          ParsePrecisionPins(p.value("keep_precision", std::vector<std::string>{})));
    r.total_ops = io::JsonInteger<int>(j.at("total_ops"));
    for (const auto& n : j.at("native_nodes")) {
      r.native_nodes.push_back(
          {n.at("name").get<std::string>(), n.at("op").get<std::string>(), n.at("reason").get<std::string>()});
    }
    r.notes = j.at("notes").get<std::vector<std::string>>();
    if (j.contains("dim_names")) r.dim_names = j.at("dim_names").get<std::map<std::string, std::vector<std::string>>>();
  } catch (const nlohmann::json::exception& e) {
    return DataLoss(std::string("malformed conversion record: ") + e.what()).InFile(path);
  }
  return r;
}

void RestoreDimNames(const ConversionRecord& record, SignatureInfo& signature) {
  for (auto* specs : {&signature.inputs, &signature.outputs}) {
    for (TensorSpec& spec : *specs) {
      auto it = record.dim_names.find(spec.name);
      if (it != record.dim_names.end() && static_cast<int>(it->second.size()) == spec.shape.rank()) {
        spec.dim_names = it->second;
      }
    }
  }
}

}  // namespace kiln::convert
