#pragma once
// Writes LevelDB-format tables and tensor-bundle indexes, so tests can build inputs that
// TensorFlow would never write: entries pointing past their shard, bad headers, odd blocks.

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "frontends/savedmodel/crc32c.h"
#include "frontends/savedmodel/table.h"
#include "proto/tensor_bundle.pb.h"

namespace kiln::savedmodel::testing {

inline void PutFixed32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

inline void PutVarint64(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

// Block contents: prefix-compressed entries with a restart point every `restart_interval` entries.
inline std::string EncodeBlock(const std::vector<TableEntry>& entries, size_t restart_interval) {
  std::string out, last;
  std::vector<uint32_t> restarts;
  for (size_t i = 0; i < entries.size(); ++i) {
    const std::string& key = entries[i].key;
    size_t shared = 0;
    if (i % restart_interval == 0) {
      restarts.push_back(static_cast<uint32_t>(out.size()));
    } else {
      while (shared < last.size() && shared < key.size() && last[shared] == key[shared]) ++shared;
    }
    PutVarint64(&out, shared);
    PutVarint64(&out, key.size() - shared);
    PutVarint64(&out, entries[i].value.size());
    out += key.substr(shared);
    out += entries[i].value;
    last = key;
  }
  if (restarts.empty()) restarts.push_back(0);
  for (uint32_t r : restarts) PutFixed32(&out, r);
  PutFixed32(&out, static_cast<uint32_t>(restarts.size()));
  return out;
}

struct TableOptions {
  size_t entries_per_block = 16;
  size_t restart_interval = 4;
  uint8_t compression = 0;
  // Called on each block's contents before its checksum is computed ("data", "metaindex", "index").
  std::function<void(const std::string& kind, std::string* contents)> mutate;
};

// A whole table file holding `entries` (which must be sorted by key).
inline std::string BuildTable(const std::vector<TableEntry>& entries, const TableOptions& options = {}) {
  std::string file;
  auto append_block = [&](const std::string& kind, std::string contents) {
    if (options.mutate) options.mutate(kind, &contents);
    std::string handle;
    PutVarint64(&handle, file.size());
    PutVarint64(&handle, contents.size());
    contents.push_back(static_cast<char>(options.compression));
    const uint32_t crc = Crc32c(contents);
    file += contents;
    PutFixed32(&file, MaskCrc32c(crc));
    return handle;
  };
  std::vector<TableEntry> index;
  for (size_t begin = 0; begin < entries.size(); begin += options.entries_per_block) {
    const size_t end = std::min(entries.size(), begin + options.entries_per_block);
    std::vector<TableEntry> chunk(entries.begin() + begin, entries.begin() + end);
    // The last key of a block separates it from the next one.
    index.push_back({chunk.back().key, append_block("data", EncodeBlock(chunk, options.restart_interval))});
  }
  std::string footer = append_block("metaindex", EncodeBlock({}, 1));
  footer += append_block("index", EncodeBlock(index, 1));
  footer.resize(40, '\0');
  PutFixed32(&footer, static_cast<uint32_t>(kTableMagic));
  PutFixed32(&footer, static_cast<uint32_t>(kTableMagic >> 32));
  return file + footer;
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
