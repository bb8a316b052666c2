#include "frontends/onnx/onnx_tensor.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace kiln::onnx {
namespace {

using onnxproto::TensorProto;

struct ExternalRef {
  std::string location;
  int64_t offset = 0;
  int64_t length = -1;
};

StatusOr<ExternalRef> ParseExternalRef(const TensorProto& proto) {
  ExternalRef ref;
  for (const auto& entry : proto.external_data()) {
    try {
      if (entry.key() == "location") ref.location = entry.value();
      if (entry.key() == "offset") ref.offset = std::stoll(entry.value());
      if (entry.key() == "length") ref.length = std::stoll(entry.value());
    } catch (const std::exception&) {
      return InvalidArgument("external_data " + entry.key() + " '" + entry.value() + "' is not a number");
    }
  }
  if (ref.location.empty()) return InvalidArgument("external data has no location");
  const std::filesystem::path loc(ref.location);
  if (loc.is_absolute()) return InvalidArgument("external data location '" + ref.location + "' must be relative");
  for (const auto& part : loc) {
    if (part == "..")
      return InvalidArgument("external data location '" + ref.location + "' leaves the model directory");
  }
  if (ref.offset < 0) return InvalidArgument("external data offset " + std::to_string(ref.offset) + " is negative");
  return ref;
}

// Reads exactly `want` bytes (or all from offset when want < 0) of an external-data file.
StatusOr<std::string> ReadExternal(const ExternalRef& ref, const std::string& model_dir, int64_t want) {
  const std::string path = (std::filesystem::path(model_dir) / ref.location).string();
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return NotFound("external data file '" + path + "' cannot be read: " + ec.message());
  const int64_t file_size = static_cast<int64_t>(size);
  if (ref.length >= 0 && want >= 0 && ref.length != want) {
    return InvalidArgument("external data length " + std::to_string(ref.length) + " does not match the " +
                           std::to_string(want) + " bytes the dims need");
  }
  const int64_t n = want >= 0 ? want : (ref.length >= 0 ? ref.length : file_size - ref.offset);
  if (ref.offset > file_size || n > file_size - ref.offset) {
    return DataLoss("external data file '" + path + "' has " + std::to_string(file_size) + " bytes; the tensor needs " +
                    std::to_string(n) + " at offset " + std::to_string(ref.offset));
  }
  std::ifstream in(path, std::ios::binary);
  std::string bytes(static_cast<size_t>(n), '\0');
  in.seekg(ref.offset);
  in.read(bytes.data(), n);
  if (!in) return DataLoss("reading " + std::to_string(n) + " bytes of '" + path + "' failed");
  return bytes;
}

template <typename Out, typename List>
Status CopyList(const List& values, const char* field, Tensor& t) {
  const int64_t n = t.num_elements();
  if (static_cast<int64_t>(values.size()) != n) {
    return InvalidArgument(std::string(field) + " has " + std::to_string(values.size()) + " values for " +
                           std::to_string(n) + " elements");
  }
  Out* out = t.data<Out>();
  for (int64_t i = 0; i < n; ++i) out[i] = static_cast<Out>(values.Get(static_cast<int>(i)));
  return OkStatus();
}

// 16-bit types travel as their bits in int32_data.
template <typename Bits>
Status CopyBits(const TensorProto& proto, Tensor& t) {
  const int64_t n = t.num_elements();
  if (proto.int32_data_size() != n) {
    return InvalidArgument("int32_data has " + std::to_string(proto.int32_data_size()) + " values for " +
                           std::to_string(n) + " elements");
  }
  Bits* out = t.data<Bits>();
  for (int64_t i = 0; i < n; ++i) out[i].bits = static_cast<uint16_t>(proto.int32_data(static_cast<int>(i)));
  return OkStatus();
}

Status CopyTyped(const TensorProto& proto, Tensor& t) {
  switch (t.dtype()) {
    case DType::kFloat32:
      return CopyList<float>(proto.float_data(), "float_data", t);
    case DType::kFloat64:
      return CopyList<double>(proto.double_data(), "double_data", t);
    case DType::kInt64:
      return CopyList<int64_t>(proto.int64_data(), "int64_data", t);
    case DType::kInt32:
      return CopyList<int32_t>(proto.int32_data(), "int32_data", t);
    case DType::kInt16:
      return CopyList<int16_t>(proto.int32_data(), "int32_data", t);
    case DType::kInt8:
      return CopyList<int8_t>(proto.int32_data(), "int32_data", t);
    case DType::kUInt16:
      return CopyList<uint16_t>(proto.int32_data(), "int32_data", t);
    case DType::kUInt8:
      return CopyList<uint8_t>(proto.int32_data(), "int32_data", t);
    case DType::kBool:
      return CopyList<bool>(proto.int32_data(), "int32_data", t);
    case DType::kUInt32:
      return CopyList<uint32_t>(proto.uint64_data(), "uint64_data", t);
    case DType::kUInt64:
      return CopyList<uint64_t>(proto.uint64_data(), "uint64_data", t);
    case DType::kFloat16:
      return CopyBits<Half>(proto, t);
    case DType::kBFloat16:
      return CopyBits<BFloat16>(proto, t);
    default:
      return Unimplemented(std::string("tensors of dtype ") + std::string(DTypeName(t.dtype())));
  }
}

// The most elements the proto's typed lists hold (what CopyTyped can fill).
int64_t ListedValues(const TensorProto& proto) {
  return std::max({proto.float_data_size(), proto.double_data_size(), proto.int32_data_size(),
                   proto.int64_data_size(), proto.uint64_data_size()});
}

StatusOr<Tensor> ReadTensor(const TensorProto& proto, const std::string& model_dir) {
  KILN_ASSIGN_OR_RETURN(DType dtype, DTypeFromOnnx(proto.data_type()));
  Shape shape;
  for (int64_t d : proto.dims()) {
    if (d < 0) return InvalidArgument("dims has a negative entry " + std::to_string(d));
    shape.push_back(d);
  }
  const int64_t n = NumElements(shape);
  if (n < 0) return InvalidArgument("dims describe more elements than fit in int64");
  if (dtype == DType::kString) {
    if (proto.data_location() == TensorProto::EXTERNAL) return Unimplemented("external string tensors");
    if (proto.string_data_size() != n) {
      return InvalidArgument("string_data has " + std::to_string(proto.string_data_size()) + " values for " +
                             std::to_string(n) + " elements");
    }
    return Tensor::Strings(shape, {proto.string_data().begin(), proto.string_data().end()});
  }
  int64_t bytes = 0;
  if (__builtin_mul_overflow(n, static_cast<int64_t>(DTypeSize(dtype)), &bytes)) {
    return InvalidArgument("dims " + ShapeToString(shape) + " describe more bytes than fit in int64");
  }
  // The data is checked against the dims before the tensor is allocated: dims that claim more than
  // the file holds are an error, not an allocation.
  if (proto.data_location() == TensorProto::EXTERNAL) {
    KILN_ASSIGN_OR_RETURN(ExternalRef ref, ParseExternalRef(proto));
    KILN_ASSIGN_OR_RETURN(std::string data, ReadExternal(ref, model_dir, bytes));
    Tensor t(dtype, shape);
    if (bytes > 0) std::memcpy(t.raw_data(), data.data(), static_cast<size_t>(bytes));
    return t;
  }
  if (!proto.raw_data().empty()) {
    if (static_cast<int64_t>(proto.raw_data().size()) != bytes) {
      return InvalidArgument("raw_data has " + std::to_string(proto.raw_data().size()) + " bytes; dims " +
                             ShapeToString(shape) + " of " + std::string(DTypeName(dtype)) + " need " +
                             std::to_string(bytes));
    }
    Tensor t(dtype, shape);
    if (bytes > 0) std::memcpy(t.raw_data(), proto.raw_data().data(), static_cast<size_t>(bytes));
    return t;
  }
  if (ListedValues(proto) < n) {
    return InvalidArgument("dims " + ShapeToString(shape) + " need " + std::to_string(n) + " values; the tensor holds " +
                           std::to_string(ListedValues(proto)));
  }
  Tensor t(dtype, shape);
  KILN_RETURN_IF_ERROR(CopyTyped(proto, t));
  return t;
}

}  // namespace

StatusOr<DType> DTypeFromOnnx(int elem_type) {
  switch (elem_type) {
    case TensorProto::FLOAT:
      return DType::kFloat32;
    case TensorProto::UINT8:
      return DType::kUInt8;
    case TensorProto::INT8:
      return DType::kInt8;
    case TensorProto::UINT16:
      return DType::kUInt16;
    case TensorProto::INT16:
      return DType::kInt16;
    case TensorProto::INT32:
      return DType::kInt32;
    case TensorProto::INT64:
      return DType::kInt64;
    case TensorProto::STRING:
      return DType::kString;
    case TensorProto::BOOL:
      return DType::kBool;
    case TensorProto::FLOAT16:
      return DType::kFloat16;
    case TensorProto::DOUBLE:
      return DType::kFloat64;
    case TensorProto::UINT32:
      return DType::kUInt32;
    case TensorProto::UINT64:
      return DType::kUInt64;
    case TensorProto::BFLOAT16:
      return DType::kBFloat16;
    default:
      return Unimplemented("ONNX element type " + OnnxTypeName(elem_type) + " is not supported");
  }
}

int DTypeToOnnx(DType dtype) {
  switch (dtype) {
    case DType::kFloat32:
      return TensorProto::FLOAT;
    case DType::kUInt8:
      return TensorProto::UINT8;
    case DType::kInt8:
      return TensorProto::INT8;
    case DType::kUInt16:
      return TensorProto::UINT16;
    case DType::kInt16:
      return TensorProto::INT16;
    case DType::kInt32:
      return TensorProto::INT32;
    case DType::kInt64:
      return TensorProto::INT64;
    case DType::kString:
      return TensorProto::STRING;
    case DType::kBool:
      return TensorProto::BOOL;
    case DType::kFloat16:
      return TensorProto::FLOAT16;
    case DType::kFloat64:
      return TensorProto::DOUBLE;
    case DType::kUInt32:
      return TensorProto::UINT32;
    case DType::kUInt64:
      return TensorProto::UINT64;
    case DType::kBFloat16:
      return TensorProto::BFLOAT16;
    default:
      return TensorProto::UNDEFINED;
  }
}

std::string OnnxTypeName(int elem_type) {
  if (onnxproto::TensorProto_DataType_IsValid(elem_type)) {
    return std::to_string(elem_type) + " (" +
           onnxproto::TensorProto_DataType_Name(static_cast<onnxproto::TensorProto_DataType>(elem_type)) + ")";
  }
  return std::to_string(elem_type);
}

StatusOr<Tensor> TensorFromOnnx(const TensorProto& proto, const std::string& model_dir) {
  auto t = ReadTensor(proto, model_dir);
  if (!t.ok()) {
    Status s = t.status();
    return s.Prepend("tensor '" + proto.name() + "'");
  }
  return t;
}

void TensorToOnnx(const Tensor& tensor, TensorProto* proto) {
  proto->set_data_type(DTypeToOnnx(tensor.dtype()));
  for (int64_t d : tensor.shape()) proto->add_dims(d);
  if (tensor.dtype() == DType::kString) {
    for (const auto& s : tensor.strings()) proto->add_string_data(s);
    return;
  }
  proto->set_raw_data(tensor.raw_data(), tensor.byte_size());
}

}  // namespace kiln::onnx
