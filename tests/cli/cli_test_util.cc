#include "cli/cli_test_util.h"

#include <sys/wait.h>

#include <array>
#include <cstdio>

namespace kiln::testing {

CliResult RunKiln(const std::string& args) {
  const std::string cmd = std::string(KILN_BINARY) + " " + args + " 2>&1";
  CliResult r{-1, ""};
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) r.output.append(buf.data(), n);
  const int status = pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

}  // namespace kiln::testing
