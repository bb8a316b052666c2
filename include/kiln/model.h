#pragma once
// kiln's public C++ API: inspect a model, load one signature, run it.

#include <map>
#include <memory>
#include <string>
#include <vector>

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
// CPU. For ONNX files the load options are ignored and the signature lists the graph's inputs
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
  StatusOr<std::map<std::string, Tensor>> Run(const std::map<std::string, Tensor>& inputs) const;

  // For a model converted by kiln: each KilnEngineOp's counters; empty for other models.
  std::vector<EngineOpStats> engine_stats() const;

  struct Impl;

 private:
  explicit Model(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace kiln
