#pragma once
// A reader for the LevelDB table format ("SSTable") that TensorFlow uses for a tensor bundle's
// index file (variables.index). Only uncompressed tables are read, which is all TensorFlow writes.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/status.h"

namespace kiln::savedmodel {

inline constexpr uint64_t kTableMagic = 0xdb4775248b80fb57ull;
// Footer: two block handles padded to 40 bytes, then the 8-byte magic number.
inline constexpr size_t kTableFooterSize = 48;
// After each block: a 1-byte compression type and a 4-byte masked CRC32C.
inline constexpr size_t kBlockTrailerSize = 5;

struct TableEntry {
  std::string key;
  std::string value;
};

// Every entry of the table in `path`, in key order. Every block's checksum is verified and every
// offset and length is checked against the file; errors name the file.
StatusOr<std::vector<TableEntry>> ReadTable(const std::string& path);
// The same for a table already in memory; `path` only names it in errors.
StatusOr<std::vector<TableEntry>> ParseTable(std::string_view file, const std::string& path);

// Little-endian varints as LevelDB and protobuf write them. Each consumes from the front of `in`
// and returns false, leaving `in` as it was, when the bytes end early or the value overflows.
bool GetVarint32(std::string_view* in, uint32_t* value);
bool GetVarint64(std::string_view* in, uint64_t* value);
uint32_t DecodeFixed32(const char* p);

}  // namespace kiln::savedmodel
