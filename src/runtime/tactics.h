#pragma once
// Tactics: which algorithm a CUDA kernel runs for a problem (a cuDNN convolution algorithm, a
// cuBLASLt matmul algorithm), chosen by timing the candidates on the GPU the first time the problem
// is met. A choice is kept for the process, in a timing cache on disk (so a second build of the same
// layers times nothing), and in the engine files of the engines that use it (so a loaded engine runs
// without re-tuning). Keys name the problem; values are the kernel's own text; neither holds a tab
// or a newline.
//
// The disk cache is one file per GPU model and library versions, in $KILN_CACHE_DIR, else
// $XDG_CACHE_HOME/kiln, else $HOME/.cache/kiln; KILN_CACHE_DIR=off keeps choices in the process only.

#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace kiln::runtime {

using Tactics = std::map<std::string, std::string>;

// The tactics of one GPU model, in memory and (when `file` is not empty) on disk: read on creation,
// appended to as choices are made. A file that cannot be read or written only loses its use.
class TacticCache {
 public:
  explicit TacticCache(std::string file);
  std::optional<std::string> Find(const std::string& key) const;
  void Record(const std::string& key, const std::string& value);
  // Tactics from elsewhere (an engine file): known to the process, not written to disk.
  void Add(const Tactics& tactics);
  const std::string& file() const { return file_; }

 private:
  std::string file_;
  mutable std::mutex mu_;
  Tactics tactics_;
};

// The choice for `key` on CUDA device `device`, if one was made or cached before.
std::optional<std::string> FindTactic(int device, const std::string& key);
// A choice just made by timing, for this process and the disk cache.
void RecordTactic(int device, const std::string& key, const std::string& value);
// Choices an engine file brought (built on the same GPU model and library versions).
void AddTactics(int device, const Tactics& tactics);

// For kernels that keep a choice of their own after finding it (per thread, say): whether a recorder
// is listening on this thread, and telling it of a use.
bool RecordingTactics();
void NoteTacticUse(const std::string& key, const std::string& value);

// Collects, while it lives, every tactic that kernels on this thread find or record: what an engine
// build stores in the engine. Recorders nest; each sees what happened during its own life.
class TacticRecorder {
 public:
  TacticRecorder();
  ~TacticRecorder();
  TacticRecorder(const TacticRecorder&) = delete;
  TacticRecorder& operator=(const TacticRecorder&) = delete;
  const Tactics& tactics() const { return tactics_; }

 private:
  friend void NoteTacticUse(const std::string& key, const std::string& value);
  Tactics tactics_;
  TacticRecorder* outer_;
};

// The timing cache's directory ("" when turned off).
std::string TimingCacheDir();

}  // namespace kiln::runtime
