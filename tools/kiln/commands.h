#pragma once
// The kiln command-line tool's subcommands.

#include <CLI/CLI.hpp>

namespace kiln::cli {

void AddShowCommand(CLI::App& app);
void AddRunCommand(CLI::App& app);
void AddBenchCommand(CLI::App& app);
// convert, build, summary
void AddConvertCommands(CLI::App& app);
void AddCompareCommand(CLI::App& app);

}  // namespace kiln::cli
