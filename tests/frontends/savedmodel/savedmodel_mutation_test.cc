// SavedModels written by TensorFlow with one thing changed at random in their graphs (a node's op
// type, an input dropped or pointed elsewhere, an int or list attribute, a constant's shape or data)
// load and run to an answer or to an error that says something, never to a crash or a hang; the
// sanitizer build runs them too.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <random>
#include <set>

#include "io/npy.h"
#include "kiln/model.h"
#include "proto/saved_model.pb.h"
#include "util/mutation_util.h"
#include "util/test_util.h"

namespace kiln {
namespace {

namespace fs = std::filesystem;

// The nodes of the graph and of the functions its nodes call, directly or through other functions
// (a SavedModel's library also holds functions no signature runs).
std::vector<tfproto::NodeDef*> Nodes(tfproto::GraphDef& g) {
  std::vector<tfproto::NodeDef*> nodes;
  std::vector<std::string> calls;
  auto add = [&](tfproto::NodeDef& n) {
    nodes.push_back(&n);
    for (const auto& [name, value] : n.attr()) {
      if (value.value_case() == tfproto::AttrValue::kFunc) calls.push_back(value.func().name());
    }
  };
  for (auto& n : *g.mutable_node()) add(n);
  std::set<std::string> reached;
  while (!calls.empty()) {
    const std::string name = calls.back();
    calls.pop_back();
    if (!reached.insert(name).second) continue;
    for (auto& f : *g.mutable_library()->mutable_function()) {
      if (f.signature().name() != name) continue;
      for (auto& n : *f.mutable_node_def()) add(n);
    }
  }
  return nodes;
}

// One random change to `g`, described.
std::string Mutate(tfproto::GraphDef& g, std::mt19937& rng) {
  auto pick = [&rng](size_t n) { return n == 0 ? 0 : rng() % n; };
  const std::vector<tfproto::NodeDef*> nodes = Nodes(g);
  tfproto::NodeDef& n = *nodes[pick(nodes.size())];
  const int64_t odd[] = {0, 1, -1, 3, 7};
  switch (pick(5)) {
    case 0: {
      const std::string other = nodes[pick(nodes.size())]->op();
      n.set_op(other);
      return n.name() + " made a " + other;
    }
    case 1:
      if (n.input_size() == 0) return "nothing";
      if (pick(2) == 0) {
        n.mutable_input()->RemoveLast();
        return n.name() + " lost its last input";
      }
      n.set_input(pick(n.input_size()), nodes[pick(nodes.size())]->name());
      return n.name() + " reads another node";
    case 2:
      for (auto& [name, value] : *n.mutable_attr()) {
        if (value.value_case() == tfproto::AttrValue::kI) {
          value.set_i(odd[pick(5)]);
          return n.name() + " attribute " + name + " changed";
        }
        if (value.has_list() && value.list().i_size() > 0) {
          value.mutable_list()->set_i(pick(value.list().i_size()), odd[pick(5)]);
          return n.name() + " attribute " + name + " changed";
        }
      }
      return "nothing";
    default:
      if (n.op() != "Const" || !n.attr().count("value")) return "nothing";
      auto* t = (*n.mutable_attr())["value"].mutable_tensor();
      if (pick(2) == 0 && t->tensor_shape().dim_size() > 0) {
        t->mutable_tensor_shape()->mutable_dim(pick(t->tensor_shape().dim_size()))->set_size(odd[pick(5)]);
        return n.name() + " constant reshaped";
      }
      if (!t->tensor_content().empty()) t->mutable_tensor_content()->resize(t->tensor_content().size() / 2);
      return n.name() + " constant cut short";
  }
}

struct Fixture {
  const char* name;
  int mutations;
};
void PrintTo(const Fixture& f, std::ostream* os) { *os << f.name; }

class SavedModelMutationTest : public ::testing::TestWithParam<Fixture> {};

TEST_P(SavedModelMutationTest, MutatedModelsRunOrFailWithAMessage) {
  const std::string dir = testing::FixturePath(GetParam().name);
  ASSERT_TRUE(fs::exists(dir + "/saved_model/saved_model.pb")) << "fixture missing: run scripts/make_fixtures.py";
  KILN_ASSERT_OK_AND_ASSIGN(std::string bytes, io::ReadFile(dir + "/saved_model/saved_model.pb"));
  tfproto::SavedModel base;
  ASSERT_TRUE(base.ParseFromString(bytes));
  ASSERT_GT(base.meta_graphs_size(), 0);
  KILN_ASSERT_OK_AND_ASSIGN(io::NamedTensors inputs, io::ReadNpz(dir + "/inputs.npz"));
  const std::map<std::string, Tensor> feed(inputs.begin(), inputs.end());
  const fs::path work = fs::temp_directory_path() / ("kiln_savedmodel_mutation_" + std::to_string(::getpid()));
  fs::remove_all(work);
  fs::copy(dir + "/saved_model", work, fs::copy_options::recursive);
  std::mt19937 rng = testing::MutationRng();
  testing::MutationCounts counts;
  for (int i = 0; i < GetParam().mutations; ++i) {
    tfproto::SavedModel m = base;
    std::string what = "nothing";
    for (int tries = 0; tries < 50 && what == "nothing"; ++tries) {
      what = Mutate(*m.mutable_meta_graphs(0)->mutable_graph_def(), rng);
    }
    SCOPED_TRACE("mutation " + std::to_string(i) + ": " + what);
    KILN_ASSERT_OK(io::WriteFile((work / "saved_model.pb").string(), m.SerializeAsString()));
    testing::ExpectLoadsAndRunsOrSaysWhy(work.string(), feed, counts);
  }
  fs::remove_all(work);
  std::cout << GetParam().name << ": of " << GetParam().mutations << " mutated models " << counts.loaded
            << " loaded and " << counts.ran << " ran\n";
}

INSTANTIATE_TEST_SUITE_P(TensorFlow, SavedModelMutationTest,
                         ::testing::Values(Fixture{"mnist_tfmodule", 200}, Fixture{"layers_conv_tfkeras", 200},
                                           Fixture{"transformer_keras3", 100}),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace kiln
