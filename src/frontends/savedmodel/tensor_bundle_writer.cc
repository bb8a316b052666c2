#include "frontends/savedmodel/tensor_bundle_writer.h"

#include <vector>

#include "frontends/savedmodel/crc32c.h"
#include "frontends/savedmodel/table_writer.h"
#include "frontends/savedmodel/tensor_proto.h"
#include "io/npy.h"

namespace kiln::savedmodel {

Status TensorBundleWriter::Add(const std::string& key, const Tensor& tensor) {
  const std::string shard = prefix_ + ".data-00000-of-00001";
  if (key.empty()) return InvalidArgument("a tensor of a bundle needs a key (the empty key is the header)");
  if (entries_.count(key)) return InvalidArgument("tensor '" + key + "' is added to '" + prefix_ + "' twice");
  if (tensor.dtype() == DType::kString || !tensor.on_host()) {
    return InvalidArgument("tensor '" + key + "' (" + std::string(DTypeName(tensor.dtype())) +
                           ") is not numeric data on the host, which is all a bundle is written from");
  }
  const int tf_dtype = DTypeToProto(tensor.dtype());
  if (tf_dtype == 0) {
    return InvalidArgument("tensor '" + key + "' has dtype " + std::string(DTypeName(tensor.dtype())) +
                           ", which TensorFlow has no DataType for");
  }
  if (!data_.is_open()) {
    data_.open(shard, std::ios::binary | std::ios::trunc);
    if (!data_) return NotFound("cannot create '" + shard + "'").InFile(shard);
  }
  const size_t bytes = tensor.byte_size();
  data_.write(static_cast<const char*>(tensor.raw_data()), static_cast<std::streamsize>(bytes));
  if (!data_) return DataLoss("error writing tensor '" + key + "' to '" + shard + "' (disk full?)").InFile(shard);
  tfproto::BundleEntryProto& entry = entries_[key];
  entry.set_dtype(static_cast<tfproto::DataType>(tf_dtype));
  ShapeToProto(tensor.shape(), entry.mutable_shape());
  entry.set_shard_id(0);
  entry.set_offset(static_cast<int64_t>(offset_));
  entry.set_size(static_cast<int64_t>(bytes));
  entry.set_crc32c(MaskCrc32c(Crc32c(tensor.raw_data(), bytes)));
  offset_ += bytes;
  return OkStatus();
}

Status TensorBundleWriter::Finish() {
  if (entries_.empty()) return OkStatus();
  const std::string shard = prefix_ + ".data-00000-of-00001";
  data_.close();
  if (!data_) return DataLoss("error writing '" + shard + "' (disk full?)").InFile(shard);
  tfproto::BundleHeaderProto header;
  header.set_num_shards(1);
  header.set_endianness(tfproto::BundleHeaderProto::LITTLE);
  header.mutable_version()->set_producer(1);
  std::vector<TableEntry> table = {{"", header.SerializeAsString()}};
  for (const auto& [key, entry] : entries_) table.push_back({key, entry.SerializeAsString()});
  const std::string index = prefix_ + ".index";
  Status written = io::WriteFile(index, EncodeTable(table));
  if (!written.ok()) return written.InFile(index);
  return OkStatus();
}

}  // namespace kiln::savedmodel
