// ONNX models exported by PyTorch with one thing changed at random (an op type, a node input, an
// initializer's dims or data, an attribute's value, an input's shape) load and run to an answer or
// to an error that says something, never to a crash or a hang; the sanitizer build runs them too.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <random>

#include "frontends/onnx/onnx_model_builder.h"
#include "io/npy.h"
#include "kiln/model.h"
#include "util/mutation_util.h"
#include "util/test_util.h"

namespace kiln {
namespace {

namespace fs = std::filesystem;
using onnxproto::ModelProto;

// One random change to `m`, described.
std::string Mutate(ModelProto& m, std::mt19937& rng) {
  auto pick = [&rng](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  auto* g = m.mutable_graph();
  const int nodes = g->node_size(), inits = g->initializer_size();
  const int64_t odd[] = {0, 1, -1, 3, 7};
  switch (pick(6)) {
    case 0: {  // another node's op type
      auto* n = g->mutable_node(pick(nodes));
      const std::string other = g->node(pick(nodes)).op_type();
      n->set_op_type(other);
      return "node " + n->name() + " made a " + other;
    }
    case 1: {  // an input dropped, or one that names another node's output
      auto* n = g->mutable_node(pick(nodes));
      if (n->input_size() > 0 && pick(2) == 0) {
        n->mutable_input()->RemoveLast();
        return "node " + n->name() + " lost its last input";
      }
      const auto& other = g->node(pick(nodes));
      if (other.output_size() == 0 || n->input_size() == 0) return "nothing";
      n->set_input(pick(n->input_size()), other.output(0));
      return "node " + n->name() + " reads " + other.output(0);
    }
    case 2: {  // an initializer's dims
      if (inits == 0) return "nothing";
      auto* t = g->mutable_initializer(pick(inits));
      if (t->dims_size() == 0) {
        t->add_dims(2);
      } else {
        t->set_dims(pick(t->dims_size()), odd[pick(5)]);
      }
      return "initializer " + t->name() + " reshaped";
    }
    case 3: {  // an initializer's data cut short
      if (inits == 0) return "nothing";
      auto* t = g->mutable_initializer(pick(inits));
      if (!t->raw_data().empty()) t->mutable_raw_data()->resize(t->raw_data().size() / 2);
      if (t->float_data_size() > 0) t->mutable_float_data()->RemoveLast();
      if (t->int64_data_size() > 0) t->mutable_int64_data()->RemoveLast();
      return "initializer " + t->name() + " cut short";
    }
    case 4: {  // an int attribute or an element of an ints attribute
      auto* n = g->mutable_node(pick(nodes));
      if (n->attribute_size() == 0) return "nothing";
      auto* a = n->mutable_attribute(pick(n->attribute_size()));
      if (a->ints_size() > 0) a->set_ints(pick(a->ints_size()), odd[pick(5)]);
      if (a->type() == onnxproto::AttributeProto::INT) a->set_i(odd[pick(5)]);
      return "node " + n->name() + " attribute " + a->name() + " changed";
    }
    default: {  // a graph input's dim
      auto* in = g->mutable_input(pick(g->input_size()));
      auto* shape = in->mutable_type()->mutable_tensor_type()->mutable_shape();
      if (shape->dim_size() == 0) return "nothing";
      shape->mutable_dim(pick(shape->dim_size()))->set_dim_value(odd[pick(5)]);
      return "input " + in->name() + " reshaped";
    }
  }
}

struct Fixture {
  const char* name;
  int mutations;  // fewer for the larger models
};
void PrintTo(const Fixture& f, std::ostream* os) { *os << f.name; }

class OnnxMutationTest : public ::testing::TestWithParam<Fixture> {};

TEST_P(OnnxMutationTest, MutatedModelsRunOrFailWithAMessage) {
  const std::string dir = testing::FixturePath(GetParam().name);
  const int mutations = GetParam().mutations;
  ASSERT_TRUE(fs::exists(dir + "/model.onnx")) << "fixture missing: run scripts/make_fixtures.py (" << dir << ")";
  KILN_ASSERT_OK_AND_ASSIGN(std::string bytes, io::ReadFile(dir + "/model.onnx"));
  ModelProto base;
  ASSERT_TRUE(base.ParseFromString(bytes));
  KILN_ASSERT_OK_AND_ASSIGN(io::NamedTensors inputs, io::ReadNpz(dir + "/inputs.npz"));
  const std::map<std::string, Tensor> feed(inputs.begin(), inputs.end());
  const fs::path work = fs::temp_directory_path() / ("kiln_onnx_mutation_" + std::to_string(::getpid()));
  fs::create_directories(work);
  std::mt19937 rng = testing::MutationRng();
  testing::MutationCounts counts;
  for (int i = 0; i < mutations; ++i) {
    ModelProto m = base;
    std::string what = "nothing";
    for (int tries = 0; tries < 50 && what == "nothing"; ++tries) what = Mutate(m, rng);
    SCOPED_TRACE("mutation " + std::to_string(i) + ": " + what);
    const std::string path = (work / "model.onnx").string();
    KILN_ASSERT_OK(io::WriteFile(path, m.SerializeAsString()));
    testing::ExpectLoadsAndRunsOrSaysWhy(path, feed, counts);
  }
  fs::remove_all(work);
  // Some mutations leave the model valid (an unused attribute, a dim of the same size).
  std::cout << GetParam().name << ": of " << mutations << " mutated models " << counts.loaded << " loaded and "
            << counts.ran << " ran\n";
}

INSTANTIATE_TEST_SUITE_P(Torch, OnnxMutationTest,
                         ::testing::Values(Fixture{"onnx_small_cnn", 300}, Fixture{"onnx_ops_mix", 300},
                                           Fixture{"onnx_minilm", 10}),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace kiln
