#pragma once
// Helpers shared by kiln's tests: random tensors, tolerant comparison, running one op.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ir/attr.h"
#include "kiln/status.h"
#include "kiln/tensor.h"

namespace kiln::testing {

// Uniform random values in [lo, hi) (integers: [lo, hi) rounded down), converted to `dtype`.
Tensor RandomTensor(DType dtype, Shape shape, uint64_t seed, double lo = -1.0, double hi = 1.0);

// Checks dtype and shape equality, then |a-b| <= atol + rtol*|b| element-wise (exact for
// integer, bool and string tensors). Reports the first few mismatches with their indices.
::testing::AssertionResult TensorsNear(const Tensor& actual, const Tensor& expected, double atol = 1e-5,
                                       double rtol = 1e-5);

// Runs a single op on the CPU executor. Inputs become Const nodes (so shape functions see their
// values) unless `as_placeholders`; attrs get the op's defaults; shapes are inferred first.
StatusOr<std::vector<Tensor>> RunOp(const std::string& op, const std::vector<Tensor>& inputs,
                                    ir::AttrMap attrs = {}, bool as_placeholders = false);

// <build>/fixtures/<name>
std::string FixturePath(const std::string& name);
// <source>/<relative>
std::string SourcePath(const std::string& relative);

}  // namespace kiln::testing

#define KILN_ASSERT_OK(expr)                                   \
  do {                                                         \
    const ::kiln::Status kiln_s_ = (expr);                     \
    ASSERT_TRUE(kiln_s_.ok()) << kiln_s_.ToString();           \
  } while (0)

#define KILN_ASSERT_OK_AND_ASSIGN(lhs, expr)                                       \
  auto KILN_CONCAT(kiln_sor_, __LINE__) = (expr);                                  \
  ASSERT_TRUE(KILN_CONCAT(kiln_sor_, __LINE__).ok())                               \
      << KILN_CONCAT(kiln_sor_, __LINE__).status().ToString();                     \
  lhs = std::move(KILN_CONCAT(kiln_sor_, __LINE__)).value()
