#include "frontends/savedmodel/table.h"

#include <fstream>

#include "frontends/savedmodel/crc32c.h"

namespace kiln::savedmodel {
namespace {

struct BlockHandle {
  uint64_t offset = 0;
  uint64_t size = 0;
};

Status Corrupt(const std::string& what, const std::string& path) {
  return DataLoss(what + " in '" + path + "'").InFile(path);
}

bool GetBlockHandle(std::string_view* in, BlockHandle* handle) {
  std::string_view rest = *in;
  if (!GetVarint64(&rest, &handle->offset) || !GetVarint64(&rest, &handle->size)) return false;
  *in = rest;
  return true;
}

// The contents of the block at `handle`, after checking its bounds, checksum and compression type.
StatusOr<std::string_view> ReadBlock(std::string_view file, const BlockHandle& handle, const char* what,
                                     const std::string& path) {
  const uint64_t limit = file.size() - kTableFooterSize;  // blocks lie before the footer
  if (handle.offset > limit || handle.size > limit - handle.offset ||
      kBlockTrailerSize > limit - handle.offset - handle.size) {
    return Corrupt(std::string(what) + " block [" + std::to_string(handle.offset) + ", +" +
                       std::to_string(handle.size) + ") lies past the end of the file (" +
                       std::to_string(file.size()) + " bytes; truncated?)",
                   path);
  }
  const std::string_view block = file.substr(handle.offset, handle.size + 1);  // contents + type byte
  const uint32_t stored = UnmaskCrc32c(DecodeFixed32(file.data() + handle.offset + handle.size + 1));
  if (Crc32c(block) != stored) {
    return Corrupt(std::string("checksum mismatch in ") + what + " block at offset " + std::to_string(handle.offset),
                   path);
  }
  const auto type = static_cast<uint8_t>(block.back());
  if (type == 1) {
    return Unimplemented(std::string("snappy-compressed ") + what + " block in '" + path +
                         "' is not supported (kiln reads uncompressed tables, as TensorFlow writes them)")
        .InFile(path);
  }
  if (type != 0) {
    return Corrupt(std::string("unknown compression type ") + std::to_string(type) + " of " + what + " block", path);
  }
  return block.substr(0, handle.size);
}

// Appends the entries of one block: prefix-compressed keys followed by restart offsets and their count.
Status ParseBlock(std::string_view block, const char* what, const std::string& path, std::vector<TableEntry>* out) {
  if (block.size() < 4) return Corrupt(std::string(what) + " block is too short", path);
  const uint64_t num_restarts = DecodeFixed32(block.data() + block.size() - 4);
  if (num_restarts > (block.size() - 4) / 4) {
    return Corrupt(std::string(what) + " block claims " + std::to_string(num_restarts) + " restart points", path);
  }
  std::string_view rest = block.substr(0, block.size() - 4 - 4 * num_restarts);
  std::string key;
  while (!rest.empty()) {
    uint32_t shared = 0, unshared = 0, value_size = 0;
    if (!GetVarint32(&rest, &shared) || !GetVarint32(&rest, &unshared) || !GetVarint32(&rest, &value_size) ||
        shared > key.size() || uint64_t{unshared} + value_size > rest.size()) {
      return Corrupt(std::string("bad entry in ") + what + " block", path);
    }
    key.resize(shared);
    key.append(rest.substr(0, unshared));
    out->push_back({key, std::string(rest.substr(unshared, value_size))});
    rest.remove_prefix(uint64_t{unshared} + value_size);
  }
  return OkStatus();
}

}  // namespace

uint32_t DecodeFixed32(const char* p) {
  const auto* u = reinterpret_cast<const uint8_t*>(p);
  return uint32_t{u[0]} | (uint32_t{u[1]} << 8) | (uint32_t{u[2]} << 16) | (uint32_t{u[3]} << 24);
}

bool GetVarint64(std::string_view* in, uint64_t* value) {
  uint64_t result = 0;
  for (size_t i = 0; i < in->size() && i < 10; ++i) {
    const auto byte = static_cast<uint8_t>((*in)[i]);
    if (i == 9 && byte > 1) return false;  // more than 64 bits
    result |= uint64_t{byte & 0x7fu} << (7 * i);
    if (!(byte & 0x80)) {
      *value = result;
      in->remove_prefix(i + 1);
      return true;
    }
  }
  return false;
}

bool GetVarint32(std::string_view* in, uint32_t* value) {
  std::string_view rest = *in;
  uint64_t v = 0;
  if (!GetVarint64(&rest, &v) || rest.size() + 5 < in->size() || v > UINT32_MAX) return false;
  *value = static_cast<uint32_t>(v);
  *in = rest;
  return true;
}

StatusOr<std::vector<TableEntry>> ParseTable(std::string_view file, const std::string& path) {
  if (file.empty()) return Corrupt("empty table file", path);
  if (file.size() < kTableFooterSize) {
    return Corrupt("truncated table: " + std::to_string(file.size()) + " bytes, less than its " +
                       std::to_string(kTableFooterSize) + "-byte footer,",
                   path);
  }
  const char* footer = file.data() + file.size() - kTableFooterSize;
  const uint64_t magic = uint64_t{DecodeFixed32(footer + 40)} | (uint64_t{DecodeFixed32(footer + 44)} << 32);
  if (magic != kTableMagic) return Corrupt("bad magic number", path);

  std::string_view handles(footer, 40);
  BlockHandle metaindex, index;
  if (!GetBlockHandle(&handles, &metaindex) || !GetBlockHandle(&handles, &index)) {
    return Corrupt("bad block handle in table footer", path);
  }
  // The metaindex block is empty in TensorFlow's tables; only its checksum is checked.
  KILN_RETURN_IF_ERROR(ReadBlock(file, metaindex, "metaindex", path).status());
  KILN_ASSIGN_OR_RETURN(std::string_view index_block, ReadBlock(file, index, "index", path));
  std::vector<TableEntry> index_entries;
  KILN_RETURN_IF_ERROR(ParseBlock(index_block, "index", path, &index_entries));

  std::vector<TableEntry> entries;
  for (const TableEntry& index_entry : index_entries) {
    std::string_view value = index_entry.value;
    BlockHandle handle;
    if (!GetBlockHandle(&value, &handle)) return Corrupt("bad block handle in index block", path);
    KILN_ASSIGN_OR_RETURN(std::string_view block, ReadBlock(file, handle, "data", path));
    const size_t first = entries.size();
    KILN_RETURN_IF_ERROR(ParseBlock(block, "data", path, &entries));
    for (size_t i = std::max<size_t>(first, 1); i < entries.size(); ++i) {
      if (entries[i - 1].key >= entries[i].key) {
        return Corrupt("keys out of order ('" + entries[i - 1].key + "' before '" + entries[i].key + "')", path);
      }
    }
  }
  return entries;
}

StatusOr<std::vector<TableEntry>> ReadTable(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot open '" + path + "'").InFile(path);
  std::string file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return DataLoss("error reading '" + path + "'").InFile(path);
  return ParseTable(file, path);
}

}  // namespace kiln::savedmodel
