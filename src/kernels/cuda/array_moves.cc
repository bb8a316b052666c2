#include "kernels/cuda/array_moves.h"

#include <cstring>
#include <optional>

#include "cuda/check.h"
#include "kernels/cuda/copy.h"

namespace kiln::cuda {
namespace {

Status CheckOnDevice(const StreamContext& ctx, const Tensor& t) {
  if (t.device() != ctx.device()) return InvalidArgument(t.DebugString() + " is not on " + ctx.device().ToString());
  return OkStatus();
}

// Where every map is a run of -1 (the fill), an even run of input indices and a run of -1 again
// (a constant Pad): per axis, where the run starts in the output and the input, its length and step.
struct PaddedRun {
  std::vector<int64_t> out_start, in_start, size, step;
};
std::optional<PaddedRun> PaddedRuns(const std::vector<std::vector<int64_t>>& maps) {
  PaddedRun r;
  for (const auto& m : maps) {
    size_t first = 0, last = m.size();
    while (first < m.size() && m[first] < 0) ++first;
    while (last > first && m[last - 1] < 0) --last;
    if (first == last) return std::nullopt;  // nothing of the input along this axis
    const int64_t step = last - first > 1 ? m[first + 1] - m[first] : 0;
    for (size_t k = first; k < last; ++k) {
      if (m[k] < 0 || m[k] != m[first] + static_cast<int64_t>(k - first) * step) return std::nullopt;
    }
    r.out_start.push_back(static_cast<int64_t>(first));
    r.in_start.push_back(m[first]);
    r.size.push_back(static_cast<int64_t>(last - first));
    r.step.push_back(step);
  }
  return r;
}

}  // namespace

StatusOr<Tensor> TransposeOnDevice(StreamContext& ctx, const Tensor& in, const std::vector<int>& perm) {
  KILN_RETURN_IF_ERROR(CheckOnDevice(ctx, in));
  Shape out_shape;
  for (int p : perm) out_shape.push_back(in.dim(p));
  KILN_ASSIGN_OR_RETURN(Tensor out, ctx.Allocate(in.dtype(), out_shape));
  const std::vector<int64_t> in_strides = ContiguousStrides(in.shape());
  std::vector<int64_t> strides[2] = {ContiguousStrides(out_shape), {}};
  for (int p : perm) strides[1].push_back(in_strides[p]);
  KILN_ASSIGN_OR_RETURN(auto map, MakeStridedMap<2>(out_shape, strides, {0, 0}));
  KILN_CUDA_RETURN_IF_ERROR(LaunchStridedCopy(DTypeSize(in.dtype()), in.raw_data(), out.raw_data(), map, ctx.stream()));
  return out;
}

StatusOr<Tensor> CopyByAxisMapsOnDevice(StreamContext& ctx, const Tensor& in,
                                        const std::vector<std::vector<int64_t>>& maps, const Tensor* fill) {
  KILN_RETURN_IF_ERROR(CheckOnDevice(ctx, in));
  Shape out_shape;
  for (const auto& m : maps) out_shape.push_back(static_cast<int64_t>(m.size()));
  KILN_ASSIGN_OR_RETURN(Tensor out, ctx.Allocate(in.dtype(), out_shape));
  if (out.num_elements() == 0) return out;
  const size_t size = DTypeSize(in.dtype());
  const std::vector<int64_t> in_strides = ContiguousStrides(in.shape());

  // Maps that step evenly (slices, reversals, broadcasts) become a strided copy; others (tiles,
  // pads) are uploaded and read by the kernel.
  bool affine = true;
  std::vector<int64_t> strides[2] = {ContiguousStrides(out_shape), std::vector<int64_t>(maps.size(), 0)};
  int64_t offset = 0;
  for (size_t d = 0; d < maps.size() && affine; ++d) {
    const auto& m = maps[d];
    const int64_t step = m.size() > 1 ? m[1] - m[0] : 0;
    for (size_t k = 0; k < m.size() && affine; ++k) affine = m[k] >= 0 && m[k] == m[0] + static_cast<int64_t>(k) * step;
    if (!m.empty()) offset += m[0] * in_strides[d];
    strides[1][d] = step * in_strides[d];
  }
  if (affine) {
    KILN_ASSIGN_OR_RETURN(auto map, MakeStridedMap<2>(out_shape, strides, {0, offset}));
    KILN_CUDA_RETURN_IF_ERROR(LaunchStridedCopy(size, in.raw_data(), out.raw_data(), map, ctx.stream()));
    return out;
  }
  // Padding with zeros: the output zeroed, then one strided copy into the part the input fills;
  // nothing to upload.
  uint64_t fill_bits = 0;
  if (fill != nullptr) {
    if (!fill->on_host() || fill->dtype() != in.dtype()) {
      return InvalidArgument("the fill value must be a host scalar of the input's dtype, got " + fill->DebugString());
    }
    std::memcpy(&fill_bits, fill->raw_data(), size);
  }
  if (const std::optional<PaddedRun> run = fill_bits == 0 ? PaddedRuns(maps) : std::nullopt) {
    KILN_CUDA_RETURN_IF_ERROR(cudaMemsetAsync(out.raw_data(), 0, out.byte_size(), ctx.stream()));
    int64_t offsets[2] = {0, 0};
    for (size_t d = 0; d < maps.size(); ++d) {
      offsets[0] += run->out_start[d] * strides[0][d];
      offsets[1] += run->in_start[d] * in_strides[d];
      strides[1][d] = run->step[d] * in_strides[d];
    }
    KILN_ASSIGN_OR_RETURN(auto map, MakeStridedMap<2>(run->size, strides, offsets));
    KILN_CUDA_RETURN_IF_ERROR(LaunchStridedCopy(size, in.raw_data(), out.raw_data(), map, ctx.stream()));
    return out;
  }
  if (maps.size() > static_cast<size_t>(kMaxDims)) {
    return Unimplemented("the CUDA kernels index at most " + std::to_string(kMaxDims) + " dims, got " +
                         ShapeToString(out_shape));
  }
  std::vector<int64_t> flat;
  AxisMapCopy copy;
  copy.rank = static_cast<int>(maps.size());
  for (size_t d = 0; d < maps.size(); ++d) {
    copy.out_dims[d] = out_shape[d];
    copy.in_strides[d] = in_strides[d];
    copy.starts[d] = static_cast<int64_t>(flat.size());
    flat.insert(flat.end(), maps[d].begin(), maps[d].end());
  }
  KILN_ASSIGN_OR_RETURN(Tensor on_device,
                        ctx.ToDevice(Tensor::FromVector<int64_t>({static_cast<int64_t>(flat.size())}, flat)));
  copy.maps = on_device.data<int64_t>();
  KILN_CUDA_RETURN_IF_ERROR(LaunchAxisMapCopy(size, in.raw_data(), out.raw_data(), copy, fill_bits, ctx.stream()));
  return out;
}

Status ConcatOnDevice(StreamContext& ctx, const std::vector<const Tensor*>& parts, int axis, Tensor& out) {
  KILN_RETURN_IF_ERROR(CheckOnDevice(ctx, out));
  const std::vector<int64_t> out_strides = ContiguousStrides(out.shape());
  int64_t at = 0;
  for (const Tensor* p : parts) {
    KILN_RETURN_IF_ERROR(CheckOnDevice(ctx, *p));
    std::vector<int64_t> strides[2] = {out_strides, ContiguousStrides(p->shape())};
    KILN_ASSIGN_OR_RETURN(auto map, MakeStridedMap<2>(p->shape(), strides, {at * out_strides[axis], 0}));
    KILN_CUDA_RETURN_IF_ERROR(
        LaunchStridedCopy(DTypeSize(out.dtype()), p->raw_data(), out.raw_data(), map, ctx.stream()));
    at += p->dim(axis);
  }
  return OkStatus();
}

StatusOr<std::vector<Tensor>> SplitOnDevice(StreamContext& ctx, const Tensor& in, int axis,
                                            const std::vector<int64_t>& sizes) {
  KILN_RETURN_IF_ERROR(CheckOnDevice(ctx, in));
  const std::vector<int64_t> in_strides = ContiguousStrides(in.shape());
  std::vector<Tensor> pieces;
  int64_t at = 0;
  for (int64_t size : sizes) {
    Shape shape = in.shape();
    shape[axis] = size;
    KILN_ASSIGN_OR_RETURN(Tensor piece, ctx.Allocate(in.dtype(), shape));
    std::vector<int64_t> strides[2] = {ContiguousStrides(shape), in_strides};
    KILN_ASSIGN_OR_RETURN(auto map, MakeStridedMap<2>(shape, strides, {0, at * in_strides[axis]}));
    KILN_CUDA_RETURN_IF_ERROR(
        LaunchStridedCopy(DTypeSize(in.dtype()), in.raw_data(), piece.raw_data(), map, ctx.stream()));
    pieces.push_back(std::move(piece));
    at += size;
  }
  return pieces;
}

namespace {

// Offsets on the device (through pinned staging); freed in stream order after the kernel using them.
StatusOr<Tensor> DeviceOffsets(StreamContext& ctx, const std::vector<int64_t>& offsets) {
  return ctx.ToDevice(Tensor::FromVector<int64_t>({static_cast<int64_t>(offsets.size())}, offsets));
}

}  // namespace

StatusOr<Tensor> GatherSlicesOnDevice(StreamContext& ctx, const Tensor& data, const std::vector<int64_t>& offsets,
                                      int64_t slice, const Shape& out_shape) {
  KILN_RETURN_IF_ERROR(CheckOnDevice(ctx, data));
  KILN_ASSIGN_OR_RETURN(Tensor out, ctx.Allocate(data.dtype(), out_shape));
  if (out.num_elements() == 0) return out;
  // Offsets in arithmetic progression (one slice, consecutive or evenly spaced rows) are a strided
  // copy: nothing to upload, and contiguous runs move 16 bytes at a time.
  const int64_t count = static_cast<int64_t>(offsets.size());
  const int64_t step = count > 1 ? offsets[1] - offsets[0] : 0;
  bool even = true;
  for (int64_t t = 0; t < count && even; ++t) even = offsets[t] == offsets[0] + t * step;
  if (even) {
    KILN_ASSIGN_OR_RETURN(auto map, MakeStridedMap<2>({count, slice}, {{slice, 1}, {step, 1}}, {0, offsets[0]}));
    KILN_CUDA_RETURN_IF_ERROR(
        LaunchStridedCopy(DTypeSize(data.dtype()), data.raw_data(), out.raw_data(), map, ctx.stream()));
    return out;
  }
  KILN_ASSIGN_OR_RETURN(Tensor where, DeviceOffsets(ctx, offsets));
  KILN_CUDA_RETURN_IF_ERROR(LaunchGatherSlices(DTypeSize(data.dtype()), data.raw_data(), out.raw_data(),
                                               where.data<int64_t>(), static_cast<int64_t>(offsets.size()), slice,
                                               ctx.stream()));
  return out;
}

StatusOr<Tensor> ScatterSlicesOnDevice(StreamContext& ctx, const Tensor& data, const std::vector<int64_t>& offsets,
                                       int64_t slice, const Tensor& updates, runtime::ScatterReduction reduction) {
  KILN_RETURN_IF_ERROR(CheckOnDevice(ctx, data));
  KILN_RETURN_IF_ERROR(CheckOnDevice(ctx, updates));
  KILN_ASSIGN_OR_RETURN(Tensor out, ctx.Allocate(data.dtype(), data.shape()));
  if (out.num_elements() == 0) return out;
  KILN_CUDA_RETURN_IF_ERROR(
      cudaMemcpyAsync(out.raw_data(), data.raw_data(), data.byte_size(), cudaMemcpyDeviceToDevice, ctx.stream()));
  if (offsets.empty()) return out;
  KILN_ASSIGN_OR_RETURN(Tensor where, DeviceOffsets(ctx, offsets));
  KILN_CUDA_RETURN_IF_ERROR(LaunchScatterSlices(data.dtype(), static_cast<int>(reduction), out.raw_data(),
                                                where.data<int64_t>(), static_cast<int64_t>(offsets.size()), slice,
                                                updates.raw_data(), ctx.stream()));
  return out;
}

}  // namespace kiln::cuda
