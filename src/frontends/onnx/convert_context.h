#pragma once
// What an ONNX op converter sees: one ONNX node (its inputs as IR values, its attributes, the
// opset in effect) and a way to emit IR nodes for it. Emitted nodes get their attribute defaults
// and shapes at once, so a converter can ask for the dtype, shape or constant value of anything
// it has built.

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "kiln/status.h"
#include "proto/onnx.pb.h"

namespace kiln::onnx {

// A graph attribute (If's branches, Loop's and Scan's body) converted to an IR graph of its own.
// Its inputs are the ONNX graph's inputs, then one Placeholder per value it reads from the graphs
// around it; `captures` are those values in the graph being built, in the same order.
struct Body {
  ir::Graph graph;
  std::vector<ir::ValueRef> captures;
};

// How the importer converts graph attributes: as a graph of its own whose formal inputs take the
// given dtypes and shapes, or (a graph without inputs) inline, its nodes added to the graph being
// built, giving its outputs.
struct BodyConverter {
  std::function<StatusOr<Body>(const onnxproto::GraphProto& graph, const std::vector<ir::OutputInfo>& inputs)>
      convert;
  std::function<StatusOr<std::vector<ir::ValueRef>>(const onnxproto::GraphProto& graph)> inline_nodes;
};

class ConvertContext {
 public:
  ConvertContext(ir::Graph& graph, const onnxproto::NodeProto& node, std::vector<ir::ValueRef> inputs, int64_t opset);

  const onnxproto::NodeProto& node() const { return node_; }
  const std::string& op_type() const { return node_.op_type(); }
  int64_t opset() const { return opset_; }

  // Inputs: an optional input left out (empty name, or past the end) is absent.
  int num_inputs() const { return static_cast<int>(inputs_.size()); }
  bool has_input(int i) const { return i < num_inputs() && inputs_[i].valid(); }
  // Input i. An absent one is recorded (missing_input) for the importer to report once the
  // converter returns, and reads as a stand-in scalar meanwhile, so that no converter reads past
  // the inputs a malformed node gives.
  ir::ValueRef input(int i) const;
  // The first absent input a converter asked for, or -1.
  int missing_input() const { return missing_input_; }
  int num_outputs() const { return node_.output_size(); }
  bool wants_output(int i) const { return i < num_outputs() && !node_.output(i).empty(); }

  DType dtype(ir::ValueRef v) const { return graph_.output_info(v).dtype; }
  const PartialShape& shape(ir::ValueRef v) const { return graph_.output_info(v).shape; }
  // -1 when unknown.
  int rank(ir::ValueRef v) const;
  // The value when `v` is produced by a Const node, else nullptr.
  const Tensor* constant(ir::ValueRef v) const;
  // A constant input read as int64s; an error names the input when it is absent or not constant.
  StatusOr<std::vector<int64_t>> ConstantInts(int input, const std::string& what) const;

  // Attributes, with ONNX's defaults given by the converter.
  bool has_attr(const std::string& name) const { return FindAttr(name) != nullptr; }
  StatusOr<int64_t> Int(const std::string& name, std::optional<int64_t> fallback = std::nullopt) const;
  StatusOr<float> Float(const std::string& name, std::optional<float> fallback = std::nullopt) const;
  StatusOr<std::string> String(const std::string& name, std::optional<std::string> fallback = std::nullopt) const;
  StatusOr<std::vector<int64_t>> Ints(const std::string& name,
                                      std::optional<std::vector<int64_t>> fallback = std::nullopt) const;
  StatusOr<std::vector<float>> Floats(const std::string& name) const;
  StatusOr<std::vector<std::string>> Strings(const std::string& name,
                                             std::optional<std::vector<std::string>> fallback = std::nullopt) const;
  StatusOr<Tensor> TensorAttr(const std::string& name) const;

  // Emits an IR node of `op` and returns its outputs; its name derives from the ONNX node's.
  StatusOr<std::vector<ir::ValueRef>> OpN(const std::string& op, std::vector<ir::ValueRef> inputs, ir::AttrMap attrs,
                                          int num_outputs);
  StatusOr<ir::ValueRef> Op(const std::string& op, std::vector<ir::ValueRef> inputs, ir::AttrMap attrs = {});
  ir::ValueRef Const(Tensor value);
  // A 1-D int64 constant.
  ir::ValueRef Ints(const std::vector<int64_t>& values);
  ir::ValueRef Int64Scalar(int64_t v) { return Const(Tensor::Scalar<int64_t>(v)); }
  // A scalar of `dtype` holding `value` (converted).
  ir::ValueRef ScalarOf(DType dtype, double value);
  // An empty 1-D int64 tensor: how an absent optional input reaches ops that always take it.
  ir::ValueRef Empty() { return Const(Tensor(DType::kInt64, {0})); }

  // Graph attribute `name` converted with formal inputs of the given dtypes and shapes (a dtype
  // the body declares otherwise is an error); its formal inputs and outputs keep the body's names.
  StatusOr<Body> ConvertBody(const std::string& name, const std::vector<ir::OutputInfo>& inputs) const;
  // Graph attribute `name` (a graph without inputs, such as a branch whose condition is known)
  // converted into the graph being built; returns its outputs.
  StatusOr<std::vector<ir::ValueRef>> InlineBody(const std::string& name) const;
  // Adds `body` to the function library of the graph being built, under a name made from the
  // node's and `role`; returns the name.
  std::string AddFunction(const std::string& role, ir::Graph body);
  // How ConvertBody converts (the importer's, with the scope the node sees).
  void set_body_converter(const BodyConverter* converter) { body_converter_ = converter; }

  // Binds ONNX output i to `v`.
  void SetOutput(int i, ir::ValueRef v);
  const std::vector<ir::ValueRef>& outputs() const { return outputs_; }

  // An error for an attribute value or input kiln does not support for this op.
  Status Unsupported(const std::string& what) const;

 private:
  const onnxproto::AttributeProto* FindAttr(const std::string& name) const;
  StatusOr<const onnxproto::GraphProto*> GraphAttr(const std::string& name) const;

  ir::Graph& graph_;
  const onnxproto::NodeProto& node_;
  std::vector<ir::ValueRef> inputs_;
  std::vector<ir::ValueRef> outputs_;
  int64_t opset_;
  mutable int missing_input_ = -1;
  mutable ir::ValueRef stand_in_;
  std::string base_name_;
  const BodyConverter* body_converter_ = nullptr;
};

using OpConverter = std::function<Status(ConvertContext&)>;

// Default-domain ONNX op type -> converter. Converters register from ops/*.cc.
class ConverterRegistry {
 public:
  static ConverterRegistry& Global();
  void Register(const std::string& op_type, OpConverter fn);
  const OpConverter* Find(const std::string& op_type) const;
  std::vector<std::string> OpTypes() const;

 private:
  std::map<std::string, OpConverter> converters_;
};

struct ConverterRegistration {
  ConverterRegistration(const std::string& op_type, OpConverter fn) {
    ConverterRegistry::Global().Register(op_type, std::move(fn));
  }
};

}  // namespace kiln::onnx

#define KILN_REGISTER_ONNX_OP(op_type, fn) \
  static ::kiln::onnx::ConverterRegistration KILN_CONCAT(kiln_onnx_converter_, __COUNTER__)(op_type, fn)
