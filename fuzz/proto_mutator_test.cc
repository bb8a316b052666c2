// The structure-aware mutator on messages whose numbers already sit at the edges: each mutation
// leaves a message that serializes and parses again, in a build where the sanitizers stop on any
// overflow or bad access the mutator itself would make (a fault there would end a campaign with an
// empty crash input, blamed on no model).
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

#include "proto/graph.pb.h"
#include "proto/onnx.pb.h"
#include "proto_mutator.h"

namespace kiln::fuzz {
namespace {

template <typename Proto>
void ExpectMutationsStayWellFormed(const Proto& start, int chains, int steps) {
  for (int chain = 0; chain < chains; ++chain) {
    std::minstd_rand rng(static_cast<unsigned>(chain + 1));
    Proto message = start;
    for (int step = 0; step < steps; ++step) {
      MutateMessage(message, rng);
      Proto again;
      ASSERT_TRUE(again.ParseFromString(message.SerializeAsString())) << "chain " << chain << ", step " << step;
    }
  }
}

TEST(ProtoMutatorTest, FunctionDefWithEdgeNumbers) {
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min(), kMax = std::numeric_limits<int64_t>::max();
  tfproto::FunctionDef fn;
  fn.mutable_signature()->set_name("f");
  fn.mutable_signature()->add_input_arg()->set_name("x");
  tfproto::NodeDef* node = fn.add_node_def();
  node->set_name("c");
  node->set_op("Const");
  (*node->mutable_attr())["i"].set_i(kMin);
  (*node->mutable_attr())["f"].set_f(std::numeric_limits<float>::lowest());
  auto* list = (*node->mutable_attr())["shape"].mutable_list();
  for (int64_t v : {kMin, kMax, int64_t{-1}, int64_t{0}}) list->add_i(v);
  tfproto::TensorProto* t = (*node->mutable_attr())["value"].mutable_tensor();
  t->add_int_val(std::numeric_limits<int32_t>::min());
  t->add_int_val(std::numeric_limits<int32_t>::max());
  t->add_int64_val(kMin);
  t->add_uint64_val(std::numeric_limits<uint64_t>::max());
  t->mutable_tensor_shape()->add_dim()->set_size(kMax);
  (*fn.mutable_ret())["y"] = "c:output:0";
  ExpectMutationsStayWellFormed(fn, 200, 100);
}

TEST(ProtoMutatorTest, OnnxModelWithEdgeNumbers) {
  onnxproto::ModelProto model;
  model.set_ir_version(std::numeric_limits<int64_t>::min());
  model.add_opset_import()->set_version(std::numeric_limits<int64_t>::max());
  onnxproto::NodeProto* node = model.mutable_graph()->add_node();
  node->set_op_type("Pad");
  node->add_input("x");
  node->add_output("y");
  onnxproto::AttributeProto* pads = node->add_attribute();
  pads->set_name("pads");
  pads->add_ints(std::numeric_limits<int64_t>::min());
  pads->add_ints(std::numeric_limits<int64_t>::max());
  onnxproto::TensorProto* w = model.mutable_graph()->add_initializer();
  w->add_dims(std::numeric_limits<int64_t>::max());
  w->add_int32_data(std::numeric_limits<int32_t>::min());
  w->add_uint64_data(std::numeric_limits<uint64_t>::max());
  ExpectMutationsStayWellFormed(model, 200, 100);
}

}  // namespace
}  // namespace kiln::fuzz
