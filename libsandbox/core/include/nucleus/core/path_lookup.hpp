// Finding a command on PATH, with one rule for every caller (spawning the workload, naming it in a
// trace, showing its directory in the sandbox, finding runsc): only absolute directories are
// searched, so an empty or relative PATH entry (which means "the current directory") never lets a
// file there stand in for a system command; the first regular file the caller may execute wins.
// Use: lookup_command("ls", search_path()); a name with a '/' is checked, not searched.
#pragma once

#include <cerrno>
#include <filesystem>
#include <string>
#include <string_view>

namespace nucleus::core {

// Searched when PATH is not set at all (what the shells and execvp use then, without ".").
inline constexpr std::string_view default_search_path = "/usr/local/bin:/usr/bin:/bin";

// This process's PATH, or default_search_path when it is unset.
std::string search_path();

struct CommandLookup {
  std::filesystem::path path; // what to execute: a PATH directory joined with the name, or the name
  // 0: found. ENOENT: no such file anywhere. Otherwise the errno of the first candidate that exists
  // but cannot be executed (EACCES, EISDIR, ...), and `path` names that candidate.
  int error = ENOENT;
  bool found() const noexcept { return error == 0; }
};

// `name` with a '/' is checked where it is; otherwise each absolute directory of `search_path`
// (colon-separated) is tried in order.
CommandLookup lookup_command(std::string_view name, std::string_view search_path);

} // namespace nucleus::core
