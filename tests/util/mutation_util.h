#pragma once
// What the mutated-model tests share: the random generator they draw changes from, and the check
// that a changed model loads and runs, or fails with a message.

#include <map>
#include <random>
#include <string>

#include "kiln/tensor.h"

namespace kiln::testing {

// Seeded by KILN_MUTATION_SEED where the environment sets it (to explore other mutations), else by
// a fixed seed.
std::mt19937 MutationRng();

// How many of a sweep's mutated models loaded, and how many of those ran.
struct MutationCounts {
  int loaded = 0, ran = 0;
};

// Loads the model at `path` and runs it on `feed`; a step that fails must say why (else the test
// fails). Counts what worked in `counts`.
void ExpectLoadsAndRunsOrSaysWhy(const std::string& path, const std::map<std::string, Tensor>& feed,
                                 MutationCounts& counts);

}  // namespace kiln::testing
