// PATH lookup: one rule (see the header), stat and access on each candidate.
#include "nucleus/core/path_lookup.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

namespace nucleus::core {
namespace {

// 0 when `p` is a regular file this process may execute; else why not.
int check_executable(const std::filesystem::path& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return errno == ENOTDIR ? ENOENT : errno;
  if (S_ISDIR(st.st_mode)) return EISDIR;
  if (!S_ISREG(st.st_mode)) return EACCES; // a device or a fifo: execve refuses it the same way
  if (::access(p.c_str(), X_OK) != 0) return errno;
  return 0;
}

} // namespace

std::string search_path() {
  const char* env = std::getenv("PATH");
  return env != nullptr ? std::string(env) : std::string(default_search_path);
}

CommandLookup lookup_command(std::string_view name, std::string_view search_path) {
  if (name.empty()) return {};
  if (name.find('/') != std::string_view::npos) {
    std::filesystem::path p(name);
    return {p, check_executable(p)};
  }
  CommandLookup first_refused;
  while (true) {
    auto colon = search_path.find(':');
    std::string_view dir = search_path.substr(0, colon);
    // Empty and relative entries stand for the current directory: never searched.
    if (!dir.empty() && dir.front() == '/') {
      std::filesystem::path candidate = std::filesystem::path(dir) / name;
      int err = check_executable(candidate);
      if (err == 0) return {candidate, 0};
      if (err != ENOENT && first_refused.error == ENOENT) first_refused = {candidate, err};
    }
    if (colon == std::string_view::npos) break;
    search_path.remove_prefix(colon + 1);
  }
  return first_refused;
}

} // namespace nucleus::core
