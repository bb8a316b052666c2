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
  std::string name;         // the signature's key for this tensor
  DType dtype = DType::kInvalid;
  PartialShape shape;
  std::string tensor_name;  // the graph tensor it names, e.g. "serving_default_input_1:0"
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

struct LoadOptions {
  std::vector<std::string> tags = {"serve"};
  std::string signature_key = "serving_default";
};

// One signature of a model, frozen and ready to run on the CPU.
class Model {
 public:
  static StatusOr<std::unique_ptr<Model>> Load(const std::string& path, const LoadOptions& options = {});
  ~Model();

  const SignatureInfo& signature() const;
  // Op type -> count in the frozen, optimized graph.
  std::map<std::string, int> OpCounts() const;

  // Runs the signature. Every input must be given, by signature name, with the declared dtype
  // and a shape the declared one accepts; outputs come back by signature name.
  StatusOr<std::map<std::string, Tensor>> Run(const std::map<std::string, Tensor>& inputs) const;

  struct Impl;

 private:
  explicit Model(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace kiln
