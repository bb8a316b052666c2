#include "frontends/savedmodel/saved_model.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>

#include "frontends/savedmodel/graph_importer.h"
#include "frontends/savedmodel/tensor_bundle.h"
#include "frontends/savedmodel/tensor_proto.h"
#include "frontends/savedmodel/variables.h"
#include "io/npy.h"

namespace kiln::savedmodel {

namespace fs = std::filesystem;

StatusOr<tfproto::SavedModel> ReadSavedModel(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return NotFound("'" + dir + "' is not a directory");
  const std::string path = (fs::path(dir) / "saved_model.pb").string();
  if (!fs::exists(path, ec)) {
    if (fs::exists(fs::path(dir) / "saved_model.pbtxt", ec)) {
      return Unimplemented("'" + dir + "' holds saved_model.pbtxt; kiln reads the binary saved_model.pb");
    }
    return NotFound("'" + dir + "' has no saved_model.pb; is it a SavedModel directory?");
  }
  KILN_ASSIGN_OR_RETURN(std::string bytes, io::ReadFile(path));
  tfproto::SavedModel model;
  if (bytes.empty() || !model.ParseFromString(bytes)) {
    return DataLoss("'" + path + "' is not a valid SavedModel protobuf (truncated or corrupted?)").InFile(path);
  }
  if (model.meta_graphs_size() == 0) return DataLoss("'" + path + "' holds no MetaGraph").InFile(path);
  return model;
}

namespace {
std::string TagSetString(std::vector<std::string> tags) {
  std::sort(tags.begin(), tags.end());
  std::string s;
  for (const auto& t : tags) s += (s.empty() ? "" : ",") + t;
  return "'" + s + "'";
}

std::vector<std::string> SignatureKeys(const tfproto::MetaGraphDef& meta) {
  std::vector<std::string> keys;
  for (const auto& [k, _] : meta.signature_def()) keys.push_back(k);
  std::sort(keys.begin(), keys.end());
  return keys;
}

std::vector<TensorSpec> DescribeTensors(const google::protobuf::Map<std::string, tfproto::TensorInfo>& map) {
  std::vector<TensorSpec> specs;
  for (const auto& [name, info] : map) {
    TensorSpec s;
    s.name = name;
    s.dtype = DTypeFromProto(info.dtype()).ok() ? *DTypeFromProto(info.dtype()) : DType::kInvalid;
    if (info.has_tensor_shape()) {
      auto shape = ShapeFromProto(info.tensor_shape());
      if (shape.ok()) s.shape = *shape;
    }
    s.tensor_name = info.name();
    specs.push_back(std::move(s));
  }
  std::sort(specs.begin(), specs.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return specs;
}
}  // namespace

StatusOr<const tfproto::MetaGraphDef*> SelectMetaGraph(const tfproto::SavedModel& model,
                                                       const std::vector<std::string>& tags) {
  std::vector<std::string> wanted = tags;
  std::sort(wanted.begin(), wanted.end());
  std::string available;
  for (const auto& meta : model.meta_graphs()) {
    std::vector<std::string> have(meta.meta_info_def().tags().begin(), meta.meta_info_def().tags().end());
    std::sort(have.begin(), have.end());
    if (have == wanted) return &meta;
    available += (available.empty() ? "" : ", ") + TagSetString(have);
  }
  return NotFound("no MetaGraph with tag set " + TagSetString(wanted) + "; the SavedModel has " + available);
}

SignatureInfo DescribeSignature(const std::string& key, const tfproto::SignatureDef& sig) {
  SignatureInfo info;
  info.key = key;
  info.method_name = sig.method_name();
  info.inputs = DescribeTensors(sig.inputs());
  info.outputs = DescribeTensors(sig.outputs());
  return info;
}

std::vector<MetaGraphInfo> DescribeSavedModel(const tfproto::SavedModel& model) {
  std::vector<MetaGraphInfo> out;
  for (const auto& meta : model.meta_graphs()) {
    MetaGraphInfo m;
    m.tags.assign(meta.meta_info_def().tags().begin(), meta.meta_info_def().tags().end());
    for (const auto& key : SignatureKeys(meta)) m.signatures.push_back(DescribeSignature(key, meta.signature_def().at(key)));
    out.push_back(std::move(m));
  }
  return out;
}

StatusOr<ir::Graph> LoadSignatureGraph(const std::string& dir, const tfproto::MetaGraphDef& meta,
                                       const std::string& signature_key) {
  if (!meta.signature_def().count(signature_key)) {
    std::string keys;
    for (const auto& k : SignatureKeys(meta)) keys += (keys.empty() ? "'" : ", '") + k + "'";
    return NotFound("signature '" + signature_key + "' not found; the MetaGraph has " +
                    (keys.empty() ? std::string("no signatures") : keys));
  }
  // Variables are opened only if the graph has any.
  const bool has_variables = std::any_of(meta.graph_def().node().begin(), meta.graph_def().node().end(),
                                         [](const auto& n) { return n.op() == "VarHandleOp"; });
  std::optional<TensorBundle> bundle;
  std::map<std::string, std::string> keys;
  if (has_variables) {
    const std::string prefix = (fs::path(dir) / "variables" / "variables").string();
    KILN_ASSIGN_OR_RETURN(TensorBundle b, TensorBundle::Open(prefix));
    bundle.emplace(std::move(b));
    KILN_ASSIGN_OR_RETURN(keys, MapVariableHandlesToCheckpointKeys(meta, *bundle));
  }
  VariableReader read = [&](const std::string& handle) -> StatusOr<Tensor> {
    auto it = keys.find(handle);
    if (!bundle || it == keys.end()) {
      return NotFound("variable handle '" + handle + "' is not bound to any checkpoint value");
    }
    return bundle->Read(it->second);
  };
  return ImportSignature(meta, signature_key, read);
}

}  // namespace kiln::savedmodel
