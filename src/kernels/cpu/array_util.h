#pragma once
// Data-movement helpers for the array kernels. They move elements by size only, so one
// instantiation serves every dtype of that size; strings move as std::string.

#include <string>
#include <type_traits>
#include <vector>

#include "kiln/status.h"
#include "kiln/tensor.h"
#include "runtime/kernel.h"

namespace kiln::kernels::cpu {

// Calls fn.template operator()<T>() with T an unsigned integer as wide as `dtype`'s elements,
// or std::string for string tensors.
template <typename Fn>
Status VisitByElementSize(DType dtype, Fn&& fn) {
  if (dtype == DType::kString) return fn.template operator()<std::string>();
  switch (DTypeSize(dtype)) {
    case 1:
      return fn.template operator()<uint8_t>();
    case 2:
      return fn.template operator()<uint16_t>();
    case 4:
      return fn.template operator()<uint32_t>();
    case 8:
      return fn.template operator()<uint64_t>();
    default:
      return InvalidArgument("unsupported dtype " + std::string(DTypeName(dtype)));
  }
}

template <typename T>
T* Elements(Tensor& t) {
  if constexpr (std::is_same_v<T, std::string>) {
    return t.strings().data();
  } else {
    return reinterpret_cast<T*>(t.raw_data());
  }
}
template <typename T>
const T* Elements(const Tensor& t) {
  if constexpr (std::is_same_v<T, std::string>) {
    return t.strings().data();
  } else {
    return reinterpret_cast<const T*>(t.raw_data());
  }
}

// Row-major strides of `shape`, in elements.
std::vector<int64_t> RowMajorStrides(const Shape& shape);

// `in` with its dims permuted by `perm` (a validated permutation).
Tensor TransposeTensor(const Tensor& in, const std::vector<int>& perm);

// A tensor whose element o = (o_0, ..., o_{r-1}) is in[maps[0][o_0], ..., maps[r-1][o_{r-1}]], or
// `fill` where any of those entries is -1; its shape is the maps' lengths. Entries must be in
// range. Slicing, reversing, padding, tiling and broadcasting are all such copies.
// `fill` is a scalar of in's dtype, or nullptr for zero / "".
Tensor CopyByAxisMaps(const Tensor& in, const std::vector<std::vector<int64_t>>& maps, const Tensor* fill = nullptr);

// Concatenates `parts` along `axis` (their other dims equal, validated by the caller) into `out`.
void ConcatInto(const std::vector<const Tensor*>& parts, int axis, Tensor& out);
// Splits `in` along `axis` into pieces of the given sizes (summing to in.dim(axis)).
std::vector<Tensor> SplitAlong(const Tensor& in, int axis, const std::vector<int64_t>& sizes);

// out[t * slice + i] = data[offsets[t] + i]: the gathers, with offsets checked by the caller.
Tensor GatherSlices(const Tensor& data, const std::vector<int64_t>& offsets, int64_t slice, const Shape& out_shape);
// A copy of data with updates[u * slice + i] combined into element offsets[u] + i, in order of u
// (the last of duplicate offsets wins with kNone). Reductions take numeric dtypes.
StatusOr<Tensor> ScatterSlices(const Tensor& data, const std::vector<int64_t>& offsets, int64_t slice,
                               const Tensor& updates, runtime::ScatterReduction reduction);

// The same moves where the kernel runs: on the host for CPU kernels, and on the GPU for CUDA
// kernels that run a CPU kernel's host logic on device tensors (the device context moves the
// elements). Kernels written with these serve both devices.
StatusOr<Tensor> TransposeOn(runtime::KernelContext& ctx, const Tensor& in, const std::vector<int>& perm);
StatusOr<Tensor> CopyByAxisMapsOn(runtime::KernelContext& ctx, const Tensor& in,
                                  const std::vector<std::vector<int64_t>>& maps, const Tensor* fill = nullptr);
// Allocates output 0 with `out_shape` and concatenates `parts` into it.
Status ConcatOn(runtime::KernelContext& ctx, const std::vector<const Tensor*>& parts, int axis, const Shape& out_shape);
StatusOr<std::vector<Tensor>> SplitOn(runtime::KernelContext& ctx, const Tensor& in, int axis,
                                      const std::vector<int64_t>& sizes);
StatusOr<Tensor> GatherSlicesOn(runtime::KernelContext& ctx, const Tensor& data, const std::vector<int64_t>& offsets,
                                int64_t slice, const Shape& out_shape);
StatusOr<Tensor> ScatterSlicesOn(runtime::KernelContext& ctx, const Tensor& data, const std::vector<int64_t>& offsets,
                                 int64_t slice, const Tensor& updates, runtime::ScatterReduction reduction);

}  // namespace kiln::kernels::cpu
