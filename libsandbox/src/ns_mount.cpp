#include "ns_mount.hpp"

#include "nucleus/core/error.hpp"
#include "nucleus/core/pidfd.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <sched.h>
#include <signal.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace nucleus::sandbox::detail {
using core::Error;
using core::ErrorKind;
using core::UniqueFd;
using core::throw_errno;
namespace {

namespace fs = std::filesystem;

struct Builder {
  MountPlan plan;
  std::string staging;

  const char* keep(std::string s) { return plan.strings.emplace_back(std::move(s)).c_str(); }
  void add(MountKind kind, const std::string& source, const std::string& inside, const char* fstype = nullptr,
           unsigned long flags = 0, const char* data = nullptr) {
    plan.steps.push_back({kind, source.empty() ? nullptr : keep(source), keep(staging + inside), fstype, flags, data, -1});
  }
};

// Mount points cannot be created in a read-only view, so they must already exist there.
void require_mount_point(const std::string& root, const std::string& inside, bool directory, const std::string& flag) {
  fs::path p = fs::path(root) / fs::path(inside).relative_path();
  std::error_code ec;
  auto st = fs::status(p, ec);
  if (ec || !fs::exists(st))
    throw Error(ErrorKind::not_found, flag + " " + inside + ": the mount point does not exist in the sandbox's root",
                "mount points are not created, because the root is read-only: create " + p.string() + " first");
  if (directory != fs::is_directory(st))
    throw Error(ErrorKind::usage, flag + " " + inside + ": source and mount point must both be directories or both files");
}

// A user namespace whose only mapping is on-disk `from` -> `to` (uid and gid), for an idmapped
// mount: through it, files owned by `from` appear owned by `to`, and what `to` creates is stored
// as `from`. Made by a child that only waits, so that its /proc maps can be written from here.
UniqueFd idmap_userns(uid_t from_uid, gid_t from_gid, uid_t to_uid, gid_t to_gid) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) throw_errno("cannot create a pipe");
  UniqueFd wait_end(p[0]), release_end(p[1]);
  long pid = ::syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, nullptr, nullptr, nullptr, 0);
  if (pid < 0) throw_errno("cannot create a user namespace for an idmapped mount");
  if (pid == 0) {
    ::close(release_end.get()); // else its own copy keeps the pipe open
    char c;
    while (::read(wait_end.get(), &c, 1) < 0 && errno == EINTR) {
    }
    ::_exit(0);
  }
  auto reap = [&] {
    release_end.reset();
    int status = 0;
    core::wait_child(static_cast<pid_t>(pid), status);
  };
  std::string dir = "/proc/" + std::to_string(pid) + "/";
  auto write_map = [&](const char* file, unsigned a, unsigned b) {
    std::string line = std::to_string(a) + " " + std::to_string(b) + " 1\n";
    UniqueFd fd(::open((dir + file).c_str(), O_WRONLY | O_CLOEXEC));
    return fd && ::write(fd.get(), line.data(), line.size()) == static_cast<ssize_t>(line.size());
  };
  bool ok = write_map("uid_map", from_uid, to_uid) && write_map("gid_map", from_gid, to_gid);
  int saved = errno;
  UniqueFd ns(ok ? ::open((dir + "ns/user").c_str(), O_RDONLY | O_CLOEXEC) : -1);
  if (ok && !ns) saved = errno;
  reap();
  if (!ns) {
    errno = saved;
    throw_errno("cannot set up the user namespace of an idmapped mount");
  }
  return ns;
}

std::string absolute_inside(const std::string& path, const std::string& flag) {
  if (path.empty() || path.front() != '/')
    throw Error(ErrorKind::usage, flag + " " + path + ": the path inside the sandbox must be absolute");
  return fs::path(path).lexically_normal().string();
}

} // namespace

std::vector<std::string> runtime_dirs(const std::string& root) {
  std::vector<std::string> dirs;
  for (const char* d : {"/run", "/var/run", "/var/lock"}) {
    std::error_code ec;
    fs::path p = fs::path(root) / fs::path(d).relative_path();
    auto st = fs::symlink_status(p, ec);
    if (!ec && fs::is_directory(st)) dirs.emplace_back(d);
  }
  return dirs;
}

bool mount_setattr_available() noexcept {
  // An invalid call: ENOSYS only where the kernel lacks mount_setattr (before 5.12).
  return !(::syscall(SYS_mount_setattr, -1, "", 0, nullptr, 0) != 0 && errno == ENOSYS);
}

MountPlan plan_mounts(const IsolationConfig& config, const std::string& staging) {
  Builder b;
  b.staging = staging;
  const std::string root = config.rootfs.empty() ? std::string("/") : fs::absolute(config.rootfs).string();
  if (!config.rootfs.empty()) {
    if (!fs::is_directory(root)) throw Error(ErrorKind::not_found, "--rootfs " + config.rootfs + ": not a directory");
    for (const char* needed : {"/proc", "/dev", "/tmp"}) require_mount_point(root, needed, true, "--rootfs");
  }
  // readonly steps carry in `flags` whether the pre-5.12 fallback (top mount only) is acceptable.
  const unsigned long partial_ok = config.allow_degraded_security ? 1 : 0;
  b.add(MountKind::bind, root, "");
  b.add(MountKind::readonly, {}, "", nullptr, partial_ok);
  b.plan.described.push_back("mount " + root + " read-only as /, nosuid, nodev; private propagation");

  b.add(MountKind::filesystem, "proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC);
  // The kernel's knobs stay read-only by mount, not only by Landlock: a workload that is uid 0
  // could otherwise write host-wide settings such as kernel.core_pattern or trigger sysrq.
  for (const char* knob : {"/proc/sys", "/proc/sysrq-trigger"}) {
    if (!fs::exists(fs::path("/proc") / fs::path(knob).filename())) continue;
    b.add(MountKind::bind, staging + knob, knob);
    b.add(MountKind::readonly, {}, knob, nullptr, partial_ok);
  }
  b.plan.described.push_back("mount a fresh /proc (only the sandbox's processes), /proc/sys and /proc/sysrq-trigger read-only");

  b.add(MountKind::filesystem, "tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=64k");
  for (const char* node : {"null", "zero", "full", "random", "urandom", "tty"}) {
    std::string inside = std::string("/dev/") + node;
    b.add(MountKind::create_file, {}, inside);
    b.add(MountKind::bind, inside, inside);
  }
  b.add(MountKind::create_dir, {}, "/dev/shm");
  b.add(MountKind::create_dir, {}, "/dev/pts");
  const std::pair<const char*, const char*> links[] = {
      {"/proc/self/fd", "/dev/fd"}, {"/proc/self/fd/0", "/dev/stdin"}, {"/proc/self/fd/1", "/dev/stdout"},
      {"/proc/self/fd/2", "/dev/stderr"}, {"pts/ptmx", "/dev/ptmx"}};
  for (const auto& [to, at] : links) b.add(MountKind::symlink, to, at);
  b.add(MountKind::remount_ro, {}, "/dev");
  b.add(MountKind::filesystem, "tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777");
  b.plan.described.push_back("mount a minimal read-only /dev: null zero full random urandom tty, tmpfs /dev/shm");
  b.plan.writable.push_back("/dev/shm");

  b.add(MountKind::filesystem, "tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
  b.plan.described.push_back("mount an empty tmpfs on /tmp");
  b.plan.writable.push_back("/tmp");

  // Below a fresh tmpfs, mount points are created (it is empty and writable); elsewhere they must exist.
  std::vector<std::string> fresh_tmpfs = {"/tmp"};

  // Host daemons listen below /run (docker.sock, dbus, systemd): the sandbox gets empty ones, so a
  // host socket is reachable only where --ro/--rw binds it. Symlinks (/var/run -> /run) follow.
  for (const std::string& dir : runtime_dirs(root)) {
    b.add(MountKind::filesystem, "tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755");
    if (dir == "/run")
      for (const char* sub : {"/run/lock", "/run/user"}) b.add(MountKind::create_dir, {}, sub);
    b.plan.writable.push_back(dir);
    fresh_tmpfs.push_back(dir);
    b.plan.described.push_back("mount an empty tmpfs on " + dir + " (no host sockets)");
  }
  auto prepare_mount_point = [&](const std::string& inside, bool directory, const std::string& flag) {
    for (const auto& t : fresh_tmpfs) {
      fs::path rel = fs::path(inside).lexically_relative(t);
      if (rel.empty() || rel.native().rfind("..", 0) == 0 || rel == ".") continue;
      fs::path at(t);
      for (auto it = rel.begin(); it != rel.end(); ++it) {
        at /= *it;
        bool last = std::next(it) == rel.end();
        b.add(last && !directory ? MountKind::create_file : MountKind::create_dir, {}, at.string());
      }
      return;
    }
    require_mount_point(root, inside, directory, flag);
  };
  for (const auto& t : config.tmpfs) {
    std::string inside = absolute_inside(t, "--tmpfs");
    prepare_mount_point(inside, true, "--tmpfs");
    b.add(MountKind::filesystem, "tmpfs", inside, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755");
    b.plan.writable.push_back(inside);
    fresh_tmpfs.push_back(inside);
    b.plan.described.push_back("mount an empty writable tmpfs on " + inside);
  }
  const bool switched = ::geteuid() == 0 && !config.host_root;
  auto add_bind = [&](const BindMount& m, bool writable) {
    const std::string flag = writable ? "--rw" : "--ro";
    std::error_code ec;
    fs::path source = fs::absolute(m.source, ec);
    auto st = fs::status(source, ec);
    if (ec || !fs::exists(st)) throw Error(ErrorKind::not_found, flag + " " + m.source + ": no such file or directory");
    std::string inside = absolute_inside(m.destination.empty() ? source.string() : m.destination, flag);
    prepare_mount_point(inside, fs::is_directory(st), flag);
    const std::string src = source.lexically_normal().string();
    std::string how;
    struct stat owner {};
    if (writable && switched && ::stat(src.c_str(), &owner) != 0) throw_errno("--rw " + m.source);
    bool plain = !writable || !switched || owner.st_uid == config.host_uid || (owner.st_mode & S_IWOTH) != 0;
    if (plain) {
      b.add(MountKind::bind, src, inside);
      // Nothing the workload writes there may raise privileges: no set-id binaries, no devices.
      if (writable) b.add(MountKind::nosuid_nodev, {}, inside);
      else b.add(MountKind::readonly, {}, inside, nullptr, partial_ok);
    } else {
      const std::string uid = std::to_string(config.host_uid);
      const std::string fix = "give it to an unprivileged owner (chown " + uid + ":" + std::to_string(config.host_gid) + " " +
                              m.source + ", or to your own user), or make it writable for uid " + uid +
                              "; or, for trusted work only, --host-root";
      if (owner.st_uid == 0)
        throw Error(ErrorKind::permission,
                    "--rw " + m.source + " is owned by root and not writable for the workload, which runs as the "
                    "unprivileged host uid " + uid + "; an idmapped mount would make what it creates there root-owned",
                    fix);
      UniqueFd userns = idmap_userns(owner.st_uid, owner.st_gid, config.host_uid, config.host_gid);
      UniqueFd tree(static_cast<int>(::syscall(SYS_open_tree, AT_FDCWD, src.c_str(),
                                               OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE)));
      if (!tree) throw_errno("--rw " + m.source + ": cannot clone the mount");
      mount_attr attr{};
      attr.attr_set = MOUNT_ATTR_IDMAP | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
      attr.userns_fd = static_cast<std::uint64_t>(userns.get());
      if (::mount_setattr(tree.get(), "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) != 0)
        throw Error(ErrorKind::unsupported,
                    "--rw " + m.source + " is owned by uid " + std::to_string(owner.st_uid) + " and the workload runs as " +
                        uid + ": it needs an idmapped mount, which this kernel or file system refuses (" +
                        std::strerror(errno) + "; idmapped mounts need Linux 5.12 and a file system that supports them)",
                    fix, errno);
      b.add(MountKind::attach, {}, inside);
      b.plan.steps.back().fd = tree.get();
      b.plan.trees.push_back(std::move(tree));
      how = ", idmapped: its owner uid " + std::to_string(owner.st_uid) + " is the workload's uid; what it creates is owned by uid " +
            std::to_string(owner.st_uid) + " on the host";
    }
    if (writable) b.plan.writable.push_back(inside);
    b.plan.described.push_back(std::string("bind ") + source.string() + " on " + inside +
                               (writable ? " writable, nosuid, nodev" : " read-only") + how);
  };
  for (const auto& m : config.ro) add_bind(m, false);
  for (const auto& m : config.rw) add_bind(m, true);
  return std::move(b.plan);
}

namespace {

int make_readonly(const char* target, bool recursive, bool partial_ok) noexcept {
  mount_attr attr{};
  attr.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
  if (::mount_setattr(AT_FDCWD, target, recursive ? AT_RECURSIVE : 0, &attr, sizeof attr) == 0) return 0;
  if (errno != ENOSYS) return errno;
  // Kernels before 5.12: only the top mount can be made read-only, the mounts below stay
  // writable. That is a hole, so only with --allow-degraded-security (prepare() said so).
  if (recursive && !partial_ok) return ENOSYS;
  if (::mount(nullptr, target, nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, nullptr) != 0)
    return errno;
  return 0;
}

int apply_step(const MountStep& s) noexcept {
  switch (s.kind) {
  case MountKind::bind:
    return ::mount(s.source, s.target, nullptr, MS_BIND | MS_REC, nullptr) == 0 ? 0 : errno;
  case MountKind::readonly:
    return make_readonly(s.target, true, s.flags != 0);
  case MountKind::remount_ro:
    return make_readonly(s.target, false, true);
  case MountKind::nosuid_nodev: {
    mount_attr attr{};
    attr.attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
    if (::mount_setattr(AT_FDCWD, s.target, AT_RECURSIVE, &attr, sizeof attr) == 0) return 0;
    if (errno != ENOSYS) return errno;
    return ::mount(nullptr, s.target, nullptr, MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV, nullptr) == 0 ? 0 : errno;
  }
  case MountKind::attach:
    return ::move_mount(s.fd, "", AT_FDCWD, s.target, MOVE_MOUNT_F_EMPTY_PATH) == 0 ? 0 : errno;
  case MountKind::filesystem:
    return ::mount(s.source, s.target, s.fstype, s.flags, s.data) == 0 ? 0 : errno;
  case MountKind::create_file: {
    int fd = ::open(s.target, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return errno;
    ::close(fd);
    return 0;
  }
  case MountKind::create_dir:
    return ::mkdir(s.target, 0755) == 0 || errno == EEXIST ? 0 : errno;
  case MountKind::symlink:
    return ::symlink(s.source, s.target) == 0 ? 0 : errno;
  }
  return EINVAL;
}

} // namespace

int apply_mounts(const ChildPlan& plan) noexcept {
  // Nothing mounted in here may propagate back to the host, and nothing from the host in here.
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return errno;
  for (std::size_t i = 0; i < plan.mount_count; ++i) {
    if (int err = apply_step(plan.mounts[i]); err != 0) return err;
  }
  if (::chdir(plan.new_root) != 0) return errno;
  // pivot_root(".", ".") stacks the old root on top of the new one; detaching it leaves only the new.
  if (::syscall(SYS_pivot_root, ".", ".") != 0) return errno;
  if (::umount2(".", MNT_DETACH) != 0) return errno;
  if (::chdir(plan.cwd) != 0 && ::chdir("/") != 0) return errno;
  return 0;
}

} // namespace nucleus::sandbox::detail
