// MatMul and BatchMatMul{,V2,V3} on cuBLAS, with the CPU kernels' shape rules
// (kernels/cpu/matmul.h). FP32 stays FP32 unless the run allows TF32.
#include <optional>

#include "kernels/cpu/matmul.h"
#include "kernels/cuda/elementwise.h"
#include "kernels/cuda/kernel_util.h"
#include "kernels/cuda/matmul.h"

namespace kiln::cuda {
namespace {

using runtime::KernelContext;
using runtime::KernelOptions;

// The batch stride of an operand whose batch dims `own` broadcast to `batch`: its matrix size
// when it has every batch entry, 0 when it has one, nullopt for partial broadcasts.
std::optional<int64_t> BatchStride(const Shape& own, const Shape& batch, int64_t matrix) {
  if (NumElements(own) == 1) return 0;
  Shape padded(batch.size() - std::min(batch.size(), own.size()), 1);
  padded.insert(padded.end(), own.begin(), own.end());
  if (padded == batch) return matrix;
  return std::nullopt;
}

// Linear batch index into an operand with batch dims `own` for each entry of `batch`.
std::vector<int64_t> BatchIndex(const Shape& batch, const Shape& own) {
  const int rank = static_cast<int>(batch.size()), lead = rank - static_cast<int>(own.size());
  std::vector<int64_t> index(static_cast<size_t>(NumElements(batch)), 0);
  for (size_t i = 0; i < index.size(); ++i) {
    int64_t rest = static_cast<int64_t>(i), at = 0, stride = 1;
    for (int d = rank - 1; d >= 0; --d) {
      const int64_t c = rest % batch[d];
      rest /= batch[d];
      if (d >= lead) {
        const int64_t size = own[d - lead];
        if (size != 1) at += c * stride;
        stride *= size;
      }
    }
    index[i] = at;
  }
  return index;
}

}  // namespace

Status BatchMatMulOnDevice(StreamContext& ctx, const Tensor& x, const Tensor& y, bool adj_x, bool adj_y,
                           bool broadcast, const std::string& op, Tensor& out) {
  KILN_ASSIGN_OR_RETURN(kernels::cpu::nn::MatMulPlan p,
                        kernels::cpu::nn::PlanBatchMatMul(x, y, adj_x, adj_y, broadcast, op));
  if (out.shape() != p.out_shape) return Internal(op + " output is " + out.DebugString());
  if (out.num_elements() == 0) return OkStatus();
  const size_t size = DTypeSize(x.dtype());
  if (p.k == 0) {
    KILN_CUDA_RETURN_IF_ERROR(cudaMemsetAsync(out.raw_data(), 0, out.byte_size(), ctx.stream()));
    return OkStatus();
  }
  const int64_t total = NumElements(p.batch);
  GemmShape g{.adj_x = adj_x, .adj_y = adj_y, .m = p.m, .n = p.n, .k = p.k};
  if (NumElements(p.y_batch) == 1 && !adj_x && NumElements(p.x_batch) == total) {
    g.m = total * p.m;  // y is shared: x's batch folds into the rows of one product
    return Gemm(ctx, x.dtype(), g, x.raw_data(), y.raw_data(), out.raw_data());
  }
  const auto sx = BatchStride(p.x_batch, p.batch, p.m * p.k), sy = BatchStride(p.y_batch, p.batch, p.k * p.n);
  if (sx && sy) {
    g.batch = total;
    g.stride_x = *sx;
    g.stride_y = *sy;
    return Gemm(ctx, x.dtype(), g, x.raw_data(), y.raw_data(), out.raw_data());
  }
  const std::vector<int64_t> xi = BatchIndex(p.batch, p.x_batch), yi = BatchIndex(p.batch, p.y_batch);
  for (int64_t b = 0; b < total; ++b) {
    KILN_RETURN_IF_ERROR(Gemm(ctx, x.dtype(), g, static_cast<const char*>(x.raw_data()) + xi[b] * p.m * p.k * size,
                              static_cast<const char*>(y.raw_data()) + yi[b] * p.k * p.n * size,
                              static_cast<char*>(out.raw_data()) + b * p.m * p.n * size));
  }
  return OkStatus();
}

namespace {

// MatMul (transpose_a/b, matrices only; also the base of KilnFusedMatMul) or BatchMatMul (adj_x/y).
Status BatchMatMul(KernelContext& ctx, bool broadcast, bool is_matmul) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  KILN_ASSIGN_OR_RETURN(bool adj_x, ctx.Attr<bool>(is_matmul ? "transpose_a" : "adj_x"));
  KILN_ASSIGN_OR_RETURN(bool adj_y, ctx.Attr<bool>(is_matmul ? "transpose_b" : "adj_y"));
  const Tensor &x = ctx.input(0), &y = ctx.input(1);
  if (is_matmul && (x.rank() != 2 || y.rank() != 2)) {
    return InvalidArgument("MatMul operands must be matrices, got " + x.DebugString() + " and " + y.DebugString());
  }
  KILN_ASSIGN_OR_RETURN(kernels::cpu::nn::MatMulPlan p,
                        kernels::cpu::nn::PlanBatchMatMul(x, y, adj_x, adj_y, broadcast, ctx.node().op));
  KILN_ASSIGN_OR_RETURN(Tensor * out, ctx.AllocateOutput(0, x.dtype(), p.out_shape));
  return BatchMatMulOnDevice(Ctx(ctx), x, y, adj_x, adj_y, broadcast, ctx.node().op, *out);
}

StatusOr<Tensor> CastOnDevice(KernelContext& ctx, const Tensor& t, DType to) {
  if (t.dtype() == to) return t;
  KILN_ASSIGN_OR_RETURN(Tensor out, Ctx(ctx).Allocate(to, t.shape()));
  KILN_CUDA_RETURN_IF_ERROR(LaunchCast(t.dtype(), to, t.raw_data(), out.raw_data(), t.num_elements(), false,
                                       StreamOf(ctx)));
  return out;
}

// Mixed operand types compute in float32 (float64 for a float64 result) and cast, as on the CPU.
Status BatchMatMulV3(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  KILN_ASSIGN_OR_RETURN(DType tout, ctx.Attr<DType>("Tout"));
  const Tensor &x = ctx.input(0), &y = ctx.input(1);
  if (x.dtype() == tout && y.dtype() == tout) return BatchMatMul(ctx, true, false);
  if (!IsFloating(tout) || !IsFloating(x.dtype()) || !IsFloating(y.dtype())) {
    return Unimplemented("BatchMatMulV3 from " + std::string(DTypeName(x.dtype())) + " and " +
                         std::string(DTypeName(y.dtype())) + " to " + std::string(DTypeName(tout)) + " on the GPU");
  }
  KILN_ASSIGN_OR_RETURN(bool adj_x, ctx.Attr<bool>("adj_x"));
  KILN_ASSIGN_OR_RETURN(bool adj_y, ctx.Attr<bool>("adj_y"));
  const DType compute = tout == DType::kFloat64 ? DType::kFloat64 : DType::kFloat32;
  KILN_ASSIGN_OR_RETURN(Tensor xc, CastOnDevice(ctx, x, compute));
  KILN_ASSIGN_OR_RETURN(Tensor yc, CastOnDevice(ctx, y, compute));
  KILN_ASSIGN_OR_RETURN(kernels::cpu::nn::MatMulPlan p,
                        kernels::cpu::nn::PlanBatchMatMul(xc, yc, adj_x, adj_y, true, "BatchMatMulV3"));
  KILN_ASSIGN_OR_RETURN(Tensor product, Ctx(ctx).Allocate(compute, p.out_shape));
  KILN_RETURN_IF_ERROR(BatchMatMulOnDevice(Ctx(ctx), xc, yc, adj_x, adj_y, true, "BatchMatMulV3", product));
  KILN_ASSIGN_OR_RETURN(Tensor out, CastOnDevice(ctx, product, tout));
  ctx.set_output(0, std::move(out));
  return OkStatus();
}

KernelOptions MatMulOptions() { return {.dtypes = GemmDTypes()}; }

}  // namespace

KILN_REGISTER_CUDA_KERNEL("MatMul", [](KernelContext& ctx) { return BatchMatMul(ctx, false, true); },
                          MatMulOptions());
KILN_REGISTER_CUDA_KERNEL("BatchMatMul", [](KernelContext& ctx) { return BatchMatMul(ctx, false, false); },
                          MatMulOptions());
KILN_REGISTER_CUDA_KERNEL("BatchMatMulV2", [](KernelContext& ctx) { return BatchMatMul(ctx, true, false); },
                          MatMulOptions());
KILN_REGISTER_CUDA_KERNEL("BatchMatMulV3", BatchMatMulV3, MatMulOptions());

}  // namespace kiln::cuda
