#pragma once
// A reader for TensorFlow's tensor bundles (checkpoints): "<prefix>.index", a table of
// BundleEntryProtos, and the data shards "<prefix>.data-NNNNN-of-MMMMM" they point into.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "kiln/status.h"
#include "kiln/tensor.h"
#include "proto/tensor_bundle.pb.h"

namespace kiln::savedmodel {

// The index key of one slice of tensor `name` (TensorFlow's EncodeTensorNameSlice): an
// order-preserving encoding of the name and each extent's start and length (-1 = whole dim).
std::string TensorSliceKey(const std::string& name, const tfproto::TensorSliceProto& slice);

class TensorBundle {
 public:
  // Reads and checks "<prefix>.index" (e.g. prefix "<saved_model>/variables/variables") and
  // checks that every data shard it names exists. Tensor data is read only by Read().
  static StatusOr<TensorBundle> Open(const std::string& prefix);

  const std::string& prefix() const { return prefix_; }
  std::string IndexPath() const { return prefix_ + ".index"; }
  // "<prefix>.data-00000-of-00001"
  std::string ShardPath(int shard) const;
  const tfproto::BundleHeaderProto& header() const { return header_; }

  // Tensor keys in sorted order, e.g. "layer/kernel/.ATTRIBUTES/VARIABLE_VALUE". The entries
  // holding the slices of a partitioned tensor (keys starting with '\0') are not listed.
  std::vector<std::string> Keys() const;
  bool Has(const std::string& key) const { return entries_.count(key) != 0; }
  // dtype, shape and location of `key`'s data; nullptr when absent.
  const tfproto::BundleEntryProto* FindEntry(const std::string& key) const;

  // Reads `key`'s tensor, checking its bounds, size and checksum. A tensor saved in slices
  // (a partitioned variable, or one split by a max-shard-size policy) is assembled whole.
  StatusOr<Tensor> Read(const std::string& key) const;

 private:
  // An entry with its data in one piece; `name` is what errors call it.
  StatusOr<Tensor> ReadWhole(const std::string& name, const tfproto::BundleEntryProto& entry, DType dtype,
                             Shape shape) const;
  // A partitioned tensor, assembled from the slice entries its entry lists.
  StatusOr<Tensor> ReadSliced(const std::string& key, const tfproto::BundleEntryProto& entry, DType dtype,
                              Shape shape) const;
  StatusOr<Tensor> ReadNumeric(const std::string& key, const tfproto::BundleEntryProto& entry, DType dtype,
                               Shape shape) const;
  StatusOr<Tensor> ReadStrings(const std::string& key, const tfproto::BundleEntryProto& entry, Shape shape) const;

  std::string prefix_;
  tfproto::BundleHeaderProto header_;
  std::map<std::string, tfproto::BundleEntryProto> entries_;
  std::vector<uint64_t> shard_sizes_;
};

}  // namespace kiln::savedmodel
