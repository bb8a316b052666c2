#include "kiln/tensor.h"

#include <cstring>

namespace kiln {

int64_t NumElements(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string ShapeToString(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ",";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

bool PartialShape::IsFullyDefined() const {
  if (!rank_known) return false;
  for (int64_t d : dims)
    if (d < 0) return false;
  return true;
}

bool PartialShape::Accepts(const Shape& shape) const {
  if (!rank_known) return true;
  if (shape.size() != dims.size()) return false;
  for (size_t i = 0; i < dims.size(); ++i)
    if (dims[i] >= 0 && dims[i] != shape[i]) return false;
  return true;
}

std::string PartialShape::ToString() const {
  if (!rank_known) return "<unknown>";
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) {
    if (i) s += ",";
    s += dims[i] < 0 ? "?" : std::to_string(dims[i]);
  }
  return s + "]";
}

Tensor::Tensor(DType dtype, Shape shape) : dtype_(dtype), shape_(std::move(shape)) {
  const int64_t n = NumElements(shape_);
  if (dtype_ == DType::kString) {
    strings_ = std::make_shared<std::vector<std::string>>(static_cast<size_t>(n));
  } else {
    bytes_ = std::make_shared<std::vector<uint8_t>>(static_cast<size_t>(n) * DTypeSize(dtype_));
  }
}

Tensor Tensor::Strings(Shape shape, std::vector<std::string> values) {
  Tensor t(DType::kString, std::move(shape));
  *t.strings_ = std::move(values);
  return t;
}

size_t Tensor::byte_size() const { return bytes_ ? bytes_->size() : 0; }

StatusOr<Tensor> Tensor::Reshaped(Shape shape) const {
  if (NumElements(shape) != num_elements()) {
    return InvalidArgument("cannot reshape " + ShapeToString(shape_) + " (" + std::to_string(num_elements()) +
                           " elements) to " + ShapeToString(shape));
  }
  Tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

Tensor Tensor::Clone() const {
  Tensor t = *this;
  if (bytes_) t.bytes_ = std::make_shared<std::vector<uint8_t>>(*bytes_);
  if (strings_) t.strings_ = std::make_shared<std::vector<std::string>>(*strings_);
  return t;
}

namespace {
template <typename T>
void AppendAsInt64(const Tensor& t, std::vector<int64_t>& out) {
  const T* p = t.data<T>();
  for (int64_t i = 0; i < t.num_elements(); ++i) out.push_back(static_cast<int64_t>(p[i]));
}
template <typename T>
void AppendAsFloat(const Tensor& t, std::vector<float>& out) {
  const T* p = t.data<T>();
  for (int64_t i = 0; i < t.num_elements(); ++i) out.push_back(static_cast<float>(p[i]));
}
}  // namespace

StatusOr<std::vector<int64_t>> Tensor::ToInt64Vector() const {
  std::vector<int64_t> out;
  out.reserve(static_cast<size_t>(num_elements()));
  switch (dtype_) {
    case DType::kInt32: AppendAsInt64<int32_t>(*this, out); break;
    case DType::kInt64: AppendAsInt64<int64_t>(*this, out); break;
    case DType::kInt16: AppendAsInt64<int16_t>(*this, out); break;
    case DType::kInt8: AppendAsInt64<int8_t>(*this, out); break;
    case DType::kUInt8: AppendAsInt64<uint8_t>(*this, out); break;
    case DType::kUInt16: AppendAsInt64<uint16_t>(*this, out); break;
    case DType::kUInt32: AppendAsInt64<uint32_t>(*this, out); break;
    case DType::kUInt64: AppendAsInt64<uint64_t>(*this, out); break;
    case DType::kBool: AppendAsInt64<bool>(*this, out); break;
    default:
      return InvalidArgument("expected an integer tensor, got " + DebugString());
  }
  return out;
}

std::vector<float> Tensor::ToFloatVector() const {
  std::vector<float> out;
  out.reserve(static_cast<size_t>(num_elements()));
  switch (dtype_) {
    case DType::kFloat32: AppendAsFloat<float>(*this, out); break;
    case DType::kFloat64: AppendAsFloat<double>(*this, out); break;
    case DType::kFloat16:
      for (int64_t i = 0; i < num_elements(); ++i) out.push_back(HalfToFloat(data<Half>()[i]));
      break;
    case DType::kBFloat16:
      for (int64_t i = 0; i < num_elements(); ++i) out.push_back(BFloat16ToFloat(data<BFloat16>()[i]));
      break;
    case DType::kInt32: AppendAsFloat<int32_t>(*this, out); break;
    case DType::kInt64: AppendAsFloat<int64_t>(*this, out); break;
    case DType::kInt16: AppendAsFloat<int16_t>(*this, out); break;
    case DType::kInt8: AppendAsFloat<int8_t>(*this, out); break;
    case DType::kUInt8: AppendAsFloat<uint8_t>(*this, out); break;
    case DType::kUInt16: AppendAsFloat<uint16_t>(*this, out); break;
    case DType::kUInt32: AppendAsFloat<uint32_t>(*this, out); break;
    case DType::kUInt64: AppendAsFloat<uint64_t>(*this, out); break;
    case DType::kBool: AppendAsFloat<bool>(*this, out); break;
    default: break;
  }
  return out;
}

std::string Tensor::DebugString() const { return std::string(DTypeName(dtype_)) + ShapeToString(shape_); }

}  // namespace kiln
