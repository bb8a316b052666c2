// cuDNN's convolution API (the legacy one, deprecated in cuDNN 9 but complete for the native
// runtime's needs; engines use the graph API).
#include <map>
#include <memory>
#include <optional>
#include <sstream>

#include "cuda/check.h"
#include "kernels/cuda/array_moves.h"
#include "kernels/cuda/conv.h"
#include "runtime/tactics.h"

#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace kiln::cuda {
namespace {

constexpr size_t kWorkspaceLimit = size_t{512} << 20;

template <typename T, cudnnStatus_t (*Destroy)(T)>
struct Descriptor {
  T d = nullptr;
  Descriptor() = default;
  Descriptor(const Descriptor&) = delete;
  ~Descriptor() {
    if (d != nullptr) Destroy(d);
  }
};
using TensorDesc = Descriptor<cudnnTensorDescriptor_t, cudnnDestroyTensorDescriptor>;
using FilterDesc = Descriptor<cudnnFilterDescriptor_t, cudnnDestroyFilterDescriptor>;
using ConvDesc = Descriptor<cudnnConvolutionDescriptor_t, cudnnDestroyConvolutionDescriptor>;

StatusOr<cudnnDataType_t> CudnnType(DType dtype) {
  switch (dtype) {
    case DType::kFloat32: return CUDNN_DATA_FLOAT;
    case DType::kFloat16: return CUDNN_DATA_HALF;
    case DType::kBFloat16: return CUDNN_DATA_BFLOAT16;
    case DType::kFloat64: return CUDNN_DATA_DOUBLE;
    default: return Unimplemented("cuDNN convolutions do not take " + std::string(DTypeName(dtype)));
  }
}

// The problem as cuDNN sees it: at least 2 spatial dims (a 1-D convolution gets a leading one of
// size 1) and symmetric padding.
struct Problem {
  cudnnTensorFormat_t format;
  cudnnDataType_t type;
  cudnnDataType_t compute;
  cudnnMathType_t math;
  int spatial = 2;
  std::vector<int> x_dims, w_dims, y_dims;  // N, C, spatial... (filters: K, C/groups, spatial...)
  std::vector<int> pads, strides, dilations;
  int groups = 1;

  std::string Key(const char* direction) const {
    std::ostringstream k;
    k << direction << ' ' << format << ' ' << type << ' ' << math << ' ' << groups;
    for (const auto* v : {&x_dims, &w_dims, &y_dims, &pads, &strides, &dilations}) {
      k << " |";
      for (int d : *v) k << ' ' << d;
    }
    return k.str();
  }
};

struct Descriptors {
  TensorDesc x, y;
  FilterDesc w;
  ConvDesc conv;
};

Status Describe(const Problem& p, Descriptors& d) {
  KILN_CUDNN_RETURN_IF_ERROR(cudnnCreateTensorDescriptor(&d.x.d));
  KILN_CUDNN_RETURN_IF_ERROR(cudnnCreateTensorDescriptor(&d.y.d));
  KILN_CUDNN_RETURN_IF_ERROR(cudnnCreateFilterDescriptor(&d.w.d));
  KILN_CUDNN_RETURN_IF_ERROR(cudnnCreateConvolutionDescriptor(&d.conv.d));
  const int n = static_cast<int>(p.x_dims.size());
  KILN_CUDNN_RETURN_IF_ERROR(cudnnSetTensorNdDescriptorEx(d.x.d, p.format, p.type, n, p.x_dims.data()));
  KILN_CUDNN_RETURN_IF_ERROR(cudnnSetTensorNdDescriptorEx(d.y.d, p.format, p.type, n, p.y_dims.data()));
  KILN_CUDNN_RETURN_IF_ERROR(cudnnSetFilterNdDescriptor(d.w.d, p.type, p.format, n, p.w_dims.data()));
  KILN_CUDNN_RETURN_IF_ERROR(cudnnSetConvolutionNdDescriptor(d.conv.d, p.spatial, p.pads.data(), p.strides.data(),
                                                             p.dilations.data(), CUDNN_CROSS_CORRELATION, p.compute));
  KILN_CUDNN_RETURN_IF_ERROR(cudnnSetConvolutionGroupCount(d.conv.d, p.groups));
  KILN_CUDNN_RETURN_IF_ERROR(cudnnSetConvolutionMathType(d.conv.d, p.math));
  return OkStatus();
}

struct Choice {
  int algo = 0;
  cudnnMathType_t math = CUDNN_DEFAULT_MATH;
  size_t workspace = 0;
};

// A choice as a tactic value ("algo math workspace") and back.
std::string TacticValue(const Choice& c) {
  return std::to_string(c.algo) + " " + std::to_string(static_cast<int>(c.math)) + " " + std::to_string(c.workspace);
}
std::optional<Choice> ParseTactic(const std::string& value) {
  std::istringstream in(value);
  int algo = 0, math = 0;
  size_t workspace = 0;
  if (!(in >> algo >> math >> workspace) || algo < 0 || workspace > kWorkspaceLimit) return std::nullopt;
  return Choice{algo, static_cast<cudnnMathType_t>(math), workspace};
}

// The fastest algorithm cuDNN measures among those within the workspace limit, timed once per
// problem and GPU model (runtime/tactics.h); `find` runs cudnnFind*AlgorithmEx into a results array.
template <typename Perf, typename Find>
StatusOr<Choice> Choose(StreamContext& ctx, const std::string& problem, Find find) {
  const std::string key = "cudnn-conv " + problem;
  const int device = ctx.device().index;
  if (auto known = runtime::FindTactic(device, key)) {
    if (auto c = ParseTactic(*known)) return *c;
  }
  KILN_ASSIGN_OR_RETURN(auto workspace, ctx.Scratch(kWorkspaceLimit));
  Perf results[16];
  int count = 0;
  KILN_RETURN_IF_ERROR(find(workspace->data(), kWorkspaceLimit, results, 16, &count));
  for (int i = 0; i < count; ++i) {
    if (results[i].status != CUDNN_STATUS_SUCCESS || results[i].memory > kWorkspaceLimit) continue;
    Choice c{static_cast<int>(results[i].algo), results[i].mathType, results[i].memory};
    runtime::RecordTactic(device, key, TacticValue(c));
    return c;
  }
  return Unimplemented("cuDNN has no algorithm for the convolution " + problem);
}

// The workspace a chosen algorithm runs with, from the pool; null when it needs none.
StatusOr<std::shared_ptr<Buffer>> WorkspaceFor(StreamContext& ctx, const Choice& c) {
  if (c.workspace == 0) return std::shared_ptr<Buffer>();
  return ctx.Scratch(c.workspace);
}

// cuDNN's alpha = 1 and beta = 0, in the type its compute type asks for (double for float64).
struct UnitScaling {
  explicit UnitScaling(DType dtype) : wide(dtype == DType::kFloat64) {}
  const void* one() const { return wide ? static_cast<const void*>(&one64) : &one32; }
  const void* zero() const { return wide ? static_cast<const void*>(&zero64) : &zero32; }
  bool wide;
  float one32 = 1, zero32 = 0;
  double one64 = 1, zero64 = 0;
};

// The filter in cuDNN's layout: the one arranged ahead, or arranged now.
StatusOr<Tensor> CudnnFilter(StreamContext& ctx, ConvFilter filter, bool channels_first) {
  if (filter.arranged != nullptr) return *filter.arranged;
  return ArrangeFilter(ctx, filter.filter, channels_first);
}

StatusOr<Problem> MakeProblem(StreamContext& ctx, const ConvGeometry& g, DType dtype, const Shape& x_shape) {
  Problem p;
  p.format = g.channels_first ? CUDNN_TENSOR_NCHW : CUDNN_TENSOR_NHWC;
  KILN_ASSIGN_OR_RETURN(p.type, CudnnType(dtype));
  p.compute = dtype == DType::kFloat64 ? CUDNN_DATA_DOUBLE : CUDNN_DATA_FLOAT;
  p.math = dtype == DType::kFloat32   ? (ctx.allow_tf32() ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH)
           : dtype == DType::kFloat64 ? CUDNN_DEFAULT_MATH
                                      : CUDNN_TENSOR_OP_MATH;
  std::vector<ir::WindowDim> dims = g.dims;
  if (dims.size() == 1) dims.insert(dims.begin(), ir::WindowDim{1, 1, 1, 1, 0, 0, 1});
  p.spatial = static_cast<int>(dims.size());
  p.groups = static_cast<int>(g.groups);
  for (int64_t v : x_shape) {
    if (v > INT32_MAX) return Unimplemented("cuDNN convolutions take dims below 2^31, got " + ShapeToString(x_shape));
  }
  p.x_dims = {static_cast<int>(g.batch), static_cast<int>(g.in_c)};
  p.y_dims = {static_cast<int>(g.batch), static_cast<int>(g.out_c)};
  p.w_dims = {static_cast<int>(g.out_c), static_cast<int>(g.in_c / g.groups)};
  for (const auto& w : dims) {
    p.x_dims.push_back(static_cast<int>(w.in));
    p.y_dims.push_back(static_cast<int>(w.out));
    p.w_dims.push_back(static_cast<int>(w.kernel));
    p.pads.push_back(static_cast<int>(w.pad_before));
    p.strides.push_back(static_cast<int>(w.stride));
    p.dilations.push_back(static_cast<int>(w.dilation));
  }
  return p;
}

// x with the asymmetric part of each window's padding made explicit (zeros), so that cuDNN's
// symmetric padding covers the rest; the windows are updated to match.
StatusOr<Tensor> PadAsymmetric(StreamContext& ctx, const Tensor& x, ConvGeometry& g) {
  bool asymmetric = false;
  for (const auto& w : g.dims) asymmetric |= w.pad_before != w.pad_after;
  if (!asymmetric) return x;
  std::vector<std::vector<int64_t>> maps(static_cast<size_t>(x.rank()));
  const int first_spatial = g.channels_first ? 2 : 1;
  for (int d = 0; d < x.rank(); ++d) {
    const int s = d - first_spatial;
    const bool spatial = s >= 0 && s < static_cast<int>(g.dims.size());
    const int64_t before = spatial ? g.dims[s].pad_before : 0, after = spatial ? g.dims[s].pad_after : 0;
    for (int64_t i = -before; i < x.dim(d) + after; ++i) maps[d].push_back(i >= 0 && i < x.dim(d) ? i : -1);
    if (spatial) {
      g.dims[s].in += before + after;
      g.dims[s].pad_before = g.dims[s].pad_after = 0;
    }
  }
  return CopyByAxisMapsOnDevice(ctx, x, maps, nullptr);
}

}  // namespace

StatusOr<Tensor> ArrangeFilter(StreamContext& ctx, const Tensor& filter, bool channels_first) {
  const int s = filter.rank() - 2;
  std::vector<int> perm = {s + 1};
  if (channels_first) perm.push_back(s);
  for (int i = 0; i < s; ++i) perm.push_back(i);
  if (!channels_first) perm.push_back(s);
  return TransposeOnDevice(ctx, filter, perm);
}

std::vector<DType> ConvDTypes() { return {DType::kFloat32, DType::kFloat16, DType::kBFloat16, DType::kFloat64}; }

Status ConvForward(StreamContext& ctx, const ConvGeometry& geometry, const Tensor& x_in, ConvFilter filter,
                   Tensor& out) {
  if (out.num_elements() == 0) return OkStatus();
  ConvGeometry g = geometry;
  KILN_ASSIGN_OR_RETURN(Tensor x, PadAsymmetric(ctx, x_in, g));
  if (x.num_elements() == 0 || filter.filter.num_elements() == 0) {
    KILN_CUDA_RETURN_IF_ERROR(cudaMemsetAsync(out.raw_data(), 0, out.byte_size(), ctx.stream()));
    return OkStatus();
  }
  KILN_ASSIGN_OR_RETURN(Problem p, MakeProblem(ctx, g, x.dtype(), x.shape()));
  KILN_ASSIGN_OR_RETURN(Tensor w, CudnnFilter(ctx, filter, g.channels_first));
  Descriptors d;
  KILN_RETURN_IF_ERROR(Describe(p, d));
  KILN_ASSIGN_OR_RETURN(cudnnHandle_t handle, ctx.cudnn());
  KILN_ASSIGN_OR_RETURN(
      Choice c, Choose<cudnnConvolutionFwdAlgoPerf_t>(ctx, p.Key("fwd"), [&](void* ws, size_t bytes, auto* results,
                                                                              int max, int* count) -> Status {
        KILN_CUDNN_RETURN_IF_ERROR(cudnnFindConvolutionForwardAlgorithmEx(
            handle, d.x.d, x.raw_data(), d.w.d, w.raw_data(), d.conv.d, d.y.d, out.raw_data(), max, count, results,
            ws, bytes));
        return OkStatus();
      }));
  KILN_CUDNN_RETURN_IF_ERROR(cudnnSetConvolutionMathType(d.conv.d, c.math));
  KILN_ASSIGN_OR_RETURN(std::shared_ptr<Buffer> workspace, WorkspaceFor(ctx, c));
  const UnitScaling scale(x.dtype());
  KILN_CUDNN_RETURN_IF_ERROR(cudnnConvolutionForward(
      handle, scale.one(), d.x.d, x.raw_data(), d.w.d, w.raw_data(), d.conv.d,
      static_cast<cudnnConvolutionFwdAlgo_t>(c.algo), workspace ? workspace->data() : nullptr, c.workspace,
      scale.zero(), d.y.d, out.raw_data()));
  return OkStatus();
}

Status ConvBackwardData(StreamContext& ctx, const ConvGeometry& geometry, const Tensor& dy, ConvFilter filter,
                        Tensor& dx) {
  if (dx.num_elements() == 0) return OkStatus();
  // cuDNN computes the whole unpadded input gradient, [(out - 1) * stride + dilated kernel] per
  // dim; the padding is then cropped off (and positions past it, if any, read as zero).
  ConvGeometry g = geometry;
  Shape full_shape = dx.shape();
  const int first_spatial = g.channels_first ? 2 : 1;
  for (size_t s = 0; s < g.dims.size(); ++s) {
    auto& w = g.dims[s];
    w.in = (w.out - 1) * w.stride + (w.kernel - 1) * w.dilation + 1;
    w.pad_before = w.pad_after = 0;
    full_shape[first_spatial + s] = w.in;
  }
  KILN_ASSIGN_OR_RETURN(Tensor full, ctx.Allocate(dx.dtype(), full_shape));
  if (dy.num_elements() == 0 || filter.filter.num_elements() == 0) {
    KILN_CUDA_RETURN_IF_ERROR(cudaMemsetAsync(full.raw_data(), 0, full.byte_size(), ctx.stream()));
  } else {
    KILN_ASSIGN_OR_RETURN(Problem p, MakeProblem(ctx, g, dy.dtype(), full_shape));
    KILN_ASSIGN_OR_RETURN(Tensor w, CudnnFilter(ctx, filter, g.channels_first));
    Descriptors d;
    KILN_RETURN_IF_ERROR(Describe(p, d));
    KILN_ASSIGN_OR_RETURN(cudnnHandle_t handle, ctx.cudnn());
    KILN_ASSIGN_OR_RETURN(
        Choice c, Choose<cudnnConvolutionBwdDataAlgoPerf_t>(ctx, p.Key("bwd-data"), [&](void* ws, size_t bytes,
                                                                                         auto* results, int max,
                                                                                         int* count) -> Status {
          KILN_CUDNN_RETURN_IF_ERROR(cudnnFindConvolutionBackwardDataAlgorithmEx(
              handle, d.w.d, w.raw_data(), d.y.d, dy.raw_data(), d.conv.d, d.x.d, full.raw_data(), max, count, results,
              ws, bytes));
          return OkStatus();
        }));
    KILN_CUDNN_RETURN_IF_ERROR(cudnnSetConvolutionMathType(d.conv.d, c.math));
    KILN_ASSIGN_OR_RETURN(std::shared_ptr<Buffer> workspace, WorkspaceFor(ctx, c));
    const UnitScaling scale(dy.dtype());
    KILN_CUDNN_RETURN_IF_ERROR(cudnnConvolutionBackwardData(
        handle, scale.one(), d.w.d, w.raw_data(), d.y.d, dy.raw_data(), d.conv.d,
        static_cast<cudnnConvolutionBwdDataAlgo_t>(c.algo), workspace ? workspace->data() : nullptr, c.workspace,
        scale.zero(), d.x.d, full.raw_data()));
  }
  std::vector<std::vector<int64_t>> maps(static_cast<size_t>(dx.rank()));
  for (int d = 0; d < dx.rank(); ++d) {
    const int s = d - first_spatial;
    const bool spatial = s >= 0 && s < static_cast<int>(g.dims.size());
    const int64_t offset = spatial ? geometry.dims[s].pad_before : 0;
    for (int64_t i = 0; i < dx.dim(d); ++i) {
      const int64_t at = i + offset;
      maps[d].push_back(at < full.dim(d) ? at : -1);
    }
  }
  KILN_ASSIGN_OR_RETURN(Tensor cropped, CopyByAxisMapsOnDevice(ctx, full, maps, nullptr));
  KILN_CUDA_RETURN_IF_ERROR(
      cudaMemcpyAsync(dx.raw_data(), cropped.raw_data(), dx.byte_size(), cudaMemcpyDeviceToDevice, ctx.stream()));
  return OkStatus();
}

}  // namespace kiln::cuda
