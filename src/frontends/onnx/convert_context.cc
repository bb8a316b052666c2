#include "frontends/onnx/convert_context.h"

#include <cctype>

#include "frontends/onnx/onnx_tensor.h"
#include "ir/op_registry.h"
#include "passes/passes.h"

namespace kiln::onnx {

using onnxproto::AttributeProto;

ConvertContext::ConvertContext(ir::Graph& graph, const onnxproto::NodeProto& node, std::vector<ir::ValueRef> inputs,
                               int64_t opset)
    : graph_(graph), node_(node), inputs_(std::move(inputs)), opset_(opset) {
  outputs_.resize(node.output_size());
  base_name_ = !node.name().empty() ? node.name() : (node.output_size() > 0 ? node.output(0) : node.op_type());
}

int ConvertContext::rank(ir::ValueRef v) const {
  const PartialShape& s = shape(v);
  return s.rank_known ? static_cast<int>(s.dims.size()) : -1;
}

const Tensor* ConvertContext::constant(ir::ValueRef v) const {
  const ir::Node& n = graph_.node(v.node);
  if (n.op != "Const") return nullptr;
  const ir::AttrValue* value = n.attrs.Find("value");
  return value ? std::get_if<Tensor>(value) : nullptr;
}

StatusOr<std::vector<int64_t>> ConvertContext::ConstantInts(int input, const std::string& what) const {
  if (!has_input(input)) return InvalidArgument(what + " (input " + std::to_string(input) + ") is missing");
  const Tensor* t = constant(inputs_[input]);
  if (t == nullptr) return Unsupported(what + " (input " + std::to_string(input) + ") computed at run time");
  return t->ToInt64Vector();
}

const AttributeProto* ConvertContext::FindAttr(const std::string& name) const {
  for (const auto& a : node_.attribute()) {
    if (a.name() == name) return &a;
  }
  return nullptr;
}

namespace {

Status WrongType(const AttributeProto& a, const char* want) {
  return InvalidArgument("attribute '" + a.name() + "' has type " + AttributeProto::AttributeType_Name(a.type()) +
                         ", expected " + want);
}

Status Missing(const std::string& name) { return InvalidArgument("required attribute '" + name + "' is missing"); }

}  // namespace

StatusOr<int64_t> ConvertContext::Int(const std::string& name, std::optional<int64_t> fallback) const {
  const AttributeProto* a = FindAttr(name);
  if (a == nullptr) {
    if (fallback) return *fallback;
    return Missing(name);
  }
  if (a->type() != AttributeProto::INT) return WrongType(*a, "INT");
  return a->i();
}

StatusOr<float> ConvertContext::Float(const std::string& name, std::optional<float> fallback) const {
  const AttributeProto* a = FindAttr(name);
  if (a == nullptr) {
    if (fallback) return *fallback;
    return Missing(name);
  }
  if (a->type() != AttributeProto::FLOAT) return WrongType(*a, "FLOAT");
  return a->f();
}

StatusOr<std::string> ConvertContext::String(const std::string& name, std::optional<std::string> fallback) const {
  const AttributeProto* a = FindAttr(name);
  if (a == nullptr) {
    if (fallback) return *fallback;
    return Missing(name);
  }
  if (a->type() != AttributeProto::STRING) return WrongType(*a, "STRING");
  return a->s();
}

StatusOr<std::vector<int64_t>> ConvertContext::Ints(const std::string& name,
                                                    std::optional<std::vector<int64_t>> fallback) const {
  const AttributeProto* a = FindAttr(name);
  if (a == nullptr) {
    if (fallback) return *fallback;
    return Missing(name);
  }
  if (a->type() != AttributeProto::INTS) return WrongType(*a, "INTS");
  return std::vector<int64_t>(a->ints().begin(), a->ints().end());
}

StatusOr<std::vector<float>> ConvertContext::Floats(const std::string& name) const {
  const AttributeProto* a = FindAttr(name);
  if (a == nullptr) return Missing(name);
  if (a->type() != AttributeProto::FLOATS) return WrongType(*a, "FLOATS");
  return std::vector<float>(a->floats().begin(), a->floats().end());
}

StatusOr<std::vector<std::string>> ConvertContext::Strings(const std::string& name,
                                                           std::optional<std::vector<std::string>> fallback) const {
  const AttributeProto* a = FindAttr(name);
  if (a == nullptr) {
    if (fallback) return *fallback;
    return Missing(name);
  }
  if (a->type() != AttributeProto::STRINGS) return WrongType(*a, "STRINGS");
  return std::vector<std::string>(a->strings().begin(), a->strings().end());
}

StatusOr<Tensor> ConvertContext::TensorAttr(const std::string& name) const {
  const AttributeProto* a = FindAttr(name);
  if (a == nullptr) return Missing(name);
  if (a->type() != AttributeProto::TENSOR) return WrongType(*a, "TENSOR");
  // Tensor attributes never refer to external data in practice; a relative one resolves
  // against the working directory.
  return TensorFromOnnx(a->t(), ".");
}

StatusOr<std::vector<ir::ValueRef>> ConvertContext::OpN(const std::string& op, std::vector<ir::ValueRef> inputs,
                                                        ir::AttrMap attrs, int num_outputs) {
  ir::Node* node =
      graph_.AddNode(graph_.UniqueName(base_name_ + "/" + op), op, std::move(inputs), std::move(attrs), num_outputs);
  KILN_RETURN_IF_ERROR(ir::OpRegistry::Global().ApplyDefaults(*node));
  KILN_RETURN_IF_ERROR(ir::InferNodeShapes(graph_, *node));
  std::vector<ir::ValueRef> outs;
  // Values computable now become constants at once, so that later converters can read
  // shape-like inputs (axes, pads, sizes) that the model computes from constants.
  if (auto folded = passes::EvaluateConstantNode(graph_, *node)) {
    for (auto& t : *folded) outs.push_back(Const(std::move(t)));
    return outs;
  }
  for (int i = 0; i < num_outputs; ++i) outs.push_back({node->id, i});
  return outs;
}

StatusOr<ir::ValueRef> ConvertContext::Op(const std::string& op, std::vector<ir::ValueRef> inputs, ir::AttrMap attrs) {
  KILN_ASSIGN_OR_RETURN(auto outs, OpN(op, std::move(inputs), std::move(attrs), 1));
  return outs[0];
}

StatusOr<const onnxproto::GraphProto*> ConvertContext::GraphAttr(const std::string& name) const {
  const AttributeProto* a = FindAttr(name);
  if (a == nullptr) return Missing(name);
  if (a->type() != AttributeProto::GRAPH || !a->has_g()) return WrongType(*a, "GRAPH");
  if (body_converter_ == nullptr) return Unsupported("graph attributes here");
  return &a->g();
}

StatusOr<Body> ConvertContext::ConvertBody(const std::string& name, const std::vector<ir::OutputInfo>& inputs) const {
  KILN_ASSIGN_OR_RETURN(const onnxproto::GraphProto* g, GraphAttr(name));
  auto body = body_converter_->convert(*g, inputs);
  if (!body.ok()) {
    Status s = body.status();
    return s.Prepend("in graph attribute '" + name + "'");
  }
  return body;
}

StatusOr<std::vector<ir::ValueRef>> ConvertContext::InlineBody(const std::string& name) const {
  KILN_ASSIGN_OR_RETURN(const onnxproto::GraphProto* g, GraphAttr(name));
  auto outputs = body_converter_->inline_nodes(*g);
  if (!outputs.ok()) {
    Status s = outputs.status();
    return s.Prepend("in graph attribute '" + name + "'");
  }
  return outputs;
}

std::string ConvertContext::AddFunction(const std::string& role, ir::Graph body) {
  // Function names stay within what a saved model's function library takes.
  std::string name = base_name_ + "_" + role;
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') c = '_';
  }
  return graph_.AddFunction(name, std::move(body));
}

ir::ValueRef ConvertContext::input(int i) const {
  if (has_input(i)) return inputs_[i];
  if (missing_input_ < 0) missing_input_ = i;
  if (!stand_in_.valid()) {
    stand_in_ = {graph_.AddConst(graph_.UniqueName(node_.name() + "/absent_input"), Tensor::Scalar<float>(0))->id, 0};
  }
  return stand_in_;
}

ir::ValueRef ConvertContext::Const(Tensor value) {
  ir::Node* node = graph_.AddConst(graph_.UniqueName(base_name_ + "/Const"), std::move(value));
  return {node->id, 0};
}

ir::ValueRef ConvertContext::Ints(const std::vector<int64_t>& values) {
  return Const(Tensor::FromVector<int64_t>({static_cast<int64_t>(values.size())}, values));
}

ir::ValueRef ConvertContext::ScalarOf(DType dtype, double value) {
  switch (dtype) {
    case DType::kFloat16:
      return Const(Tensor::Scalar<Half>(FloatToHalf(static_cast<float>(value))));
    case DType::kBFloat16:
      return Const(Tensor::Scalar<BFloat16>(FloatToBFloat16(static_cast<float>(value))));
    case DType::kFloat64:
      return Const(Tensor::Scalar<double>(value));
    case DType::kInt8:
      return Const(Tensor::Scalar<int8_t>(static_cast<int8_t>(value)));
    case DType::kUInt8:
      return Const(Tensor::Scalar<uint8_t>(static_cast<uint8_t>(value)));
    case DType::kInt16:
      return Const(Tensor::Scalar<int16_t>(static_cast<int16_t>(value)));
    case DType::kUInt16:
      return Const(Tensor::Scalar<uint16_t>(static_cast<uint16_t>(value)));
    case DType::kInt32:
      return Const(Tensor::Scalar<int32_t>(static_cast<int32_t>(value)));
    case DType::kInt64:
      return Const(Tensor::Scalar<int64_t>(static_cast<int64_t>(value)));
    case DType::kUInt32:
      return Const(Tensor::Scalar<uint32_t>(static_cast<uint32_t>(value)));
    case DType::kUInt64:
      return Const(Tensor::Scalar<uint64_t>(static_cast<uint64_t>(value)));
    case DType::kBool:
      return Const(Tensor::Scalar<bool>(value != 0));
    default:
      return Const(Tensor::Scalar<float>(static_cast<float>(value)));
  }
}

void ConvertContext::SetOutput(int i, ir::ValueRef v) {
  if (i < static_cast<int>(outputs_.size())) outputs_[i] = v;
}

Status ConvertContext::Unsupported(const std::string& what) const {
  return Unimplemented(op_type() + " with " + what + " is not supported");
}

ConverterRegistry& ConverterRegistry::Global() {
  static ConverterRegistry* registry = new ConverterRegistry();
  return *registry;
}

void ConverterRegistry::Register(const std::string& op_type, OpConverter fn) { converters_[op_type] = std::move(fn); }

const OpConverter* ConverterRegistry::Find(const std::string& op_type) const {
  auto it = converters_.find(op_type);
  return it == converters_.end() ? nullptr : &it->second;
}

std::vector<std::string> ConverterRegistry::OpTypes() const {
  std::vector<std::string> out;
  for (const auto& [name, _] : converters_) out.push_back(name);
  return out;
}

}  // namespace kiln::onnx
