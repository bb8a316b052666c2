#include <CLI/CLI.hpp>

#include "commands.h"

int main(int argc, char** argv) {
  CLI::App app{"kiln: convert, inspect and run TensorFlow SavedModels and ONNX models"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("kiln ") + KILN_VERSION);
  kiln::cli::AddShowCommand(app);
  kiln::cli::AddRunCommand(app);
  kiln::cli::AddBenchCommand(app);
  kiln::cli::AddConvertCommands(app);
  kiln::cli::AddCompareCommand(app);
  CLI11_PARSE(app, argc, argv);
  return 0;
}
