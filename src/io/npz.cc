// .npz archives are zip files of .npy members. kiln reads the central directory (with zip64
// extensions, which numpy writes) and inflates deflated members with zlib.
#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <limits>

#include "io/npy.h"

namespace kiln::io {
namespace {

constexpr uint32_t kLocalHeaderSig = 0x04034b50;
constexpr uint32_t kCentralSig = 0x02014b50;
constexpr uint32_t kEndSig = 0x06054b50;
constexpr uint32_t kZip64EndSig = 0x06064b50;
constexpr uint32_t kZip64LocatorSig = 0x07064b50;

class Reader {
 public:
  Reader(const std::string& b, const std::string& path) : b_(b), path_(path) {}
  bool Has(uint64_t pos, uint64_t n) const { return pos <= b_.size() && n <= b_.size() - pos; }
  uint64_t U(uint64_t pos, int n) const {
    uint64_t v = 0;
    for (int i = 0; i < n; ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(b_[pos + i])) << (8 * i);
    return v;
  }
  Status Corrupt(const std::string& what) const {
    return InvalidArgument("'" + path_ + "' is not a valid .npz archive: " + what);
  }

 private:
  const std::string& b_;
  const std::string& path_;
};

struct Member {
  std::string name;
  uint16_t method = 0;
  uint64_t compressed = 0;
  uint64_t uncompressed = 0;
  uint64_t local_offset = 0;
  uint32_t crc = 0;
};

// Inflates a member that should expand to `expected` bytes. The output grows as the stream really
// produces bytes, so a header that claims a huge size costs only what the data holds.
StatusOr<std::string> Inflate(const std::string& in, uint64_t expected, const std::string& where) {
  const Status corrupt = InvalidArgument("'" + where + "' has a corrupt deflated member");
  if (in.size() > std::numeric_limits<uInt>::max()) return corrupt;
  std::string out;
  z_stream zs{};
  if (inflateInit2(&zs, -MAX_WBITS) != Z_OK) return Internal("zlib initialisation failed");
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  int rc = Z_OK;
  while (rc == Z_OK && out.size() < expected) {
    const uint64_t grown = std::min<uint64_t>(expected, std::max<uint64_t>(out.size() * 2, 1 << 20));
    const size_t at = out.size();
    out.resize(grown);
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + at);
    zs.avail_out = static_cast<uInt>(std::min<uint64_t>(grown - at, std::numeric_limits<uInt>::max()));
    rc = inflate(&zs, Z_NO_FLUSH);
    out.resize(at + (zs.next_out - reinterpret_cast<Bytef*>(out.data() + at)));
  }
  // A stream that fills `expected` exactly must also end there.
  if (rc == Z_OK && out.size() == expected) {
    char extra;
    zs.next_out = reinterpret_cast<Bytef*>(&extra);
    zs.avail_out = 1;
    rc = inflate(&zs, Z_FINISH);
    if (zs.avail_out == 0) rc = Z_DATA_ERROR;
  }
  inflateEnd(&zs);
  if (rc != Z_STREAM_END || out.size() != expected) return corrupt;
  return out;
}

// Applies the zip64 extended-information extra field to the fields that overflowed.
void ApplyZip64Extra(const Reader& r, uint64_t extra_pos, uint64_t extra_len, Member& m) {
  uint64_t pos = extra_pos;
  while (pos + 4 <= extra_pos + extra_len) {
    const uint64_t id = r.U(pos, 2), len = r.U(pos + 2, 2);
    if (pos + 4 + len > extra_pos + extra_len) return;
    if (id == 1) {
      uint64_t p = pos + 4;
      auto take = [&](uint64_t& field) {
        if (field == 0xffffffffu && p + 8 <= pos + 4 + len) {
          field = r.U(p, 8);
          p += 8;
        }
      };
      take(m.uncompressed);
      take(m.compressed);
      take(m.local_offset);
    }
    pos += 4 + len;
  }
}

}  // namespace

StatusOr<NamedTensors> ReadNpz(const std::string& path) {
  KILN_ASSIGN_OR_RETURN(std::string bytes, ReadFile(path));
  Reader r(bytes, path);
  if (bytes.size() < 22) return r.Corrupt("too short");
  // The end-of-central-directory record sits in the last 64 KiB + 22 bytes.
  int64_t end = -1;
  const int64_t lowest = std::max<int64_t>(0, static_cast<int64_t>(bytes.size()) - 22 - 65535);
  for (int64_t p = static_cast<int64_t>(bytes.size()) - 22; p >= lowest; --p) {
    if (r.U(p, 4) == kEndSig) {
      end = p;
      break;
    }
  }
  if (end < 0) return r.Corrupt("no end-of-central-directory record");
  uint64_t count = r.U(end + 10, 2);
  uint64_t cd_size = r.U(end + 12, 4);
  uint64_t cd_offset = r.U(end + 16, 4);
  if ((count == 0xffff || cd_offset == 0xffffffffu) && end >= 20 && r.U(end - 20, 4) == kZip64LocatorSig) {
    const uint64_t z64 = r.U(end - 20 + 8, 8);
    if (!r.Has(z64, 56) || r.U(z64, 4) != kZip64EndSig) return r.Corrupt("bad zip64 end record");
    count = r.U(z64 + 32, 8);
    cd_size = r.U(z64 + 40, 8);
    cd_offset = r.U(z64 + 48, 8);
  }
  if (!r.Has(cd_offset, cd_size)) return r.Corrupt("central directory lies outside the file");

  NamedTensors out;
  uint64_t pos = cd_offset;
  for (uint64_t i = 0; i < count; ++i) {
    if (!r.Has(pos, 46) || r.U(pos, 4) != kCentralSig) return r.Corrupt("bad central directory entry");
    Member m;
    const uint16_t flags = static_cast<uint16_t>(r.U(pos + 8, 2));
    m.method = static_cast<uint16_t>(r.U(pos + 10, 2));
    m.crc = static_cast<uint32_t>(r.U(pos + 16, 4));
    m.compressed = r.U(pos + 20, 4);
    m.uncompressed = r.U(pos + 24, 4);
    const uint64_t name_len = r.U(pos + 28, 2), extra_len = r.U(pos + 30, 2), comment_len = r.U(pos + 32, 2);
    m.local_offset = r.U(pos + 42, 4);
    if (!r.Has(pos + 46, name_len + extra_len + comment_len)) return r.Corrupt("truncated central directory");
    m.name = bytes.substr(pos + 46, name_len);
    ApplyZip64Extra(r, pos + 46 + name_len, extra_len, m);
    pos += 46 + name_len + extra_len + comment_len;
    if (flags & 1u) return r.Corrupt("member '" + m.name + "' is encrypted");

    if (!r.Has(m.local_offset, 30) || r.U(m.local_offset, 4) != kLocalHeaderSig) {
      return r.Corrupt("bad local header for member '" + m.name + "'");
    }
    const uint64_t data = m.local_offset + 30 + r.U(m.local_offset + 26, 2) + r.U(m.local_offset + 28, 2);
    if (!r.Has(data, m.compressed)) return r.Corrupt("member '" + m.name + "' runs past the end of the file");
    std::string raw = bytes.substr(data, m.compressed);
    const std::string where = path + ":" + m.name;
    std::string npy;
    if (m.method == 0) {
      npy = std::move(raw);
    } else if (m.method == 8) {
      KILN_ASSIGN_OR_RETURN(npy, Inflate(raw, m.uncompressed, where));
    } else {
      return r.Corrupt("member '" + m.name + "' uses unsupported compression method " + std::to_string(m.method));
    }
    if (crc32(0, reinterpret_cast<const Bytef*>(npy.data()), static_cast<uInt>(npy.size())) != m.crc) {
      return r.Corrupt("member '" + m.name + "' fails its CRC-32 check");
    }
    std::string key = m.name;
    if (key.size() > 4 && key.compare(key.size() - 4, 4, ".npy") == 0) key.resize(key.size() - 4);
    KILN_ASSIGN_OR_RETURN(Tensor t, ParseNpy(npy, where));
    out.emplace_back(std::move(key), std::move(t));
  }
  return out;
}

Status WriteNpz(const std::string& path, const NamedTensors& tensors) {
  std::string body, central;
  auto put = [](std::string& s, uint64_t v, int n) {
    for (int i = 0; i < n; ++i) s += static_cast<char>((v >> (8 * i)) & 0xff);
  };
  for (const auto& [name, tensor] : tensors) {
    if (tensor.dtype() == DType::kString || tensor.dtype() == DType::kBFloat16) {
      return InvalidArgument("cannot write " + std::string(DTypeName(tensor.dtype())) + " output '" + name + "' to .npz");
    }
    const std::string npy = SerializeNpy(tensor);
    const std::string file = name + ".npy";
    if (npy.size() >= 0xffffffffu || body.size() >= 0xffffffffu) {
      return InvalidArgument("output '" + name + "' is too large for a non-zip64 .npz");
    }
    const uint32_t crc = crc32(0, reinterpret_cast<const Bytef*>(npy.data()), static_cast<uInt>(npy.size()));
    const uint64_t offset = body.size();
    put(body, kLocalHeaderSig, 4);
    put(body, 20, 2);  // version needed
    put(body, 0, 2);   // flags
    put(body, 0, 2);   // stored
    put(body, 0, 4);   // time, date
    put(body, crc, 4);
    put(body, npy.size(), 4);
    put(body, npy.size(), 4);
    put(body, file.size(), 2);
    put(body, 0, 2);
    body += file;
    body += npy;

    put(central, kCentralSig, 4);
    put(central, 20, 2);
    put(central, 20, 2);
    put(central, 0, 2);
    put(central, 0, 2);
    put(central, 0, 4);
    put(central, crc, 4);
    put(central, npy.size(), 4);
    put(central, npy.size(), 4);
    put(central, file.size(), 2);
    put(central, 0, 2);
    put(central, 0, 2);
    put(central, 0, 2);
    put(central, 0, 2);
    put(central, 0, 4);
    put(central, offset, 4);
    central += file;
  }
  std::string out = body + central;
  put(out, kEndSig, 4);
  put(out, 0, 4);
  put(out, tensors.size(), 2);
  put(out, tensors.size(), 2);
  put(out, central.size(), 4);
  put(out, body.size(), 4);
  put(out, 0, 2);
  return WriteFile(path, out);
}

}  // namespace kiln::io
