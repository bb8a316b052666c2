#include "frontends/savedmodel/tensor_bundle.h"

#include <bit>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "frontends/savedmodel/crc32c.h"
#include "frontends/savedmodel/table.h"
#include "frontends/savedmodel/tensor_proto.h"

namespace kiln::savedmodel {
namespace {

// The bundle format version this reader understands (TensorFlow's kTensorBundleVersion).
constexpr int kBundleVersion = 1;
// Shard names have five digits; a larger count is a corrupt header, not a real checkpoint.
constexpr int kMaxShards = 100000;

// Reads file[offset, offset + size) into `out`; the range was checked against the file's size.
Status ReadRange(const std::string& path, uint64_t offset, uint64_t size, char* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot open data shard '" + path + "'").InFile(path);
  in.seekg(static_cast<std::streamoff>(offset));
  in.read(out, static_cast<std::streamsize>(size));
  if (!in || static_cast<uint64_t>(in.gcount()) != size) {
    return DataLoss("data shard '" + path + "' ended early (changed or truncated while open?)").InFile(path);
  }
  return OkStatus();
}

// TensorFlow's OrderedCode, as far as slice keys use it.
void AppendOrderedUnsigned(std::string* out, uint64_t v) {
  // A length byte, then the value big-endian without leading zero bytes.
  char bytes[8];
  int len = 0;
  for (; v != 0; v >>= 8) bytes[7 - len++] = static_cast<char>(v & 0xff);
  out->push_back(static_cast<char>(len));
  out->append(bytes + 8 - len, len);
}

void AppendOrderedString(std::string* out, const std::string& s) {
  // 0x00 and 0xff are escaped so that "\x00\x01" can end the string.
  for (char c : s) {
    out->push_back(c);
    if (c == '\0') out->push_back('\xff');
    if (c == '\xff') out->push_back('\0');
  }
  out->append("\0\x01", 2);
}

void AppendOrderedSigned(std::string* out, int64_t v) {
  // The big-endian two's complement value in the fewest bytes that hold it and a sign bit; the
  // leading bits of the first byte(s) count the bytes (1 -> 10xxxxxx for positives, inverted for
  // negatives).
  static constexpr uint8_t kHeader[11][2] = {{0, 0},    {0x80, 0}, {0xc0, 0}, {0xe0, 0},    {0xf0, 0},   {0xf8, 0},
                                             {0xfc, 0}, {0xfe, 0}, {0xff, 0}, {0xff, 0x80}, {0xff, 0xc0}};
  const auto u = static_cast<uint64_t>(v);
  const uint64_t magnitude = v < 0 ? ~u : u;
  const int len = std::bit_width(magnitude) / 7 + 1;
  uint8_t buf[10];
  buf[0] = buf[1] = v < 0 ? 0xff : 0x00;
  for (int i = 0; i < 8; ++i) buf[2 + i] = static_cast<uint8_t>(u >> (56 - 8 * i));
  uint8_t* begin = buf + 10 - len;
  begin[0] ^= kHeader[len][0];
  if (len > 1) begin[1] ^= kHeader[len][1];
  out->append(reinterpret_cast<const char*>(begin), len);
}

std::string DescribeSlice(const std::vector<int64_t>& starts, const std::vector<int64_t>& lengths) {
  std::string s = "[";
  for (size_t d = 0; d < starts.size(); ++d) {
    s += (d ? "," : "") + std::to_string(starts[d]) + ":" + std::to_string(starts[d] + lengths[d]);
  }
  return s + "]";
}

}  // namespace

std::string TensorSliceKey(const std::string& name, const tfproto::TensorSliceProto& slice) {
  std::string key;
  AppendOrderedUnsigned(&key, 0);  // sorts every slice key before the tensor names
  AppendOrderedString(&key, name);
  AppendOrderedUnsigned(&key, slice.extent_size());
  for (const auto& extent : slice.extent()) {
    AppendOrderedSigned(&key, extent.start());
    AppendOrderedSigned(&key, extent.has_length() ? extent.length() : -1);
  }
  return key;
}

std::string TensorBundle::ShardPath(int shard) const {
  char suffix[48];
  std::snprintf(suffix, sizeof(suffix), ".data-%05d-of-%05d", shard, header_.num_shards());
  return prefix_ + suffix;
}

StatusOr<TensorBundle> TensorBundle::Open(const std::string& prefix) {
  TensorBundle bundle;
  bundle.prefix_ = prefix;
  const std::string index_path = bundle.IndexPath();
  std::error_code ec;
  if (!std::filesystem::is_regular_file(index_path, ec)) {
    return NotFound("checkpoint index '" + index_path + "' is missing").InFile(index_path);
  }
  KILN_ASSIGN_OR_RETURN(std::vector<TableEntry> table, ReadTable(index_path));

  auto corrupt = [&](const std::string& what) { return DataLoss(what + " in '" + index_path + "'").InFile(index_path); };
  // TensorFlow writes the header under the key "", which sorts first.
  if (table.empty() || !table[0].key.empty()) return corrupt("no bundle header (the entry with key \"\")");
  if (!bundle.header_.ParseFromString(table[0].value)) return corrupt("unparseable bundle header");
  const tfproto::BundleHeaderProto& header = bundle.header_;
  if (header.endianness() != tfproto::BundleHeaderProto::LITTLE) {
    return Unimplemented("big-endian checkpoint '" + index_path + "' is not supported").InFile(index_path);
  }
  const auto& version = header.version();
  bool bad_consumer = version.min_consumer() > kBundleVersion;
  for (int v : version.bad_consumers()) bad_consumer |= v == kBundleVersion;
  if (bad_consumer) {
    return FailedPrecondition("checkpoint '" + index_path + "' needs a newer reader (format version " +
                              std::to_string(version.producer()) + ", min consumer " +
                              std::to_string(version.min_consumer()) + ")")
        .InFile(index_path);
  }
  if (header.num_shards() < 1 || header.num_shards() > kMaxShards) {
    return corrupt("bad shard count " + std::to_string(header.num_shards()));
  }

  for (size_t i = 1; i < table.size(); ++i) {
    tfproto::BundleEntryProto entry;
    if (!entry.ParseFromString(table[i].value)) return corrupt("unparseable entry for tensor '" + table[i].key + "'");
    bundle.entries_.emplace(std::move(table[i].key), std::move(entry));
  }

  for (int shard = 0; shard < header.num_shards(); ++shard) {
    const std::string path = bundle.ShardPath(shard);
    const uintmax_t size = std::filesystem::file_size(path, ec);
    if (ec) return NotFound("data shard '" + path + "' is missing").InFile(path);
    bundle.shard_sizes_.push_back(size);
  }
  return bundle;
}

std::vector<std::string> TensorBundle::Keys() const {
  std::vector<std::string> keys;
  keys.reserve(entries_.size());
  for (const auto& [key, entry] : entries_) {
    if (key.empty() || key[0] != '\0') keys.push_back(key);
  }
  return keys;
}

const tfproto::BundleEntryProto* TensorBundle::FindEntry(const std::string& key) const {
  auto it = entries_.find(key);
  return it == entries_.end() ? nullptr : &it->second;
}

StatusOr<Tensor> TensorBundle::Read(const std::string& key) const {
  const std::string index_path = IndexPath();
  const tfproto::BundleEntryProto* entry = FindEntry(key);
  if (entry == nullptr) return NotFound("no tensor '" + key + "' in '" + index_path + "'").InFile(index_path);
  auto in_index = [&](Status s) {
    return s.Prepend("tensor '" + key + "' in '" + index_path + "'").InFile(index_path);
  };
  StatusOr<DType> dtype = DTypeFromProto(entry->dtype());
  if (!dtype.ok()) return in_index(dtype.status());
  StatusOr<Shape> shape = ConcreteShapeFromProto(entry->shape());
  if (!shape.ok()) return in_index(DataLoss(shape.status().message()));
  if (entry->slices_size() > 0) return ReadSliced(key, *entry, *dtype, std::move(*shape));
  return ReadWhole(key, *entry, *dtype, std::move(*shape));
}

StatusOr<Tensor> TensorBundle::ReadWhole(const std::string& name, const tfproto::BundleEntryProto& entry,
                                         DType dtype, Shape shape) const {
  if (entry.shard_id() < 0 || entry.shard_id() >= header_.num_shards()) {
    return DataLoss("tensor '" + name + "' in '" + IndexPath() + "': shard " + std::to_string(entry.shard_id()) +
                    " out of range [0, " + std::to_string(header_.num_shards()) + ")")
        .InFile(IndexPath());
  }
  const std::string shard_path = ShardPath(entry.shard_id());
  const uint64_t shard_size = shard_sizes_[entry.shard_id()];
  if (entry.offset() < 0 || entry.size() < 0 || static_cast<uint64_t>(entry.offset()) > shard_size ||
      static_cast<uint64_t>(entry.size()) > shard_size - static_cast<uint64_t>(entry.offset())) {
    return DataLoss("tensor '" + name + "': bytes [" + std::to_string(entry.offset()) + ", +" +
                    std::to_string(entry.size()) + ") lie past the end of data shard '" + shard_path + "' (" +
                    std::to_string(shard_size) + " bytes; truncated?)")
        .InFile(shard_path);
  }
  if (dtype == DType::kString) return ReadStrings(name, entry, std::move(shape));
  return ReadNumeric(name, entry, dtype, std::move(shape));
}

StatusOr<Tensor> TensorBundle::ReadSliced(const std::string& key, const tfproto::BundleEntryProto& entry,
                                          DType dtype, Shape shape) const {
  auto corrupt = [&](const std::string& what) {
    return DataLoss("tensor '" + key + "' in '" + IndexPath() + "': " + what).InFile(IndexPath());
  };
  const size_t rank = shape.size();
  if (rank == 0) return corrupt("a scalar cannot be saved in slices");

  // Read every slice first: their sizes are checked against the shards, so their total bounds
  // what the whole tensor may allocate.
  struct Piece {
    std::vector<int64_t> starts, lengths;
    Tensor tensor;
  };
  std::vector<Piece> pieces;
  const int64_t n = NumElements(shape);
  int64_t covered = 0;
  uint64_t bytes_left = 0;  // slices never share bytes, so together they fit in the shards
  for (uint64_t size : shard_sizes_) bytes_left += size;
  for (const auto& slice : entry.slices()) {
    if (static_cast<size_t>(slice.extent_size()) != rank) return corrupt("slice of the wrong rank");
    Piece piece;
    for (size_t d = 0; d < rank; ++d) {
      const auto& extent = slice.extent(static_cast<int>(d));
      const int64_t start = extent.start();
      const int64_t length = extent.has_length() ? extent.length() : shape[d] - start;
      if (start < 0 || start > shape[d] || length < 0 || length > shape[d] - start ||
          (!extent.has_length() && start != 0)) {
        return corrupt("slice extent " + std::to_string(start) + "+" + std::to_string(length) + " outside dim " +
                       std::to_string(d) + " of " + ShapeToString(shape));
      }
      piece.starts.push_back(start);
      piece.lengths.push_back(length);
    }
    const std::string name = key + " slice " + DescribeSlice(piece.starts, piece.lengths);
    const tfproto::BundleEntryProto* part = FindEntry(TensorSliceKey(key, slice));
    if (part == nullptr) return corrupt("slice " + DescribeSlice(piece.starts, piece.lengths) + " is missing");
    StatusOr<Shape> part_shape = ConcreteShapeFromProto(part->shape());
    if (part->dtype() != entry.dtype() || !part_shape.ok() || *part_shape != piece.lengths || part->slices_size() > 0) {
      return corrupt("slice " + DescribeSlice(piece.starts, piece.lengths) + " has the wrong dtype or shape");
    }
    const int64_t elements = NumElements(piece.lengths);
    if (elements > n - covered || part->size() < 0 || static_cast<uint64_t>(part->size()) > bytes_left) {
      return corrupt("slices overlap or hold more than the tensor");
    }
    covered += elements;
    bytes_left -= static_cast<uint64_t>(part->size());
    KILN_ASSIGN_OR_RETURN(piece.tensor, ReadWhole(name, *part, dtype, piece.lengths));
    pieces.push_back(std::move(piece));
  }
  if (covered != n) {
    return corrupt("slices hold " + std::to_string(covered) + " elements of " + std::to_string(n));
  }

  Tensor whole(dtype, shape);
  std::vector<bool> filled(static_cast<size_t>(n));
  std::vector<int64_t> strides(rank, 1);
  for (size_t d = rank - 1; d > 0; --d) strides[d - 1] = strides[d] * shape[d];
  const size_t elem = DTypeSize(dtype);
  for (const Piece& piece : pieces) {
    const int64_t row = piece.lengths[rank - 1];
    if (row == 0) continue;
    const int64_t rows = piece.tensor.num_elements() / row;
    std::vector<int64_t> index(rank, 0);  // position within the slice, last dim excluded
    for (int64_t r = 0; r < rows; ++r) {
      int64_t dst = piece.starts[rank - 1];
      for (size_t d = 0; d + 1 < rank; ++d) dst += (piece.starts[d] + index[d]) * strides[d];
      for (int64_t i = dst; i < dst + row; ++i) {
        if (filled[i]) return corrupt("slices overlap");
        filled[i] = true;
      }
      if (dtype == DType::kString) {
        for (int64_t i = 0; i < row; ++i) whole.strings()[dst + i] = piece.tensor.strings()[r * row + i];
      } else {
        std::memcpy(static_cast<char*>(whole.raw_data()) + dst * elem,
                    static_cast<const char*>(piece.tensor.raw_data()) + r * row * elem, row * elem);
      }
      for (size_t d = rank - 1; d-- > 0;) {
        if (++index[d] < piece.lengths[d]) break;
        index[d] = 0;
      }
    }
  }
  return whole;
}

StatusOr<Tensor> TensorBundle::ReadNumeric(const std::string& key, const tfproto::BundleEntryProto& entry,
                                           DType dtype, Shape shape) const {
  const std::string shard_path = ShardPath(entry.shard_id());
  // The size is within the shard (checked by ReadWhole), so it bounds what is allocated here.
  const auto elem = static_cast<uint64_t>(DTypeSize(dtype));
  const auto n = static_cast<uint64_t>(NumElements(shape));
  const auto size = static_cast<uint64_t>(entry.size());
  if (n > size / elem || n * elem != size) {
    return DataLoss("tensor '" + key + "' in '" + IndexPath() + "': entry size " + std::to_string(size) +
                    " does not match " + std::string(DTypeName(dtype)) + ShapeToString(shape))
        .InFile(IndexPath());
  }
  Tensor t(dtype, std::move(shape));
  if (size > 0) KILN_RETURN_IF_ERROR(ReadRange(shard_path, entry.offset(), size, static_cast<char*>(t.raw_data())));
  if (Crc32c(t.raw_data(), size) != UnmaskCrc32c(entry.crc32c())) {
    return DataLoss("checksum mismatch for tensor '" + key + "' in data shard '" + shard_path + "'").InFile(shard_path);
  }
  if (dtype == DType::kBool) {
    auto* bytes = static_cast<uint8_t*>(t.raw_data());
    for (uint64_t i = 0; i < n; ++i) bytes[i] = bytes[i] != 0;
  }
  return t;
}

// Layout: a varint64 length per element, the masked CRC32C of those lengths, then the bytes.
// TensorFlow checksums the lengths as little-endian uint32 (uint64 past 4 GiB), not as the
// varint bytes, and the entry's CRC covers those lengths, the stored length CRC and the bytes.
StatusOr<Tensor> TensorBundle::ReadStrings(const std::string& key, const tfproto::BundleEntryProto& entry,
                                           Shape shape) const {
  const std::string shard_path = ShardPath(entry.shard_id());
  auto corrupt = [&](const std::string& what) {
    return DataLoss("string tensor '" + key + "' in data shard '" + shard_path + "': " + what).InFile(shard_path);
  };
  const auto n = static_cast<uint64_t>(NumElements(shape));
  const auto size = static_cast<uint64_t>(entry.size());
  // TensorFlow writes an empty string tensor as the length checksum alone, but also reads an
  // entry of no bytes at all; so does kiln.
  if (size == 0) {
    if (n != 0) return corrupt("size 0 for " + std::to_string(n) + " elements");
    if (UnmaskCrc32c(entry.crc32c()) != 0) return corrupt("checksum mismatch");
    return Tensor(DType::kString, std::move(shape));
  }
  // Each length takes at least one byte, so n is bounded by the (file-checked) size.
  if (n > size || size - n < 4) {
    return corrupt("entry size " + std::to_string(size) + " is too small for " + std::to_string(n) + " elements");
  }
  std::string buffer(size, '\0');
  KILN_RETURN_IF_ERROR(ReadRange(shard_path, entry.offset(), size, buffer.data()));

  std::string_view rest = buffer;
  std::vector<uint64_t> lengths(n);
  uint32_t crc = 0;
  for (uint64_t i = 0; i < n; ++i) {
    if (!GetVarint64(&rest, &lengths[i])) return corrupt("bad length of element " + std::to_string(i));
    if (lengths[i] <= UINT32_MAX) {
      const auto len32 = static_cast<uint32_t>(lengths[i]);
      crc = Crc32cExtend(crc, &len32, sizeof(len32));
    } else {
      crc = Crc32cExtend(crc, &lengths[i], sizeof(lengths[i]));
    }
  }
  if (rest.size() < 4) return corrupt("lengths run past the entry");
  if (UnmaskCrc32c(DecodeFixed32(rest.data())) != crc) return corrupt("checksum mismatch in the lengths");
  crc = Crc32cExtend(crc, rest.data(), 4);
  rest.remove_prefix(4);
  crc = Crc32cExtend(crc, rest.data(), rest.size());
  if (crc != UnmaskCrc32c(entry.crc32c())) return corrupt("checksum mismatch");

  Tensor t(DType::kString, std::move(shape));
  std::vector<std::string>& out = t.strings();
  for (uint64_t i = 0; i < n; ++i) {
    if (lengths[i] > rest.size()) return corrupt("element " + std::to_string(i) + " runs past the entry");
    out[i].assign(rest.data(), lengths[i]);
    rest.remove_prefix(lengths[i]);
  }
  if (!rest.empty()) return corrupt(std::to_string(rest.size()) + " bytes left over after the last element");
  return t;
}

}  // namespace kiln::savedmodel
