#pragma once
// What kiln's fuzz targets share: inputs made of several files, a scratch directory to write them
// to, and a run of a loaded model on small inputs.
//
// A target that reads more than one file (a SavedModel with its variables, an ONNX file with its
// external data) takes them as one input, the files joined by kSectionBreak; a seed is made the
// same way (fuzz/make_seeds.py).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/model.h"

namespace kiln::fuzz {

inline constexpr std::string_view kSectionBreak = "\n=kiln-fuzz-section=\n";

// The input's sections, split at each kSectionBreak; at least one (empty for an empty input).
std::vector<std::string> SplitSections(std::string_view input);
std::string JoinSections(const std::vector<std::string>& sections);

// A directory of this process's own, made on first use under $TMPDIR (else /tmp) and removed at
// exit. Fuzzing runs one input at a time, so a target rewrites the same files each time.
const std::string& ScratchDir();
// Writes `bytes` to ScratchDir()/`name` (subdirectories made as needed) and returns its path.
std::string WriteScratchFile(const std::string& name, std::string_view bytes);
// Removes everything under ScratchDir(), so no file of one input is seen by the next.
void ClearScratchDir();

// Runs `model` once on inputs of zeros when every input is small (unknown dims taken as 1), so a
// target reaches the kernels a user's run would. Errors are expected and ignored; crashes are not.
void RunOnSmallInputs(const Model& model);

// Loops in fuzzed models stop after this many iterations (an error), so that a loop whose
// condition never ends is not reported as a hang.
inline constexpr int64_t kMaxLoopIterations = 1000;

// The bytes and size libFuzzer hands a target, as a string_view.
inline std::string_view AsView(const uint8_t* data, size_t size) { return {reinterpret_cast<const char*>(data), size}; }

}  // namespace kiln::fuzz
