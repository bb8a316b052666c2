#pragma once
// Helpers shared by kiln's tests: random tensors, tolerant comparison, running one op.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ir/attr.h"
#include "ir/graph.h"
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
// Goes through RunGraph, so under KILN_TEST_DEVICE every op test also checks the device.
StatusOr<std::vector<Tensor>> RunOp(const std::string& op, const std::vector<Tensor>& inputs,
                                    ir::AttrMap attrs = {}, bool as_placeholders = false);

// Runs `graph` (shapes inferred) on the CPU executor and returns its outputs. When the environment
// names a device to test (KILN_TEST_DEVICE=cuda), the graph also runs there on the same inputs, and
// any difference from the CPU's answers beyond DeviceTolerance, or a device failure where the CPU
// succeeded, is returned as an error naming the op: every test written against the CPU kernels
// checks the device kernels too, with no test code of their own.
StatusOr<std::vector<Tensor>> RunGraph(const ir::Graph& graph, const std::vector<Tensor>& inputs);

// The device that tests check besides the CPU (KILN_TEST_DEVICE: "cuda", "cuda:N"), or the CPU.
Device TestDevice();
// How far a device's answer may stray from the CPU kernel's: {atol, rtol} by dtype.
std::pair<double, double> DeviceTolerance(DType dtype);

// <build>/fixtures/<name> ($KILN_FIXTURE_DIR/<name> when set)
std::string FixturePath(const std::string& name);
// <source>/<relative> ($KILN_SOURCE_DIR/<relative> when set)
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
