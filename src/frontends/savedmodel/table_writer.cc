#include "frontends/savedmodel/table_writer.h"

#include <algorithm>

#include "frontends/savedmodel/crc32c.h"

namespace kiln::savedmodel {

void PutFixed32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void PutVarint64(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

std::string EncodeTableBlock(const std::vector<TableEntry>& entries, size_t restart_interval) {
  std::string out;
  const std::string* last = nullptr;
  std::vector<uint32_t> restarts;
  for (size_t i = 0; i < entries.size(); ++i) {
    const std::string& key = entries[i].key;
    size_t shared = 0;
    if (i % restart_interval == 0) {
      restarts.push_back(static_cast<uint32_t>(out.size()));
    } else {
      while (shared < last->size() && shared < key.size() && (*last)[shared] == key[shared]) ++shared;
    }
    PutVarint64(&out, shared);
    PutVarint64(&out, key.size() - shared);
    PutVarint64(&out, entries[i].value.size());
    out.append(key, shared);
    out += entries[i].value;
    last = &key;
  }
  if (restarts.empty()) restarts.push_back(0);
  for (uint32_t r : restarts) PutFixed32(&out, r);
  PutFixed32(&out, static_cast<uint32_t>(restarts.size()));
  return out;
}

std::string AppendTableBlock(std::string* file, std::string contents, uint8_t compression) {
  std::string handle;
  PutVarint64(&handle, file->size());
  PutVarint64(&handle, contents.size());
  contents.push_back(static_cast<char>(compression));
  const uint32_t crc = Crc32c(contents);
  *file += contents;
  PutFixed32(file, MaskCrc32c(crc));
  return handle;
}

void AppendTableFooter(std::string* file, const std::string& metaindex_handle, const std::string& index_handle) {
  std::string footer = metaindex_handle + index_handle;
  footer.resize(kTableFooterSize - 8, '\0');
  PutFixed32(&footer, static_cast<uint32_t>(kTableMagic));
  PutFixed32(&footer, static_cast<uint32_t>(kTableMagic >> 32));
  *file += footer;
}

std::string EncodeTable(const std::vector<TableEntry>& entries, size_t entries_per_block, size_t restart_interval) {
  std::string file;
  std::vector<TableEntry> index;
  for (size_t begin = 0; begin < entries.size(); begin += entries_per_block) {
    const size_t end = std::min(entries.size(), begin + entries_per_block);
    const std::vector<TableEntry> block(entries.begin() + static_cast<std::ptrdiff_t>(begin),
                                        entries.begin() + static_cast<std::ptrdiff_t>(end));
    // The last key of a block separates it from the next one.
    index.push_back({block.back().key, AppendTableBlock(&file, EncodeTableBlock(block, restart_interval))});
  }
  const std::string metaindex = AppendTableBlock(&file, EncodeTableBlock({}, 1));
  const std::string index_handle = AppendTableBlock(&file, EncodeTableBlock(index, 1));
  AppendTableFooter(&file, metaindex, index_handle);
  return file;
}

}  // namespace kiln::savedmodel
