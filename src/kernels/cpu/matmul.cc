// MatMul, BatchMatMul, BatchMatMulV2, BatchMatMulV3: one GEMM per batch entry (BLAS for floats).
#include "kernels/cpu/matmul.h"

#include "kernels/cpu/gemm.h"
#include "kernels/cpu/kernel_util.h"
#include "kernels/cpu/nn_util.h"
#include "runtime/kernel.h"

namespace kiln::kernels::cpu::nn {

namespace {

using runtime::KernelContext;

constexpr unsigned kMatMulInts = kInt32 | kInt64 | kSmallInts | kUnsignedWide;

// For each entry of the broadcast batch `out`, the linear batch index into an operand with batch
// shape `in` (right-aligned, dims of 1 broadcast).
std::vector<int64_t> BroadcastBatchIndex(const Shape& out, const Shape& in) {
  const int rank = static_cast<int>(out.size());
  const int offset = rank - static_cast<int>(in.size());
  std::vector<int64_t> stride(rank, 0);
  int64_t s = 1;
  for (int d = rank - 1; d >= offset; --d) {
    const int64_t size = in[d - offset];
    stride[d] = size == 1 ? 0 : s;
    s *= size;
  }
  const int64_t total = NumElements(out);
  std::vector<int64_t> result(static_cast<size_t>(total));
  std::vector<int64_t> index(rank, 0);
  int64_t linear = 0;
  for (int64_t i = 0; i < total; ++i) {
    result[i] = linear;
    for (int d = rank - 1; d >= 0; --d) {
      linear += stride[d];
      if (++index[d] < out[d]) break;
      linear -= stride[d] * out[d];
      index[d] = 0;
    }
  }
  return result;
}

template <typename T>
void RunBatches(const Tensor& x, const Tensor& y, bool adj_x, bool adj_y, int64_t m, int64_t k, int64_t n,
                const Shape& batch, const Shape& x_batch, const Shape& y_batch, Tensor& out) {
  const T* xd = x.data<T>();
  const T* yd = y.data<T>();
  T* od = out.data<T>();
  const int64_t lda = adj_x ? m : k, ldb = adj_y ? k : n;
  const int64_t x_batches = NumElements(x_batch), y_batches = NumElements(y_batch);
  const int64_t total = NumElements(batch);
  if (y_batches == 1 && !adj_x && x_batches == total) {
    // y is shared: fold x's batch into the rows of a single product.
    Gemm<T>(false, adj_y, total * m, n, k, xd, lda, yd, ldb, od, n);
    return;
  }
  const std::vector<int64_t> xi = BroadcastBatchIndex(batch, x_batch);
  const std::vector<int64_t> yi = BroadcastBatchIndex(batch, y_batch);
  for (int64_t b = 0; b < total; ++b) {
    Gemm<T>(adj_x, adj_y, m, n, k, xd + xi[b] * m * k, lda, yd + yi[b] * k * n, ldb, od + b * m * n, n);
  }
}

Status BatchMatMulKernel(KernelContext& ctx, bool broadcast) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  const bool is_matmul = ctx.node().op == "MatMul";
  KILN_ASSIGN_OR_RETURN(bool adj_x, ctx.Attr<bool>(is_matmul ? "transpose_a" : "adj_x"));
  KILN_ASSIGN_OR_RETURN(bool adj_y, ctx.Attr<bool>(is_matmul ? "transpose_b" : "adj_y"));
  if (is_matmul && (ctx.input(0).rank() != 2 || ctx.input(1).rank() != 2)) {
    return InvalidArgument("MatMul operands must be matrices, got " + ctx.input(0).DebugString() + " and " +
                           ctx.input(1).DebugString());
  }
  KILN_ASSIGN_OR_RETURN(Tensor out,
                        BatchMatMulTensors(ctx.input(0), ctx.input(1), adj_x, adj_y, broadcast, ctx.node().op));
  ctx.set_output(0, std::move(out));
  return OkStatus();
}

// Mixed operand types: compute in float32 (floating Tout) or int64 (integer Tout), then cast.
Status BatchMatMulV3Kernel(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  KILN_ASSIGN_OR_RETURN(DType tout, ctx.Attr<DType>("Tout"));
  KILN_ASSIGN_OR_RETURN(bool adj_x, ctx.Attr<bool>("adj_x"));
  KILN_ASSIGN_OR_RETURN(bool adj_y, ctx.Attr<bool>("adj_y"));
  const Tensor& x = ctx.input(0);
  const Tensor& y = ctx.input(1);
  if (x.dtype() == tout && y.dtype() == tout) {
    KILN_ASSIGN_OR_RETURN(Tensor out, BatchMatMulTensors(x, y, adj_x, adj_y, true, "BatchMatMulV3"));
    ctx.set_output(0, std::move(out));
    return OkStatus();
  }
  DType compute;
  if (IsFloating(tout)) {
    compute = tout == DType::kFloat64 ? DType::kFloat64 : DType::kFloat32;
  } else if (IsInteger(tout) && IsInteger(x.dtype()) && IsInteger(y.dtype())) {
    compute = DType::kInt64;
  } else {
    return Unimplemented("BatchMatMulV3 from " + std::string(DTypeName(x.dtype())) + " and " +
                         std::string(DTypeName(y.dtype())) + " to " + std::string(DTypeName(tout)));
  }
  for (const Tensor* t : {&x, &y}) {
    if (!IsFloating(t->dtype()) && !IsInteger(t->dtype())) {
      return InvalidArgument("BatchMatMulV3 operands must be numeric, got " + t->DebugString());
    }
  }
  KILN_ASSIGN_OR_RETURN(Tensor xc, CastTensor(x, compute));
  KILN_ASSIGN_OR_RETURN(Tensor yc, CastTensor(y, compute));
  KILN_ASSIGN_OR_RETURN(Tensor out, BatchMatMulTensors(xc, yc, adj_x, adj_y, true, "BatchMatMulV3"));
  KILN_ASSIGN_OR_RETURN(Tensor result, CastTensor(out, tout));
  ctx.set_output(0, std::move(result));
  return OkStatus();
}

}  // namespace

StatusOr<MatMulPlan> PlanBatchMatMul(const Tensor& x, const Tensor& y, bool adj_x, bool adj_y, bool broadcast,
                                     const std::string& op) {
  if (x.dtype() != y.dtype()) {
    return InvalidArgument(op + " operands have different dtypes: " + x.DebugString() + " and " + y.DebugString());
  }
  if (x.rank() < 2 || y.rank() < 2) {
    return InvalidArgument(op + " operands must have rank 2 or more, got " + x.DebugString() + " and " +
                           y.DebugString());
  }
  const int rx = x.rank(), ry = y.rank();
  const int64_t m = x.dim(adj_x ? rx - 1 : rx - 2), k = x.dim(adj_x ? rx - 2 : rx - 1);
  const int64_t k2 = y.dim(adj_y ? ry - 1 : ry - 2), n = y.dim(adj_y ? ry - 2 : ry - 1);
  if (k != k2) {
    return InvalidArgument(op + " inner dimensions do not match: " + x.DebugString() + (adj_x ? " (adjoint)" : "") +
                           " times " + y.DebugString() + (adj_y ? " (adjoint)" : ""));
  }
  const Shape x_batch(x.shape().begin(), x.shape().end() - 2);
  const Shape y_batch(y.shape().begin(), y.shape().end() - 2);
  Shape batch;
  if (!broadcast) {
    if (x_batch != y_batch) {
      return InvalidArgument(op + " batch dimensions differ: " + x.DebugString() + " and " + y.DebugString());
    }
    batch = x_batch;
  } else {
    const size_t rank = std::max(x_batch.size(), y_batch.size());
    batch.resize(rank);
    for (size_t i = 0; i < rank; ++i) {
      const int64_t dx = i < rank - x_batch.size() ? 1 : x_batch[i - (rank - x_batch.size())];
      const int64_t dy = i < rank - y_batch.size() ? 1 : y_batch[i - (rank - y_batch.size())];
      if (dx != dy && dx != 1 && dy != 1) {
        return InvalidArgument(op + " batch dimensions do not broadcast: " + x.DebugString() + " and " +
                               y.DebugString());
      }
      batch[i] = dx == 1 ? dy : dx;
    }
  }
  if (!FitsBlas(m * std::max<int64_t>(NumElements(batch), 1)) || !FitsBlas(n) || !FitsBlas(k)) {
    return InvalidArgument(op + " operands are too large: " + x.DebugString() + " and " + y.DebugString());
  }
  Shape out_shape = batch;
  out_shape.push_back(m);
  out_shape.push_back(n);
  return MatMulPlan{m, k, n, batch, x_batch, y_batch, out_shape};
}

StatusOr<Tensor> BatchMatMulTensors(const Tensor& x, const Tensor& y, bool adj_x, bool adj_y, bool broadcast,
                                    const std::string& op) {
  KILN_ASSIGN_OR_RETURN(MatMulPlan p, PlanBatchMatMul(x, y, adj_x, adj_y, broadcast, op));
  if (IsHalfLike(x.dtype())) {
    KILN_ASSIGN_OR_RETURN(Tensor out, BatchMatMulTensors(ToFloat32(x), ToFloat32(y), adj_x, adj_y, broadcast, op));
    return FromFloat32(out, x.dtype());
  }
  Tensor out(x.dtype(), p.out_shape);  // zeroed: an empty contraction (k = 0) gives zeros
  KILN_RETURN_IF_ERROR(DispatchReal(x.dtype(), kMatMulInts, op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    RunBatches<T>(x, y, adj_x, adj_y, p.m, p.k, p.n, p.batch, p.x_batch, p.y_batch, out);
    return OkStatus();
  }));
  return out;
}

KILN_REGISTER_CPU_KERNEL("MatMul", [](KernelContext& ctx) { return BatchMatMulKernel(ctx, false); });
KILN_REGISTER_CPU_KERNEL("BatchMatMul", [](KernelContext& ctx) { return BatchMatMulKernel(ctx, false); });
KILN_REGISTER_CPU_KERNEL("BatchMatMulV2", [](KernelContext& ctx) { return BatchMatMulKernel(ctx, true); });
KILN_REGISTER_CPU_KERNEL("BatchMatMulV3", BatchMatMulV3Kernel);

}  // namespace kiln::kernels::cpu::nn
