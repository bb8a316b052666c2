// An engine file as a converted model's engine op loads it: parsed and verified, its CPU payload
// deserialized into an engine, and the engine run once on small inputs of its first profile.
// Input: either a whole engine file, or its header JSON | payload, or header JSON | payload graph |
// payload weights (a payload whose weights follow its graph), which the target frames with valid
// magics, lengths and checksum so that mutations reach the header, graph and weight readers.
#include "engine/cpu/cpu_backend.h"
#include "engine/engine_file.h"
#include "engine/segment_compiler.h"
#include "fuzz_util.h"
#include "proto/graph.pb.h"
#include "proto_mutator.h"

using namespace kiln;

namespace {

void RunOnce(const engine::Engine& engine, const ir::Graph& graph) {
  constexpr int64_t kMaxElements = 1 << 16;
  if (engine.profiles().empty() || engine.profiles()[0].inputs.size() != graph.inputs().size()) return;
  std::vector<Tensor> inputs;
  for (size_t i = 0; i < graph.inputs().size(); ++i) {
    const ir::ValueRef v = graph.inputs()[i].value;
    if (!v.valid() || v.node >= graph.num_nodes() || v.index >= static_cast<int>(graph.node(v.node).outputs.size())) {
      return;
    }
    const Shape& shape = engine.profiles()[0].inputs[i].min;
    int64_t elements = 1;
    for (int64_t d : shape) {
      if (d < 0 || d > kMaxElements || (elements *= d) > kMaxElements) return;
    }
    const DType dtype = graph.node(v.node).outputs[v.index].dtype;
    if (dtype == DType::kInvalid) return;
    inputs.emplace_back(dtype, shape);
  }
  (void)engine.Run(inputs, nullptr);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<std::string> parts = fuzz::SplitSections(fuzz::AsView(data, size));
  std::string bytes;
  if (parts.size() == 2) {
    bytes = engine::FrameEngineFile(parts[0], parts[1]);
  } else if (parts.size() == 3) {
    bytes = engine::FrameEngineFile(parts[0], engine::JoinPayload(parts[1], parts[2]));
  } else {
    bytes = std::string(fuzz::AsView(data, size));
  }
  auto file = engine::ParseEngineFile(bytes);
  if (!file.ok() || !engine::Incompatibility(file->header, engine::CpuBackend().device()).empty()) return 0;
  auto built = engine::CpuBackend().Deserialize(file->header.profiles, file->payload);
  if (!built.ok()) return 0;
  if (auto graph = engine::DeserializeGraph(file->payload, "cpu"); graph.ok()) RunOnce(**built, *graph);
  return 0;
}

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size, unsigned seed) {
  return fuzz::MutateProtoSection<tfproto::FunctionDef>(data, size, max_size, seed, /*section=*/1);
}
