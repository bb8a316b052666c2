#include "io/npy.h"

#include <cstring>
#include <regex>

namespace kiln::io {
namespace {

constexpr char kMagic[] = "\x93NUMPY";

struct DescrEntry {
  const char* descr;
  DType dtype;
};
constexpr DescrEntry kDescrs[] = {
    {"<f4", DType::kFloat32}, {"<f2", DType::kFloat16}, {"<f8", DType::kFloat64}, {"|i1", DType::kInt8},
    {"<i1", DType::kInt8},    {"|u1", DType::kUInt8},   {"<u1", DType::kUInt8},   {"<i2", DType::kInt16},
    {"<u2", DType::kUInt16},  {"<i4", DType::kInt32},   {"<u4", DType::kUInt32},  {"<i8", DType::kInt64},
    {"<u8", DType::kUInt64},  {"|b1", DType::kBool},    {"<b1", DType::kBool},
};

StatusOr<DType> DTypeFromDescr(const std::string& descr, const std::string& where) {
  for (const auto& e : kDescrs)
    if (descr == e.descr) return e.dtype;
  return InvalidArgument("'" + where + "' holds dtype '" + descr +
                         "', which kiln does not read (expected little-endian float16/32/64, int8-64, uint8-64 or bool)");
}

const char* DescrFor(DType dtype) {
  switch (dtype) {
    case DType::kFloat32: return "<f4";
    case DType::kFloat16: return "<f2";
    case DType::kFloat64: return "<f8";
    case DType::kInt8: return "|i1";
    case DType::kUInt8: return "|u1";
    case DType::kInt16: return "<i2";
    case DType::kUInt16: return "<u2";
    case DType::kInt32: return "<i4";
    case DType::kUInt32: return "<u4";
    case DType::kInt64: return "<i8";
    case DType::kUInt64: return "<u8";
    case DType::kBool: return "|b1";
    default: return nullptr;
  }
}

uint32_t ReadLE(const std::string& b, size_t pos, int bytes) {
  uint32_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= static_cast<uint32_t>(static_cast<uint8_t>(b[pos + i])) << (8 * i);
  return v;
}

}  // namespace

StatusOr<Tensor> ParseNpy(const std::string& bytes, const std::string& where) {
  if (bytes.size() < 10 || bytes.compare(0, 6, kMagic, 6) != 0) {
    return InvalidArgument("'" + where + "' is not a .npy file (bad magic)");
  }
  const int major = static_cast<uint8_t>(bytes[6]);
  if (major < 1 || major > 3) return InvalidArgument("'" + where + "' has unsupported .npy version " + std::to_string(major));
  const int len_bytes = major == 1 ? 2 : 4;
  const size_t header_start = 8 + len_bytes;
  if (bytes.size() < header_start) return InvalidArgument("'" + where + "' is truncated in its .npy header");
  const size_t header_len = ReadLE(bytes, 8, len_bytes);
  if (header_len > bytes.size() - header_start) return InvalidArgument("'" + where + "' is truncated in its .npy header");
  const std::string header = bytes.substr(header_start, header_len);

  std::smatch m;
  static const std::regex descr_re(R"('descr'\s*:\s*'([^']*)')");
  static const std::regex order_re(R"('fortran_order'\s*:\s*(True|False))");
  static const std::regex shape_re(R"('shape'\s*:\s*\(([^)]*)\))");
  if (!std::regex_search(header, m, descr_re)) return InvalidArgument("'" + where + "' has no 'descr' in its .npy header");
  KILN_ASSIGN_OR_RETURN(DType dtype, DTypeFromDescr(m[1].str(), where));
  if (!std::regex_search(header, m, order_re)) return InvalidArgument("'" + where + "' has no 'fortran_order' in its .npy header");
  if (m[1].str() == "True") return InvalidArgument("'" + where + "' is in Fortran order; save it C-contiguous");
  if (!std::regex_search(header, m, shape_re)) return InvalidArgument("'" + where + "' has no 'shape' in its .npy header");
  Shape shape;
  const std::string dims = m[1].str();
  static const std::regex dim_re(R"(\s*(\d+)\s*(,|$))");
  for (auto it = std::sregex_iterator(dims.begin(), dims.end(), dim_re); it != std::sregex_iterator(); ++it) {
    const std::string d = (*it)[1].str();
    if (d.size() > 15) return InvalidArgument("'" + where + "' has an absurd dimension " + d);
    shape.push_back(std::stoll(d));
  }
  const size_t data_start = header_start + header_len;
  const size_t elem = DTypeSize(dtype);
  // Overflow-safe: check each factor against the bytes actually present.
  const size_t available = bytes.size() - data_start;
  size_t count = 1;
  for (int64_t d : shape) {
    if (d != 0 && count > available / static_cast<size_t>(d)) {
      return InvalidArgument("'" + where + "' declares shape " + ShapeToString(shape) + " but holds only " +
                             std::to_string(available) + " data bytes");
    }
    count *= static_cast<size_t>(d);
  }
  if (count * elem != available) {
    return InvalidArgument("'" + where + "' declares " + std::string(DTypeName(dtype)) + ShapeToString(shape) + " (" +
                           std::to_string(count * elem) + " bytes) but holds " + std::to_string(available) +
                           " data bytes");
  }
  Tensor t(dtype, shape);
  if (count) std::memcpy(t.raw_data(), bytes.data() + data_start, count * elem);
  if (dtype == DType::kBool) {
    for (size_t i = 0; i < count; ++i) t.data<uint8_t>()[i] = t.data<uint8_t>()[i] != 0;
  }
  return t;
}

StatusOr<Tensor> ReadNpy(const std::string& path) {
  KILN_ASSIGN_OR_RETURN(std::string bytes, ReadFile(path));
  return ParseNpy(bytes, path);
}

std::string SerializeNpy(const Tensor& t) {
  std::string shape = "(";
  for (size_t i = 0; i < t.shape().size(); ++i) shape += std::to_string(t.shape()[i]) + (t.rank() == 1 ? "," : i + 1 < t.shape().size() ? ", " : "");
  shape += ")";
  std::string header = "{'descr': '" + std::string(DescrFor(t.dtype())) + "', 'fortran_order': False, 'shape': " + shape + ", }";
  // Pad so that the data starts on a 64-byte boundary, ending the header with '\n'.
  const size_t unpadded = 10 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';
  std::string out(kMagic, 6);
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>((header.size() >> 8) & 0xff);
  out += header;
  out.append(static_cast<const char*>(t.raw_data()), t.byte_size());
  return out;
}

Status WriteNpy(const std::string& path, const Tensor& tensor) {
  if (DescrFor(tensor.dtype()) == nullptr) {
    return InvalidArgument("cannot write " + std::string(DTypeName(tensor.dtype())) + " tensors to .npy");
  }
  return WriteFile(path, SerializeNpy(tensor));
}

}  // namespace kiln::io
