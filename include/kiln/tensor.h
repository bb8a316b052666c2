#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

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

// A dense n-dimensional array on the host. Copies share the buffer.
class Tensor {
 public:
  Tensor() = default;
  // Zero-initialised tensor.
  Tensor(DType dtype, Shape shape);

  // Wraps a copy of `data`, which must hold NumElements(shape) values.
  template <typename T>
  static Tensor FromVector(Shape shape, const std::vector<T>& data) {
    Tensor t(DTypeOf<T>(), std::move(shape));
    for (size_t i = 0; i < data.size() && i < static_cast<size_t>(t.num_elements()); ++i) t.data<T>()[i] = data[i];
    return t;
  }
  static Tensor Strings(Shape shape, std::vector<std::string> values);
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

  void* raw_data() { return bytes_ ? bytes_->data() : nullptr; }
  const void* raw_data() const { return bytes_ ? bytes_->data() : nullptr; }
  template <typename T>
  T* data() { return reinterpret_cast<T*>(raw_data()); }
  template <typename T>
  const T* data() const { return reinterpret_cast<const T*>(raw_data()); }
  std::vector<std::string>& strings() { return *strings_; }
  const std::vector<std::string>& strings() const { return *strings_; }

  // Same buffer, new shape with the same element count.
  StatusOr<Tensor> Reshaped(Shape shape) const;
  // A deep copy that shares nothing with this tensor.
  Tensor Clone() const;
  // Values as int64 (integer and bool tensors only); for shape-like inputs.
  StatusOr<std::vector<int64_t>> ToInt64Vector() const;
  // Values converted to float (numeric tensors).
  std::vector<float> ToFloatVector() const;
  // "float32[2,3]"
  std::string DebugString() const;

 private:
  DType dtype_ = DType::kInvalid;
  Shape shape_;
  std::shared_ptr<std::vector<uint8_t>> bytes_;
  std::shared_ptr<std::vector<std::string>> strings_;
};

}  // namespace kiln
