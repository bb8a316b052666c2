#pragma once
// What the GPU tests share.

#include "passes/pass_test_util.h"

namespace kiln::testing {

// `t` cast to `dtype` by the CPU kernel; an invalid tensor when the cast fails.
inline Tensor Cast(const Tensor& t, DType dtype) {
  auto cast = RunOp("Cast", {t}, Attrs({{"DstT", dtype}}));
  return cast.ok() ? (*cast)[0] : Tensor();
}

}  // namespace kiln::testing
