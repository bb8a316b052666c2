#pragma once
// Writes a tensor bundle that TensorBundle (and TensorFlow) reads: "<prefix>.data-00000-of-00001"
// with the tensors' bytes one after another, and "<prefix>.index", the table of their entries. The
// data goes to the shard as each tensor is added, so a bundle may be larger than memory allows
// holding twice.

#include <fstream>
#include <map>
#include <string>

#include "kiln/status.h"
#include "kiln/tensor.h"
#include "proto/tensor_bundle.pb.h"

namespace kiln::savedmodel {

class TensorBundleWriter {
 public:
  // Writes under `prefix` (e.g. "<saved_model>/variables/variables"); nothing is created until the
  // first Add.
  explicit TensorBundleWriter(std::string prefix) : prefix_(std::move(prefix)) {}

  // Appends `tensor` (numeric or bool; strings are not written) under `key`, which must be new and
  // not empty (the header's key).
  Status Add(const std::string& key, const Tensor& tensor);
  // Writes the index. A bundle with no tensors writes no files.
  Status Finish();

  size_t size() const { return entries_.size(); }
  uint64_t data_bytes() const { return offset_; }

 private:
  std::string prefix_;
  std::ofstream data_;
  uint64_t offset_ = 0;
  std::map<std::string, tfproto::BundleEntryProto> entries_;
};

}  // namespace kiln::savedmodel
