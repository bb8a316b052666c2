#pragma once
// Writes the LevelDB table format ("SSTable") that table.h reads: what a tensor bundle's index
// (variables.index) is. Blocks are uncompressed, as TensorFlow writes them.

#include <cstdint>
#include <string>
#include <vector>

#include "frontends/savedmodel/table.h"

namespace kiln::savedmodel {

void PutFixed32(std::string* out, uint32_t v);
void PutVarint64(std::string* out, uint64_t v);

// Block contents: `entries` (sorted by key) with each key's prefix shared with the one before it
// left out, a restart point (a key written whole) every `restart_interval` entries, then the
// restart offsets and their count.
std::string EncodeTableBlock(const std::vector<TableEntry>& entries, size_t restart_interval);

// Appends a block of `contents` to `file` with its trailer (compression type, masked CRC32C of the
// contents and that byte); returns the block's handle (offset and size as varints).
std::string AppendTableBlock(std::string* file, std::string contents, uint8_t compression = 0);

// Appends the footer: the metaindex and index block handles, padded, then the magic number.
void AppendTableFooter(std::string* file, const std::string& metaindex_handle, const std::string& index_handle);

// A whole table holding `entries`, which must be sorted by key without repeats: data blocks of
// `entries_per_block` entries, an empty metaindex and an index holding each data block's last key.
std::string EncodeTable(const std::vector<TableEntry>& entries, size_t entries_per_block = 16,
                        size_t restart_interval = 16);

}  // namespace kiln::savedmodel
