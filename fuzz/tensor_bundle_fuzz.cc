// A tensor bundle (a checkpoint): the index table and its data shards, every tensor read.
// Input: variables.index [| shard 0 [| shard 1 ...]], the shards named "-of-" their count.
#include <cstdio>

#include "frontends/savedmodel/tensor_bundle.h"
#include "fuzz_util.h"

using namespace kiln;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<std::string> files = fuzz::SplitSections(fuzz::AsView(data, size));
  fuzz::ClearScratchDir();
  const std::string prefix = fuzz::ScratchDir() + "/variables";
  fuzz::WriteScratchFile("variables.index", files[0]);
  const size_t shards = files.size() - 1;
  for (size_t i = 0; i < shards; ++i) {
    char name[64];
    std::snprintf(name, sizeof(name), "variables.data-%05zu-of-%05zu", i, shards);
    fuzz::WriteScratchFile(name, files[i + 1]);
  }
  auto bundle = savedmodel::TensorBundle::Open(prefix);
  if (!bundle.ok()) return 0;
  for (const std::string& key : bundle->Keys()) (void)bundle->Read(key);
  return 0;
}
