#include "io/staged_dir.h"

#include <stdlib.h>
#include <sys/types.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>
#include <vector>

namespace kiln::io {
namespace {

namespace fs = std::filesystem;

// The process's umask, read where reading it changes nothing (/proc/self/status; umask(2) would set
// it for every thread a moment); 022 where that is not there.
mode_t CurrentUmask() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("Umask:", 0) == 0) return static_cast<mode_t>(std::strtoul(line.c_str() + 6, nullptr, 8));
  }
  return 022;
}

// A new directory beside `target` named ".<name>.kiln-<what>-XXXXXX", with the permissions mkdir
// would give it (mkdtemp makes it private to its owner, and the model it becomes is for others to
// load too).
StatusOr<std::string> MakeSibling(const fs::path& target, const std::string& what) {
  const fs::path parent = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::string name = ".";
  name.append(target.filename().string()).append(".kiln-").append(what).append("-XXXXXX");
  const std::string pattern = (parent / name).string();
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  if (mkdtemp(buffer.data()) == nullptr) {
    return FailedPrecondition("cannot create a directory beside '" + target.string() + "' to write into");
  }
  std::error_code ec;
  fs::permissions(buffer.data(), static_cast<fs::perms>(0777 & ~CurrentUmask()), ec);
  return std::string(buffer.data());
}

}  // namespace

StatusOr<StagedDirectory> StagedDirectory::Create(const std::string& target) {
  fs::path t = fs::path(target).lexically_normal();
  if (t.filename().empty()) t = t.parent_path();  // "dir/" names "dir"
  if (t.empty()) return InvalidArgument("the output directory is empty");
  std::error_code ec;
  if (fs::exists(t, ec)) {
    if (!fs::is_directory(t, ec)) return InvalidArgument("'" + t.string() + "' exists and is not a directory");
    if (!fs::is_empty(t, ec) && !fs::exists(t / "saved_model.pb", ec)) {
      return InvalidArgument("'" + t.string() +
                             "' exists and holds files but no saved_model.pb; kiln replaces only an empty "
                             "directory or a SavedModel");
    }
  }
  const fs::path parent = t.has_parent_path() ? t.parent_path() : fs::path(".");
  fs::create_directories(parent, ec);
  if (ec) return FailedPrecondition("cannot create directory '" + parent.string() + "': " + ec.message());
  KILN_ASSIGN_OR_RETURN(std::string staged, MakeSibling(t, "staging"));
  return StagedDirectory(t.string(), std::move(staged));
}

StagedDirectory::StagedDirectory(StagedDirectory&& other) noexcept
    : target_(std::move(other.target_)), staged_(std::move(other.staged_)), committed_(other.committed_) {
  other.committed_ = true;  // the moved-from object removes nothing
}

StagedDirectory::~StagedDirectory() {
  if (committed_ || staged_.empty()) return;
  std::error_code ec;
  fs::remove_all(staged_, ec);
}

Status StagedDirectory::Commit() {
  if (committed_) return FailedPrecondition("the staged directory for '" + target_ + "' was already committed");
  std::error_code ec;
  std::string old;
  if (fs::exists(target_, ec)) {
    KILN_ASSIGN_OR_RETURN(old, MakeSibling(target_, "replaced"));
    fs::remove(old, ec);  // rename wants the destination free
    fs::rename(target_, old, ec);
    if (ec) return FailedPrecondition("cannot move the existing '" + target_ + "' aside: " + ec.message());
  }
  fs::rename(staged_, target_, ec);
  if (ec) {
    const std::string why = ec.message();
    if (!old.empty()) fs::rename(old, target_, ec);
    return FailedPrecondition("cannot move the new model into '" + target_ + "': " + why +
                              (old.empty() ? "" : "; the previous one is kept"));
  }
  committed_ = true;
  if (!old.empty()) fs::remove_all(old, ec);
  return OkStatus();
}

}  // namespace kiln::io
