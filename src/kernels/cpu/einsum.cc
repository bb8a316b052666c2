// Einsum with one or two operands, lowered to transposes, reshapes and one batched GEMM:
// labels only one operand has and the output lacks are summed first; labels both operands have
// are batch dims (kept in the output) or contracted (summed by the GEMM).
#include <algorithm>
#include <numeric>

#include "ir/ops/einsum_equation.h"
#include "kernels/cpu/array_util.h"
#include "kernels/cpu/kernel_util.h"
#include "kernels/cpu/matmul.h"
#include "kernels/cpu/nn_util.h"
#include "runtime/kernel.h"

namespace kiln::kernels::cpu::nn {
namespace {

using runtime::KernelContext;
using Labels = std::vector<int>;

bool Has(const Labels& labels, int l) { return std::find(labels.begin(), labels.end(), l) != labels.end(); }

// An operand with one label per dim.
struct Operand {
  Tensor t;
  Labels labels;
};

std::vector<int> PermFor(const Labels& from, const Labels& to) {
  std::vector<int> perm;
  for (int l : to) perm.push_back(static_cast<int>(std::find(from.begin(), from.end(), l) - from.begin()));
  return perm;
}

bool IsIdentity(const std::vector<int>& perm) {
  for (size_t i = 0; i < perm.size(); ++i)
    if (perm[i] != static_cast<int>(i)) return false;
  return true;
}

template <typename T>
Tensor SumInner(const Tensor& t, int64_t outer, int64_t inner, Shape out_shape) {
  Tensor out(t.dtype(), std::move(out_shape));
  const T* in = t.data<T>();
  T* o = out.data<T>();
  for (int64_t i = 0; i < outer; ++i) {
    T acc = 0;
    for (int64_t j = 0; j < inner; ++j) acc += in[i * inner + j];
    o[i] = acc;
  }
  return out;
}

// The sums and products where the kernel runs (a CUDA run of this kernel computes on the GPU).
template <typename T>
StatusOr<Tensor> SumInnerOn(KernelContext& ctx, const Tensor& t, int64_t outer, int64_t inner, Shape out_shape) {
  if (ctx.device_context() != nullptr) return ctx.device_context()->SumRows(t, outer, inner, out_shape);
  return SumInner<T>(t, outer, inner, std::move(out_shape));
}

StatusOr<Tensor> BatchMatMulOn(KernelContext& ctx, const Tensor& x, const Tensor& y, bool adj_x, bool adj_y) {
  if (ctx.device_context() != nullptr) return ctx.device_context()->BatchMatMul(x, y, adj_x, adj_y, false, "Einsum");
  return BatchMatMulTensors(x, y, adj_x, adj_y, false, "Einsum");
}

// Drops dims of size 1 that broadcast against a larger size, then sums labels no one else needs.
template <typename T>
StatusOr<Operand> Prepare(KernelContext& ctx, Operand op, const std::vector<int64_t>& label_size,
                          const Labels& needed) {
  Labels kept_labels;
  Shape kept_shape;
  for (size_t d = 0; d < op.labels.size(); ++d) {
    const int l = op.labels[d];
    if (op.t.dim(static_cast<int>(d)) == 1 && label_size[l] != 1) continue;
    kept_labels.push_back(l);
    kept_shape.push_back(op.t.dim(static_cast<int>(d)));
  }
  if (kept_labels.size() != op.labels.size()) {
    KILN_ASSIGN_OR_RETURN(op.t, op.t.Reshaped(kept_shape));
    op.labels = kept_labels;
  }
  Labels keep, drop;
  for (int l : op.labels) (Has(needed, l) ? keep : drop).push_back(l);
  if (drop.empty()) return op;
  Labels order = keep;
  order.insert(order.end(), drop.begin(), drop.end());
  KILN_ASSIGN_OR_RETURN(Tensor moved, TransposeOn(ctx, op.t, PermFor(op.labels, order)));
  int64_t outer = 1, inner = 1;
  Shape out_shape;
  for (int l : keep) {
    outer *= label_size[l];
    out_shape.push_back(label_size[l]);
  }
  for (int l : drop) inner *= label_size[l];
  KILN_ASSIGN_OR_RETURN(Tensor summed, SumInnerOn<T>(ctx, moved, outer, inner, out_shape));
  return Operand{std::move(summed), keep};
}

Shape SizesOf(const Labels& labels, const std::vector<int64_t>& label_size) {
  Shape s;
  for (int l : labels) s.push_back(label_size[l]);
  return s;
}

int64_t Product(const Labels& labels, const std::vector<int64_t>& label_size) {
  int64_t p = 1;
  for (int l : labels) p *= label_size[l];
  return p;
}

// One way to lay out the product: which operand goes first and how the contracted labels are ordered.
struct Plan {
  bool swap = false;
  Labels contract;
  bool adj_x = false, adj_y = false;
  int64_t cost = 0;  // elements moved by transposes
};

StatusOr<Tensor> Contract(KernelContext& ctx, Operand a, Operand b, const Labels& out, const std::vector<int64_t>& ls) {
  Labels batch, free_a, free_b, contract_a, contract_b;
  for (int l : out) {
    const bool in_a = Has(a.labels, l), in_b = Has(b.labels, l);
    if (in_a && in_b)
      batch.push_back(l);
    else if (in_a)
      free_a.push_back(l);
    else if (in_b)
      free_b.push_back(l);
  }
  for (int l : a.labels)
    if (Has(b.labels, l) && !Has(out, l)) contract_a.push_back(l);
  for (int l : b.labels)
    if (Has(a.labels, l) && !Has(out, l)) contract_b.push_back(l);

  // Pick the layout that moves the fewest elements.
  Plan best;
  best.cost = -1;
  for (bool swap : {false, true}) {
    for (const Labels* contract : {&contract_a, &contract_b}) {
      const Operand& x = swap ? b : a;
      const Operand& y = swap ? a : b;
      const Labels& fx = swap ? free_b : free_a;
      const Labels& fy = swap ? free_a : free_b;
      Plan p{swap, *contract};
      auto cat = [&](const Labels& p1, const Labels& p2, const Labels& p3) {
        Labels r = p1;
        r.insert(r.end(), p2.begin(), p2.end());
        r.insert(r.end(), p3.begin(), p3.end());
        return r;
      };
      const bool x_plain = IsIdentity(PermFor(x.labels, cat(batch, fx, *contract)));
      p.adj_x = !x_plain && IsIdentity(PermFor(x.labels, cat(batch, *contract, fx)));
      if (!x_plain && !p.adj_x) p.cost += x.t.num_elements();
      const bool y_plain = IsIdentity(PermFor(y.labels, cat(batch, *contract, fy)));
      p.adj_y = !y_plain && IsIdentity(PermFor(y.labels, cat(batch, fy, *contract)));
      if (!y_plain && !p.adj_y) p.cost += y.t.num_elements();
      if (!IsIdentity(PermFor(cat(batch, fx, fy), out))) p.cost += Product(out, ls);
      if (best.cost < 0 || p.cost < best.cost) best = p;
    }
  }
  Operand& x = best.swap ? b : a;
  Operand& y = best.swap ? a : b;
  const Labels& fx = best.swap ? free_b : free_a;
  const Labels& fy = best.swap ? free_a : free_b;
  const int64_t nb = Product(batch, ls), m = Product(fx, ls), k = Product(best.contract, ls), n = Product(fy, ls);

  auto arrange = [&](const Operand& op, const Labels& first, const Labels& second, int64_t rows,
                     int64_t cols) -> StatusOr<Tensor> {
    Labels order = batch;
    order.insert(order.end(), first.begin(), first.end());
    order.insert(order.end(), second.begin(), second.end());
    KILN_ASSIGN_OR_RETURN(Tensor moved, TransposeOn(ctx, op.t, PermFor(op.labels, order)));
    return moved.Reshaped({nb, rows, cols});
  };
  KILN_ASSIGN_OR_RETURN(Tensor xm,
                        best.adj_x ? arrange(x, best.contract, fx, k, m) : arrange(x, fx, best.contract, m, k));
  KILN_ASSIGN_OR_RETURN(Tensor ym,
                        best.adj_y ? arrange(y, fy, best.contract, n, k) : arrange(y, best.contract, fy, k, n));
  KILN_ASSIGN_OR_RETURN(Tensor product, BatchMatMulOn(ctx, xm, ym, best.adj_x, best.adj_y));
  Labels produced = batch;
  produced.insert(produced.end(), fx.begin(), fx.end());
  produced.insert(produced.end(), fy.begin(), fy.end());
  KILN_ASSIGN_OR_RETURN(product, product.Reshaped(SizesOf(produced, ls)));
  return TransposeOn(ctx, product, PermFor(produced, out));
}

template <typename T>
Status EinsumTyped(KernelContext& ctx, const ir::EinsumDims& dims) {
  const Labels& out = dims.output;
  std::vector<Operand> ops;
  for (int i = 0; i < ctx.num_inputs(); ++i) {
    // An operand keeps the labels the output or the other operand needs.
    Labels needed = out;
    for (int j = 0; j < ctx.num_inputs(); ++j) {
      if (j != i) needed.insert(needed.end(), dims.inputs[j].begin(), dims.inputs[j].end());
    }
    KILN_ASSIGN_OR_RETURN(Operand op, Prepare<T>(ctx, {ctx.input(i), dims.inputs[i]}, dims.label_size, needed));
    ops.push_back(std::move(op));
  }
  Tensor result;
  if (ops.size() == 1) {
    KILN_ASSIGN_OR_RETURN(result, TransposeOn(ctx, ops[0].t, PermFor(ops[0].labels, out)));
  } else {
    KILN_ASSIGN_OR_RETURN(result, Contract(ctx, ops[0], ops[1], out, dims.label_size));
  }
  KILN_ASSIGN_OR_RETURN(result, result.Reshaped(SizesOf(out, dims.label_size)));
  ctx.set_output(0, result);
  return OkStatus();
}

Status EinsumTensors(KernelContext& ctx) {
  KILN_ASSIGN_OR_RETURN(std::string equation, ctx.Attr<std::string>("equation"));
  KILN_ASSIGN_OR_RETURN(ir::EinsumEquation eq, ir::ParseEinsumEquation(equation, ctx.num_inputs()));
  std::vector<PartialShape> shapes;
  for (int i = 0; i < ctx.num_inputs(); ++i) {
    if (ctx.input(i).dtype() != ctx.input(0).dtype()) {
      return InvalidArgument("Einsum inputs have different dtypes: " + ctx.input(0).DebugString() + " and " +
                             ctx.input(i).DebugString());
    }
    shapes.push_back(PartialShape::Known(ctx.input(i).shape()));
  }
  bool rank_known = true;
  KILN_ASSIGN_OR_RETURN(ir::EinsumDims dims, ir::ResolveEinsum(eq, shapes, &rank_known));
  return DispatchReal(ctx.input(0).dtype(), kInt32 | kInt64, "Einsum",
                      [&](auto tag) { return EinsumTyped<typename decltype(tag)::type>(ctx, dims); });
}

// On the CPU float16/bfloat16 compute in float32; the GPU's products and sums accumulate in float32
// on the narrow values directly.
Status Einsum(KernelContext& ctx) {
  if (ctx.num_inputs() < 1) return InvalidArgument("Einsum needs at least one input");
  if (ctx.device_context() != nullptr) return EinsumTensors(ctx);
  return RunHalfInFloat32(ctx, EinsumTensors);
}

}  // namespace

KILN_REGISTER_CPU_KERNEL("Einsum", Einsum);

}  // namespace kiln::kernels::cpu::nn
