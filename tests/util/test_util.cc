#include "util/test_util.h"

#include <cmath>
#include <random>
#include <sstream>

#include "ir/op_registry.h"
#include "runtime/executor.h"

namespace kiln::testing {

namespace {
template <typename T>
void FillRandom(Tensor& t, std::mt19937_64& rng, double lo, double hi) {
  std::uniform_real_distribution<double> dist(lo, hi);
  T* p = t.data<T>();
  for (int64_t i = 0; i < t.num_elements(); ++i) {
    const double v = dist(rng);
    if constexpr (std::is_same_v<T, Half>) {
      p[i] = FloatToHalf(static_cast<float>(v));
    } else if constexpr (std::is_same_v<T, BFloat16>) {
      p[i] = FloatToBFloat16(static_cast<float>(v));
    } else if constexpr (std::is_same_v<T, bool>) {
      p[i] = v > (lo + hi) / 2;
    } else if constexpr (std::is_integral_v<T>) {
      p[i] = static_cast<T>(std::floor(v));
    } else {
      p[i] = static_cast<T>(v);
    }
  }
}
}  // namespace

Tensor RandomTensor(DType dtype, Shape shape, uint64_t seed, double lo, double hi) {
  Tensor t(dtype, std::move(shape));
  std::mt19937_64 rng(seed);
  switch (dtype) {
    case DType::kFloat32: FillRandom<float>(t, rng, lo, hi); break;
    case DType::kFloat64: FillRandom<double>(t, rng, lo, hi); break;
    case DType::kFloat16: FillRandom<Half>(t, rng, lo, hi); break;
    case DType::kBFloat16: FillRandom<BFloat16>(t, rng, lo, hi); break;
    case DType::kInt8: FillRandom<int8_t>(t, rng, lo, hi); break;
    case DType::kUInt8: FillRandom<uint8_t>(t, rng, lo, hi); break;
    case DType::kInt16: FillRandom<int16_t>(t, rng, lo, hi); break;
    case DType::kInt32: FillRandom<int32_t>(t, rng, lo, hi); break;
    case DType::kInt64: FillRandom<int64_t>(t, rng, lo, hi); break;
    case DType::kBool: FillRandom<bool>(t, rng, lo, hi); break;
    default: break;
  }
  return t;
}

::testing::AssertionResult TensorsNear(const Tensor& actual, const Tensor& expected, double atol, double rtol) {
  if (actual.dtype() != expected.dtype() || actual.shape() != expected.shape()) {
    return ::testing::AssertionFailure() << "got " << actual.DebugString() << ", expected " << expected.DebugString();
  }
  if (actual.dtype() == DType::kString) {
    if (actual.strings() == expected.strings()) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "string tensors differ";
  }
  const bool exact = !IsFloating(actual.dtype());
  const std::vector<float> a = actual.ToFloatVector();
  const std::vector<float> b = expected.ToFloatVector();
  std::ostringstream bad;
  int mismatches = 0;
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double diff = std::fabs(static_cast<double>(a[i]) - b[i]);
    const bool both_nan = std::isnan(a[i]) && std::isnan(b[i]);
    const bool ok = both_nan || a[i] == b[i] || (!exact && diff <= atol + rtol * std::fabs(b[i]));
    if (!ok) {
      worst = std::max(worst, diff);
      if (mismatches++ < 5) bad << "\n  [" << i << "] got " << a[i] << ", expected " << b[i];
    }
  }
  if (mismatches == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << mismatches << " of " << a.size() << " elements differ (max abs diff "
                                       << worst << ", atol " << atol << ", rtol " << rtol << "):" << bad.str();
}

StatusOr<std::vector<Tensor>> RunOp(const std::string& op, const std::vector<Tensor>& inputs, ir::AttrMap attrs,
                                    bool as_placeholders) {
  const ir::OpDef* def = ir::OpRegistry::Global().Find(op);
  if (def == nullptr) return Unimplemented("op " + op + " is not registered");
  ir::Graph graph;
  std::vector<ir::ValueRef> refs;
  std::vector<Tensor> feeds;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const std::string name = "input_" + std::to_string(i);
    if (as_placeholders) {
      ir::AttrMap pa;
      pa.Set("dtype", inputs[i].dtype());
      pa.Set("shape", PartialShape::Known(inputs[i].shape()));
      ir::Node* p = graph.AddNode(name, "Placeholder", {}, std::move(pa), 1);
      graph.inputs().push_back({name, {p->id, 0}});
      feeds.push_back(inputs[i]);
      refs.push_back({p->id, 0});
    } else {
      refs.push_back({graph.AddConst(name, inputs[i])->id, 0});
    }
  }
  ir::Node with_defaults;
  with_defaults.op = op;
  with_defaults.attrs = std::move(attrs);
  KILN_RETURN_IF_ERROR(ir::OpRegistry::Global().ApplyDefaults(with_defaults));
  KILN_ASSIGN_OR_RETURN(int num_outputs, def->NumOutputs(with_defaults.attrs));
  ir::Node* n = graph.AddNode("op", op, refs, std::move(with_defaults.attrs), num_outputs);
  for (int i = 0; i < num_outputs; ++i) graph.outputs().push_back({"output_" + std::to_string(i), {n->id, i}});
  KILN_RETURN_IF_ERROR(ir::InferShapes(graph));
  KILN_ASSIGN_OR_RETURN(auto executor, runtime::Executor::Create(graph));
  return executor->Run(feeds);
}

std::string FixturePath(const std::string& name) { return std::string(KILN_FIXTURE_DIR) + "/" + name; }
std::string SourcePath(const std::string& relative) { return std::string(KILN_SOURCE_DIR) + "/" + relative; }

}  // namespace kiln::testing
