#include "frontends/savedmodel/tensor_proto.h"

#include <cstring>
#include <limits>
#include <string>

#include "kiln/limits.h"

namespace kiln::savedmodel {
namespace {

using tfproto::DataType;

std::string DescribeTFDType(int tf_dtype) {
  std::string s = std::to_string(tf_dtype);
  if (tfproto::DataType_IsValid(tf_dtype)) s += " (" + tfproto::DataType_Name(static_cast<DataType>(tf_dtype)) + ")";
  return s;
}

// Copies `values` into `out[0, n)`, repeating the last value; an empty list leaves the zeros.
template <typename Out, typename List, typename Convert>
Status FillFromList(const List& values, const char* field, int64_t n, Out* out, Convert convert) {
  const int64_t given = values.size();
  if (given > n) {
    return InvalidArgument("TensorProto has " + std::to_string(given) + " " + field + " values for a shape of " +
                           std::to_string(n) + " elements");
  }
  for (int64_t i = 0; i < given; ++i) out[i] = convert(values.Get(static_cast<int>(i)));
  for (int64_t i = given; i < n && given > 0; ++i) out[i] = out[given - 1];
  return OkStatus();
}

template <typename Out, typename List>
Status FillFromList(const List& values, const char* field, int64_t n, Out* out) {
  return FillFromList(values, field, n, out, [](auto v) { return static_cast<Out>(v); });
}

Status FillNumeric(const tfproto::TensorProto& proto, int64_t n, Tensor& t) {
  switch (t.dtype()) {
    case DType::kFloat32: return FillFromList(proto.float_val(), "float_val", n, t.data<float>());
    case DType::kFloat64: return FillFromList(proto.double_val(), "double_val", n, t.data<double>());
    case DType::kInt32: return FillFromList(proto.int_val(), "int_val", n, t.data<int32_t>());
    case DType::kInt16: return FillFromList(proto.int_val(), "int_val", n, t.data<int16_t>());
    case DType::kInt8: return FillFromList(proto.int_val(), "int_val", n, t.data<int8_t>());
    case DType::kUInt8: return FillFromList(proto.int_val(), "int_val", n, t.data<uint8_t>());
    case DType::kUInt16: return FillFromList(proto.int_val(), "int_val", n, t.data<uint16_t>());
    case DType::kInt64: return FillFromList(proto.int64_val(), "int64_val", n, t.data<int64_t>());
    case DType::kUInt32: return FillFromList(proto.uint32_val(), "uint32_val", n, t.data<uint32_t>());
    case DType::kUInt64: return FillFromList(proto.uint64_val(), "uint64_val", n, t.data<uint64_t>());
    case DType::kBool: return FillFromList(proto.bool_val(), "bool_val", n, t.data<bool>());
    // float16 and bfloat16 travel as their 16-bit patterns in int32s.
    case DType::kFloat16:
    case DType::kBFloat16:
      return FillFromList(proto.half_val(), "half_val", n, t.data<uint16_t>());
    // FP8 travels as its bytes.
    case DType::kFloat8E4M3FN: {
      struct Bytes {
        const std::string& s;
        int size() const { return static_cast<int>(s.size()); }
        uint8_t Get(int i) const { return static_cast<uint8_t>(s[static_cast<size_t>(i)]); }
      };
      return FillFromList(Bytes{proto.float8_val()}, "float8_val", n, t.data<uint8_t>());
    }
    default:
      return Internal("no typed list for " + std::string(DTypeName(t.dtype())));
  }
}

StatusOr<Tensor> StringTensorFromProto(const tfproto::TensorProto& proto, Shape shape) {
  const int64_t n = NumElements(shape);
  if (!proto.tensor_content().empty()) {
    return InvalidArgument("string TensorProto has tensor_content; strings belong in string_val");
  }
  const auto& values = proto.string_val();
  if (values.size() > n) {
    return InvalidArgument("TensorProto has " + std::to_string(values.size()) +
                           " string_val values for a shape of " + std::to_string(n) + " elements");
  }
  // Bound what repeating the last string would allocate.
  const double last_size = values.empty() ? 0.0 : static_cast<double>(values.Get(values.size() - 1).size());
  const double expanded = static_cast<double>(n) * (sizeof(std::string) + last_size);
  if (expanded > static_cast<double>(MaxTensorBytes())) {
    return ResourceExhausted("string TensorProto of shape " + ShapeToString(shape) + " would expand to more than " +
                             std::to_string(MaxTensorBytes()) + " bytes (KILN_MAX_TENSOR_BYTES)");
  }
  Tensor t(DType::kString, std::move(shape));
  auto& out = t.strings();
  for (int i = 0; i < values.size(); ++i) out[i] = values.Get(i);
  for (int64_t i = values.size(); i < n && !values.empty(); ++i) out[i] = out[values.size() - 1];
  return t;
}

}  // namespace

StatusOr<DType> DTypeFromProto(int tf_dtype) {
  switch (tf_dtype) {
    case tfproto::DT_FLOAT: return DType::kFloat32;
    case tfproto::DT_HALF: return DType::kFloat16;
    case tfproto::DT_BFLOAT16: return DType::kBFloat16;
    case tfproto::DT_DOUBLE: return DType::kFloat64;
    case tfproto::DT_INT8: return DType::kInt8;
    case tfproto::DT_UINT8: return DType::kUInt8;
    case tfproto::DT_INT16: return DType::kInt16;
    case tfproto::DT_UINT16: return DType::kUInt16;
    case tfproto::DT_INT32: return DType::kInt32;
    case tfproto::DT_INT64: return DType::kInt64;
    case tfproto::DT_UINT32: return DType::kUInt32;
    case tfproto::DT_UINT64: return DType::kUInt64;
    case tfproto::DT_BOOL: return DType::kBool;
    case tfproto::DT_STRING: return DType::kString;
    case tfproto::DT_VARIANT: return DType::kVariant;
    case tfproto::DT_FLOAT8_E4M3FN: return DType::kFloat8E4M3FN;
    default: break;
  }
  if (tf_dtype == tfproto::DT_INVALID || !tfproto::DataType_IsValid(tf_dtype)) {
    return InvalidArgument("invalid TensorFlow dtype " + DescribeTFDType(tf_dtype));
  }
  return Unimplemented("unsupported TensorFlow dtype " + DescribeTFDType(tf_dtype));
}

int DTypeToProto(DType dtype) {
  switch (dtype) {
    case DType::kFloat32: return tfproto::DT_FLOAT;
    case DType::kFloat16: return tfproto::DT_HALF;
    case DType::kBFloat16: return tfproto::DT_BFLOAT16;
    case DType::kFloat64: return tfproto::DT_DOUBLE;
    case DType::kInt8: return tfproto::DT_INT8;
    case DType::kUInt8: return tfproto::DT_UINT8;
    case DType::kInt16: return tfproto::DT_INT16;
    case DType::kUInt16: return tfproto::DT_UINT16;
    case DType::kInt32: return tfproto::DT_INT32;
    case DType::kInt64: return tfproto::DT_INT64;
    case DType::kUInt32: return tfproto::DT_UINT32;
    case DType::kUInt64: return tfproto::DT_UINT64;
    case DType::kBool: return tfproto::DT_BOOL;
    case DType::kString: return tfproto::DT_STRING;
    case DType::kVariant: return tfproto::DT_VARIANT;
    case DType::kFloat8E4M3FN: return tfproto::DT_FLOAT8_E4M3FN;
    case DType::kInvalid: break;
  }
  return tfproto::DT_INVALID;
}

StatusOr<PartialShape> ShapeFromProto(const tfproto::TensorShapeProto& proto) {
  if (proto.unknown_rank()) {
    if (proto.dim_size() != 0) return InvalidArgument("shape has unknown_rank set and also lists dims");
    return PartialShape::Unknown();
  }
  Shape dims;
  dims.reserve(proto.dim_size());
  for (const auto& dim : proto.dim()) {
    if (dim.size() < -1) return InvalidArgument("shape has a dim of " + std::to_string(dim.size()));
    dims.push_back(dim.size());
  }
  return PartialShape::Known(std::move(dims));
}

StatusOr<Shape> ConcreteShapeFromProto(const tfproto::TensorShapeProto& proto) {
  KILN_ASSIGN_OR_RETURN(PartialShape partial, ShapeFromProto(proto));
  if (!partial.IsFullyDefined()) {
    return InvalidArgument("expected a fully known shape, got " + partial.ToString());
  }
  int64_t n = 1;
  for (int64_t d : partial.dims) {
    if (d != 0 && n > std::numeric_limits<int64_t>::max() / d) {
      return InvalidArgument("shape " + partial.ToString() + " has too many elements");
    }
    n *= d;
  }
  return std::move(partial.dims);
}

void ShapeToProto(const PartialShape& shape, tfproto::TensorShapeProto* proto) {
  proto->Clear();
  if (!shape.rank_known) {
    proto->set_unknown_rank(true);
    return;
  }
  for (int64_t d : shape.dims) proto->add_dim()->set_size(d < 0 ? -1 : d);
}

void ShapeToProto(const Shape& shape, tfproto::TensorShapeProto* proto) {
  ShapeToProto(PartialShape::Known(shape), proto);
}

StatusOr<Tensor> TensorFromProto(const tfproto::TensorProto& proto) {
  KILN_ASSIGN_OR_RETURN(DType dtype, DTypeFromProto(proto.dtype()));
  KILN_ASSIGN_OR_RETURN(Shape shape, ConcreteShapeFromProto(proto.tensor_shape()));
  if (dtype == DType::kString) return StringTensorFromProto(proto, std::move(shape));

  // A short list of values may be repeated to fill a huge shape: its size is bounded by the limit,
  // not by the file.
  const int64_t n = NumElements(shape);
  const auto elem = static_cast<int64_t>(DTypeSize(dtype));
  if (n < 0 || static_cast<uint64_t>(n) > MaxTensorBytes() / static_cast<uint64_t>(elem)) {
    return ResourceExhausted("TensorProto " + std::string(DTypeName(dtype)) + ShapeToString(shape) + " needs " +
                             (n < 0 || n > std::numeric_limits<int64_t>::max() / elem ? std::string("more than 2^63")
                                                                                     : std::to_string(n * elem)) +
                             " bytes, more than the limit of " + std::to_string(MaxTensorBytes()) +
                             " (KILN_MAX_TENSOR_BYTES)");
  }
  const std::string& content = proto.tensor_content();
  if (!content.empty()) {
    if (static_cast<int64_t>(content.size()) != n * elem) {
      return InvalidArgument("TensorProto tensor_content has " + std::to_string(content.size()) + " bytes, but " +
                             std::string(DTypeName(dtype)) + ShapeToString(shape) + " needs " +
                             std::to_string(n * elem));
    }
    Tensor t(dtype, std::move(shape));
    if (dtype == DType::kBool) {
      // Any non-zero byte is true; copying other bytes into a bool would be undefined.
      for (int64_t i = 0; i < n; ++i) t.data<bool>()[i] = content[i] != 0;
    } else {
      std::memcpy(t.raw_data(), content.data(), content.size());
    }
    return t;
  }
  Tensor t(dtype, std::move(shape));
  KILN_RETURN_IF_ERROR(FillNumeric(proto, n, t));
  return t;
}

void TensorToProto(const Tensor& tensor, tfproto::TensorProto* proto) {
  proto->Clear();
  proto->set_dtype(static_cast<DataType>(DTypeToProto(tensor.dtype())));
  ShapeToProto(tensor.shape(), proto->mutable_tensor_shape());
  if (tensor.dtype() == DType::kString) {
    for (const std::string& s : tensor.strings()) proto->add_string_val(s);
    return;
  }
  if (tensor.byte_size() > 0) {
    proto->set_tensor_content(static_cast<const char*>(tensor.raw_data()), tensor.byte_size());
  }
}

}  // namespace kiln::savedmodel
