#pragma once
// What the CPU and CUDA backends share: which nodes engines take, and how a segment becomes the
// optimized graph an engine runs (inputs narrowed to the shape profiles, fusion, precision, weights
// folded) and its serialized form.

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/backend.h"
#include "runtime/executor.h"
#include "runtime/tactics.h"

namespace kiln::engine {

// OK when an engine of `backend` ("cpu", "cuda") takes `node`; else why not. Both backends claim
// the same ops, so a model partitions the same way for either.
Status ValidateEngineNode(const ir::Graph& graph, const ir::Node& node, std::string_view backend);

struct CompiledSegment {
  ir::Graph graph;                 // shapes inferred
  std::vector<std::string> notes;  // what the build decided that a user should know
};

// Whether a backend computes `node` in a 16-bit float type (its kernels take that dtype).
using RunsReducedFn = std::function<bool(const ir::Node& node, DType storage)>;

// What a backend asks of the compilation besides the build config.
struct CompileOptions {
  // FP16 and BF16 store values in 16 bits where this says the backend computes a node in them
  // (passes::StoreInReducedPrecision); without it reduced precision is emulated by explicit
  // rounding. INT8 and FP8 store in FP16 likewise when quantized_ops is on too.
  RunsReducedFn runs_reduced;
  // INT8 and FP8 matrix products become KilnQuantize + KilnQuantizedMatMul, computed in the
  // quantized type (passes::PrecisionOptions::quantized_ops); the other quantized layers, and all of
  // them without this, are emulated by quantize-dequantize ops.
  bool quantized_ops = false;
  // Channels-first convolutions and pools run channels-last (passes::ConvertToChannelsLast).
  bool channels_last = false;
  // At FP16 and BF16, channels-last convolutions of fewer input channels than this read their input
  // padded with zero channels to it (passes::PadConvInputChannels); 0 leaves them as they are.
  int64_t conv_channel_multiple = 0;
};

// A private copy of `segment`, its inputs narrowed to the profiles' shapes, fused for engines, laid
// out and with the precision the options and config ask for, weights converted once by folding.
StatusOr<CompiledSegment> CompileSegment(const ir::Graph& segment, const BuildConfig& config,
                                         const CompileOptions& options = {});

// Fails when the executor's memory plan needs more than config.max_workspace_size_bytes.
Status CheckWorkspace(const runtime::Executor& executor, const BuildConfig& config);

// What an engine runs with besides its graph, saved in its payload.
struct EngineSettings {
  runtime::Tactics tactics;  // what its kernels chose (runtime/tactics.h)
  bool allow_tf32 = false;   // FP32 products and convolutions on a GPU may use TF32
};

// The compiled graph with its settings as an engine payload, and back; `backend` names the payload
// in errors.
StatusOr<std::string> SerializeGraph(const ir::Graph& graph, std::string_view backend,
                                     const EngineSettings& settings = {});
StatusOr<ir::Graph> DeserializeGraph(std::string_view payload, std::string_view backend,
                                     EngineSettings* settings = nullptr);
// A payload of a serialized graph whose weights of 1 KiB or more are `weights` (what SerializeGraph
// writes for a graph with such weights): a magic number, the graph's size, the graph, the weights.
std::string JoinPayload(std::string_view graph, std::string_view weights);

// An engine whose body is a compiled graph, run by an executor with its memory plan: what both
// backends' engines are; each says how a run reaches its executor.
class GraphEngine : public Engine {
 public:
  const std::vector<ShapeProfile>& profiles() const override { return profiles_; }
  StatusOr<std::string> SerializePayload() const override { return SerializeGraph(graph_, backend_, settings_); }
  std::map<std::string, int> OpCounts() const override { return graph_.OpCounts(); }
  std::vector<std::string> BuildNotes() const override { return notes_; }
  void set_notes(std::vector<std::string> notes) { notes_ = std::move(notes); }
  // What the engine runs with besides its graph, saved with it.
  const EngineSettings& settings() const { return settings_; }
  EngineSettings& settings() { return settings_; }
  const runtime::Executor& executor() const { return *executor_; }
  const ir::Graph& graph() const { return graph_; }

 protected:
  GraphEngine(std::string backend, ir::Graph graph, std::vector<ShapeProfile> profiles)
      : backend_(std::move(backend)), graph_(std::move(graph)), profiles_(std::move(profiles)) {}
  // Creates the executor of the graph (the graph stays where it is, so call once the engine is in
  // its final place).
  Status CreateExecutor(runtime::ExecutorOptions options);

 private:
  std::string backend_;
  ir::Graph graph_;
  std::vector<ShapeProfile> profiles_;
  std::unique_ptr<runtime::Executor> executor_;
  std::vector<std::string> notes_;
  EngineSettings settings_;
};

}  // namespace kiln::engine
