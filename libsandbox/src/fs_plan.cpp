// plan_filesystem(): every decision about what the sandbox's file system shows, for both back ends.
#include "nucleus/sandbox/fs_plan.hpp"

#include "nucleus/core/error.hpp"
#include "nucleus/core/path_lookup.hpp"

#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>

namespace nucleus::sandbox {
using core::Error;
using core::ErrorKind;
namespace {

namespace fs = std::filesystem;

// Whether `p` is `dir` or below it (lexically).
bool below(const fs::path& p, const fs::path& dir) {
  auto rel = p.lexically_relative(dir);
  return !rel.empty() && rel.native().rfind("..", 0) != 0;
}

// Whether a writable bind of `source` would hand the workload a cgroup hierarchy: the folder is on
// a cgroup file system, or one is mounted at or below it (binds are recursive). Writing cgroup.procs
// there moves the workload out of the cgroup that carries nucleus's --pids, memory and CPU limits.
bool exposes_cgroups(const fs::path& source) {
  struct statfs st {};
  if (::statfs(source.c_str(), &st) == 0 &&
      (st.f_type == CGROUP_SUPER_MAGIC || st.f_type == CGROUP2_SUPER_MAGIC))
    return true;
  std::ifstream mountinfo("/proc/self/mountinfo");
  std::string line;
  while (std::getline(mountinfo, line)) {
    // "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw": the mount point is the
    // fifth field, the type the first after " - ". Octal escapes (\040) only in names we compare whole.
    std::istringstream fields(line);
    std::string id, parent, dev, root, point;
    fields >> id >> parent >> dev >> root >> point;
    const std::size_t dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    std::istringstream rest(line.substr(dash + 3));
    std::string type;
    rest >> type;
    if ((type == "cgroup" || type == "cgroup2") && (point == source.string() || below(point, source))) return true;
  }
  return false;
}

std::string absolute_inside(const std::string& path, const std::string& flag) {
  if (path.empty() || path.front() != '/')
    throw Error(ErrorKind::usage, flag + " " + path + ": the path inside the sandbox must be absolute");
  return fs::path(path).lexically_normal().string();
}

// The runtime directories (/run, /var/run, /var/lock) that are real directories in `root` (not
// symlinks, which follow /run).
std::vector<std::string> runtime_dirs(const std::string& root) {
  std::vector<std::string> dirs;
  for (const char* d : {"/run", "/var/run", "/var/lock"}) {
    std::error_code ec;
    auto st = fs::symlink_status(fs::path(root) / fs::path(d).relative_path(), ec);
    if (!ec && fs::is_directory(st)) dirs.emplace_back(d);
  }
  return dirs;
}

// The command's executable as the host sees it (canonical), or empty when it is not found.
fs::path command_path(const std::string& command) {
  std::error_code ec;
  fs::path exe;
  if (command.find('/') != std::string::npos) {
    exe = fs::weakly_canonical(fs::absolute(command, ec), ec);
  } else if (core::CommandLookup found = core::lookup_command(command, core::search_path()); found.found()) {
    exe = fs::weakly_canonical(found.path, ec);
  }
  return !exe.empty() && fs::exists(exe, ec) ? exe : fs::path();
}

// The command, and the directory it is started from, stay visible where a fresh tmpfs (/tmp, /run,
// or a --tmpfs) would hide them: their directories are bound read-only, unless a bind already
// covers them. Without this, `nucleus-run ./app` from a directory under /tmp finds no ./app.
std::vector<std::pair<fs::path, FsOrigin>> exposed_dirs(const IsolationConfig& config, const fs::path& exe,
                                                        const fs::path& cwd) {
  std::vector<std::pair<fs::path, FsOrigin>> out;
  if (!config.rootfs.empty()) return out; // another root: its contents are the user's choice
  auto under = [](const fs::path& p, const fs::path& dir) {
    auto rel = p.lexically_relative(dir);
    return !rel.empty() && *rel.begin() != "..";
  };
  std::vector<fs::path> hidden{"/tmp", "/run", "/var/run", "/var/lock"};
  for (const auto& t : config.tmpfs) hidden.emplace_back(t);
  auto expose = [&](const fs::path& dir, FsOrigin origin) {
    bool is_hidden = std::any_of(hidden.begin(), hidden.end(), [&](const fs::path& h) { return under(dir, h); });
    // Never the hidden directory itself: binding all of the host's /tmp would undo the empty one.
    bool is_root = std::any_of(hidden.begin(), hidden.end(), [&](const fs::path& h) { return dir == h; });
    if (!is_hidden || is_root) return;
    for (const auto* binds : {&config.ro, &config.rw})
      for (const auto& b : *binds)
        if (under(dir, b.destination.empty() ? fs::path(b.source) : fs::path(b.destination))) return;
    for (const auto& [d, o] : out)
      if (under(dir, d)) return;
    out.emplace_back(dir, origin);
  };
  if (!exe.empty()) expose(exe.parent_path(), FsOrigin::command);
  std::error_code ec;
  if (!cwd.empty()) {
    fs::path real = fs::weakly_canonical(cwd, ec);
    if (!ec) expose(real, FsOrigin::cwd);
  }
  return out;
}

struct Builder {
  FsPlan plan;
  const IsolationConfig& config;
  uid_t euid;
  std::vector<std::string> fresh; // fresh tmpfs mounts: mount points below them are made, not required

  FsEntry& add(FsKind kind, FsOrigin origin, std::string path) {
    FsEntry& e = plan.entries.emplace_back();
    e.kind = kind;
    e.origin = origin;
    e.path = std::move(path);
    return e;
  }

  FsEntry& add_tmpfs(FsOrigin origin, const std::string& path, std::string data, bool noexec, std::string purpose) {
    FsEntry& e = add(FsKind::tmpfs, origin, path);
    e.writable = true;
    e.noexec = noexec;
    e.tmpfs_data = std::move(data);
    e.access = fs_full;
    e.purpose = std::move(purpose);
    return e;
  }

  // Below a fresh tmpfs, the mount point is made (it is empty and writable); elsewhere it must
  // already exist in the read-only root.
  void place(FsEntry& e) {
    for (const auto& t : fresh) {
      fs::path rel = fs::path(e.path).lexically_relative(t);
      if (rel.empty() || rel.native().rfind("..", 0) == 0 || rel == ".") continue;
      fs::path at(t);
      for (const auto& part : rel) e.make_first.push_back((at /= part).string());
      return;
    }
    e.needs_mount_point = true;
  }

  void add_bind(const BindMount& m, FsOrigin origin);
};

void Builder::add_bind(const BindMount& m, FsOrigin origin) {
  const bool writable = origin == FsOrigin::rw;
  const std::string flag(origin_flag(origin));
  std::error_code ec;
  fs::path source = fs::absolute(m.source, ec);
  auto st = fs::status(source, ec);
  if (ec || !fs::exists(st)) throw Error(ErrorKind::not_found, flag + " " + m.source + ": no such file or directory");
  FsEntry& e = add(FsKind::bind, origin, absolute_inside(m.destination.empty() ? source.string() : m.destination, flag));
  e.source = source.lexically_normal().string();
  e.shown_as = m.source;
  e.directory = fs::is_directory(st);
  e.writable = writable;
  e.access = writable ? fs_full : fs_read_only;
  place(e);
  // Nucleus as root runs the workload as the unprivileged host_uid: a directory of another owner
  // that it may not write is shown through an idmap, never one of root's (what the workload made
  // there would be root-owned on the host).
  if (writable && !config.host_root && exposes_cgroups(source.lexically_normal()))
    throw Error(ErrorKind::permission,
                "--rw " + m.source + " would let the workload write a cgroup hierarchy, where it could move itself out "
                "of the cgroup that holds nucleus's --pids, memory and CPU limits",
                "bind it read-only (--ro), or, for trusted work only, --host-root");
  const bool switched = euid == 0 && !config.host_root;
  if (!writable || !switched) return;
  struct stat owner {};
  if (::stat(e.source.c_str(), &owner) != 0) core::throw_errno("--rw " + m.source);
  if (owner.st_uid == config.host_uid || (owner.st_mode & S_IWOTH) != 0) return;
  if (owner.st_uid == 0) {
    const std::string uid = std::to_string(config.host_uid);
    throw Error(ErrorKind::permission,
                "--rw " + m.source + " is owned by root and not writable for the workload, which runs as the "
                "unprivileged host uid " + uid + "; an idmapped mount would make what it creates there root-owned",
                "give it to an unprivileged owner (chown " + uid + ":" + std::to_string(config.host_gid) + " " + m.source +
                    ", or to your own user), or make it writable for uid " + uid + "; or, for trusted work only, --host-root");
  }
  e.idmap = FsIdmap{owner.st_uid, owner.st_gid};
}

CwdChoice choose_cwd(const IsolationConfig& config, const fs::path& cwd,
                     const std::vector<std::pair<fs::path, FsOrigin>>& exposed) {
  if (cwd.empty()) return CwdChoice::unknown;
  if (!config.rootfs.empty()) return CwdChoice::rootfs;
  std::error_code ec;
  for (const auto* list : {&config.rw, &config.ro})
    for (const auto& m : *list)
      if (m.destination.empty() && below(cwd, fs::absolute(m.source, ec).lexically_normal())) return CwdChoice::caller;
  for (const auto& [dir, origin] : exposed)
    if (below(cwd, dir)) return CwdChoice::caller;
  if (below(cwd, "/tmp")) return CwdChoice::hidden;
  for (const auto& t : config.tmpfs)
    if (below(cwd, t)) return CwdChoice::hidden;
  return CwdChoice::caller;
}

void plan_fixed(Builder& b, const std::string& root) {
  const bool rootfs = !b.config.rootfs.empty();
  FsEntry& r = b.add(FsKind::root, rootfs ? FsOrigin::rootfs : FsOrigin::sandbox, "/");
  r.source = root;

  FsEntry& proc = b.add(FsKind::proc, FsOrigin::sandbox, "/proc");
  proc.noexec = true;
  proc.writable = true; // the kernel's own files; Landlock's read-only rule refuses writes (access)
  proc.needs_mount_point = rootfs;
  // The kernel's knobs stay read-only by mount, not only by Landlock: a workload that is uid 0
  // could otherwise write host-wide settings such as kernel.core_pattern or trigger sysrq.
  for (const char* knob : {"/proc/sys", "/proc/sysrq-trigger"})
    if (fs::exists(fs::path("/proc") / fs::path(knob).filename())) proc.read_only_below.emplace_back(knob);

  FsEntry& dev = b.add(FsKind::dev, FsOrigin::sandbox, "/dev");
  dev.nodev = false; // the device nodes are bound in
  dev.noexec = true;
  dev.tmpfs_data = "mode=0755,size=64k";
  dev.devices = {"null", "zero", "full", "random", "urandom", "tty"};
  dev.access = fs_read_only | FsAccess::write; // the devices may be written, nothing made there
  dev.needs_mount_point = rootfs;
  b.add_tmpfs(FsOrigin::sandbox, "/dev/shm", "mode=1777", true, "");
  b.add_tmpfs(FsOrigin::sandbox, "/tmp", "mode=1777", false, "").needs_mount_point = rootfs;
  b.fresh.emplace_back("/tmp");

  // Host daemons listen below /run (docker.sock, dbus, systemd): the sandbox gets empty ones, so a
  // host socket is reachable only where --ro/--rw binds it. Symlinks (/var/run -> /run) follow.
  for (const std::string& dir : runtime_dirs(root)) {
    b.add_tmpfs(FsOrigin::sandbox, dir, "mode=0755", true, "no host sockets");
    b.fresh.push_back(dir);
    if (dir != "/run") continue;
    // Where /var/lock points on Debian: lock files of every user.
    b.place(b.add_tmpfs(FsOrigin::sandbox, "/run/lock", "mode=1777", true, ""));
    FsEntry& user = b.add(FsKind::directory, FsOrigin::sandbox, "/run/user");
    user.access = fs_full; // inside /run's tmpfs, whose mount and rule cover it
    b.place(user);
  }
}

} // namespace

std::string_view origin_flag(FsOrigin origin) noexcept {
  switch (origin) {
  case FsOrigin::sandbox: return "";
  case FsOrigin::rootfs: return "--rootfs";
  case FsOrigin::rw: return "--rw";
  case FsOrigin::tmpfs: return "--tmpfs";
  case FsOrigin::ro:
  case FsOrigin::command:
  case FsOrigin::cwd: return "--ro";
  }
  return "";
}

FsHost FsHost::current() {
  std::error_code ec;
  FsHost h;
  h.cwd = fs::current_path(ec);
  if (ec) h.cwd.clear();
  h.euid = ::geteuid();
  return h;
}

FsPlan plan_filesystem(const IsolationConfig& config, const std::vector<std::string>& command, const FsHost& host) {
  if (command.empty()) throw Error(ErrorKind::usage, "no command given");
  Builder b{{}, config, host.euid, {}};
  const std::string root = config.rootfs.empty() ? std::string("/") : fs::absolute(config.rootfs).string();
  if (!config.rootfs.empty() && !fs::is_directory(root))
    throw Error(ErrorKind::not_found, "--rootfs " + config.rootfs + ": not a directory");
  b.plan.partial_read_only_ok = config.allow_degraded_security;
  b.plan.command = command_path(command.front());
  plan_fixed(b, root);

  for (const auto& t : config.tmpfs) {
    FsEntry& e = b.add_tmpfs(FsOrigin::tmpfs, absolute_inside(t, "--tmpfs"), "mode=1777", false, "");
    b.place(e);
    b.fresh.push_back(e.path);
  }
  const auto exposed = exposed_dirs(config, b.plan.command, host.cwd);
  for (const auto& m : config.ro) b.add_bind(m, FsOrigin::ro);
  for (const auto& [dir, origin] : exposed) b.add_bind({dir.string(), {}}, origin);
  for (const auto& m : config.rw) b.add_bind(m, FsOrigin::rw);

  b.plan.cwd_choice = choose_cwd(config, host.cwd, exposed);
  b.plan.cwd = b.plan.cwd_choice == CwdChoice::caller ? host.cwd.string() : "/";
  return std::move(b.plan);
}

std::vector<std::string> writable_paths(const FsPlan& plan) {
  std::vector<std::string> out;
  for (const auto& e : plan.entries)
    if (e.kind != FsKind::directory && has(e.access, FsAccess::create)) out.push_back(e.path);
  return out;
}

} // namespace nucleus::sandbox
