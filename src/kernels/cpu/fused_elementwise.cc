// KilnFusedElementwise: runs its program (src/ir/ops/fused_ops.h) over tiles of the chain's input
// that stay in cache, one step after another, so the elements are read and written once.
#include <algorithm>

#include "ir/ops/fused_ops.h"
#include "kernels/cpu/fused_math.h"
#include "runtime/kernel.h"

namespace kiln::kernels::cpu {
namespace {

using runtime::KernelContext;

constexpr int64_t kTile = 1024;

// An operand broadcast over the output: element i of the output reads data[(i / inner) % mid].
struct Operand {
  const float* data = nullptr;
  int64_t inner = 1;
  int64_t mid = 1;
  bool full = false;  // inner == 1 and mid == the output's size: element i reads data[i]
};

StatusOr<Operand> DescribeOperand(const Tensor& t, const Shape& out, int input) {
  KILN_ASSIGN_OR_RETURN(fused::ChainBroadcast b, fused::DescribeChainOperand(t, out, input));
  Operand op;
  op.data = t.data<float>();
  op.inner = b.inner;
  op.mid = b.mid;
  op.full = op.inner == 1 && op.mid == NumElements(out);
  return op;
}

// dst[j] = the operand's value for output element i0 + j, j < n.
void Gather(const Operand& op, int64_t i0, int64_t n, float* dst) {
  if (op.mid == 1) {
    std::fill(dst, dst + n, op.data[0]);
    return;
  }
  int64_t idx = (i0 / op.inner) % op.mid, rem = i0 % op.inner;
  for (int64_t j = 0; j < n; ++j) {
    dst[j] = op.data[idx];
    if (++rem == op.inner) {
      rem = 0;
      if (++idx == op.mid) idx = 0;
    }
  }
}

Status FusedElementwise(KernelContext& ctx) {
  if (ctx.num_inputs() < 1) return InvalidArgument("KilnFusedElementwise expects at least 1 input");
  KILN_ASSIGN_OR_RETURN(std::vector<ir::ElementwiseStep> steps,
                        ir::ParseElementwiseProgram(ctx.attrs(), ctx.num_inputs()));
  for (int i = 0; i < ctx.num_inputs(); ++i) {
    if (ctx.input(i).dtype() != DType::kFloat32) {
      return InvalidArgument("KilnFusedElementwise supports float32 only, input " + std::to_string(i) + " is " +
                             ctx.input(i).DebugString());
    }
  }
  const Tensor& x = ctx.input(0);
  std::vector<Operand> operands(ctx.num_inputs());
  for (int i = 1; i < ctx.num_inputs(); ++i) {
    KILN_ASSIGN_OR_RETURN(operands[i], DescribeOperand(ctx.input(i), x.shape(), i));
  }
  Tensor& out = ctx.allocate_output(0, DType::kFloat32, x.shape());
  const float* in = x.data<float>();
  float* o = out.data<float>();
  const int64_t total = x.num_elements();
  float scratch[kTile];
  for (int64_t i0 = 0; i0 < total; i0 += kTile) {
    const int64_t n = std::min(kTile, total - i0);
    float* v = o + i0;
    std::copy(in + i0, in + i0 + n, v);
    for (const ir::ElementwiseStep& s : steps) {
      if (!ir::IsBinaryElementwise(s.op)) {
        fused::ApplyUnary(s.op, s.param, v, n);
        continue;
      }
      const Operand& operand = operands[s.operand];
      const float* other = scratch;
      if (operand.full) {
        other = operand.data + i0;
      } else {
        Gather(operand, i0, n, scratch);
      }
      fused::ApplyBinary(s.op, s.chain_is_lhs, v, other, n);
    }
  }
  return OkStatus();
}

}  // namespace

namespace fused {

StatusOr<ChainBroadcast> DescribeChainOperand(const Tensor& t, const Shape& out, int input) {
  const int rank = static_cast<int>(out.size()), offset = rank - t.rank();
  auto refuse = [&]() {
    return InvalidArgument("input " + std::to_string(input) + " " + t.DebugString() + " does not broadcast onto " +
                           ShapeToString(out) + " as a scalar, a per-axis vector or a tensor of that shape");
  };
  if (offset < 0) return refuse();
  int first = -1, last = -1;
  for (int d = 0; d < t.rank(); ++d) {
    if (t.dim(d) != 1) {
      if (first < 0) first = d + offset;
      last = d + offset;
    }
  }
  ChainBroadcast b;
  if (first < 0) return b;  // a single value
  for (int d = first; d <= last; ++d) {
    if (t.dim(d - offset) != out[d]) return refuse();
    b.mid *= out[d];
  }
  for (int d = last + 1; d < rank; ++d) b.inner *= out[d];
  return b;
}

}  // namespace fused

KILN_REGISTER_CPU_KERNEL(ir::kFusedElementwiseOp, FusedElementwise);

}  // namespace kiln::kernels::cpu
