// Pass-through ops share their input buffers; tensors are immutable once produced.
#include "runtime/kernel.h"

namespace kiln::kernels::cpu {
namespace {

using runtime::KernelContext;

Status ForwardAll(KernelContext& ctx) {
  for (int i = 0; i < ctx.num_outputs() && i < ctx.num_inputs(); ++i) ctx.set_output(i, ctx.input(i));
  return OkStatus();
}

Status EnsureShape(KernelContext& ctx) {
  KILN_ASSIGN_OR_RETURN(PartialShape shape, ctx.Attr<PartialShape>("shape"));
  if (!shape.Accepts(ctx.input(0).shape())) {
    return InvalidArgument("shape " + ShapeToString(ctx.input(0).shape()) + " is not compatible with the expected " +
                           shape.ToString());
  }
  ctx.set_output(0, ctx.input(0));
  return OkStatus();
}

}  // namespace

KILN_REGISTER_CPU_KERNEL("Identity", ForwardAll);
KILN_REGISTER_CPU_KERNEL("IdentityN", ForwardAll);
KILN_REGISTER_CPU_KERNEL("StopGradient", ForwardAll);
KILN_REGISTER_CPU_KERNEL("PreventGradient", ForwardAll);
KILN_REGISTER_CPU_KERNEL("Snapshot", ForwardAll);
KILN_REGISTER_CPU_KERNEL("EnsureShape", EnsureShape);

}  // namespace kiln::kernels::cpu
