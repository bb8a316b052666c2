#pragma once
// Writes LevelDB-format tables and tensor-bundle indexes with the layout and corruption a test asks
// for, so tests can build inputs that TensorFlow would never write: entries pointing past their
// shard, bad headers, odd blocks.

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "frontends/savedmodel/crc32c.h"
#include "frontends/savedmodel/table.h"
#include "frontends/savedmodel/table_writer.h"
#include "proto/tensor_bundle.pb.h"

namespace kiln::savedmodel::testing {

struct TableOptions {
  size_t entries_per_block = 16;
  size_t restart_interval = 4;
  uint8_t compression = 0;
  // Called on each block's contents before its checksum is computed ("data", "metaindex", "index").
  std::function<void(const std::string& kind, std::string* contents)> mutate;
};

// A whole table file holding `entries` (which must be sorted by key), with the block layout and
// corruptions `options` asks for.
inline std::string BuildTable(const std::vector<TableEntry>& entries, const TableOptions& options = {}) {
  std::string file;
  auto append_block = [&](const std::string& kind, std::string contents) {
    if (options.mutate) options.mutate(kind, &contents);
    return AppendTableBlock(&file, std::move(contents), options.compression);
  };
  std::vector<TableEntry> index;
  for (size_t begin = 0; begin < entries.size(); begin += options.entries_per_block) {
    const size_t end = std::min(entries.size(), begin + options.entries_per_block);
    std::vector<TableEntry> chunk(entries.begin() + begin, entries.begin() + end);
    index.push_back({chunk.back().key, append_block("data", EncodeTableBlock(chunk, options.restart_interval))});
  }
  const std::string metaindex = append_block("metaindex", EncodeTableBlock({}, 1));
  const std::string index_handle = append_block("index", EncodeTableBlock(index, 1));
  AppendTableFooter(&file, metaindex, index_handle);
  return file;
}

// A bundle index: the header under "" followed by the entries (sorted by key).
inline std::string BuildBundleIndex(const tfproto::BundleHeaderProto& header,
                                    const std::vector<std::pair<std::string, tfproto::BundleEntryProto>>& entries,
                                    const TableOptions& options = {}) {
  std::vector<TableEntry> table = {{"", header.SerializeAsString()}};
  for (const auto& [key, entry] : entries) table.push_back({key, entry.SerializeAsString()});
  return BuildTable(table, options);
}

inline void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

}  // namespace kiln::savedmodel::testing
