#pragma once
// Runs the kiln command as a user does, capturing what it prints and its exit code.

#include <string>

namespace kiln::testing {

struct CliResult {
  int exit_code;
  std::string output;  // stdout and stderr together
};

CliResult RunKiln(const std::string& args);

}  // namespace kiln::testing
