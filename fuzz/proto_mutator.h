#pragma once
// Structure-aware mutation for the targets whose input is a protobuf message (saved_model.pb, an ONNX
// file): plain byte flips mostly make messages that fail to parse, so half the mutations parse the
// message, change one thing in it through protobuf reflection, and serialize it again.

#include <google/protobuf/message.h>

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>

#include "fuzz_util.h"

extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size);

namespace kiln::fuzz {

// Changes `message` in place by one to three edits drawn from `rng`: a number set to an edge value,
// a string replaced by another string of the message (so names point elsewhere) or edited, a
// repeated element removed, duplicated or moved, a field cleared or set. False when the message has
// nothing to change.
bool MutateMessage(google::protobuf::Message& message, std::minstd_rand& rng);

// libFuzzer's custom mutator for an input whose section `section` is a serialized `Proto`: either a
// byte-level mutation of the whole input or a MutateMessage of that section.
template <typename Proto>
size_t MutateProtoSection(uint8_t* data, size_t size, size_t max_size, unsigned seed, size_t section = 0) {
  std::minstd_rand rng(seed);
  if (rng() % 2 == 0) return LLVMFuzzerMutate(data, size, max_size);
  std::vector<std::string> sections = SplitSections(AsView(data, size));
  Proto message;
  if (section >= sections.size() || !message.ParseFromString(sections[section]) || !MutateMessage(message, rng)) {
    return LLVMFuzzerMutate(data, size, max_size);
  }
  sections[section] = message.SerializeAsString();
  const std::string mutated = JoinSections(sections);
  if (mutated.size() > max_size) return LLVMFuzzerMutate(data, size, max_size);
  std::copy(mutated.begin(), mutated.end(), data);
  return mutated.size();
}

}  // namespace kiln::fuzz
