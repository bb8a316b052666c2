#pragma once
// Builds small ONNX models in tests with kiln's copy of the ONNX schema.

#include <string>
#include <variant>
#include <vector>

#include "proto/onnx.pb.h"

namespace kiln::testing {

using Dim = std::variant<int64_t, std::string>;

inline onnxproto::ModelProto MakeModel(int64_t opset = 18) {
  onnxproto::ModelProto m;
  m.set_ir_version(8);
  m.set_producer_name("kiln-test");
  auto* op = m.add_opset_import();
  op->set_domain("");
  op->set_version(opset);
  m.mutable_graph()->set_name("g");
  return m;
}

inline void AddValue(google::protobuf::RepeatedPtrField<onnxproto::ValueInfoProto>* list, const std::string& name,
                     int elem_type, const std::vector<Dim>& dims) {
  auto* v = list->Add();
  v->set_name(name);
  auto* t = v->mutable_type()->mutable_tensor_type();
  t->set_elem_type(elem_type);
  auto* shape = t->mutable_shape();
  for (const auto& d : dims) {
    auto* dim = shape->add_dim();
    if (std::holds_alternative<int64_t>(d)) {
      dim->set_dim_value(std::get<int64_t>(d));
    } else {
      dim->set_dim_param(std::get<std::string>(d));
    }
  }
}

inline onnxproto::NodeProto* AddNode(onnxproto::GraphProto* g, const std::string& op, std::vector<std::string> in,
                                     std::vector<std::string> out, const std::string& domain = "") {
  onnxproto::NodeProto* n = g->add_node();
  n->set_op_type(op);
  n->set_domain(domain);
  n->set_name(out.empty() ? op : out[0]);
  for (auto& s : in) n->add_input(s);
  for (auto& s : out) n->add_output(s);
  return n;
}

}  // namespace kiln::testing
