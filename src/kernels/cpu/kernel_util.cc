#include "kernels/cpu/kernel_util.h"

namespace kiln::kernels::cpu {

Tensor ToFloat32(const Tensor& t) {
  if (t.dtype() == DType::kFloat32) return t;
  Tensor out(DType::kFloat32, t.shape());
  float* o = out.data<float>();
  const int64_t n = t.num_elements();
  switch (t.dtype()) {
    case DType::kFloat16:
      for (int64_t i = 0; i < n; ++i) o[i] = HalfToFloat(t.data<Half>()[i]);
      break;
    case DType::kBFloat16:
      for (int64_t i = 0; i < n; ++i) o[i] = BFloat16ToFloat(t.data<BFloat16>()[i]);
      break;
    case DType::kFloat64:
      for (int64_t i = 0; i < n; ++i) o[i] = static_cast<float>(t.data<double>()[i]);
      break;
    default: {
      const std::vector<float> v = t.ToFloatVector();
      std::copy(v.begin(), v.end(), o);
    }
  }
  return out;
}

Tensor FromFloat32(const Tensor& t, DType dtype) {
  if (dtype == DType::kFloat32 || t.dtype() != DType::kFloat32) return t;
  Tensor out(dtype, t.shape());
  const float* in = t.data<float>();
  const int64_t n = t.num_elements();
  switch (dtype) {
    case DType::kFloat16:
      for (int64_t i = 0; i < n; ++i) out.data<Half>()[i] = FloatToHalf(in[i]);
      break;
    case DType::kBFloat16:
      for (int64_t i = 0; i < n; ++i) out.data<BFloat16>()[i] = FloatToBFloat16(in[i]);
      break;
    case DType::kFloat64:
      for (int64_t i = 0; i < n; ++i) out.data<double>()[i] = in[i];
      break;
    default:
      return t;
  }
  return out;
}

Status RunInFloat32(runtime::KernelContext& ctx, const std::function<Status(runtime::KernelContext&)>& fn) {
  const DType dtype = ctx.num_inputs() > 0 ? ctx.input(0).dtype() : DType::kFloat32;
  if (dtype == DType::kFloat32) return fn(ctx);
  std::vector<Tensor> widened;
  widened.reserve(ctx.num_inputs());
  for (int i = 0; i < ctx.num_inputs(); ++i) {
    const Tensor& in = ctx.input(i);
    widened.push_back(IsFloating(in.dtype()) ? ToFloat32(in) : in);
  }
  std::vector<const Tensor*> ptrs;
  for (auto& t : widened) ptrs.push_back(&t);
  runtime::KernelContext inner(ctx.node(), std::move(ptrs));
  KILN_RETURN_IF_ERROR(fn(inner));
  for (int i = 0; i < ctx.num_outputs(); ++i) {
    const Tensor& out = inner.outputs()[i];
    ctx.set_output(i, out.dtype() == DType::kFloat32 ? FromFloat32(out, dtype) : out);
  }
  return OkStatus();
}

StatusOr<std::vector<int64_t>> InputInt64s(const runtime::KernelContext& ctx, int i) {
  auto v = ctx.input(i).ToInt64Vector();
  if (!v.ok()) {
    return InvalidArgument("input " + std::to_string(i) + " must be an integer tensor, got " +
                           ctx.input(i).DebugString());
  }
  return v;
}

}  // namespace kiln::kernels::cpu
