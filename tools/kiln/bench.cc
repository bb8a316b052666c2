// `kiln bench`: median latency and throughput of a signature at given batch sizes, on samples
// from .npy files or on synthesized inputs whose unknown dims are the batch (dim 0) or named
// with --dim (ONNX symbolic dims). With --soak N, a memory soak instead: N runs per batch size,
// with the process's resident memory (and device memory in use) sampled as they go.
#include <algorithm>
#include <functional>
#include <chrono>
#include <cstring>
#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>
#include <unistd.h>

#include "cli_util.h"
#include "commands.h"
#include "cuda/cuda_api.h"
#include "io/npy.h"
#include "kernels/cpu/kernel_util.h"

namespace kiln::cli {
namespace {

struct BenchOptions {
  std::string dir;
  std::string tag_set = "serve";
  std::string signature_def = "serving_default";
  std::vector<std::string> inputs;  // NAME=file.npy holding samples along axis 0
  std::vector<std::string> dims;    // SYMBOL=N for symbolic dims of synthesized inputs
  int64_t int_high = 2;             // synthesized integer inputs take values in [0, int_high)
  std::string batches = "1,64";
  int iters = 200;
  int warmup = 20;
  std::string json;
  std::string device = "cpu";
  bool allow_tf32 = false;
  bool profile = false;
  int64_t soak = 0;  // runs of a memory soak; 0: time the runs instead
};

// The first `batch` samples of `samples`, repeating them when there are fewer.
Tensor TakeBatch(const Tensor& samples, int64_t batch) {
  Shape shape = samples.shape();
  const int64_t n = shape[0];
  shape[0] = batch;
  Tensor out(samples.dtype(), shape);
  const size_t row = samples.byte_size() / static_cast<size_t>(n);
  for (int64_t i = 0; i < batch; ++i) {
    std::memcpy(static_cast<char*>(out.raw_data()) + i * row,
                static_cast<const char*>(samples.raw_data()) + (i % n) * row, row);
  }
  return out;
}

std::string CpuName() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  }
  return "unknown CPU";
}

StatusOr<std::map<std::string, int64_t>> ParseDims(const std::vector<std::string>& pairs) {
  std::map<std::string, int64_t> dims;
  for (const auto& pair : pairs) {
    const size_t eq = pair.find('=');
    int64_t value = -1;
    try {
      if (eq != std::string::npos) value = std::stoll(pair.substr(eq + 1));
    } catch (const std::exception&) {
    }
    if (eq == std::string::npos || eq == 0 || value < 0) {
      return InvalidArgument("--dim '" + pair + "' is not of the form SYMBOL=N");
    }
    dims[pair.substr(0, eq)] = value;
  }
  return dims;
}

// Inputs of the signature's shapes: dim 0 is the batch when unknown, other unknown dims take
// their symbolic name's --dim value. Floats are uniform in [-1, 1), integers in [0, int_high).
StatusOr<std::map<std::string, Tensor>> SynthesizeInputs(const SignatureInfo& sig, int64_t batch,
                                                         const std::map<std::string, int64_t>& dims, int64_t int_high) {
  std::map<std::string, Tensor> feed;
  std::mt19937_64 rng(42);
  for (const auto& spec : sig.inputs) {
    if (!spec.shape.rank_known)
      return InvalidArgument("input '" + spec.name + "' has unknown rank: give it with --input");
    Shape shape;
    for (size_t d = 0; d < spec.shape.dims.size(); ++d) {
      int64_t v = spec.shape.dims[d];
      const std::string sym = d < spec.dim_names.size() ? spec.dim_names[d] : "";
      if (v < 0 && !sym.empty() && dims.count(sym)) v = dims.at(sym);
      if (v < 0 && d == 0) v = batch;
      if (v < 0) {
        return InvalidArgument("dim " + std::to_string(d) + (sym.empty() ? "" : " ('" + sym + "')") + " of input '" +
                               spec.name + "' has no value: give it with --dim " + (sym.empty() ? "SYMBOL" : sym) +
                               "=N or pass the input with --input");
      }
      shape.push_back(v);
    }
    Tensor t(DType::kFloat32, shape);
    std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
    for (int64_t i = 0; i < t.num_elements(); ++i) t.data<float>()[i] = uniform(rng);
    if (IsInteger(spec.dtype) || spec.dtype == DType::kBool) {
      Tensor ints(DType::kInt64, shape);
      std::uniform_int_distribution<int64_t> pick(0, std::max<int64_t>(int_high, 1) - 1);
      for (int64_t i = 0; i < ints.num_elements(); ++i) ints.data<int64_t>()[i] = pick(rng);
      t = std::move(ints);
    }
    KILN_ASSIGN_OR_RETURN(feed[spec.name], kernels::cpu::CastTensor(t, spec.dtype));
  }
  return feed;
}

// Step times of one configuration, in milliseconds.
struct Timing {
  double mean = 0, median = 0, p90 = 0, p99 = 0;
  int64_t peak_bytes = -1;  // device memory, when the model runs on a GPU
};

Timing Summarize(std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  Timing t;
  for (double v : ms) t.mean += v / static_cast<double>(ms.size());
  auto at = [&](double q) { return ms[std::min(ms.size() - 1, static_cast<size_t>(q * static_cast<double>(ms.size())))]; };
  t.median = at(0.5);
  t.p90 = at(0.9);
  t.p99 = at(0.99);
  return t;
}

// Runs `step` warmup + iters times and times each run on the host clock. A GPU run returns only
// once its work is done (kiln waits for its own stream), so the times cover the device's work.
Timing TimeSteps(const BenchOptions& o, Device device, const std::function<void()>& step) {
  for (int i = 0; i < o.warmup; ++i) step();
  if (device.is_cuda()) {
    const Status s = ResetPeakDeviceMemory(device);
    if (!s.ok()) Die(s);
  }
  std::vector<double> ms;
  for (int i = 0; i < o.iters; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    step();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  Timing t = Summarize(std::move(ms));
  if (device.is_cuda()) t.peak_bytes = OrDie(GetDeviceMemoryStats(device)).peak_bytes;
  return t;
}

// Resident memory of this process (/proc/self/statm), in bytes.
int64_t ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  int64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * static_cast<int64_t>(sysconf(_SC_PAGE_SIZE));
}

// One point of a soak: after `runs` runs, the resident and device memory, and the mean time of the
// runs since the previous point.
struct SoakPoint {
  int64_t runs = 0;
  double ms = 0;
  int64_t resident_bytes = 0;
  int64_t device_bytes = -1;  // in use by kiln on the GPU, when the model runs on one
};

// Runs `step` warmup + o.soak times, taking 20 points. Memory is flat when the last point holds
// what the first one after warm-up (10% of the runs) did.
std::vector<SoakPoint> Soak(const BenchOptions& o, Device device, const std::function<void()>& step) {
  for (int i = 0; i < o.warmup; ++i) step();
  std::vector<SoakPoint> points;
  const int64_t every = std::max<int64_t>(1, o.soak / 20);
  auto t0 = std::chrono::steady_clock::now();
  for (int64_t run = 1; run <= o.soak; ++run) {
    step();
    if (run % every != 0 && run != o.soak) continue;
    const auto now = std::chrono::steady_clock::now();
    SoakPoint p;
    p.runs = run;
    p.ms = std::chrono::duration<double, std::milli>(now - t0).count() /
           static_cast<double>(run - (points.empty() ? 0 : points.back().runs));
    p.resident_bytes = ResidentBytes();
    if (device.is_cuda()) p.device_bytes = OrDie(GetDeviceMemoryStats(device)).in_use_bytes;
    points.push_back(p);
    t0 = std::chrono::steady_clock::now();
  }
  return points;
}

// Prints a soak's points and its verdict; returns them as JSON.
nlohmann::json ReportSoak(int64_t batch, const std::string& mode, const std::vector<SoakPoint>& points) {
  const auto mib = [](int64_t b) { return static_cast<double>(b) / 1048576.0; };
  fmt::print("soak at batch {} ({}):\n{:>10} {:>10} {:>14} {:>14}\n", batch, mode, "runs", "ms/run",
             "resident MiB", "device MiB");
  nlohmann::json samples = nlohmann::json::array();
  for (const SoakPoint& p : points) {
    fmt::print("{:>10} {:>10.4f} {:>14.1f} {:>14}\n", p.runs, p.ms, mib(p.resident_bytes),
               p.device_bytes < 0 ? "-" : fmt::format("{:.1f}", mib(p.device_bytes)));
    nlohmann::json j = {{"runs", p.runs}, {"ms_per_run", p.ms}, {"resident_bytes", p.resident_bytes}};
    if (p.device_bytes >= 0) j["device_in_use_bytes"] = p.device_bytes;
    samples.push_back(j);
  }
  const SoakPoint& first = points[std::min<size_t>(1, points.size() - 1)];  // 10% of the runs: warmed up
  const SoakPoint& last = points.back();
  const int64_t grown = last.resident_bytes - first.resident_bytes;
  const int64_t device_grown = last.device_bytes - first.device_bytes;
  const double per_run =
      static_cast<double>(grown) / static_cast<double>(std::max<int64_t>(1, last.runs - first.runs));
  fmt::print("resident memory from run {} to run {}: {:+.2f} MiB ({:+.1f} bytes a run){}\n", first.runs, last.runs,
             mib(grown), per_run,
             last.device_bytes < 0 ? "" : fmt::format("; device memory in use {:+.2f} MiB", mib(device_grown)));
  nlohmann::json r = {{"batch", batch},          {"inputs", mode},           {"soak_runs", last.runs},
                      {"resident_growth_bytes", grown}, {"from_run", first.runs}, {"samples", samples}};
  if (last.device_bytes >= 0) r["device_growth_bytes"] = device_grown;
  return r;
}

void RunBench(const BenchOptions& o) {
  const Device device = OrDie(ParseDevice(o.device));
  LoadOptions load{SplitComma(o.tag_set), o.signature_def};
  load.device = device;
  load.allow_tf32 = o.allow_tf32;
  auto model = OrDie(Model::Load(o.dir, load));
  const auto samples = OrDie(ReadInputs(o.inputs, {}));
  for (const auto& [name, t] : samples) {
    if (t.rank() < 1 || t.dim(0) < 1)
      Die(InvalidArgument("--input " + name + " needs at least one sample along axis 0"));
  }
  const auto dims = OrDie(ParseDims(o.dims));
  const std::string device_name = device.is_cpu() ? CpuName() : OrDie(cuda::DeviceDescription(device.index));
  fmt::print("device: {}{}\n", device_name,
             device.is_cpu() ? "" : fmt::format(" ({}; TF32 {})", cuda::LibraryVersions(), o.allow_tf32 ? "on" : "off"));
  for (const auto& n : model->host_nodes()) fmt::print("on the host: {} ({}): {}\n", n.name, n.op, n.reason);

  nlohmann::json results = nlohmann::json::array();
  if (o.soak == 0) {
    fmt::print("{:>8} {:>12} {:>11} {:>11} {:>11} {:>11} {:>14} {:>10}\n", "batch", "inputs", "mean ms", "median ms",
               "p90 ms", "p99 ms", "samples/s", "peak MiB");
  }
  for (const auto& b : SplitComma(o.batches)) {
    const int64_t batch = std::stoll(b);
    std::map<std::string, Tensor> feed;
    if (samples.empty()) {
      feed = OrDie(SynthesizeInputs(model->signature(), batch, dims, o.int_high));
    } else {
      for (const auto& [name, t] : samples) feed[name] = TakeBatch(t, batch);
    }
    // On a GPU: once with inputs and outputs staying on the device (no copies timed), once with
    // the host-to-device and device-to-host copies included.
    std::vector<std::pair<std::string, std::function<void()>>> modes;
    std::map<std::string, Tensor> on_device;
    if (device.is_cuda()) {
      for (const auto& [name, t] : feed) on_device[name] = OrDie(CopyTensor(t, device));
      RunOptions stay;
      stay.outputs_on_device = true;
      modes.push_back({"on device", [&, stay] { OrDie(model->Run(on_device, stay)); }});
    }
    modes.push_back({device.is_cuda() ? "host copies" : "host", [&] { OrDie(model->Run(feed)); }});
    if (o.profile) {
      std::map<std::string, double> times;
      RunOptions profiled;
      profiled.op_times = &times;
      for (int i = 0; i < 3; ++i) OrDie(model->Run(feed, profiled));  // the first runs pick algorithms
      times.clear();
      OrDie(model->Run(feed, profiled));
      // Ops inside engines ("in engines: Op") are also counted in their KilnEngineOp's time.
      std::vector<std::pair<double, std::string>> sorted, inside;
      double total = 0, engines = 0;
      for (const auto& [op, ms] : times) {
        const bool in_engine = op.rfind("in engines: ", 0) == 0;
        (in_engine ? inside : sorted).push_back({ms, op});
        (in_engine ? engines : total) += ms;
      }
      std::sort(sorted.rbegin(), sorted.rend());
      std::sort(inside.rbegin(), inside.rend());
      fmt::print("profile of one run at batch {} (each op waited for): {:.3f} ms\n", batch, total);
      for (const auto& [ms, op] : sorted) fmt::print("  {:<40} {:>9.3f} ms {:>5.1f}%\n", op, ms, 100 * ms / total);
      if (!inside.empty()) fmt::print("inside engines, op by op: {:.3f} ms\n", engines);
      for (const auto& [ms, op] : inside) fmt::print("  {:<40} {:>9.3f} ms {:>5.1f}%\n", op, ms, 100 * ms / total);
    }
    for (const auto& [mode, step] : modes) {
      if (o.soak > 0) {
        results.push_back(ReportSoak(batch, mode, Soak(o, device, step)));
        continue;
      }
      const Timing t = TimeSteps(o, device, step);
      const double throughput = 1000.0 * static_cast<double>(batch) / t.median;
      const std::string peak = t.peak_bytes < 0 ? "-" : fmt::format("{:.1f}", t.peak_bytes / 1048576.0);
      fmt::print("{:>8} {:>12} {:>11.4f} {:>11.4f} {:>11.4f} {:>11.4f} {:>14.0f} {:>10}\n", batch, mode, t.mean,
                 t.median, t.p90, t.p99, throughput, peak);
      nlohmann::json r = {{"batch", batch},     {"inputs", mode},      {"mean_ms", t.mean},
                          {"median_ms", t.median}, {"p50_ms", t.median}, {"p90_ms", t.p90},
                          {"p99_ms", t.p99},     {"samples_per_s", throughput}};
      if (t.peak_bytes >= 0) r["peak_device_bytes"] = t.peak_bytes;
      results.push_back(r);
    }
  }
  if (!o.json.empty()) {
    char date[32];
    const std::time_t now = std::time(nullptr);
    std::strftime(date, sizeof date, "%Y-%m-%d", std::gmtime(&now));
    nlohmann::json doc = {{"runner", device.is_cpu() ? "kiln (CPU runtime)" : "kiln (CUDA runtime)"},
                          {"model", o.dir},
                          {"device", device_name},
                          {"date", date},
                          {"iters", o.soak > 0 ? o.soak : o.iters},
                          {"warmup", o.warmup},
                          {"results", results}};
    if (device.is_cpu()) {
      doc["threads"] = std::thread::hardware_concurrency();
    } else {
      doc["libraries"] = cuda::LibraryVersions();
      doc["tf32"] = o.allow_tf32;
    }
    std::ofstream(o.json) << doc.dump(2) << "\n";
    fmt::print("wrote {}\n", o.json);
  }
}

}  // namespace

void AddBenchCommand(CLI::App& app) {
  auto opts = std::make_shared<BenchOptions>();
  CLI::App* cmd = app.add_subcommand("bench", "Time a SavedModel signature or an ONNX model at several batch sizes");
  cmd->add_option("--dir,--model", opts->dir, "SavedModel directory or .onnx file")->required();
  cmd->add_option("--tag_set", opts->tag_set, "comma-separated tag set")->capture_default_str();
  cmd->add_option("--signature_def", opts->signature_def, "signature key")->capture_default_str();
  cmd->add_option("--input", opts->inputs,
                  "NAME=samples.npy (repeatable); batches are cut from (or tiled over) axis 0. Without --input, "
                  "inputs are synthesized");
  cmd->add_option("--dim", opts->dims, "SYMBOL=N: a symbolic dim's value for synthesized inputs (repeatable)");
  cmd->add_option("--int-high", opts->int_high, "synthesized integer inputs lie in [0, N)")->capture_default_str();
  cmd->add_option("--batch", opts->batches, "comma-separated batch sizes")->capture_default_str();
  cmd->add_option("--iters", opts->iters, "timed runs per batch size")->capture_default_str();
  cmd->add_option("--warmup", opts->warmup, "untimed runs per batch size")->capture_default_str();
  cmd->add_option("--json", opts->json, "also write the results to this JSON file");
  cmd->add_option("--device", opts->device, "cpu, cuda or cuda:N")->capture_default_str();
  cmd->add_flag("--allow-tf32", opts->allow_tf32, "let FP32 matrix products and convolutions on the GPU use TF32");
  cmd->add_flag("--profile", opts->profile, "also print where one run's time goes, by op type");
  cmd->add_option("--soak", opts->soak,
                  "a memory soak instead of timing: N runs per batch size, printing resident (and device) memory "
                  "every N/20 runs and its growth after the first tenth")
      ->check(CLI::NonNegativeNumber);
  cmd->callback([opts] { RunBench(*opts); });
}

}  // namespace kiln::cli
