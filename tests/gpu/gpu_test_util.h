#pragma once
// What the GPU tests share.

#include <string>
#include <vector>

#include "ir/op_registry.h"
#include "passes/pass_test_util.h"
#include "runtime/executor.h"

namespace kiln::testing {

// `t` cast to `dtype` by the CPU kernel; an invalid tensor when the cast fails.
inline Tensor Cast(const Tensor& t, DType dtype) {
  auto cast = RunOp("Cast", {t}, Attrs({{"DstT", dtype}}));
  return cast.ok() ? (*cast)[0] : Tensor();
}

// A one-op graph: its inputs are placeholders of `t` fed with `values` (rounded to `t`) or
// constants; built once in float32 for the CPU and once in the tested dtype for the GPU.
struct OneOp {
  std::string op;
  std::vector<Tensor> values;  // float32
  std::vector<bool> constant;  // per value
  ir::AttrMap attrs;           // without T
};

struct BuiltOneOp {
  ir::Graph graph;
  std::vector<Tensor> feed;
};

// `spec` with every value rounded to `tested`, then stored as `t`.
inline BuiltOneOp BuildOneOp(const OneOp& spec, DType tested, DType t) {
  Builder b;
  BuiltOneOp out;
  std::vector<ir::ValueRef> inputs;
  for (size_t i = 0; i < spec.values.size(); ++i) {
    const Tensor value = Cast(Cast(spec.values[i], tested), t);
    const std::string name = "in" + std::to_string(i);
    if (spec.constant[i]) {
      inputs.push_back(b.Const(name, value));
      continue;
    }
    ir::AttrMap a;
    a.Set("dtype", t);
    a.Set("shape", PartialShape::Known(value.shape()));
    ir::Node* n = b.graph().AddNode(name, "Placeholder", {}, a, 1);
    b.graph().inputs().push_back({name, {n->id, 0}});
    inputs.push_back({n->id, 0});
    out.feed.push_back(value);
  }
  ir::AttrMap attrs = spec.attrs;
  attrs.Set("T", t);
  b.Output(b.Op("y", spec.op, inputs, attrs));
  EXPECT_TRUE(ir::InferShapes(b.graph()).ok());
  out.graph = std::move(b.graph());
  return out;
}

// Runs the op on the CPU in float32 and on the GPU in `dtype`, twice, and compares (absolute and
// relative tolerance `tol_fp32` in float32, 4e-3 in float16, 3e-2 in bfloat16).
inline void ExpectGpuMatchesCpu(const OneOp& spec, DType dtype, double tol_fp32 = 1e-5) {
  BuiltOneOp reference = BuildOneOp(spec, dtype, DType::kFloat32), on_gpu = BuildOneOp(spec, dtype, dtype);
  KILN_ASSERT_OK_AND_ASSIGN(auto cpu, runtime::Executor::Create(reference.graph));
  KILN_ASSERT_OK_AND_ASSIGN(auto gpu, runtime::Executor::Create(on_gpu.graph, {.device = Device::CUDA()}));
  KILN_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> want, cpu->Run(reference.feed));
  const double tol = dtype == DType::kFloat32 ? tol_fp32 : dtype == DType::kFloat16 ? 4e-3 : 3e-2;
  for (int run = 0; run < 2; ++run) {
    KILN_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> got, gpu->Run(on_gpu.feed));
    EXPECT_TRUE(TensorsNear(Cast(got[0], DType::kFloat32), want[0], tol, tol)) << spec.op << " run " << run;
  }
}

}  // namespace kiln::testing
