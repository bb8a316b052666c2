#pragma once
// The op registry: for each op kiln knows, its attributes with their defaults (SavedModels strip
// defaults), the layout of its outputs (for "node:output_arg:index" names) and its shape function.
// Op families register themselves from src/ir/ops/*.cc with KILN_REGISTER_OP.

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ir/graph.h"

namespace kiln::ir {

// Shape function context: input dtypes/shapes (and values when the input is constant) in,
// output dtypes/shapes out.
class InferenceContext {
 public:
  InferenceContext(const Node& node, std::vector<OutputInfo> inputs, std::vector<const Tensor*> input_values,
                   const Graph* graph = nullptr);

  const Node& node() const { return node_; }
  const AttrMap& attrs() const { return node_.attrs; }
  int num_inputs() const { return static_cast<int>(inputs_.size()); }
  int num_outputs() const { return static_cast<int>(outputs_.size()); }
  DType input_dtype(int i) const { return inputs_[i].dtype; }
  const PartialShape& input_shape(int i) const { return inputs_[i].shape; }
  // The input's value when it is a constant, else nullptr.
  const Tensor* input_value(int i) const { return input_values_[i]; }

  void set_output(int i, DType dtype, PartialShape shape) { outputs_[i] = {dtype, std::move(shape)}; }
  const std::vector<OutputInfo>& outputs() const { return outputs_; }

  template <typename T>
  StatusOr<T> Attr(const std::string& name) const {
    return node_.attrs.Get<T>(name);
  }
  // Fails unless the op has between min and max inputs.
  Status ExpectInputs(int min, int max) const;
  // The function the node's FuncRef attribute `attr` names, in the library of the node's graph;
  // an error when the attribute or the function is missing.
  StatusOr<const Graph*> Function(const std::string& attr) const;
  // The functions a list(func) attribute names, likewise.
  StatusOr<std::vector<const Graph*>> Functions(const std::string& attr) const;

 private:
  const Graph* graph_;
  const Node& node_;
  std::vector<OutputInfo> inputs_;
  std::vector<const Tensor*> input_values_;
  std::vector<OutputInfo> outputs_;
};

using ShapeFn = std::function<Status(InferenceContext&)>;

struct AttrDef {
  std::string name;
  std::optional<AttrValue> default_value;  // nullopt: required
};

// One output argument; a list argument's length comes from an int attr (number_attr) or the
// length of a list(type) attr (type_list_attr).
struct OutputArgDef {
  std::string name;
  std::string number_attr;
  std::string type_list_attr;
};

struct OpDef {
  std::string name;
  std::vector<AttrDef> attrs;
  std::vector<OutputArgDef> outputs;
  ShapeFn shape_fn;

  StatusOr<int> NumOutputs(const AttrMap& attrs) const;
  // Flat output position of element `index` of output argument `arg`.
  StatusOr<int> FlatOutputIndex(const AttrMap& attrs, std::string_view arg, int index) const;
};

class OpDefBuilder {
 public:
  explicit OpDefBuilder(std::string name) { def_.name = std::move(name); }
  OpDefBuilder& Attr(std::string name) {
    def_.attrs.push_back({std::move(name), std::nullopt});
    return *this;
  }
  OpDefBuilder& Attr(std::string name, AttrValue default_value) {
    def_.attrs.push_back({std::move(name), std::move(default_value)});
    return *this;
  }
  OpDefBuilder& Output(std::string name) {
    def_.outputs.push_back({std::move(name), "", ""});
    return *this;
  }
  OpDefBuilder& OutputList(std::string name, std::string number_attr) {
    def_.outputs.push_back({std::move(name), std::move(number_attr), ""});
    return *this;
  }
  OpDefBuilder& OutputTypeList(std::string name, std::string type_list_attr) {
    def_.outputs.push_back({std::move(name), "", std::move(type_list_attr)});
    return *this;
  }
  OpDefBuilder& Shape(ShapeFn fn) {
    def_.shape_fn = std::move(fn);
    return *this;
  }
  OpDef Build() && { return std::move(def_); }

 private:
  OpDef def_;
};

class OpRegistry {
 public:
  static OpRegistry& Global();
  void Register(OpDef def);
  const OpDef* Find(std::string_view op) const;
  std::vector<std::string> OpNames() const;
  // Fills attributes the node lacks with the op's defaults; a missing required one is an error.
  Status ApplyDefaults(Node& node) const;

 private:
  std::vector<OpDef> defs_;
};

struct OpRegistration {
  explicit OpRegistration(OpDefBuilder& b) { OpRegistry::Global().Register(std::move(b).Build()); }
  explicit OpRegistration(OpDefBuilder&& b) { OpRegistry::Global().Register(std::move(b).Build()); }
};

// Runs one node's shape function (its inputs' outputs must be filled), filling node.outputs.
Status InferNodeShapes(Graph& graph, Node& node);
// Runs every node's shape function in topological order, filling Node::outputs.
// Errors name the node.
Status InferShapes(Graph& graph);

}  // namespace kiln::ir

#define KILN_REGISTER_OP(builder) \
  static ::kiln::ir::OpRegistration KILN_CONCAT(kiln_op_registration_, __COUNTER__)(builder)
