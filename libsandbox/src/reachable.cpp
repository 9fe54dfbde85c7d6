#include "reachable.hpp"

#include "nucleus/core/error.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

namespace nucleus::sandbox::detail {
using core::Error;
using core::ErrorKind;
namespace {

namespace fs = std::filesystem;

bool permits(const struct stat& st, uid_t uid, gid_t gid, unsigned bits) {
  unsigned m = st.st_uid == uid ? (st.st_mode >> 6) : st.st_gid == gid ? (st.st_mode >> 3) : st.st_mode;
  return (m & bits) == bits;
}

std::string octal(unsigned mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", mode & 07777);
  return buf;
}

} // namespace

std::optional<Blocked> blocked_for(const fs::path& path, uid_t uid, gid_t gid, unsigned last_bits) {
  fs::path at = path.root_path();
  auto check = [&](const fs::path& p, unsigned bits) -> std::optional<Blocked> {
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0 || permits(st, uid, gid, bits)) return std::nullopt;
    return Blocked{p, static_cast<unsigned>(st.st_mode), st.st_uid};
  };
  for (auto it = path.begin(); it != path.end(); ++it) {
    if (it->empty() || *it == path.root_path()) continue;
    if (auto b = check(at, 1)) return b; // each directory on the way needs search permission
    at /= *it;
  }
  return check(at, last_bits);
}

void require_reachable(const IsolationConfig& config, const fs::path& exe, const fs::path& cwd) {
  if (::geteuid() != 0 || config.host_root || !config.rootfs.empty()) return;
  const std::string who = "uid " + std::to_string(config.host_uid);
  auto refuse = [&](const std::string& what, const Blocked& b, const std::string& hint) {
    throw Error(
        ErrorKind::permission,
        what + " is out of the workload's reach: it runs as " + who + " (not root), and " + b.where.string() +
            " (mode " + octal(b.mode) + ", owner uid " + std::to_string(b.owner) + ") does not let " + who + " " +
            (b.where == exe   ? "run it"
             : b.where == cwd ? "in"
                              : "through"),
        hint + "; nucleus does not open root's folders to the workload, since that would show it root's other files");
  };
  const std::string move = "copy it to a folder " + who + " can read and enter, e.g. mkdir -m 0755 /srv/app && cp -p " +
                           (exe.empty() ? std::string("APP") : exe.filename().string()) + " /srv/app/";
  // A file nobody may execute is left to the exec, which says so (exit 126); one that root may
  // execute and the identity may not is out of its reach like a closed folder.
  struct stat st {};
  const unsigned exe_bits = !exe.empty() && ::stat(exe.c_str(), &st) == 0 && (st.st_mode & 0111) != 0 ? 1 : 0;
  if (!exe.empty())
    if (auto b = blocked_for(exe, config.host_uid, config.host_gid, exe_bits))
      refuse("the command " + exe.string(), *b, move + ", and run it from there");
  if (!cwd.empty())
    if (auto b = blocked_for(cwd, config.host_uid, config.host_gid, 1))
      refuse("the folder it is started from, " + cwd.string() + ",", *b,
             "start it from a folder " + who + " can enter (cd /srv/app, or cd /)");
}

} // namespace nucleus::sandbox::detail
