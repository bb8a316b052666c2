#include "frontends/onnx/onnx_model.h"

#include <google/protobuf/io/coded_stream.h>

#include <limits>
#include <set>

#include "frontends/onnx/onnx_tensor.h"
#include "io/npy.h"

namespace kiln::onnx {

StatusOr<onnxproto::ModelProto> ReadModelProto(const std::string& path) {
  auto bytes = io::ReadFile(path);
  if (!bytes.ok()) {
    Status s = bytes.status();
    return s.InFile(path);
  }
  if (bytes->size() > static_cast<size_t>(INT32_MAX)) {
    return InvalidArgument(
               "the file is over 2 GB, past what protobuf can parse; save the weights as ONNX external "
               "data beside it")
        .InFile(path);
  }
  onnxproto::ModelProto model;
  google::protobuf::io::CodedInputStream stream(reinterpret_cast<const uint8_t*>(bytes->data()),
                                                static_cast<int>(std::min<size_t>(bytes->size(), INT32_MAX)));
  stream.SetTotalBytesLimit(std::numeric_limits<int>::max());
  if (!model.ParseFromCodedStream(&stream) || !stream.ConsumedEntireMessage()) {
    return DataLoss("not a valid ONNX model (the protobuf does not parse)").InFile(path);
  }
  if (!model.has_graph()) return InvalidArgument("the ONNX model has no graph").InFile(path);
  if (model.ir_version() < 3) {
    return Unimplemented("ONNX IR version " + std::to_string(model.ir_version()) + " is older than 3").InFile(path);
  }
  return model;
}

StatusOr<std::map<std::string, int64_t>> ModelOpsets(const onnxproto::ModelProto& model) {
  std::map<std::string, int64_t> opsets;
  for (const auto& op : model.opset_import()) {
    const std::string domain = op.domain() == "ai.onnx" ? "" : op.domain();
    opsets[domain] = op.version();
  }
  auto it = opsets.find("");
  if (it == opsets.end()) return InvalidArgument("the model imports no default-domain (ai.onnx) opset");
  if (it->second < 1 || it->second > kMaxOpset) {
    return Unimplemented("opset " + std::to_string(it->second) + " is not supported; kiln reads opsets up to " +
                         std::to_string(kMaxOpset));
  }
  return opsets;
}

StatusOr<TensorSpec> SpecFromValueInfo(const onnxproto::ValueInfoProto& info) {
  TensorSpec spec;
  spec.name = info.name();
  spec.tensor_name = info.name();
  if (!info.type().has_tensor_type()) {
    return Unimplemented("value '" + info.name() +
                         "' is not a tensor (sequences, maps and optionals are not supported)");
  }
  const auto& tt = info.type().tensor_type();
  auto dtype = DTypeFromOnnx(tt.elem_type());
  if (!dtype.ok()) {
    Status s = dtype.status();
    return s.Prepend("value '" + info.name() + "'");
  }
  spec.dtype = *dtype;
  if (!tt.has_shape()) return spec;  // rank unknown
  spec.shape.rank_known = true;
  for (const auto& d : tt.shape().dim()) {
    if (d.has_dim_value()) {
      if (d.dim_value() < 0) {
        return InvalidArgument("value '" + info.name() + "' has a negative dim " + std::to_string(d.dim_value()));
      }
      spec.shape.dims.push_back(d.dim_value());
      spec.dim_names.emplace_back();
    } else {
      spec.shape.dims.push_back(-1);
      spec.dim_names.push_back(d.dim_param());
    }
  }
  return spec;
}

StatusOr<SignatureInfo> DescribeGraph(const onnxproto::GraphProto& graph) {
  SignatureInfo sig;
  sig.key = "serving_default";
  sig.method_name = "onnx";
  std::set<std::string> initializers;
  for (const auto& init : graph.initializer()) initializers.insert(init.name());
  for (const auto& in : graph.input()) {
    if (initializers.count(in.name())) continue;
    KILN_ASSIGN_OR_RETURN(TensorSpec spec, SpecFromValueInfo(in));
    sig.inputs.push_back(std::move(spec));
  }
  for (const auto& out : graph.output()) {
    KILN_ASSIGN_OR_RETURN(TensorSpec spec, SpecFromValueInfo(out));
    sig.outputs.push_back(std::move(spec));
  }
  return sig;
}

}  // namespace kiln::onnx
