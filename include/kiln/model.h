#pragma once
// kiln's public C++ API: inspect a model, load one signature, run it.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "kiln/device.h"
#include "kiln/precision.h"
#include "kiln/status.h"
#include "kiln/tensor.h"

namespace kiln {

struct TensorSpec {
  std::string name;  // the signature's key for this tensor
  DType dtype = DType::kInvalid;
  PartialShape shape;
  std::string tensor_name;  // the graph tensor it names, e.g. "serving_default_input_1:0"
  // Per dim, the symbolic name of an unknown dim ("batch", from ONNX's dim_param), else "".
  // Empty when the format names no dims.
  std::vector<std::string> dim_names;
};

struct SignatureInfo {
  std::string key;
  std::string method_name;
  std::vector<TensorSpec> inputs;   // sorted by name
  std::vector<TensorSpec> outputs;  // sorted by name
};

struct MetaGraphInfo {
  std::vector<std::string> tags;
  std::vector<SignatureInfo> signatures;  // sorted by key
};

// What a SavedModel directory holds (tag sets, signatures), without loading its variables.
StatusOr<std::vector<MetaGraphInfo>> InspectSavedModel(const std::string& dir);

// What an ONNX file holds (graph inputs/outputs, opsets, op counts), without converting it.
struct OnnxModelInfo {
  int64_t ir_version = 0;
  std::string producer;                   // "pytorch 2.15.0"
  std::map<std::string, int64_t> opsets;  // domain ("" for ai.onnx) -> version
  SignatureInfo signature;                // inputs and outputs in the file's order
  std::map<std::string, int> op_counts;   // op type (domain-qualified outside ai.onnx) -> count
  int64_t num_initializers = 0;
};
StatusOr<OnnxModelInfo> InspectOnnxModel(const std::string& path);

// Whether `path` names an ONNX file (Model::Load reads it as ONNX) rather than a SavedModel.
bool IsOnnxModelPath(const std::string& path);

struct LoadOptions {
  std::vector<std::string> tags = {"serve"};
  std::string signature_key = "serving_default";
  // Where the model runs. On a CUDA device each node runs on the GPU when kiln has a CUDA kernel
  // for it; shape computations and nodes without one run on the host (Model::host_nodes() says
  // which, and why), with copies only where a value crosses between the two.
  Device device = Device::CPU();
  // Lets FP32 matrix products and convolutions on the GPU use TF32 tensor cores: faster, with
  // about 1e-3 relative error. Off by default: FP32 stays FP32.
  bool allow_tf32 = false;
  // For a converted model: layers of its engines kept in a higher precision than it was converted
  // with (see PrecisionPin). Engines are then built at first use instead of loaded from the
  // model's files, which were built without these pins.
  std::vector<PrecisionPin> keep_precision;
  // For a converted model: false runs every segment's original ops instead of its engines, which is
  // what the model computed before conversion (in float32).
  bool use_engines = true;
  // A loop in the model (ONNX Loop or Scan) that runs this many iterations without finishing is
  // stopped with an error naming it, instead of running on.
  int64_t max_loop_iterations = 10'000'000;
};

struct RunOptions {
  // For a model on a GPU: the stream the run is ordered on. With none, kiln uses a stream of its
  // own and waits for it before Run returns. Device tensors returned by a run on your stream are
  // freed, stream-ordered, on that stream: release them before destroying it.
  CudaStream stream = nullptr;
  // Leave the outputs on the model's device instead of copying them to the host. Inputs may be
  // given on the host or on the model's device either way.
  bool outputs_on_device = false;
  // Profiling: when set, each node's time in milliseconds (on a GPU, waiting for its work) is
  // added to its op type's entry. The waits slow the run; for finding where time goes.
  std::map<std::string, double>* op_times = nullptr;
};

// A node of a model loaded on a device that runs on the host instead, and why.
struct HostNode {
  std::string name;
  std::string op;
  std::string reason;
};

// How one KilnEngineOp of a converted model has run so far.
struct EngineOpStats {
  std::string name;
  int64_t engine_runs = 0;      // calls served by an engine
  int64_t native_runs = 0;      // calls that ran the segment's native ops
  int64_t engines_built = 0;    // engines built by this process
  int64_t engines_loaded = 0;   // engines read from the model's files
  int64_t engines_evicted = 0;  // dropped from the cache (least recently used)
  int cached_engines = 0;
  std::vector<std::string> warnings;  // each warning this op has given
};

// One signature of a SavedModel, or the graph of an ONNX file, frozen and ready to run on the
// CPU or a GPU. For ONNX files the load options are ignored and the signature lists the graph's inputs
// and outputs in the file's order.
class Model {
 public:
  static StatusOr<std::unique_ptr<Model>> Load(const std::string& path, const LoadOptions& options = {});
  ~Model();

  const SignatureInfo& signature() const;
  // Op type -> count in the frozen, optimized graph.
  std::map<std::string, int> OpCounts() const;

  // Runs the signature. Every input must be given, by signature name, with the declared dtype
  // and a shape the declared one accepts (dims that share a symbolic name must agree); outputs
  // come back by signature name.
  StatusOr<std::map<std::string, Tensor>> Run(const std::map<std::string, Tensor>& inputs,
                                               const RunOptions& options = {}) const;

  // The device the model runs on, and the nodes that run on the host instead (empty on the CPU).
  Device device() const;
  std::vector<HostNode> host_nodes() const;

  // For a model converted by kiln: each KilnEngineOp's counters; empty for other models.
  std::vector<EngineOpStats> engine_stats() const;

  struct Impl;

 private:
  explicit Model(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace kiln
