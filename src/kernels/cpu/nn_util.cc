#include "kernels/cpu/nn_util.h"

#include <cstring>

#include "kernels/cpu/array_util.h"
#include "kernels/cpu/kernel_util.h"

namespace kiln::kernels::cpu::nn {

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

}  // namespace kiln::kernels::cpu::nn
