#pragma once
// Reference helpers for the array and reduction op tests: multi-index arithmetic, element-exact
// gathers by flat index (any dtype, strings included) and running an op with and without
// constant inputs.

#include <cstring>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include "ir/op_registry.h"
#include "util/test_util.h"

namespace kiln::testing {

inline std::vector<int64_t> Unravel(int64_t flat, const Shape& shape) {
  std::vector<int64_t> idx(shape.size());
  for (int d = static_cast<int>(shape.size()) - 1; d >= 0; --d) {
    idx[d] = flat % shape[d];
    flat /= shape[d];
  }
  return idx;
}

inline int64_t Ravel(const std::vector<int64_t>& idx, const Shape& shape) {
  int64_t flat = 0;
  for (size_t d = 0; d < shape.size(); ++d) flat = flat * shape[d] + idx[d];
  return flat;
}

// A tensor of `shape` whose element i is in's element src[i], or zero / "" where src[i] < 0.
inline Tensor TakeFlat(const Tensor& in, const Shape& shape, const std::vector<int64_t>& src) {
  Tensor out(in.dtype(), shape);
  if (in.dtype() == DType::kString) {
    for (size_t i = 0; i < src.size(); ++i)
      if (src[i] >= 0) out.strings()[i] = in.strings()[src[i]];
    return out;
  }
  const size_t es = DTypeSize(in.dtype());
  for (size_t i = 0; i < src.size(); ++i) {
    if (src[i] < 0) continue;
    std::memcpy(static_cast<uint8_t*>(out.raw_data()) + i * es,
                static_cast<const uint8_t*>(in.raw_data()) + src[i] * es, es);
  }
  return out;
}

// Values as doubles (exact for int64 values below 2^53).
inline std::vector<double> ToDoubles(const Tensor& t) {
  std::vector<double> v;
  if (t.dtype() == DType::kInt64) {
    for (int64_t i = 0; i < t.num_elements(); ++i) v.push_back(static_cast<double>(t.data<int64_t>()[i]));
  } else if (t.dtype() == DType::kFloat64) {
    for (int64_t i = 0; i < t.num_elements(); ++i) v.push_back(t.data<double>()[i]);
  } else {
    for (float f : t.ToFloatVector()) v.push_back(f);
  }
  return v;
}

// A tensor of `dtype` from doubles (rounded to the dtype).
inline Tensor FromDoubles(DType dtype, const Shape& shape, const std::vector<double>& v) {
  Tensor t(dtype, shape);
  for (size_t i = 0; i < v.size(); ++i) {
    switch (dtype) {
      case DType::kFloat32:
        t.data<float>()[i] = static_cast<float>(v[i]);
        break;
      case DType::kFloat64:
        t.data<double>()[i] = v[i];
        break;
      case DType::kFloat16:
        t.data<Half>()[i] = FloatToHalf(static_cast<float>(v[i]));
        break;
      case DType::kBFloat16:
        t.data<BFloat16>()[i] = FloatToBFloat16(static_cast<float>(v[i]));
        break;
      case DType::kInt32:
        t.data<int32_t>()[i] = static_cast<int32_t>(v[i]);
        break;
      case DType::kInt64:
        t.data<int64_t>()[i] = static_cast<int64_t>(v[i]);
        break;
      case DType::kUInt8:
        t.data<uint8_t>()[i] = static_cast<uint8_t>(v[i]);
        break;
      case DType::kBool:
        t.data<bool>()[i] = v[i] != 0;
        break;
      default:
        break;
    }
  }
  return t;
}

// Like FromDoubles, but string tensors get "s<value>".
inline Tensor Values(DType dtype, const Shape& shape, const std::vector<double>& v) {
  if (dtype != DType::kString) return FromDoubles(dtype, shape, v);
  std::vector<std::string> s;
  for (double x : v) s.push_back("s" + std::to_string(static_cast<int64_t>(x)));
  return Tensor::Strings(shape, s);
}

// Random values of any dtype the data-movement ops take; strings are "s<n>".
inline Tensor RandomAny(DType dtype, const Shape& shape, uint64_t seed) {
  if (dtype == DType::kString) {
    Tensor r = RandomTensor(DType::kInt32, shape, seed, -1000, 1000);
    std::vector<std::string> s;
    for (int64_t i = 0; i < r.num_elements(); ++i) s.push_back("s" + std::to_string(r.data<int32_t>()[i]));
    return Tensor::Strings(shape, s);
  }
  const bool integral = !IsFloating(dtype);
  return RandomTensor(dtype, shape, seed, integral ? -100 : -4, integral ? 100 : 4);
}

inline Tensor I32(Shape shape, std::vector<int32_t> v) { return Tensor::FromVector<int32_t>(std::move(shape), v); }
inline Tensor I64(Shape shape, std::vector<int64_t> v) { return Tensor::FromVector<int64_t>(std::move(shape), v); }
inline Tensor I32s(std::vector<int32_t> v) {
  const int64_t n = static_cast<int64_t>(v.size());
  return I32({n}, std::move(v));
}
inline Tensor F32(Shape shape, std::vector<float> v) { return Tensor::FromVector<float>(std::move(shape), v); }

inline const std::vector<DType>& MovementDTypes() {
  static const std::vector<DType> k = {DType::kFloat32, DType::kFloat16, DType::kBFloat16,
                                       DType::kFloat64, DType::kInt32,   DType::kInt64,
                                       DType::kUInt8,   DType::kBool,    DType::kString};
  return k;
}

// Runs `op` with constant inputs and again with placeholder inputs (shape inference without
// values); both must succeed and match `expected` within the tolerances.
inline ::testing::AssertionResult OpMatches(const std::string& op, const std::vector<Tensor>& inputs,
                                            const ir::AttrMap& attrs, const std::vector<Tensor>& expected,
                                            double atol = 1e-5, double rtol = 1e-5) {
  for (bool placeholders : {false, true}) {
    auto r = RunOp(op, inputs, attrs, placeholders);
    if (!r.ok()) {
      return ::testing::AssertionFailure()
             << op << (placeholders ? " (placeholders)" : " (constants)") << " failed: " << r.status().ToString();
    }
    if (r->size() != expected.size()) {
      return ::testing::AssertionFailure() << op << " gave " << r->size() << " outputs, expected " << expected.size();
    }
    for (size_t i = 0; i < expected.size(); ++i) {
      auto near = TensorsNear((*r)[i], expected[i], atol, rtol);
      if (!near) {
        return ::testing::AssertionFailure() << op << (placeholders ? " (placeholders)" : " (constants)") << " output "
                                             << i << ": " << near.message();
      }
    }
  }
  return ::testing::AssertionSuccess();
}

// Runs `op` (constants, then placeholders) and expects an error whose message contains `needle`.
inline ::testing::AssertionResult OpFails(const std::string& op, const std::vector<Tensor>& inputs,
                                          const ir::AttrMap& attrs, const std::string& needle) {
  for (bool placeholders : {false, true}) {
    auto r = RunOp(op, inputs, attrs, placeholders);
    if (r.ok()) {
      return ::testing::AssertionFailure() << op << (placeholders ? " (placeholders)" : " (constants)")
                                           << " succeeded; expected an error containing '" << needle << "'";
    }
    if (r.status().message().find(needle) == std::string::npos) {
      return ::testing::AssertionFailure() << op << " error '" << r.status().ToString() << "' lacks '" << needle << "'";
    }
  }
  return ::testing::AssertionSuccess();
}

// One input of InferOp: a constant (its value visible to the shape function) or a placeholder of
// a partly known shape.
struct OpInput {
  DType dtype;
  PartialShape shape;
  std::optional<Tensor> value;
};
inline OpInput Const(Tensor t) { return {t.dtype(), PartialShape::Known(t.shape()), t}; }
inline OpInput Ph(DType dtype, PartialShape shape) { return {dtype, std::move(shape), std::nullopt}; }
inline PartialShape PS(std::vector<int64_t> dims) { return PartialShape::Known(std::move(dims)); }

// Runs only shape inference for one `op` node and returns its outputs' dtypes and shapes.
inline StatusOr<std::vector<ir::OutputInfo>> InferOp(const std::string& op, const std::vector<OpInput>& inputs,
                                                     ir::AttrMap attrs = {}) {
  const ir::OpDef* def = ir::OpRegistry::Global().Find(op);
  if (def == nullptr) return Unimplemented("op " + op + " is not registered");
  ir::Graph graph;
  std::vector<ir::ValueRef> refs;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const std::string name = "input_" + std::to_string(i);
    if (inputs[i].value) {
      refs.push_back({graph.AddConst(name, *inputs[i].value)->id, 0});
    } else {
      ir::AttrMap pa;
      pa.Set("dtype", inputs[i].dtype);
      pa.Set("shape", inputs[i].shape);
      refs.push_back({graph.AddNode(name, "Placeholder", {}, std::move(pa), 1)->id, 0});
    }
  }
  ir::Node n;
  n.op = op;
  n.attrs = std::move(attrs);
  KILN_RETURN_IF_ERROR(ir::OpRegistry::Global().ApplyDefaults(n));
  KILN_ASSIGN_OR_RETURN(int num_outputs, def->NumOutputs(n.attrs));
  ir::Node* node = graph.AddNode("op", op, refs, std::move(n.attrs), num_outputs);
  KILN_RETURN_IF_ERROR(ir::InferShapes(graph));
  return node->outputs;
}

// The inferred shape of output 0, or the error, as a string for compact expectations.
inline std::string InferredShape(const std::string& op, const std::vector<OpInput>& inputs, ir::AttrMap attrs = {}) {
  auto r = InferOp(op, inputs, std::move(attrs));
  if (!r.ok()) return "error: " + r.status().message();
  return (*r)[0].shape.ToString();
}

inline ir::AttrMap Attrs(std::initializer_list<std::pair<const char*, ir::AttrValue>> kv) {
  ir::AttrMap m;
  for (const auto& [k, v] : kv) m.Set(k, v);
  return m;
}

}  // namespace kiln::testing
