#include "kernels/cpu/nn_util.h"

#include <cstring>

#include "kernels/cpu/kernel_util.h"

namespace kiln::kernels::cpu::nn {

namespace {

template <typename E>
void Permute(const E* in, E* out, const Shape& in_shape, const std::vector<int>& perm) {
  const int rank = static_cast<int>(perm.size());
  std::vector<int64_t> in_strides(rank, 1);
  for (int i = rank - 2; i >= 0; --i) in_strides[i] = in_strides[i + 1] * in_shape[i + 1];
  Shape out_shape(rank);
  std::vector<int64_t> stride(rank);
  for (int i = 0; i < rank; ++i) {
    out_shape[i] = in_shape[perm[i]];
    stride[i] = in_strides[perm[i]];
  }
  const int64_t total = NumElements(out_shape);
  if (total == 0) return;
  const int64_t inner = out_shape[rank - 1], inner_stride = stride[rank - 1];
  std::vector<int64_t> index(rank, 0);
  int64_t offset = 0;
  for (int64_t o = 0; o < total; o += inner) {
    const E* src = in + offset;
    E* dst = out + o;
    for (int64_t j = 0; j < inner; ++j) dst[j] = src[j * inner_stride];
    // Odometer over all but the innermost output dim.
    for (int d = rank - 2; d >= 0; --d) {
      offset += stride[d];
      if (++index[d] < out_shape[d]) break;
      offset -= stride[d] * out_shape[d];
      index[d] = 0;
    }
  }
}

template <typename Src, typename Dst>
void CastLoop(const Tensor& t, Tensor& out) {
  const Src* in = t.data<Src>();
  Dst* o = out.data<Dst>();
  for (int64_t i = 0; i < t.num_elements(); ++i) o[i] = static_cast<Dst>(in[i]);
}

}  // namespace

Tensor TransposeTensor(const Tensor& t, const std::vector<int>& perm) {
  bool identity = true;
  for (size_t i = 0; i < perm.size(); ++i) identity &= perm[i] == static_cast<int>(i);
  if (identity || t.rank() == 0) return t;
  Shape out_shape(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) out_shape[i] = t.dim(perm[i]);
  Tensor out(t.dtype(), out_shape);
  switch (DTypeSize(t.dtype())) {
    case 1:
      Permute(t.data<uint8_t>(), out.data<uint8_t>(), t.shape(), perm);
      break;
    case 2:
      Permute(t.data<uint16_t>(), out.data<uint16_t>(), t.shape(), perm);
      break;
    case 4:
      Permute(t.data<uint32_t>(), out.data<uint32_t>(), t.shape(), perm);
      break;
    case 8:
      Permute(t.data<uint64_t>(), out.data<uint64_t>(), t.shape(), perm);
      break;
    default:
      break;
  }
  return out;
}

Status RunHalfInFloat32(runtime::KernelContext& ctx, const std::function<Status(runtime::KernelContext&)>& fn) {
  if (ctx.num_inputs() > 0 && IsHalfLike(ctx.input(0).dtype())) return RunInFloat32(ctx, fn);
  return fn(ctx);
}

Tensor ChannelsFirstToLast(const Tensor& t) {
  std::vector<int> perm = {0};
  for (int i = 2; i < t.rank(); ++i) perm.push_back(i);
  perm.push_back(1);
  return TransposeTensor(t, perm);
}

Tensor ChannelsLastToFirst(const Tensor& t) {
  std::vector<int> perm = {0, t.rank() - 1};
  for (int i = 1; i < t.rank() - 1; ++i) perm.push_back(i);
  return TransposeTensor(t, perm);
}

Tensor CastNumeric(const Tensor& t, DType dtype) {
  if (t.dtype() == dtype) return t;
  if (IsHalfLike(dtype)) return FromFloat32(ToFloat32(t), dtype);
  if (IsHalfLike(t.dtype())) return CastNumeric(ToFloat32(t), dtype);
  Tensor out(dtype, t.shape());
  Status s = DispatchReal(t.dtype(), ~0u, "Cast", [&](auto src) {
    using Src = typename decltype(src)::type;
    return DispatchReal(dtype, ~0u, "Cast", [&](auto dst) {
      CastLoop<Src, typename decltype(dst)::type>(t, out);
      return OkStatus();
    });
  });
  (void)s;  // every numeric dtype is covered above
  return out;
}

}  // namespace kiln::kernels::cpu::nn
