// OnnxTopK: the k largest (or smallest) elements along an axis and their int64 indices, always
// sorted (ONNX allows any order when sorted=0). Equal values keep the lower index first; NaN ranks
// above every number, as in ONNX's reference.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <type_traits>

#include "ir/shape_fns.h"
#include "kernels/cpu/index_plans.h"
#include "kernels/cpu/kernel_util.h"
#include "kernels/cpu/nn_util.h"
#include "runtime/kernel.h"

namespace kiln::kernels::cpu {
namespace {

using runtime::KernelContext;

template <typename T>
bool IsNan(T v) {
  if constexpr (std::is_floating_point_v<T>) return std::isnan(v);
  return false;
}

Status TopKImpl(KernelContext& ctx) {
  KILN_ASSIGN_OR_RETURN(TopKPlan p, PlanTopK(ctx));
  const Tensor& x = ctx.input(0);
  const int64_t outer = p.outer, inner = p.inner, n = p.n, k = p.k;
  const bool largest = p.largest;
  Tensor& values = ctx.allocate_output(0, x.dtype(), p.out_shape);
  Tensor& indices = ctx.allocate_output(1, DType::kInt64, p.out_shape);
  const unsigned ints = nn::kInt32 | nn::kInt64 | nn::kSmallInts | nn::kUnsignedWide;
  return nn::DispatchReal(x.dtype(), ints, "OnnxTopK", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* in = x.data<T>();
    T* vo = values.data<T>();
    int64_t* io = indices.data<int64_t>();
    std::vector<int64_t> order(n);
    std::vector<T> row(n);
    // True when element a (value va) comes before element b.
    const auto before = [&](int64_t a, int64_t b) {
      const T va = row[a], vb = row[b];
      const bool na = IsNan(va), nb = IsNan(vb);
      if (na != nb) return largest ? na : nb;
      if (!na && va != vb) return largest ? va > vb : va < vb;
      return a < b;
    };
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t i = 0; i < inner; ++i) {
        const T* base = in + o * n * inner + i;
        for (int64_t j = 0; j < n; ++j) row[j] = base[j * inner];
        std::iota(order.begin(), order.end(), 0);
        std::partial_sort(order.begin(), order.begin() + k, order.end(), before);
        for (int64_t j = 0; j < k; ++j) {
          vo[(o * k + j) * inner + i] = row[order[j]];
          io[(o * k + j) * inner + i] = order[j];
        }
      }
    }
    return OkStatus();
  });
}

Status OnnxTopKKernel(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  return nn::RunHalfInFloat32(ctx, TopKImpl);
}

}  // namespace

StatusOr<TopKPlan> PlanTopK(const KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& k_input = ctx.input(1);
  if (k_input.rank() > 1 || k_input.num_elements() != 1) {
    return InvalidArgument("K must be a 1-element vector, got " + k_input.DebugString());
  }
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> k_values, InputInt64s(ctx, 1));
  KILN_ASSIGN_OR_RETURN(int64_t axis_attr, ctx.Attr<int64_t>("axis"));
  KILN_ASSIGN_OR_RETURN(int64_t largest, ctx.Attr<int64_t>("largest"));
  KILN_ASSIGN_OR_RETURN(int axis, ir::NormalizeAxis(axis_attr, x.rank()));
  TopKPlan p;
  p.n = x.dim(axis);
  p.k = k_values[0];
  p.largest = largest != 0;
  if (p.k < 0 || p.k > p.n) {
    return InvalidArgument("K = " + std::to_string(p.k) + " is not in [0, " + std::to_string(p.n) + "] for axis " +
                           std::to_string(axis) + " of " + x.DebugString());
  }
  for (int d = 0; d < axis; ++d) p.outer *= x.dim(d);
  for (int d = axis + 1; d < x.rank(); ++d) p.inner *= x.dim(d);
  p.out_shape = x.shape();
  p.out_shape[axis] = p.k;
  return p;
}

KILN_REGISTER_CPU_KERNEL("OnnxTopK", OnnxTopKKernel);

}  // namespace kiln::kernels::cpu
