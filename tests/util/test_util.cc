#include "util/test_util.h"

#include <cmath>
#include <cstdlib>
#include <map>
#include <mutex>
#include <random>
#include <set>
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
      // Through int64: a negative value wraps into an unsigned type instead of overflowing the cast.
      p[i] = static_cast<T>(static_cast<int64_t>(std::floor(v)));
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
  return RunGraph(graph, feeds);
}

Device TestDevice() {
  static const Device device = [] {
    const char* v = std::getenv("KILN_TEST_DEVICE");
    if (v == nullptr || *v == 0) return Device::CPU();
    StatusOr<Device> d = ParseDevice(v);
    return d.ok() ? *d : Device::CPU();
  }();
  return device;
}

std::pair<double, double> DeviceTolerance(DType dtype) {
  switch (dtype) {
    case DType::kFloat16: return {1e-2, 1e-2};
    case DType::kBFloat16: return {5e-2, 2e-2};
    case DType::kFloat32: return {1e-4, 1e-4};
    case DType::kFloat64: return {1e-9, 1e-9};
    default: return {0, 0};
  }
}

namespace {

// What the device checks covered: ops compared on the device, and ops the device left on the host.
struct DeviceCoverage {
  std::mutex mu;
  std::map<std::string, int> compared;
  std::map<std::string, std::string> on_host;  // op -> reason
};
DeviceCoverage& Coverage() {
  static DeviceCoverage* c = new DeviceCoverage();
  return *c;
}

Status CheckOnDevice(const ir::Graph& graph, const std::vector<Tensor>& inputs, const std::vector<Tensor>& expected) {
  runtime::ExecutorOptions options;
  options.device = TestDevice();
  KILN_ASSIGN_OR_RETURN(auto executor, runtime::Executor::Create(graph, std::move(options)));
  std::string ops;
  bool fp8_products = false;
  {
    std::lock_guard<std::mutex> lock(Coverage().mu);
    for (int i = 0; i < graph.num_nodes(); ++i) {
      const ir::Node& n = graph.node(i);
      for (const ir::ValueRef& in : n.inputs) {
        fp8_products |= n.op == "KilnQuantizedMatMul" && graph.output_info(in).dtype == DType::kFloat8E4M3FN;
      }
      if (runtime::IsSourceOp(n.op)) continue;
      ops += (ops.empty() ? "" : ",") + n.op;
      if (executor->placement().OnDevice(i)) {
        ++Coverage().compared[n.op];
      } else if (!Coverage().compared.count(n.op)) {
        Coverage().on_host[n.op] = executor->placement().host_reasons.at(i);
      }
    }
  }
  auto got = executor->Run(inputs);
  if (!got.ok()) {
    Status s = got.status();
    return s.Prepend("on " + TestDevice().ToString() + " (the CPU succeeded)");
  }
  for (size_t i = 0; i < expected.size(); ++i) {
    auto [atol, rtol] = DeviceTolerance(expected[i].dtype());
    if (fp8_products) {  // FP8 tensor-core products sum in their own order and accumulator
      atol = std::max(atol, 2e-3);
      rtol = std::max(rtol, 2e-3);
    }
    ::testing::AssertionResult near = TensorsNear((*got)[i], expected[i], atol, rtol);
    if (!near) {
      return Internal(ops + " on " + TestDevice().ToString() + " differs from the CPU kernel in output " +
                      std::to_string(i) + ": " + near.message());
    }
  }
  return OkStatus();
}

class DeviceCheckEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    if (!TestDevice().is_cpu() && !CheckDeviceUsable(TestDevice()).ok()) {
      GTEST_SKIP() << "KILN_TEST_DEVICE=" << TestDevice().ToString()
                   << ": no CUDA GPU on this machine (or kiln built without CUDA): "
                   << CheckDeviceUsable(TestDevice()).message();
    }
  }
  void TearDown() override {
    if (TestDevice().is_cpu() || !CheckDeviceUsable(TestDevice()).ok()) return;
    DeviceCoverage& c = Coverage();
    std::printf("[device check] %zu op types compared on %s against the CPU kernels\n", c.compared.size(),
                TestDevice().ToString().c_str());
    for (const auto& [op, reason] : c.on_host) {
      if (!c.compared.count(op)) std::printf("[device check] %s stayed on the host: %s\n", op.c_str(), reason.c_str());
    }
    const char* cov = std::getenv("KILN_TEST_DEVICE_COVERAGE");
    if (cov == nullptr || std::string(cov) != "1") return;
    for (const std::string& op : runtime::KernelRegistry::Global().Ops(TestDevice().type)) {
      if (!c.compared.count(op)) ADD_FAILURE() << "the " << TestDevice().ToString() << " kernel of " << op
                                               << " was never compared with the CPU kernel by these tests";
    }
  }
};

[[maybe_unused]] ::testing::Environment* const kDeviceCheck =
    ::testing::AddGlobalTestEnvironment(new DeviceCheckEnvironment);

}  // namespace

StatusOr<std::vector<Tensor>> RunGraph(const ir::Graph& graph, const std::vector<Tensor>& inputs) {
  KILN_ASSIGN_OR_RETURN(auto executor, runtime::Executor::Create(graph));
  KILN_ASSIGN_OR_RETURN(std::vector<Tensor> outputs, executor->Run(inputs));
  if (!TestDevice().is_cpu()) KILN_RETURN_IF_ERROR(CheckOnDevice(graph, inputs, outputs));
  return outputs;
}

// The build's directories, unless the environment moves them (a test binary run on another machine).
std::string FixturePath(const std::string& name) {
  const char* dir = std::getenv("KILN_FIXTURE_DIR");
  return std::string(dir != nullptr && *dir ? dir : KILN_FIXTURE_DIR) + "/" + name;
}
std::string SourcePath(const std::string& relative) {
  const char* dir = std::getenv("KILN_SOURCE_DIR");
  return std::string(dir != nullptr && *dir ? dir : KILN_SOURCE_DIR) + "/" + relative;
}

}  // namespace kiln::testing
