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
  if (::statfs(source.c_str(), &st) == 0 && (st.f_type == CGROUP_SUPER_MAGIC || st.f_type == CGROUP2_SUPER_MAGIC))
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

bool strictly_below(const fs::path& p, const fs::path& dir) { return below(p, dir) && p != dir; }

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
  std::vector<std::string> fresh;  // fresh tmpfs mounts: mount points below them are made, not required
  std::vector<std::string> folded; // policy paths below a fresh tmpfs that the host does not have

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
  // already exist in the read-only root. The deepest of them decides; under a policy's empty
  // root a bind may lie deeper, and then the host tree it shows has the mount point.
  void place(FsEntry& e) {
    const std::string* in = nullptr;
    for (const auto& t : fresh)
      if (strictly_below(e.path, t) && (in == nullptr || t.size() > in->size())) in = &t;
    if (plan.entries.front().source.empty()) {
      for (const auto& other : plan.entries) {
        if (&other == &e || other.kind != FsKind::bind || !strictly_below(e.path, other.path)) continue;
        if (in != nullptr && other.path.size() < in->size()) continue;
        std::error_code ec;
        fs::path inside = fs::path(other.source) / fs::path(e.path).lexically_relative(other.path);
        if (!fs::exists(inside, ec))
          throw Error(ErrorKind::not_found, std::string(origin_flag(e.origin)) + " " + e.path +
                                                ": the mount point does not exist in " + other.source);
        return;
      }
    }
    if (in == nullptr) {
      e.needs_mount_point = true;
      return;
    }
    fs::path at(*in);
    for (const auto& part : fs::path(e.path).lexically_relative(*in)) e.make_first.push_back((at /= part).string());
  }

  // A mount of the sandbox's own: on the host's root it exists (under --rootfs it must); on a
  // policy's empty root it is made.
  void own_mount_point(FsEntry& e, bool rootfs) {
    if (plan.entries.front().source.empty()) place(e);
    else e.needs_mount_point = rootfs;
  }

  void idmap_if_needed(FsEntry& e, const std::string& flag);
  void refuse_cgroups(const FsEntry& e, const std::string& flag) const;
  void add_policy_path(const core::PathRule& rule);
  void widen_fresh_by_policy();

  void add_bind(const BindMount& m, FsOrigin origin);
};

void Builder::add_bind(const BindMount& m, FsOrigin origin) {
  const bool writable = origin == FsOrigin::rw;
  const std::string flag(origin_flag(origin));
  std::error_code ec;
  fs::path source = fs::absolute(m.source, ec);
  auto st = fs::status(source, ec);
  if (ec || !fs::exists(st)) throw Error(ErrorKind::not_found, flag + " " + m.source + ": no such file or directory");
  FsEntry& e =
      add(FsKind::bind, origin, absolute_inside(m.destination.empty() ? source.string() : m.destination, flag));
  e.source = source.lexically_normal().string();
  e.shown_as = m.source;
  e.directory = fs::is_directory(st);
  e.writable = writable;
  e.access = writable ? fs_full : fs_read_only;
  if (writable) refuse_cgroups(e, flag);
  if (config.policy) {
    // The policy governs what may be done there; the bind can only narrow it further.
    e.access = static_cast<FsAccess>(static_cast<unsigned>(e.access) &
                                     static_cast<unsigned>(fs_access(core::access_for(*config.policy, e.path))));
  } else {
    place(e); // with a policy: once every bind is in order (plan_policy)
  }
  if (writable) idmap_if_needed(e, flag);
}

void Builder::refuse_cgroups(const FsEntry& e, const std::string& flag) const {
  if (!config.host_root && exposes_cgroups(e.source))
    throw Error(ErrorKind::permission,
                flag + " " + e.shown_as +
                    " would let the workload write a cgroup hierarchy, where it could move itself out "
                    "of the cgroup that holds nucleus's --pids, memory and CPU limits",
                flag == "--rw" ? "bind it read-only (--ro), or, for trusted work only, --host-root"
                               : "grant it read only in the policy, or, for trusted work only, --host-root");
}

// Nucleus as root runs the workload as the unprivileged host_uid: a directory of another owner
// that it may not write is shown through an idmap, never one of root's (what the workload made
// there would be root-owned on the host).
void Builder::idmap_if_needed(FsEntry& e, const std::string& flag) {
  const bool switched = euid == 0 && !config.host_root;
  if (!switched) return;
  struct stat owner {};
  if (::stat(e.source.c_str(), &owner) != 0) core::throw_errno(flag + " " + e.shown_as);
  if (owner.st_uid == config.host_uid || (owner.st_mode & S_IWOTH) != 0) return;
  if (owner.st_uid == 0) {
    const std::string uid = std::to_string(config.host_uid);
    throw Error(ErrorKind::permission,
                flag + " " + e.shown_as +
                    " is owned by root and not writable for the workload, which runs as the "
                    "unprivileged host uid " +
                    uid + "; an idmapped mount would make what it creates there root-owned",
                "give it to an unprivileged owner (chown " + uid + ":" + std::to_string(config.host_gid) + " " +
                    e.shown_as + ", or to your own user), or make it writable for uid " + uid +
                    "; or, for trusted work only, --host-root");
  }
  e.idmap = FsIdmap{owner.st_uid, owner.st_gid};
}

// One path of the policy: a bind of the same host path with the access the policy grants there
// (its own and that of every entry above it, as Landlock adds them up). /proc and /dev are the
// sandbox's own. Below a fresh tmpfs, a path the host has is bound into it like an --rw; one it
// has not is the workload's to make there, so the tmpfs takes its access (widen_fresh_by_policy).
// Elsewhere a path absent on the host cannot be shown: noted.
void Builder::add_policy_path(const core::PathRule& rule) {
  if (rule.path == "/") return; // the root's own access
  for (const char* own : {"/proc", "/dev"})
    if (below(rule.path, own)) return;
  const bool in_fresh =
      std::any_of(fresh.begin(), fresh.end(), [&](const std::string& t) { return t != "/" && below(rule.path, t); });
  struct stat st {};
  const bool on_host = std::none_of(fresh.begin(), fresh.end(), [&](const std::string& t) { return t == rule.path; }) &&
                       ::stat(rule.path.c_str(), &st) == 0;
  if (!on_host) {
    if (in_fresh) folded.push_back(rule.path);
    else
      plan.notes.push_back("--policy: " + rule.path + " does not exist on the host, so the sandbox does not show it");
    return;
  }
  const FsAccess access = fs_access(core::access_for(*config.policy, rule.path));
  // Covered by a policy entry above with the same access: its bind shows this path already.
  for (auto it = plan.entries.rbegin(); it != plan.entries.rend(); ++it)
    if (it->origin == FsOrigin::policy && strictly_below(rule.path, it->path)) {
      if (it->access == access) return;
      break;
    }
  FsEntry& e = add(FsKind::bind, FsOrigin::policy, rule.path);
  e.source = rule.path;
  e.shown_as = rule.path;
  e.directory = S_ISDIR(st.st_mode);
  e.access = access;
  e.writable = has(access, FsAccess::write) || has(access, FsAccess::create) || has(access, FsAccess::remove);
  e.noexec = !has(access, FsAccess::execute);
  if (e.writable) {
    refuse_cgroups(e, "--policy");
    idmap_if_needed(e, "--policy");
  }
}

// A fresh tmpfs holds only what the workload makes there: the policy's access for it and for any
// path below it (those paths do not exist before the workload makes them, so no rule of their
// own can hold them).
void Builder::widen_fresh_by_policy() {
  for (FsEntry& e : plan.entries) {
    if (e.kind != FsKind::tmpfs) continue;
    core::PathAccessSet set = core::access_for(*config.policy, e.path);
    for (const auto& path : folded)
      if (strictly_below(path, e.path)) set |= core::access_for(*config.policy, path);
    e.access = fs_access(set);
    // Read-only where the policy allows nothing to be written: gVisor has only the mount to say so.
    e.writable = has(e.access, FsAccess::write) || has(e.access, FsAccess::create) || has(e.access, FsAccess::remove);
  }
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
  const bool policy = b.config.policy.has_value();
  FsEntry& r = b.add(FsKind::root, rootfs ? FsOrigin::rootfs : FsOrigin::sandbox, "/");
  r.source = policy ? std::string() : root;
  if (policy) {
    r.access = fs_access(core::access_for(*b.config.policy, "/"));
    r.purpose = "only the policy's paths are visible";
    b.fresh.emplace_back("/");
  }

  FsEntry& proc = b.add(FsKind::proc, FsOrigin::sandbox, "/proc");
  proc.noexec = true;
  proc.writable = true; // the kernel's own files; Landlock's read-only rule refuses writes (access)
  b.own_mount_point(proc, rootfs);
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
  b.own_mount_point(dev, rootfs);
  b.add_tmpfs(FsOrigin::sandbox, "/dev/shm", "mode=1777", true, "");
  b.own_mount_point(b.add_tmpfs(FsOrigin::sandbox, "/tmp", "mode=1777", false, ""), rootfs);
  b.fresh.emplace_back("/tmp");

  // Host daemons listen below /run (docker.sock, dbus, systemd): the sandbox gets empty ones, so a
  // host socket is reachable only where --ro/--rw binds it. Symlinks (/var/run -> /run) follow;
  // a policy's empty root has none of them, only the empty /run.
  for (const std::string& dir : policy ? std::vector<std::string>{"/run"} : runtime_dirs(root)) {
    b.own_mount_point(b.add_tmpfs(FsOrigin::sandbox, dir, "mode=0755", true, "no host sockets"), false);
    b.fresh.push_back(dir);
    if (dir != "/run") continue;
    // Where /var/lock points on Debian: lock files of every user.
    b.place(b.add_tmpfs(FsOrigin::sandbox, "/run/lock", "mode=1777", true, ""));
    FsEntry& user = b.add(FsKind::directory, FsOrigin::sandbox, "/run/user");
    user.access = fs_full; // inside /run's tmpfs, whose mount and rule cover it
    b.place(user);
  }
}

// The policy's view: its paths, then --ro and --rw (which it narrows), each placed once all are
// known; the working directory where the policy lets it be read; the command where it may run.
void plan_policy(Builder& b, const FsHost& host) {
  const IsolationConfig& config = b.config;
  if (!config.rootfs.empty())
    throw Error(ErrorKind::usage, "--policy and --rootfs cannot be combined: the policy's paths are host paths",
                "leave out --rootfs");
  for (const auto& rule : config.policy->files) b.add_policy_path(rule);
  for (const auto& m : config.ro) b.add_bind(m, FsOrigin::ro);
  for (const auto& m : config.rw) b.add_bind(m, FsOrigin::rw);
  // Mounted in order: a folder before the paths below it, whichever flag named them, so that a
  // policy's file below a --rw folder is bound on the folder's tree and not hidden under it.
  auto binds = std::find_if(b.plan.entries.begin(), b.plan.entries.end(),
                            [](const FsEntry& e) { return e.kind == FsKind::bind; });
  std::stable_sort(binds, b.plan.entries.end(), [](const FsEntry& x, const FsEntry& y) {
    auto depth = [](const std::string& p) { return std::count(p.begin(), p.end(), '/') - (p == "/" ? 1 : 0); };
    return depth(x.path) < depth(y.path);
  });
  for (FsEntry& e : b.plan.entries)
    if (e.kind == FsKind::bind) b.place(e);
  b.widen_fresh_by_policy();

  b.plan.cwd_choice = CwdChoice::hidden;
  if (host.cwd.empty()) b.plan.cwd_choice = CwdChoice::unknown;
  for (const FsEntry& e : b.plan.entries)
    if (e.kind == FsKind::bind && has(e.access, FsAccess::read) && below(host.cwd, e.path))
      b.plan.cwd_choice = CwdChoice::caller;
  b.plan.cwd = b.plan.cwd_choice == CwdChoice::caller ? host.cwd.string() : "/";

  const std::string& policy_file = config.policy_source.empty() ? std::string("the policy") : config.policy_source;
  const fs::path& exe = b.plan.command;
  if (!exe.empty() && !core::has(core::access_for(*config.policy, exe.string()), core::PathAccess::execute))
    throw Error(ErrorKind::permission,
                "--policy " + policy_file + " does not let the command run: " + exe.string() +
                    " is not granted execute",
                "grant it: nucleus-profile add " + policy_file + " --path " + exe.parent_path().string() +
                    " --access read,execute");
}

} // namespace

std::string_view origin_flag(FsOrigin origin) noexcept {
  switch (origin) {
  case FsOrigin::sandbox: return "";
  case FsOrigin::rootfs: return "--rootfs";
  case FsOrigin::rw: return "--rw";
  case FsOrigin::tmpfs: return "--tmpfs";
  case FsOrigin::policy: return "--policy";
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
  Builder b{{}, config, host.euid, {}, {}};
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
  if (config.policy) {
    plan_policy(b, host);
    return std::move(b.plan);
  }
  const auto exposed = exposed_dirs(config, b.plan.command, host.cwd);
  for (const auto& m : config.ro) b.add_bind(m, FsOrigin::ro);
  for (const auto& [dir, origin] : exposed) b.add_bind({dir.string(), {}}, origin);
  for (const auto& m : config.rw) b.add_bind(m, FsOrigin::rw);

  b.plan.cwd_choice = choose_cwd(config, host.cwd, exposed);
  b.plan.cwd = b.plan.cwd_choice == CwdChoice::caller ? host.cwd.string() : "/";
  return std::move(b.plan);
}

FsAccess fs_access(core::PathAccessSet access) noexcept {
  static_assert(static_cast<unsigned>(FsAccess::read) == static_cast<unsigned>(core::PathAccess::read) &&
                static_cast<unsigned>(FsAccess::write) == static_cast<unsigned>(core::PathAccess::write) &&
                static_cast<unsigned>(FsAccess::create) == static_cast<unsigned>(core::PathAccess::create) &&
                static_cast<unsigned>(FsAccess::execute) == static_cast<unsigned>(core::PathAccess::execute) &&
                static_cast<unsigned>(FsAccess::remove) == static_cast<unsigned>(core::PathAccess::remove) &&
                static_cast<unsigned>(FsAccess::list) == static_cast<unsigned>(core::PathAccess::list));
  return static_cast<FsAccess>(access & core::all_path_access);
}

std::vector<std::string> writable_paths(const FsPlan& plan) {
  std::vector<std::string> out;
  for (const auto& e : plan.entries)
    if (e.kind != FsKind::directory && has(e.access, FsAccess::create)) out.push_back(e.path);
  return out;
}

} // namespace nucleus::sandbox
