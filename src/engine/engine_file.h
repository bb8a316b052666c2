#pragma once
// The engine file: what a built engine is on disk.
//
//   "KILNENG\0"             8 bytes, magic
//   format version          u32 little-endian
//   header length, header   u64 + JSON (kiln version, device, library versions, precision,
//                           segment, shape profiles)
//   payload length, payload u64 + backend-specific bytes
//   checksum                u32 CRC32C of everything before it
//
// Every length is checked against the file before it is used; a file that fails any check is
// reported, never trusted.

#include <string>
#include <string_view>
#include <vector>

#include "engine/backend.h"

namespace kiln::engine {

inline constexpr uint32_t kEngineFormatVersion = 1;

struct EngineHeader {
  uint32_t format_version = kEngineFormatVersion;
  std::string kiln_version;
  DeviceInfo device;
  std::string precision;  // "fp32", "fp16", "bf16", "int8", "fp8"
  std::string segment;    // the KilnEngineOp it belongs to
  std::vector<ShapeProfile> profiles;
  std::vector<std::string> notes;  // what the build decided (Engine::BuildNotes)
};

// The header this kiln writes for an engine of `segment` built on `device`.
EngineHeader MakeEngineHeader(const DeviceInfo& device, Precision precision, const std::string& segment,
                              const std::vector<ShapeProfile>& profiles, std::vector<std::string> notes = {});

std::string WriteEngineFile(const EngineHeader& header, std::string_view payload);
// The file around a header already in JSON and a payload: magic, version, lengths and checksum
// (what WriteEngineFile writes; tests and the fuzzer frame headers of their own with it).
std::string FrameEngineFile(std::string_view header_json, std::string_view payload);

struct EngineFile {
  EngineHeader header;
  std::string payload;
};

// Parses and verifies an engine file's bytes: magic, format version, lengths, checksum, header.
StatusOr<EngineFile> ParseEngineFile(std::string_view bytes);

// Why an engine with `header` cannot run with this kiln on `here`; empty when it can.
std::string Incompatibility(const EngineHeader& header, const DeviceInfo& here);

}  // namespace kiln::engine
