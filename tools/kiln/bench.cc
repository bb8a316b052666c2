// `kiln bench`: median latency and throughput of a signature at given batch sizes.
#include <algorithm>
#include <chrono>
#include <cstring>
#include <ctime>
#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli_util.h"
#include "commands.h"
#include "io/npy.h"

namespace kiln::cli {
namespace {

struct BenchOptions {
  std::string dir;
  std::string tag_set = "serve";
  std::string signature_def = "serving_default";
  std::string input;  // NAME=file.npy holding samples along axis 0
  std::string batches = "1,64";
  int iters = 200;
  int warmup = 20;
  std::string json;
};

// The first `batch` samples of `samples`, repeating them when there are fewer.
Tensor TakeBatch(const Tensor& samples, int64_t batch) {
  Shape shape = samples.shape();
  const int64_t n = shape[0];
  shape[0] = batch;
  Tensor out(samples.dtype(), shape);
  const size_t row = samples.byte_size() / static_cast<size_t>(n);
  for (int64_t i = 0; i < batch; ++i) {
    std::memcpy(static_cast<char*>(out.raw_data()) + i * row, static_cast<const char*>(samples.raw_data()) + (i % n) * row, row);
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

void RunBench(const BenchOptions& o) {
  auto model = OrDie(Model::Load(o.dir, LoadOptions{SplitComma(o.tag_set), o.signature_def}));
  auto inputs = OrDie(ReadInputs({o.input}, {}));
  const auto& [name, samples] = *inputs.begin();
  if (samples.rank() < 1 || samples.dim(0) < 1) Die(InvalidArgument("--input needs at least one sample along axis 0"));

  nlohmann::json results = nlohmann::json::array();
  fmt::print("{:>8} {:>14} {:>14} {:>16}\n", "batch", "median ms", "p90 ms", "samples/s");
  for (const auto& b : SplitComma(o.batches)) {
    const int64_t batch = std::stoll(b);
    std::map<std::string, Tensor> feed{{name, TakeBatch(samples, batch)}};
    for (int i = 0; i < o.warmup; ++i) OrDie(model->Run(feed));
    std::vector<double> ms;
    for (int i = 0; i < o.iters; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      OrDie(model->Run(feed));
      ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(ms.begin(), ms.end());
    const double median = ms[ms.size() / 2], p90 = ms[ms.size() * 9 / 10];
    const double throughput = 1000.0 * static_cast<double>(batch) / median;
    fmt::print("{:>8} {:>14.4f} {:>14.4f} {:>16.0f}\n", batch, median, p90, throughput);
    results.push_back({{"batch", batch}, {"median_ms", median}, {"p90_ms", p90}, {"samples_per_s", throughput}});
  }
  if (!o.json.empty()) {
    char date[32];
    const std::time_t now = std::time(nullptr);
    std::strftime(date, sizeof date, "%Y-%m-%d", std::gmtime(&now));
    nlohmann::json doc = {{"runner", "kiln (CPU runtime)"},
                          {"model", o.dir},
                          {"device", CpuName()},
                          {"threads", std::thread::hardware_concurrency()},
                          {"date", date},
                          {"iters", o.iters},
                          {"results", results}};
    std::ofstream(o.json) << doc.dump(2) << "\n";
    fmt::print("wrote {}\n", o.json);
  }
}

}  // namespace

void AddBenchCommand(CLI::App& app) {
  auto opts = std::make_shared<BenchOptions>();
  CLI::App* cmd = app.add_subcommand("bench", "Time a SavedModel signature at several batch sizes");
  cmd->add_option("--dir,--model", opts->dir, "SavedModel directory or .onnx file")->required();
  cmd->add_option("--tag_set", opts->tag_set, "comma-separated tag set")->capture_default_str();
  cmd->add_option("--signature_def", opts->signature_def, "signature key")->capture_default_str();
  cmd->add_option("--input", opts->input, "NAME=samples.npy; batches are cut from (or tiled over) axis 0")->required();
  cmd->add_option("--batch", opts->batches, "comma-separated batch sizes")->capture_default_str();
  cmd->add_option("--iters", opts->iters, "timed runs per batch size")->capture_default_str();
  cmd->add_option("--warmup", opts->warmup, "untimed runs per batch size")->capture_default_str();
  cmd->add_option("--json", opts->json, "also write the results to this JSON file");
  cmd->callback([opts] { RunBench(*opts); });
}

}  // namespace kiln::cli
