#include "util/mutation_util.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "kiln/model.h"

namespace kiln::testing {

std::mt19937 MutationRng() {
  const char* seed = std::getenv("KILN_MUTATION_SEED");
  return std::mt19937(seed != nullptr ? static_cast<unsigned>(std::strtoul(seed, nullptr, 10)) : 20261207u);
}

void ExpectLoadsAndRunsOrSaysWhy(const std::string& path, const std::map<std::string, Tensor>& feed,
                                 MutationCounts& counts) {
  auto model = Model::Load(path);
  if (!model.ok()) {
    EXPECT_FALSE(model.status().message().empty());
    return;
  }
  ++counts.loaded;
  auto out = (*model)->Run(feed);
  if (!out.ok()) {
    EXPECT_FALSE(out.status().message().empty());
    return;
  }
  ++counts.ran;
}

}  // namespace kiln::testing
