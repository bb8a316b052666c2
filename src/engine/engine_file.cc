#include "engine/engine_file.h"

#include <cstring>
#include <nlohmann/json.hpp>

#include "frontends/savedmodel/crc32c.h"
#include "io/json_numbers.h"

namespace kiln::engine {
namespace {

constexpr char kMagic[8] = {'K', 'I', 'L', 'N', 'E', 'N', 'G', '\0'};

template <typename T>
void PutLE(std::string& out, T v) {
  for (size_t i = 0; i < sizeof(T); ++i) out.push_back(static_cast<char>((static_cast<uint64_t>(v) >> (8 * i)) & 0xff));
}

template <typename T>
T GetLE(std::string_view bytes, size_t at) {
  uint64_t v = 0;
  for (size_t i = 0; i < sizeof(T); ++i)
    v |= static_cast<uint64_t>(static_cast<unsigned char>(bytes[at + i])) << (8 * i);
  return static_cast<T>(v);
}

nlohmann::json ProfileToJson(const ShapeProfile& p) {
  nlohmann::json inputs = nlohmann::json::array();
  for (const InputRange& r : p.inputs) inputs.push_back({{"min", r.min}, {"opt", r.opt}, {"max", r.max}});
  return inputs;
}

StatusOr<ShapeProfile> ProfileFromJson(const nlohmann::json& j) {
  if (!j.is_array()) return DataLoss("a shape profile is not a list");
  ShapeProfile p;
  for (const auto& r : j) {
    if (!r.is_object() || !r.contains("min") || !r.contains("opt") || !r.contains("max")) {
      return DataLoss("a shape profile entry lacks min/opt/max");
    }
    InputRange range{io::JsonIntegers(r["min"]), io::JsonIntegers(r["opt"]), io::JsonIntegers(r["max"])};
    if (range.min.size() != range.max.size() || range.opt.size() != range.min.size()) {
      return DataLoss("a shape profile's min, opt and max differ in rank");
    }
    p.inputs.push_back(std::move(range));
  }
  return p;
}

}  // namespace

EngineHeader MakeEngineHeader(const DeviceInfo& device, Precision precision, const std::string& segment,
                              const std::vector<ShapeProfile>& profiles, std::vector<std::string> notes) {
  EngineHeader h;
  h.kiln_version = KILN_VERSION;
  h.device = device;
  h.precision = PrecisionName(precision);
  h.segment = segment;
  h.profiles = profiles;
  h.notes = std::move(notes);
  return h;
}

std::string WriteEngineFile(const EngineHeader& header, std::string_view payload) {
  nlohmann::json profiles = nlohmann::json::array();
  for (const ShapeProfile& p : header.profiles) profiles.push_back(ProfileToJson(p));
  const nlohmann::json j = {
      {"kiln_version", header.kiln_version},
      {"backend", header.device.backend},
      {"device", header.device.name},
      {"compute_capability", header.device.compute_capability},
      {"library_versions", header.device.library_versions},
      {"precision", header.precision},
      {"segment", header.segment},
      {"profiles", profiles},
      {"notes", header.notes},
  };
  return FrameEngineFile(j.dump(), payload);
}

std::string FrameEngineFile(std::string_view header_json, std::string_view payload) {
  std::string out(kMagic, sizeof(kMagic));
  PutLE<uint32_t>(out, kEngineFormatVersion);
  PutLE<uint64_t>(out, header_json.size());
  out.append(header_json.data(), header_json.size());
  PutLE<uint64_t>(out, payload.size());
  out.append(payload.data(), payload.size());
  PutLE<uint32_t>(out, savedmodel::Crc32c(out));
  return out;
}

StatusOr<EngineFile> ParseEngineFile(std::string_view bytes) {
  constexpr size_t kFixed = sizeof(kMagic) + 4 + 8 + 8 + 4;
  if (bytes.size() < sizeof(kMagic) || std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0) {
    return DataLoss("not a kiln engine file (bad magic)");
  }
  if (bytes.size() < kFixed) return DataLoss("engine file is truncated (" + std::to_string(bytes.size()) + " bytes)");
  EngineFile file;
  file.header.format_version = GetLE<uint32_t>(bytes, 8);
  if (file.header.format_version != kEngineFormatVersion) {
    return FailedPrecondition("engine file format version " + std::to_string(file.header.format_version) +
                              " is not the version this kiln reads (" + std::to_string(kEngineFormatVersion) + ")");
  }
  const uint64_t header_len = GetLE<uint64_t>(bytes, 12);
  if (header_len > bytes.size() - kFixed) return DataLoss("engine file is truncated (header length past the end)");
  const size_t payload_at = 20 + header_len + 8;
  const uint64_t payload_len = GetLE<uint64_t>(bytes, 20 + header_len);
  if (payload_len != bytes.size() - payload_at - 4) {
    return DataLoss("engine file is truncated or has trailing bytes (payload length " + std::to_string(payload_len) +
                    ", file " + std::to_string(bytes.size()) + " bytes)");
  }
  const uint32_t stored = GetLE<uint32_t>(bytes, bytes.size() - 4);
  const uint32_t actual = savedmodel::Crc32c(bytes.substr(0, bytes.size() - 4));
  if (stored != actual) return DataLoss("engine file failed its checksum (the file is corrupted)");

  const auto j = nlohmann::json::parse(bytes.substr(20, header_len), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return DataLoss("engine file header is not valid JSON");
  try {
    EngineHeader& h = file.header;
    h.kiln_version = j.at("kiln_version").get<std::string>();
    h.device.backend = j.at("backend").get<std::string>();
    h.device.name = j.at("device").get<std::string>();
    h.device.compute_capability = j.at("compute_capability").get<std::string>();
    h.device.library_versions = j.at("library_versions").get<std::map<std::string, std::string>>();
    h.precision = j.at("precision").get<std::string>();
    h.segment = j.at("segment").get<std::string>();
    if (j.contains("notes")) h.notes = j.at("notes").get<std::vector<std::string>>();
    for (const auto& p : j.at("profiles")) {
      KILN_ASSIGN_OR_RETURN(ShapeProfile profile, ProfileFromJson(p));
      h.profiles.push_back(std::move(profile));
    }
  } catch (const nlohmann::json::exception& e) {
    return DataLoss(std::string("engine file header is malformed: ") + e.what());
  }
  file.payload = std::string(bytes.substr(payload_at, payload_len));
  return file;
}

std::string Incompatibility(const EngineHeader& header, const DeviceInfo& here) {
  if (header.kiln_version != KILN_VERSION) {
    return "it was built by kiln " + header.kiln_version + ", this is kiln " + KILN_VERSION;
  }
  if (header.device.backend != here.backend) {
    return "it was built for the " + header.device.backend + " backend, this machine builds for " + here.backend;
  }
  if (header.device.name != here.name || header.device.compute_capability != here.compute_capability) {
    auto describe = [](const DeviceInfo& d) {
      return "'" + d.name + "'" +
             (d.compute_capability.empty() ? "" : " (compute capability " + d.compute_capability + ")");
    };
    return "it was built for device " + describe(header.device) + ", this device is " + describe(here);
  }
  for (const auto& [lib, version] : here.library_versions) {
    auto it = header.device.library_versions.find(lib);
    const std::string theirs = it == header.device.library_versions.end() ? "none" : it->second;
    if (theirs != version) return "it was built with " + lib + " " + theirs + ", this machine has " + version;
  }
  return "";
}

}  // namespace kiln::engine
