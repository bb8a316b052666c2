#pragma once
// Helpers for the elementwise kernel tests: tensors from double values, straightforward
// references (elementwise maps and numpy broadcasting), and running an op on inputs whose
// shapes the graph leaves unknown, so the kernel alone must validate them.

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "ir/op_registry.h"
#include "runtime/executor.h"
#include "util/test_util.h"

namespace kiln::testing {

// Each value converted to `dtype` (integers wrap, as C++20 conversions do; float16/bfloat16
// round to nearest even).
inline Tensor FromDoubles(DType dtype, Shape shape, const std::vector<double>& values) {
  Tensor t(dtype, std::move(shape));
  for (int64_t i = 0; i < t.num_elements(); ++i) {
    const double v = values[static_cast<size_t>(i)];
    auto as_int = [v]() -> int64_t {
      if (v >= 9223372036854775808.0) return static_cast<int64_t>(static_cast<uint64_t>(v));
      return static_cast<int64_t>(v);
    };
    switch (dtype) {
      case DType::kFloat32: t.data<float>()[i] = static_cast<float>(v); break;
      case DType::kFloat64: t.data<double>()[i] = v; break;
      case DType::kFloat16: t.data<Half>()[i] = FloatToHalf(static_cast<float>(v)); break;
      case DType::kBFloat16: t.data<BFloat16>()[i] = FloatToBFloat16(static_cast<float>(v)); break;
      case DType::kInt8: t.data<int8_t>()[i] = static_cast<int8_t>(as_int()); break;
      case DType::kUInt8: t.data<uint8_t>()[i] = static_cast<uint8_t>(as_int()); break;
      case DType::kInt16: t.data<int16_t>()[i] = static_cast<int16_t>(as_int()); break;
      case DType::kUInt16: t.data<uint16_t>()[i] = static_cast<uint16_t>(as_int()); break;
      case DType::kInt32: t.data<int32_t>()[i] = static_cast<int32_t>(as_int()); break;
      case DType::kInt64: t.data<int64_t>()[i] = as_int(); break;
      case DType::kUInt32: t.data<uint32_t>()[i] = static_cast<uint32_t>(as_int()); break;
      case DType::kUInt64: t.data<uint64_t>()[i] = static_cast<uint64_t>(as_int()); break;
      case DType::kBool: t.data<bool>()[i] = v != 0; break;
      default: break;
    }
  }
  return t;
}

// Values as doubles (float64 kept exact, unlike Tensor::ToFloatVector).
inline std::vector<double> ToDoubles(const Tensor& t) {
  if (t.dtype() == DType::kFloat64) return {t.data<double>(), t.data<double>() + t.num_elements()};
  if (t.dtype() == DType::kInt64) return {t.data<int64_t>(), t.data<int64_t>() + t.num_elements()};
  const std::vector<float> f = t.ToFloatVector();
  return {f.begin(), f.end()};
}

inline Tensor MapReference(const Tensor& x, DType out, const std::function<double(double)>& f) {
  std::vector<double> v = ToDoubles(x);
  for (double& e : v) e = f(e);
  return FromDoubles(out, x.shape(), v);
}

// numpy broadcasting of any number of inputs, index by index.
inline Tensor BroadcastReferenceN(const std::vector<Tensor>& inputs, DType out,
                                  const std::function<double(const std::vector<double>&)>& f) {
  size_t rank = 0;
  for (const Tensor& t : inputs) rank = std::max(rank, t.shape().size());
  std::vector<Shape> padded;
  std::vector<std::vector<double>> values;
  Shape shape(rank, 1);
  for (const Tensor& t : inputs) {
    Shape p(rank - t.shape().size(), 1);
    p.insert(p.end(), t.shape().begin(), t.shape().end());
    for (size_t d = 0; d < rank; ++d) {
      if (p[d] != 1) shape[d] = p[d];
    }
    padded.push_back(p);
    values.push_back(ToDoubles(t));
  }
  std::vector<double> result(static_cast<size_t>(NumElements(shape)));
  std::vector<double> args(inputs.size());
  for (size_t flat = 0; flat < result.size(); ++flat) {
    for (size_t i = 0; i < inputs.size(); ++i) {
      size_t rest = flat;
      int64_t index = 0, stride = 1;
      for (size_t d = rank; d-- > 0;) {
        const int64_t idx = static_cast<int64_t>(rest % static_cast<size_t>(shape[d]));
        rest /= static_cast<size_t>(shape[d]);
        index += (padded[i][d] == 1 ? 0 : idx) * stride;
        stride *= padded[i][d];
      }
      args[i] = values[i][static_cast<size_t>(index)];
    }
    result[flat] = f(args);
  }
  return FromDoubles(out, shape, result);
}

inline Tensor BroadcastReference(const Tensor& a, const Tensor& b, DType out,
                                 const std::function<double(double, double)>& f) {
  return BroadcastReferenceN({a, b}, out, [&f](const std::vector<double>& v) { return f(v[0], v[1]); });
}

// Like RunOp with placeholders, but the placeholders' shapes are unknown to shape inference.
inline StatusOr<std::vector<Tensor>> RunOpUnknownShapes(const std::string& op, const std::vector<Tensor>& inputs,
                                                        ir::AttrMap attrs = {}) {
  ir::Graph graph;
  std::vector<ir::ValueRef> refs;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const std::string name = "input_" + std::to_string(i);
    ir::AttrMap pa;
    pa.Set("dtype", inputs[i].dtype());
    pa.Set("shape", PartialShape::Unknown());
    ir::Node* p = graph.AddNode(name, "Placeholder", {}, std::move(pa), 1);
    graph.inputs().push_back({name, {p->id, 0}});
    refs.push_back({p->id, 0});
  }
  ir::Node node;
  node.op = op;
  node.attrs = std::move(attrs);
  KILN_RETURN_IF_ERROR(ir::OpRegistry::Global().ApplyDefaults(node));
  ir::Node* n = graph.AddNode("op", op, refs, std::move(node.attrs), 1);
  graph.outputs().push_back({"output_0", {n->id, 0}});
  KILN_RETURN_IF_ERROR(ir::InferShapes(graph));
  return RunGraph(graph, inputs);
}

// Exact for NaN, infinities and integers; |a-e| <= tol*(1+|e|) for other floats.
inline ::testing::AssertionResult ValuesAre(const Tensor& actual, const std::vector<double>& expected, double tol = 0) {
  const std::vector<double> a = ToDoubles(actual);
  if (a.size() != expected.size()) {
    return ::testing::AssertionFailure() << "got " << a.size() << " values, expected " << expected.size();
  }
  for (size_t i = 0; i < a.size(); ++i) {
    const double e = expected[i];
    const bool ok = std::isnan(e)   ? std::isnan(a[i])
                    : std::isinf(e) ? a[i] == e
                                    : std::fabs(a[i] - e) <= tol * (1 + std::fabs(e));
    if (!ok) return ::testing::AssertionFailure() << "[" << i << "] got " << a[i] << ", expected " << e;
  }
  return ::testing::AssertionSuccess();
}

inline ::testing::AssertionResult Int64sAre(const Tensor& actual, const std::vector<int64_t>& expected) {
  auto v = actual.ToInt64Vector();
  if (!v.ok()) return ::testing::AssertionFailure() << v.status().ToString();
  if (*v != expected) {
    std::string got;
    for (int64_t x : *v) got += std::to_string(x) + " ";
    return ::testing::AssertionFailure() << "got " << got;
  }
  return ::testing::AssertionSuccess();
}

// Whether `status` failed with a message containing `text`.
inline ::testing::AssertionResult FailsWith(const Status& status, const std::string& text) {
  if (status.ok()) return ::testing::AssertionFailure() << "succeeded, expected an error containing '" << text << "'";
  if (status.message().find(text) == std::string::npos) {
    return ::testing::AssertionFailure() << "error '" << status.ToString() << "' lacks '" << text << "'";
  }
  return ::testing::AssertionSuccess();
}

}  // namespace kiln::testing
