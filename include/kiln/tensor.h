#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kiln/device.h"
#include "kiln/dtype.h"
#include "kiln/status.h"

namespace kiln {

// A fully known shape.
using Shape = std::vector<int64_t>;

int64_t NumElements(const Shape& shape);
// "[2,28,28,1]"
std::string ShapeToString(const Shape& shape);

// A shape that may be partly unknown: unknown rank, or dims of -1.
struct PartialShape {
  bool rank_known = false;
  std::vector<int64_t> dims;

  static PartialShape Unknown() { return {}; }
  static PartialShape Known(Shape dims) { return {true, std::move(dims)}; }
  bool IsFullyDefined() const;
  int rank() const { return rank_known ? static_cast<int>(dims.size()) : -1; }
  // True when a concrete shape fits this partial one.
  bool Accepts(const Shape& shape) const;
  // "[?,28,28,1]", or "<unknown>" for unknown rank.
  std::string ToString() const;
  bool operator==(const PartialShape& o) const = default;
};

// The bytes of a tensor: where they live and who frees them. Host buffers are 64-byte aligned;
// device buffers come from the device's stream-ordered caching allocator; borrowed buffers wrap
// memory the caller owns and never free it.
class Buffer {
 public:
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  virtual ~Buffer() = default;

  void* data() const { return data_; }
  size_t size() const { return size_; }
  Device device() const { return device_; }

  // 64-byte aligned host memory, uninitialised (zeroed when `zero`).
  static std::shared_ptr<Buffer> AllocateHost(size_t size, bool zero);
  // Memory the caller owns, on the host or a device; it must outlive every tensor that uses it.
  static std::shared_ptr<Buffer> Borrow(void* data, size_t size, Device device);

 protected:
  Buffer(void* data, size_t size, Device device) : data_(data), size_(size), device_(device) {}

 private:
  void* data_;
  size_t size_;
  Device device_;
};

// What a variant tensor holds (a TensorList of the runtime, say). Immutable once made: ops that
// change one make a new one.
class VariantValue {
 public:
  virtual ~VariantValue() = default;
  virtual std::string DebugString() const = 0;
};

// A dense n-dimensional array on the host or on a device. Copies share the buffer.
class Tensor {
 public:
  Tensor() = default;
  // Zero-initialised tensor on the host.
  Tensor(DType dtype, Shape shape);
  // Uninitialised tensor on the host, for results that every element will be written to.
  static Tensor Empty(DType dtype, Shape shape);
  // A tensor over `buffer`, which must hold at least the tensor's bytes.
  static StatusOr<Tensor> FromBuffer(DType dtype, Shape shape, std::shared_ptr<Buffer> buffer);
  // A tensor over device (or host) memory the caller owns, for running on data already on the
  // GPU without copies; the memory must outlive every tensor that uses it.
  static StatusOr<Tensor> FromPointer(DType dtype, Shape shape, void* data, Device device);

  // Wraps a copy of `data`, which must hold NumElements(shape) values.
  template <typename T>
  static Tensor FromVector(Shape shape, const std::vector<T>& data) {
    Tensor t(DTypeOf<T>(), std::move(shape));
    for (size_t i = 0; i < data.size() && i < static_cast<size_t>(t.num_elements()); ++i) t.data<T>()[i] = data[i];
    return t;
  }
  static Tensor Strings(Shape shape, std::vector<std::string> values);
  // A scalar of dtype kVariant holding `value`.
  static Tensor Variant(std::shared_ptr<const VariantValue> value);
  template <typename T>
  static Tensor Scalar(T value) {
    return FromVector<T>({}, {value});
  }

  bool valid() const { return dtype_ != DType::kInvalid; }
  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int rank() const { return static_cast<int>(shape_.size()); }
  int64_t dim(int i) const { return shape_[i]; }
  int64_t num_elements() const { return NumElements(shape_); }
  size_t byte_size() const;
  // Where the bytes live; the host for strings and for tensors without bytes.
  Device device() const { return buffer_ ? buffer_->device() : Device::CPU(); }
  bool on_host() const { return device().is_cpu(); }
  const std::shared_ptr<Buffer>& buffer() const { return buffer_; }

  // The bytes, wherever they live: a device pointer for a tensor on a device.
  void* raw_data() { return buffer_ ? buffer_->data() : nullptr; }
  const void* raw_data() const { return buffer_ ? buffer_->data() : nullptr; }
  template <typename T>
  T* data() { return reinterpret_cast<T*>(raw_data()); }
  template <typename T>
  const T* data() const { return reinterpret_cast<const T*>(raw_data()); }
  std::vector<std::string>& strings() { return *strings_; }
  const std::vector<std::string>& strings() const { return *strings_; }
  // A variant tensor's value; null for other tensors (and for a variant never given one).
  const VariantValue* variant() const { return variant_.get(); }

  // Same buffer, new shape with the same element count.
  StatusOr<Tensor> Reshaped(Shape shape) const;
  // A deep copy on the host that shares nothing with this tensor (invalid if a device tensor
  // cannot be copied; CopyTensor says why).
  Tensor Clone() const;
  // Values as int64 (integer and bool host tensors only); for shape-like inputs.
  StatusOr<std::vector<int64_t>> ToInt64Vector() const;
  // Values converted to float (numeric host tensors; empty for a tensor on a device).
  std::vector<float> ToFloatVector() const;
  // "float32[2,3]", with " on cuda:0" for a tensor on a device.
  std::string DebugString() const;

 private:
  DType dtype_ = DType::kInvalid;
  Shape shape_;
  std::shared_ptr<Buffer> buffer_;
  std::shared_ptr<std::vector<std::string>> strings_;
  std::shared_ptr<const VariantValue> variant_;
};

// Copies `tensor` to `device`. With a stream, the copy is ordered on it and the call returns
// without waiting (a host destination is still complete on return); without one, the copy is
// complete on return. A tensor already on `device` comes back as is.
StatusOr<Tensor> CopyTensor(const Tensor& tensor, Device device, CudaStream stream = nullptr);

}  // namespace kiln
