#include "kiln/tensor.h"

#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <new>

#include "kiln/limits.h"

namespace kiln {

// -1 when the product overflows int64.
int64_t NumElements(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (__builtin_mul_overflow(n, d, &n)) return -1;
  }
  return n;
}

uint64_t MaxTensorBytes() {
  static const uint64_t limit = [] {
    if (const char* env = std::getenv("KILN_MAX_TENSOR_BYTES"); env != nullptr && *env != '\0') {
      char* end = nullptr;
      const unsigned long long v = std::strtoull(env, &end, 10);
      if (end != nullptr && *end == '\0' && v > 0) return static_cast<uint64_t>(v);
    }
    const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
    return pages > 0 && page > 0 ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(page) : uint64_t{1} << 40;
  }();
  return limit;
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

namespace {

constexpr std::align_val_t kHostAlignment{64};

class HostBuffer final : public Buffer {
 public:
  HostBuffer(void* data, size_t size) : Buffer(data, size, Device::CPU()) {}
  ~HostBuffer() override { ::operator delete(data(), kHostAlignment); }
};

class BorrowedBuffer final : public Buffer {
 public:
  BorrowedBuffer(void* data, size_t size, Device device) : Buffer(data, size, device) {}
};

}  // namespace

std::shared_ptr<Buffer> Buffer::AllocateHost(size_t size, bool zero) {
  // Never a null pointer, even for empty tensors: kernels may take the address of element 0.
  void* p = ::operator new(size == 0 ? 1 : size, kHostAlignment);
  if (zero && size > 0) std::memset(p, 0, size);
  return std::make_shared<HostBuffer>(p, size);
}

std::shared_ptr<Buffer> Buffer::Borrow(void* data, size_t size, Device device) {
  return std::make_shared<BorrowedBuffer>(data, size, device);
}

namespace {

// The elements of `shape` and their bytes as `dtype`; throws std::bad_alloc for negative dims or
// sizes past MaxTensorBytes() (or overflowing), which the executor reports as an error.
std::pair<size_t, size_t> CheckedSize(DType dtype, const Shape& shape) {
  const uint64_t kMaxBytes = MaxTensorBytes();
  uint64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0 || __builtin_mul_overflow(n, static_cast<uint64_t>(d), &n)) throw std::bad_alloc();
  }
  uint64_t bytes = 0;
  const uint64_t element = dtype == DType::kString ? sizeof(std::string) : DTypeSize(dtype);
  if (__builtin_mul_overflow(n, element, &bytes) || bytes > kMaxBytes) throw std::bad_alloc();
  return {static_cast<size_t>(n), static_cast<size_t>(bytes)};
}

}  // namespace

Tensor::Tensor(DType dtype, Shape shape) : dtype_(dtype), shape_(std::move(shape)) {
  const auto [n, bytes] = CheckedSize(dtype_, shape_);
  if (dtype_ == DType::kString) {
    strings_ = std::make_shared<std::vector<std::string>>(n);
  } else {
    buffer_ = Buffer::AllocateHost(bytes, /*zero=*/true);
  }
}

Tensor Tensor::Empty(DType dtype, Shape shape) {
  if (dtype == DType::kString) return Tensor(dtype, std::move(shape));
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.buffer_ = Buffer::AllocateHost(CheckedSize(dtype, t.shape_).second, /*zero=*/false);
  return t;
}

StatusOr<Tensor> Tensor::FromBuffer(DType dtype, Shape shape, std::shared_ptr<Buffer> buffer) {
  if (dtype == DType::kString || dtype == DType::kInvalid) {
    return InvalidArgument("a buffer cannot hold " + std::string(DTypeName(dtype)) + " tensors");
  }
  for (int64_t d : shape)
    if (d < 0) return InvalidArgument("negative dimension in shape " + ShapeToString(shape));
  const size_t need = static_cast<size_t>(NumElements(shape)) * DTypeSize(dtype);
  if (buffer == nullptr || buffer->size() < need) {
    return InvalidArgument(std::string(DTypeName(dtype)) + ShapeToString(shape) + " needs " + std::to_string(need) +
                           " bytes but the buffer holds " + std::to_string(buffer ? buffer->size() : 0));
  }
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.buffer_ = std::move(buffer);
  return t;
}

StatusOr<Tensor> Tensor::FromPointer(DType dtype, Shape shape, void* data, Device device) {
  const size_t bytes = static_cast<size_t>(NumElements(shape)) * DTypeSize(dtype);
  if (data == nullptr && bytes > 0) return InvalidArgument("null data pointer for " + ShapeToString(shape));
  return FromBuffer(dtype, std::move(shape), Buffer::Borrow(data, bytes, device));
}

Tensor Tensor::Strings(Shape shape, std::vector<std::string> values) {
  Tensor t(DType::kString, std::move(shape));
  *t.strings_ = std::move(values);
  return t;
}

Tensor Tensor::Variant(std::shared_ptr<const VariantValue> value) {
  Tensor t(DType::kVariant, {});
  t.variant_ = std::move(value);
  return t;
}

size_t Tensor::byte_size() const { return static_cast<size_t>(num_elements()) * DTypeSize(dtype_); }

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
  if (!on_host()) {
    StatusOr<Tensor> copy = CopyTensor(*this, Device::CPU());
    return copy.ok() ? std::move(copy).value() : Tensor();
  }
  Tensor t = *this;
  if (buffer_) {
    t.buffer_ = Buffer::AllocateHost(byte_size(), /*zero=*/false);
    std::memcpy(t.buffer_->data(), buffer_->data(), byte_size());
  }
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
  if (!on_host()) return FailedPrecondition(DebugString() + " must be copied to the host before its values are read");
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
  if (!on_host()) return out;
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
    case DType::kFloat8E4M3FN:
      for (int64_t i = 0; i < num_elements(); ++i) out.push_back(Float8E4M3ToFloat(data<Float8E4M3>()[i]));
      break;
    default: break;
  }
  return out;
}

std::string Tensor::DebugString() const {
  return std::string(DTypeName(dtype_)) + ShapeToString(shape_) + (on_host() ? "" : " on " + device().ToString());
}

}  // namespace kiln
