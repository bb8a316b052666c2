// kiln_onnx_conformance: runs the ONNX backend node tests (model.onnx + test_data_set_*/
// input_*.pb, output_*.pb under DIR/node/test_*) against kiln's runtime and reports, per ONNX
// op kiln claims (has a converter for), how many tests pass, fail (wrong answer) or are refused
// with a reason (the claim narrowed). Exits 1 when any claimed op's test gives a wrong answer.
#include <fmt/core.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "frontends/onnx/convert_context.h"
#include "frontends/onnx/onnx_model.h"
#include "frontends/onnx/onnx_tensor.h"
#include "io/npy.h"
#include "kiln/model.h"

namespace fs = std::filesystem;

namespace kiln::conformance {
namespace {

enum class Outcome { kPass, kFail, kRefused, kNotClaimed };

struct TestResult {
  std::string name;
  std::set<std::string> ops;  // op types in the test's graph
  Outcome outcome = Outcome::kPass;
  std::string detail;  // why it failed or was refused
  std::map<std::string, std::string> on_host;  // on a device: IR ops that stayed on the host, and why
};

StatusOr<Tensor> ReadTensorFile(const fs::path& path) {
  KILN_ASSIGN_OR_RETURN(std::string bytes, io::ReadFile(path.string()));
  onnxproto::TensorProto proto;
  if (!proto.ParseFromString(bytes)) return DataLoss("not a TensorProto: " + path.string());
  return onnx::TensorFromOnnx(proto, path.parent_path().string());
}

bool Close(double got, double want, double rtol, double atol) {
  if (std::isnan(want)) return std::isnan(got);
  if (std::isinf(want)) return got == want;
  return std::fabs(got - want) <= atol + rtol * std::fabs(want);
}

// Compares as the ONNX backend tests do (rtol 1e-3, atol 1e-7); integers and bools exactly.
std::string Compare(const Tensor& got, const Tensor& want, const std::string& name) {
  if (got.dtype() != want.dtype()) {
    return fmt::format("output '{}' has dtype {}, expected {}", name, DTypeName(got.dtype()), DTypeName(want.dtype()));
  }
  if (got.shape() != want.shape()) {
    return fmt::format("output '{}' has shape {}, expected {}", name, ShapeToString(got.shape()),
                       ShapeToString(want.shape()));
  }
  if (got.dtype() == DType::kString)
    return got.strings() == want.strings() ? "" : "string output '" + name + "' differs";
  const bool exact = !IsFloating(got.dtype());
  if (exact) {
    auto a = got.ToInt64Vector(), b = want.ToInt64Vector();
    if (!a.ok() || !b.ok()) return "cannot compare output '" + name + "'";
    for (size_t i = 0; i < a->size(); ++i) {
      if ((*a)[i] != (*b)[i]) return fmt::format("output '{}'[{}] is {}, expected {}", name, i, (*a)[i], (*b)[i]);
    }
    return "";
  }
  const std::vector<float> a = got.ToFloatVector(), b = want.ToFloatVector();
  // Reduced-precision outputs: kiln rounds every op's result to the dtype, where the reference
  // may keep float32 through a chain, so allow a few units in the last place (fp16 2^-10,
  // bf16 2^-7 relative).
  double rtol = 1e-3;
  if (got.dtype() == DType::kFloat16) rtol = 4.0 / 1024;
  if (got.dtype() == DType::kBFloat16) rtol = 4.0 / 256;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!Close(a[i], b[i], rtol, 1e-7)) return fmt::format("output '{}'[{}] is {}, expected {}", name, i, a[i], b[i]);
  }
  return "";
}

// One line of an error message: refusals are reported by their first line, without the file.
std::string Summarize(const Status& s) {
  std::string m = s.message();
  if (!s.node().empty()) m += " (node '" + s.node() + "')";
  return m.substr(0, 300);
}

TestResult RunTest(const fs::path& dir, const std::set<std::string>& claimed, Device device) {
  TestResult r;
  r.name = dir.filename().string();
  const fs::path model_path = dir / "model.onnx";
  auto proto = onnx::ReadModelProto(model_path.string());
  if (proto.ok()) {
    for (const auto& n : proto->graph().node()) {
      const bool default_domain = n.domain().empty() || n.domain() == "ai.onnx";
      r.ops.insert(default_domain ? n.op_type() : n.domain() + "." + n.op_type());
    }
  }
  for (const auto& op : r.ops) {
    if (!claimed.count(op)) {
      r.outcome = Outcome::kNotClaimed;
      r.detail = "uses " + op;
      return r;
    }
  }
  LoadOptions load;
  load.device = device;
  auto model = Model::Load(model_path.string(), load);
  if (!model.ok()) {
    r.outcome = Outcome::kRefused;
    r.detail = Summarize(model.status());
    return r;
  }
  for (const auto& n : (*model)->host_nodes()) r.on_host[n.op] = n.reason;
  const SignatureInfo& sig = (*model)->signature();
  for (int set = 0;; ++set) {
    const fs::path data = dir / ("test_data_set_" + std::to_string(set));
    if (!fs::exists(data)) break;
    std::map<std::string, Tensor> inputs;
    for (size_t i = 0; i < sig.inputs.size(); ++i) {
      const fs::path f = data / ("input_" + std::to_string(i) + ".pb");
      auto t = ReadTensorFile(f);
      if (!t.ok()) {
        r.outcome = Outcome::kRefused;
        r.detail = "input " + std::to_string(i) + ": " + Summarize(t.status());
        return r;
      }
      inputs[sig.inputs[i].name] = std::move(*t);
    }
    auto outputs = (*model)->Run(inputs);
    if (!outputs.ok()) {
      r.outcome = Outcome::kRefused;
      r.detail = Summarize(outputs.status());
      return r;
    }
    for (size_t i = 0; i < sig.outputs.size(); ++i) {
      auto want = ReadTensorFile(data / ("output_" + std::to_string(i) + ".pb"));
      if (!want.ok()) {
        r.outcome = Outcome::kRefused;
        r.detail = "expected output " + std::to_string(i) + ": " + Summarize(want.status());
        return r;
      }
      const std::string diff = Compare(outputs->at(sig.outputs[i].name), *want, sig.outputs[i].name);
      if (!diff.empty()) {
        r.outcome = Outcome::kFail;
        r.detail = diff;
        return r;
      }
    }
  }
  return r;
}

struct OpSummary {
  std::vector<const TestResult*> pass, fail, refused;
};

void WriteReport(std::ostream& out, const std::vector<TestResult>& results, const std::set<std::string>& claimed,
                 const std::string& source, Device device) {
  std::map<std::string, OpSummary> per_op;
  for (const auto& op : claimed) per_op[op];
  int pass = 0, fail = 0, refused = 0, not_claimed = 0;
  for (const auto& r : results) {
    if (r.outcome == Outcome::kNotClaimed) {
      ++not_claimed;
      continue;
    }
    (r.outcome == Outcome::kPass ? pass : r.outcome == Outcome::kFail ? fail : refused)++;
    for (const auto& op : r.ops) {
      auto& s = per_op[op];
      (r.outcome == Outcome::kPass ? s.pass : r.outcome == Outcome::kFail ? s.fail : s.refused).push_back(&r);
    }
  }
  char date[32];
  const std::time_t now = std::time(nullptr);
  std::strftime(date, sizeof date, "%Y-%m-%d", std::gmtime(&now));
  out << "# ONNX backend node tests on kiln" << (device.is_cpu() ? "" : " (" + device.ToString() + ")") << "\n\n";
  out << (device.is_cpu() ? "Written by `bash scripts/onnx_conformance.sh` (kiln_onnx_conformance)"
                           : "Written by `kiln_onnx_conformance --device cuda` (as `ctest -L gpu` runs it)")
      << " on " << date << ", from " << (source.empty() ? "the node tests in the data directory" : source)
      << ".\n\n";
  out << fmt::format(
      "{} tests: {} use only ops kiln claims ({} pass, {} fail, {} refused with a reason); {} use an "
      "op kiln does not claim.\n\n",
      results.size(), pass + fail + refused, pass, fail, refused, not_claimed);
  out << "A test counts for every op in its graph. *Refused* means kiln declined the model or input with a clear "
         "error instead of answering: the op's claim is narrowed to exclude that case, and the reason is listed.\n\n";
  out << "| op | tests | pass | fail | refused |\n|---|---:|---:|---:|---:|\n";
  for (const auto& [op, s] : per_op) {
    const size_t n = s.pass.size() + s.fail.size() + s.refused.size();
    out << fmt::format("| {} | {} | {} | {} | {} |\n", op, n, s.pass.size(), s.fail.size(), s.refused.size());
  }
  out << "\n## Wrong answers\n\n";
  if (fail == 0) out << "None.\n";
  for (const auto& r : results) {
    if (r.outcome == Outcome::kFail) out << "- `" << r.name << "`: " << r.detail << "\n";
  }
  if (!device.is_cpu()) {
    std::map<std::string, std::string> on_host;
    for (const auto& r : results) on_host.insert(r.on_host.begin(), r.on_host.end());
    out << "\n## Ops placed on the host on " << device.ToString() << "\n\n";
    if (on_host.empty()) out << "None.\n";
    for (const auto& [op, reason] : on_host) out << "- " << op << ": " << reason << "\n";
  }
  out << "\n## Narrowed claims (refused tests, by op)\n\n";
  for (const auto& [op, s] : per_op) {
    if (s.refused.empty()) continue;
    out << "### " << op << "\n\n";
    for (const TestResult* r : s.refused) out << "- `" << r->name << "`: " << r->detail << "\n";
    out << "\n";
  }
}

int Main(int argc, char** argv) {
  CLI::App app{"Runs the ONNX backend node tests against kiln and reports per op"};
  std::string data, report, filter = ".*";
  bool verbose = false;
  app.add_option("--data", data, "directory holding node/test_*/ (written by scripts/onnx_node_tests.py)")->required();
  app.add_option("--report", report, "write the per-op report (Markdown) here");
  app.add_option("--filter", filter, "only tests whose name matches this regex");
  app.add_flag("--verbose", verbose, "print every test's outcome");
  std::string device_name = "cpu";
  app.add_option("--device", device_name, "cpu, cuda or cuda:N: where the models run")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  const StatusOr<Device> device = ParseDevice(device_name);
  if (!device.ok()) {
    fmt::print(stderr, "error: {}\n", device.status().message());
    return 2;
  }
  if (Status usable = CheckDeviceUsable(*device); !usable.ok()) {
    fmt::print("skipped: {}\n", usable.message());
    return 77;  // ctest's SKIP_RETURN_CODE
  }

  const fs::path node_dir = fs::path(data) / "node";
  if (!fs::is_directory(node_dir)) {
    fmt::print(stderr, "error: {} is not a directory; generate it with scripts/onnx_node_tests.py\n",
               node_dir.string());
    return 2;
  }
  std::vector<fs::path> dirs;
  const std::regex re(filter);
  for (const auto& e : fs::directory_iterator(node_dir)) {
    if (e.is_directory() && std::regex_search(e.path().filename().string(), re)) dirs.push_back(e.path());
  }
  std::sort(dirs.begin(), dirs.end());
  const auto op_types = onnx::ConverterRegistry::Global().OpTypes();
  const std::set<std::string> claimed(op_types.begin(), op_types.end());

  std::vector<TestResult> results;
  int fails = 0;
  for (const auto& d : dirs) {
    results.push_back(RunTest(d, claimed, *device));
    const TestResult& r = results.back();
    if (r.outcome == Outcome::kFail) ++fails;
    static const char* kNames[] = {"PASS", "FAIL", "REFUSED", "NOT CLAIMED"};
    if (verbose || r.outcome == Outcome::kFail) {
      fmt::print("{:<8} {} {}\n", kNames[static_cast<int>(r.outcome)], r.name, r.detail);
    }
  }
  std::ostringstream text;
  std::string source;
  if (std::ifstream info(fs::path(data) / "info.txt"); info) std::getline(info, source);
  WriteReport(text, results, claimed, source, *device);
  if (!report.empty()) {
    std::ofstream(report) << text.str();
    fmt::print("report written to {}\n", report);
  }
  int pass = 0, refused = 0;
  for (const auto& r : results) {
    pass += r.outcome == Outcome::kPass;
    refused += r.outcome == Outcome::kRefused;
  }
  fmt::print("onnx node tests: {} passed, {} failed, {} refused, {} use unclaimed ops\n", pass, fails, refused,
             static_cast<int>(results.size()) - pass - fails - refused);
  return fails == 0 ? 0 : 1;
}

}  // namespace
}  // namespace kiln::conformance

int main(int argc, char** argv) { return kiln::conformance::Main(argc, argv); }
