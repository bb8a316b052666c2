#include "arrays.h"

#include <nanobind/stl/string.h>

#include "status.h"

namespace kiln::python {
namespace {

namespace dl = nb::dlpack;

// DLPack's device types that kiln reads.
constexpr int kDLCPU = 1, kDLCUDA = 2, kDLCUDAHost = 3;

std::string CodeName(const dl::dtype& d) {
  return "DLPack dtype code " + std::to_string(d.code) + " of " + std::to_string(d.bits) + " bits";
}

StatusOr<DType> DTypeFromDLPack(const dl::dtype& d) {
  if (d.lanes == 1) {
    switch (static_cast<dl::dtype_code>(d.code)) {
      case dl::dtype_code::Float:
        if (d.bits == 16) return DType::kFloat16;
        if (d.bits == 32) return DType::kFloat32;
        if (d.bits == 64) return DType::kFloat64;
        break;
      case dl::dtype_code::Bfloat:
        if (d.bits == 16) return DType::kBFloat16;
        break;
      case dl::dtype_code::Int:
        if (d.bits == 8) return DType::kInt8;
        if (d.bits == 16) return DType::kInt16;
        if (d.bits == 32) return DType::kInt32;
        if (d.bits == 64) return DType::kInt64;
        break;
      case dl::dtype_code::UInt:
        if (d.bits == 8) return DType::kUInt8;
        if (d.bits == 16) return DType::kUInt16;
        if (d.bits == 32) return DType::kUInt32;
        if (d.bits == 64) return DType::kUInt64;
        break;
      case dl::dtype_code::Bool:
        if (d.bits == 8) return DType::kBool;
        break;
      default:
        break;
    }
  }
  return InvalidArgument("arrays of " + CodeName(d) + " are not supported");
}

dl::dtype DLPackFromDType(DType t) {
  auto code = [](dl::dtype_code c) { return static_cast<uint8_t>(c); };
  switch (t) {
    case DType::kFloat16: return {code(dl::dtype_code::Float), 16, 1};
    case DType::kFloat32: return {code(dl::dtype_code::Float), 32, 1};
    case DType::kFloat64: return {code(dl::dtype_code::Float), 64, 1};
    case DType::kBFloat16: return {code(dl::dtype_code::Bfloat), 16, 1};
    case DType::kInt8: return {code(dl::dtype_code::Int), 8, 1};
    case DType::kInt16: return {code(dl::dtype_code::Int), 16, 1};
    case DType::kInt32: return {code(dl::dtype_code::Int), 32, 1};
    case DType::kInt64: return {code(dl::dtype_code::Int), 64, 1};
    case DType::kUInt8: return {code(dl::dtype_code::UInt), 8, 1};
    case DType::kUInt16: return {code(dl::dtype_code::UInt), 16, 1};
    case DType::kUInt32: return {code(dl::dtype_code::UInt), 32, 1};
    case DType::kUInt64: return {code(dl::dtype_code::UInt), 64, 1};
    case DType::kBool: return {code(dl::dtype_code::Bool), 8, 1};
    default: return {};
  }
}

bool IsStringsTriple(nb::handle value) {
  return nb::isinstance<nb::tuple>(value) && nb::len(value) == 3 && nb::isinstance<nb::str>(value[0]) &&
         nb::cast<std::string>(value[0]) == "strings";
}

Tensor StringsTensor(nb::handle value, const std::string& what) {
  std::vector<std::string> strings;
  for (nb::handle s : value[1]) {
    if (!nb::isinstance<nb::bytes>(s)) ThrowStatus(InvalidArgument(what + ": strings must be bytes"));
    const nb::bytes b = nb::borrow<nb::bytes>(s);
    strings.emplace_back(b.c_str(), b.size());
  }
  Shape shape;
  for (nb::handle d : value[2]) shape.push_back(nb::cast<int64_t>(d));
  if (static_cast<int64_t>(strings.size()) != NumElements(shape)) {
    ThrowStatus(InvalidArgument(what + ": " + std::to_string(strings.size()) + " strings for shape " +
                                ShapeToString(shape)));
  }
  return Tensor::Strings(std::move(shape), std::move(strings));
}

// Deletes the kiln tensor an output array holds when Python is done with the array.
nb::capsule Owner(const Tensor& t) {
  return nb::capsule(new Tensor(t), [](void* p) noexcept { delete static_cast<Tensor*>(p); });
}

}  // namespace

Tensor BorrowTensor(nb::handle value, const std::string& what) {
  if (IsStringsTriple(value)) return StringsTensor(value, what);
  nb::ndarray<nb::ro> a;  // read-only arrays too: kiln never writes its inputs
  if (!nb::try_cast(value, a)) {
    ThrowStatus(InvalidArgument(what + ": a " + nb::cast<std::string>(nb::str(value.type().attr("__name__"))) +
                                " is not an array (give a NumPy array or an object with __dlpack__ or __array__)"));
  }
  const DType dtype = Unwrap(DTypeFromDLPack(a.dtype()));
  Shape shape;
  for (size_t i = 0; i < a.ndim(); ++i) shape.push_back(a.shape(i));
  // Strides in elements; dims of one element may have any stride.
  int64_t expected = 1;
  for (int i = static_cast<int>(a.ndim()) - 1; i >= 0; --i) {
    if (a.stride_ptr() != nullptr && shape[i] != 1 && a.stride(i) != expected) {
      ThrowStatus(InvalidArgument(what + ": the array is not C-contiguous (strides of a transposed or sliced array); "
                                         "make a contiguous copy first"));
    }
    expected *= shape[i];
  }
  Device device;
  switch (a.device_type()) {
    case kDLCPU:
    case kDLCUDAHost: device = Device::CPU(); break;
    case kDLCUDA: device = Device::CUDA(a.device_id()); break;
    default:
      ThrowStatus(InvalidArgument(what + ": arrays on DLPack device type " + std::to_string(a.device_type()) +
                                  " are not supported (host and CUDA memory are)"));
  }
  return Unwrap(Tensor::FromPointer(dtype, std::move(shape), const_cast<void*>(a.data()), device));
}

Tensor CopyToHostTensor(nb::handle value, const std::string& what) {
  Tensor t = BorrowTensor(value, what);
  if (t.dtype() == DType::kString) return t;
  if (!t.on_host()) return Unwrap(CopyTensor(t, Device::CPU()));
  return t.Clone();
}

nb::object ArrayFromTensor(const Tensor& t, bool dlpack, nb::handle keep_alive) {
  if (t.dtype() == DType::kString) {
    nb::list values;
    for (const std::string& s : t.strings()) values.append(nb::bytes(s.data(), s.size()));
    nb::list shape;
    for (int64_t d : t.shape()) shape.append(d);
    return nb::make_tuple("strings", values, nb::tuple(shape));
  }
  Tensor held = t;
  if (!dlpack && t.on_host() && t.dtype() == DType::kBFloat16) {
    held = Tensor::Empty(DType::kFloat32, t.shape());
    const auto* from = t.data<BFloat16>();
    float* to = held.data<float>();
    for (int64_t i = 0; i < t.num_elements(); ++i) to[i] = BFloat16ToFloat(from[i]);
  }
  std::vector<size_t> shape(held.shape().begin(), held.shape().end());
  nb::object owner = Owner(held);
  if (keep_alive.is_valid()) owner = nb::make_tuple(owner, keep_alive);
  const int device_type = held.on_host() ? kDLCPU : kDLCUDA;
  const dl::dtype dtype = DLPackFromDType(held.dtype());
  static char no_elements;  // arrays need a pointer even when they hold nothing
  void* data = held.raw_data() != nullptr ? held.raw_data() : &no_elements;
  if (!dlpack && held.on_host()) {
    return nb::cast(nb::ndarray<nb::numpy>(data, shape.size(), shape.data(), owner, nullptr, dtype, device_type));
  }
  return nb::cast(nb::ndarray<nb::array_api>(data, shape.size(), shape.data(), owner, nullptr, dtype, device_type,
                                             held.device().index));
}

}  // namespace kiln::python
