#pragma once
// A directory written beside its target and renamed into place only when complete: a failure or a
// crash while writing never leaves a half-written directory at the target, and an existing one is
// replaced only by a finished one.
//
//   KILN_ASSIGN_OR_RETURN(StagedDirectory staged, StagedDirectory::Create(dir));
//   ... write files under staged.path() ...
//   KILN_RETURN_IF_ERROR(staged.Commit());

#include <string>

#include "kiln/status.h"

namespace kiln::io {

class StagedDirectory {
 public:
  // A fresh, empty directory ".<name>.kiln-staging-XXXXXX" beside `target`. The target, if it
  // exists, must be an empty directory or one holding a saved_model.pb (something kiln may
  // replace); anything else is an error that leaves it alone.
  static StatusOr<StagedDirectory> Create(const std::string& target);

  StagedDirectory(StagedDirectory&& other) noexcept;
  StagedDirectory& operator=(StagedDirectory&&) = delete;
  StagedDirectory(const StagedDirectory&) = delete;
  // Removes the staged directory unless it was committed.
  ~StagedDirectory();

  const std::string& path() const { return staged_; }
  // Renames the staged directory to the target; an existing target is moved aside first and
  // removed once the new one is in place, or moved back when the rename fails.
  Status Commit();

 private:
  StagedDirectory(std::string target, std::string staged) : target_(std::move(target)), staged_(std::move(staged)) {}

  std::string target_, staged_;
  bool committed_ = false;
};

}  // namespace kiln::io
