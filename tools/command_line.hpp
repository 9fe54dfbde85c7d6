// What every tool's command line has in common: --version, the hidden --generate option the build
// uses to write the man page and shell completions from the same CLI11 definitions as --help (so
// they cannot drift), and, for the tools that run a command, where nucleus's options end and the
// command begins. Use: add_standard_options(app, info) after the app's own options, then either
// app.parse() or parse_with_command().
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace nucleus::cli {

// The project's version, from CMake's project(VERSION).
const char* version() noexcept;
// Where the tool is documented, as an absolute URI (SARIF's informationUri), set at configure time.
const char* information_uri() noexcept;

struct ToolInfo {
  std::string summary;  // one line for the man page's NAME: "run a command under a seccomp profile"
  std::string operands; // what follows the options in the synopsis: "[--] COMMAND [ARG]..."; empty: none
};

// Adds --version and the hidden --generate man|bash|zsh|fish (prints to stdout and exits 0).
// Call after every option and subcommand is defined: the documents are made from them at parse time.
void add_standard_options(CLI::App& app, ToolInfo info);

// Parses argv for a tool that runs a command (nucleus-run, nucleus-trace). The command starts at the
// first word that is neither an option of the app nor an option's value, or after `--`; the words
// before it are parsed strictly, so `--version`, `--help` and misspelt options are never taken for
// the command, and everything from the command on (its own `--help` included) goes to it unchanged.
// Throws CLI::ParseError as app.parse() does; a missing command is a CLI::RequiredError naming
// `what`.
std::vector<std::string> parse_with_command(CLI::App& app, int argc, char** argv, const std::string& what);

// The documents --generate prints (exposed for the tests).
std::string man_page(const CLI::App& app, const ToolInfo& info);
std::string completion(const CLI::App& app, const ToolInfo& info, const std::string& shell);

} // namespace nucleus::cli
