// An ONNX file with its external data: inspected, imported (op conversion, shape inference,
// optimization) and run once on small inputs. Input: model.onnx [| weights.bin [| weights1.bin ...]].
#include "fuzz_util.h"
#include "kiln/model.h"
#include "proto/onnx.pb.h"
#include "proto_mutator.h"

using namespace kiln;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<std::string> files = fuzz::SplitSections(fuzz::AsView(data, size));
  fuzz::ClearScratchDir();
  const std::string path = fuzz::WriteScratchFile("model.onnx", files[0]);
  for (size_t i = 1; i < files.size(); ++i) {
    fuzz::WriteScratchFile(i == 1 ? "weights.bin" : "weights" + std::to_string(i - 1) + ".bin", files[i]);
  }
  if (!InspectOnnxModel(path).ok()) return 0;
  LoadOptions options;
  options.max_loop_iterations = fuzz::kMaxLoopIterations;
  if (auto model = Model::Load(path, options); model.ok()) fuzz::RunOnSmallInputs(**model);
  return 0;
}

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size, unsigned seed) {
  return fuzz::MutateProtoSection<onnxproto::ModelProto>(data, size, max_size, seed);
}
