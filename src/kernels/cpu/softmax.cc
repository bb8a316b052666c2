// Softmax and LogSoftmax over the last axis, with the row maximum subtracted for stability.
#include <algorithm>
#include <cmath>

#include "kernels/cpu/nn_util.h"
#include "runtime/kernel.h"

namespace kiln::kernels::cpu::nn {
namespace {

using runtime::KernelContext;

template <typename T, bool kLog>
void RunSoftmax(const T* in, T* out, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r) {
    const T* x = in + r * cols;
    T* y = out + r * cols;
    T max = x[0];
    for (int64_t j = 1; j < cols; ++j) max = std::max(max, x[j]);
    T sum = 0;
    for (int64_t j = 0; j < cols; ++j) {
      y[j] = std::exp(x[j] - max);
      sum += y[j];
    }
    if constexpr (kLog) {
      const T log_sum = std::log(sum);
      for (int64_t j = 0; j < cols; ++j) y[j] = x[j] - max - log_sum;
    } else {
      const T inv = T(1) / sum;
      for (int64_t j = 0; j < cols; ++j) y[j] *= inv;
    }
  }
}

template <bool kLog>
Status SoftmaxTensors(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(1, 1));
  const Tensor& x = ctx.input(0);
  if (x.rank() < 1) return InvalidArgument("logits must have rank 1 or more, got " + x.DebugString());
  const int64_t cols = x.dim(x.rank() - 1);
  const int64_t rows = cols == 0 ? 0 : x.num_elements() / cols;
  Tensor out(x.dtype(), x.shape());
  KILN_RETURN_IF_ERROR(DispatchReal(x.dtype(), kNoInts, ctx.node().op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    RunSoftmax<T, kLog>(x.data<T>(), out.data<T>(), rows, cols);
    return OkStatus();
  }));
  ctx.set_output(0, std::move(out));
  return OkStatus();
}

}  // namespace

KILN_REGISTER_CPU_KERNEL("Softmax", [](KernelContext& ctx) { return RunHalfInFloat32(ctx, SoftmaxTensors<false>); });
KILN_REGISTER_CPU_KERNEL("LogSoftmax", [](KernelContext& ctx) { return RunHalfInFloat32(ctx, SoftmaxTensors<true>); });

}  // namespace kiln::kernels::cpu::nn
