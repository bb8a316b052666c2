// A SavedModel as a user downloads it: saved_model.pb (its GraphDef and function library) and the
// variables' tensor bundle, inspected, loaded (import, shape inference, optimization) and run once
// on small inputs. Input: saved_model.pb [| variables.index [| variables.data-00000-of-00001]].
#include "fuzz_util.h"
#include "kiln/model.h"
#include "proto/saved_model.pb.h"
#include "proto_mutator.h"

using namespace kiln;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<std::string> files = fuzz::SplitSections(fuzz::AsView(data, size));
  fuzz::ClearScratchDir();
  const std::string dir = fuzz::ScratchDir() + "/model";
  fuzz::WriteScratchFile("model/saved_model.pb", files[0]);
  if (files.size() > 1) fuzz::WriteScratchFile("model/variables/variables.index", files[1]);
  if (files.size() > 2) fuzz::WriteScratchFile("model/variables/variables.data-00000-of-00001", files[2]);

  auto meta_graphs = InspectSavedModel(dir);
  if (!meta_graphs.ok()) return 0;
  LoadOptions options;
  options.max_loop_iterations = fuzz::kMaxLoopIterations;
  for (const MetaGraphInfo& meta : *meta_graphs) {
    for (const SignatureInfo& signature : meta.signatures) {
      options.tags = meta.tags;
      options.signature_key = signature.key;
      if (auto model = Model::Load(dir, options); model.ok()) fuzz::RunOnSmallInputs(**model);
    }
  }
  return 0;
}

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size, unsigned seed) {
  return fuzz::MutateProtoSection<tfproto::SavedModel>(data, size, max_size, seed);
}
