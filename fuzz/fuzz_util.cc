#include "fuzz_util.h"

#include <google/protobuf/stubs/logging.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <system_error>

namespace kiln::fuzz {
namespace fs = std::filesystem;

std::vector<std::string> SplitSections(std::string_view input) {
  std::vector<std::string> sections;
  size_t start = 0;
  for (size_t at; (at = input.find(kSectionBreak, start)) != std::string_view::npos;
       start = at + kSectionBreak.size()) {
    sections.emplace_back(input.substr(start, at - start));
  }
  sections.emplace_back(input.substr(start));
  return sections;
}

std::string JoinSections(const std::vector<std::string>& sections) {
  std::string joined;
  for (size_t i = 0; i < sections.size(); ++i) {
    if (i > 0) joined += kSectionBreak;
    joined += sections[i];
  }
  return joined;
}

namespace {

// Protobuf logs every malformed string field it parses; fuzzing makes millions.
[[maybe_unused]] const bool kQuietProtobuf = [] {
  google::protobuf::SetLogHandler([](google::protobuf::LogLevel, const char*, int, const std::string&) {});
  return true;
}();

struct Scratch {
  std::string dir;
  Scratch() {
    const char* tmp = std::getenv("TMPDIR");
    dir =
        (fs::path(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") / ("kiln-fuzz-" + std::to_string(getpid()))).string();
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  ~Scratch() {
    std::error_code ignored;
    fs::remove_all(dir, ignored);
  }
};

}  // namespace

const std::string& ScratchDir() {
  static Scratch scratch;
  return scratch.dir;
}

std::string WriteScratchFile(const std::string& name, std::string_view bytes) {
  const fs::path path = fs::path(ScratchDir()) / name;
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary | std::ios::trunc)
      .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return path.string();
}

void ClearScratchDir() {
  std::error_code ignored;
  for (const auto& entry : fs::directory_iterator(ScratchDir(), ignored)) fs::remove_all(entry.path(), ignored);
}

void RunOnSmallInputs(const Model& model) {
  constexpr int64_t kMaxElements = 1 << 16;
  std::map<std::string, Tensor> feed;
  for (const TensorSpec& spec : model.signature().inputs) {
    if (spec.dtype == DType::kInvalid || !spec.shape.rank_known || spec.shape.dims.size() > 8) return;
    Shape shape;
    int64_t elements = 1;
    for (int64_t d : spec.shape.dims) {
      shape.push_back(d < 0 ? 1 : d);
      if (shape.back() > kMaxElements || (elements *= shape.back()) > kMaxElements) return;
    }
    feed.emplace(spec.name, Tensor(spec.dtype, shape));
  }
  (void)model.Run(feed);
}

}  // namespace kiln::fuzz
