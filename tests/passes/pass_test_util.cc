#include "passes/pass_test_util.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "frontends/onnx/importer.h"
#include "frontends/savedmodel/graph_def_io.h"
#include "frontends/savedmodel/saved_model.h"
#include "io/npy.h"
#include "ir/op_registry.h"
#include "passes/passes.h"

namespace kiln::testing {

ir::ValueRef Builder::Input(const std::string& name, Shape shape) {
  ir::AttrMap attrs;
  attrs.Set("dtype", DType::kFloat32);
  attrs.Set("shape", PartialShape::Known(shape));
  ir::Node* n = graph_.AddNode(name, "Placeholder", {}, attrs, 1);
  graph_.inputs().push_back({name, {n->id, 0}});
  input_shapes_.push_back(std::move(shape));
  return {n->id, 0};
}

ir::ValueRef Builder::Const(const std::string& name, Tensor value) {
  return {graph_.AddConst(name, std::move(value))->id, 0};
}

ir::ValueRef Builder::RandomConst(const std::string& name, Shape shape, double lo, double hi) {
  return Const(name, RandomTensor(DType::kFloat32, std::move(shape), ++seed_, lo, hi));
}

ir::ValueRef Builder::Op(const std::string& name, const std::string& op, std::vector<ir::ValueRef> inputs,
                         ir::AttrMap attrs) {
  const ir::OpDef* def = ir::OpRegistry::Global().Find(op);
  EXPECT_NE(def, nullptr) << op;
  ir::Node* n = graph_.AddNode(name, op, std::move(inputs), std::move(attrs), 1);
  EXPECT_TRUE(ir::OpRegistry::Global().ApplyDefaults(*n).ok()) << name;
  StatusOr<int> outputs = def->NumOutputs(n->attrs);
  n->outputs.resize(outputs.ok() ? *outputs : 1);
  return {n->id, 0};
}

void Builder::Output(ir::ValueRef v) {
  graph_.outputs().push_back({"out" + std::to_string(graph_.outputs().size()), v});
}

ir::AttrMap Attrs(std::initializer_list<std::pair<const std::string, ir::AttrValue>> values) {
  ir::AttrMap attrs;
  for (const auto& [k, v] : values) attrs.Set(k, v);
  return attrs;
}

const ir::Node* FindNode(const ir::Graph& graph, const std::string& name) {
  for (int id = 0; id < graph.num_nodes(); ++id) {
    if (graph.node(id).name == name) return &graph.node(id);
  }
  return nullptr;
}

int Count(const ir::Graph& graph, const std::string& op) {
  auto counts = graph.OpCounts();
  return counts.count(op) ? counts.at(op) : 0;
}

int CountFused(const ir::Graph& graph) {
  int n = 0;
  for (const auto& [op, count] : graph.OpCounts()) n += op.rfind("KilnFused", 0) == 0 ? count : 0;
  return n;
}

void ExpectPassKeepsOutputs(const BuildFn& build, const PassFn& pass, ir::Graph& fused) {
  Builder reference, changed;
  build(reference);
  build(changed);
  KILN_ASSERT_OK(ir::InferShapes(reference.graph()));
  KILN_ASSERT_OK(ir::InferShapes(changed.graph()));
  KILN_ASSERT_OK(pass(changed.graph()));
  std::vector<Tensor> inputs;
  for (size_t i = 0; i < reference.input_shapes().size(); ++i) {
    inputs.push_back(RandomTensor(DType::kFloat32, reference.input_shapes()[i], 7 + i, -2.0, 2.0));
  }
  KILN_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> want, RunGraph(reference.graph(), inputs));
  KILN_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> got, RunGraph(changed.graph(), inputs));
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_TRUE(TensorsNear(got[i], want[i], 1e-5, 1e-5)) << "output " << i;
  fused = std::move(changed.graph());
}

StatusOr<ir::Graph> LoadFixtureGraph(const std::string& name) {
  const std::string dir = FixturePath(name);
  ir::Graph graph;
  if (std::filesystem::exists(dir + "/model.onnx")) {
    KILN_ASSIGN_OR_RETURN(onnx::ImportedModel model, onnx::ImportOnnxModel(dir + "/model.onnx"));
    graph = std::move(model.graph);
  } else {
    nlohmann::json meta = nlohmann::json::parse(std::ifstream(dir + "/meta.json"));
    KILN_ASSIGN_OR_RETURN(auto saved, savedmodel::ReadSavedModel(dir + "/saved_model"));
    KILN_ASSIGN_OR_RETURN(const auto* meta_graph, savedmodel::SelectMetaGraph(saved, {"serve"}));
    KILN_ASSIGN_OR_RETURN(graph, savedmodel::LoadSignatureGraph(dir + "/saved_model", *meta_graph,
                                                                meta.value("signature_key", "serving_default")));
  }
  KILN_RETURN_IF_ERROR(passes::OptimizeForInference(graph));
  return graph;
}

StatusOr<std::vector<Tensor>> FixtureInputs(const std::string& name, const ir::Graph& graph) {
  KILN_ASSIGN_OR_RETURN(io::NamedTensors npz, io::ReadNpz(FixturePath(name) + "/inputs.npz"));
  std::vector<Tensor> inputs;
  for (const auto& endpoint : graph.inputs()) {
    auto it = std::find_if(npz.begin(), npz.end(), [&](const auto& p) { return p.first == endpoint.name; });
    if (it == npz.end()) return NotFound("no recorded input '" + endpoint.name + "'");
    inputs.push_back(it->second);
  }
  return inputs;
}

}  // namespace kiln::testing
