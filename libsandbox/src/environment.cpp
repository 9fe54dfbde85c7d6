// The workload's environment: a small allowlist of the caller's variables, then what the user
// names. Tokens and credentials in the caller's environment never reach the workload unasked.
#include "nucleus/core/error.hpp"
#include "nucleus/core/io.hpp"
#include "nucleus/sandbox/isolation.hpp"

#include <algorithm>
#include <filesystem>
#include <cstring>
#include <map>
#include <sstream>

namespace nucleus::sandbox {
using core::Error;
using core::ErrorKind;
using core::read_file;
namespace {

constexpr std::string_view default_path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

bool valid_name(std::string_view name) {
  if (name.empty() || (name.front() >= '0' && name.front() <= '9')) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

} // namespace

bool environment_allowlisted(std::string_view name) noexcept {
  return name == "PATH" || name == "LANG" || name == "TERM" || name == "TZ" || name.rfind("LC_", 0) == 0;
}

std::vector<std::string> workload_environment(const IsolationConfig& config, char** caller_env) {
  std::map<std::string, std::string> caller;
  for (char** e = caller_env; e != nullptr && *e != nullptr; ++e) {
    std::string_view entry = *e;
    auto eq = entry.find('=');
    if (eq == std::string_view::npos) continue;
    caller.emplace(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
  }
  std::map<std::string, std::string> out;
  for (const auto& [name, value] : caller)
    if (environment_allowlisted(name)) out[name] = value;
  if (out.count("PATH") == 0) out["PATH"] = std::string(default_path);
  // Not the caller's HOME: the workload runs as another identity (uid 65534 when nucleus is root),
  // for which /root is unreadable, so tools warn (git: "unable to access '/root/.config/git/...'")
  // or fail. The sandbox's /tmp is an empty tmpfs of its own at both levels, writable by it.
  out["HOME"] = std::string(workload_home);

  for (const auto& file : config.env_files) {
    std::istringstream in(read_file(file));
    std::string line;
    for (int number = 1; std::getline(in, line); ++number) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      auto first = line.find_first_not_of(" \t");
      if (first == std::string::npos || line[first] == '#') continue;
      auto eq = line.find('=');
      std::string name = eq == std::string::npos ? line.substr(first) : line.substr(first, eq - first);
      if (eq == std::string::npos || !valid_name(name))
        throw Error(ErrorKind::usage, "--env-file " + file + ":" + std::to_string(number) + ": expected NAME=VALUE");
      out[name] = line.substr(eq + 1);
    }
  }
  for (const auto& entry : config.env) {
    auto eq = entry.find('=');
    std::string name = entry.substr(0, eq);
    if (!valid_name(name))
      throw Error(ErrorKind::usage, "--env " + entry + ": expected NAME=VALUE or NAME (letters, digits and _)");
    if (eq != std::string::npos) {
      out[name] = entry.substr(eq + 1);
    } else if (auto it = caller.find(name); it != caller.end()) {
      out[name] = it->second;
    } else {
      out.erase(name); // asked for by name, but unset here: unset there too
    }
  }
  // The default HOME is the sandbox's own empty /tmp. Where a bind puts the host's /tmp there
  // instead, that HOME would be a folder every local user can write: start-up files planted in it
  // (.gitconfig with core.fsmonitor, .bashrc, .npmrc) would run inside the workload.
  if (auto it = out.find("HOME"); it != out.end() && it->second == workload_home) {
    for (const auto* binds : {&config.ro, &config.rw})
      for (const auto& m : *binds) {
        std::string where =
            std::filesystem::path(m.destination.empty() ? m.source : m.destination).lexically_normal().string();
        while (where.size() > 1 && where.back() == '/') where.pop_back();
        if (where == workload_home)
          throw Error(
              ErrorKind::usage,
              std::string(binds == &config.rw ? "--rw " : "--ro ") + m.source + " puts a host folder at " +
                  std::string(workload_home) +
                  ", the workload's default HOME, where start-up files that others can "
                  "plant there (.gitconfig, .bashrc) would run in the workload",
              "give it a home of its own: --env HOME=DIR (a folder the workload may use), or --env HOME to keep yours");
      }
  }
  std::vector<std::string> env;
  for (const auto& [name, value] : out) env.push_back(name + "=" + value);
  return env;
}

} // namespace nucleus::sandbox
