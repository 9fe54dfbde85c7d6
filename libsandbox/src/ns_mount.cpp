#include "ns_mount.hpp"

#include "nucleus/sandbox/error.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

namespace nucleus::sandbox::detail {
namespace {

namespace fs = std::filesystem;

struct Builder {
  MountPlan plan;
  std::string staging;

  const char* keep(std::string s) { return plan.strings.emplace_back(std::move(s)).c_str(); }
  void add(MountKind kind, const std::string& source, const std::string& inside, const char* fstype = nullptr,
           unsigned long flags = 0, const char* data = nullptr) {
    plan.steps.push_back({kind, source.empty() ? nullptr : keep(source), keep(staging + inside), fstype, flags, data});
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
  auto add_bind = [&](const BindMount& m, bool writable) {
    const std::string flag = writable ? "--rw" : "--ro";
    std::error_code ec;
    fs::path source = fs::absolute(m.source, ec);
    auto st = fs::status(source, ec);
    if (ec || !fs::exists(st)) throw Error(ErrorKind::not_found, flag + " " + m.source + ": no such file or directory");
    std::string inside = absolute_inside(m.destination.empty() ? source.string() : m.destination, flag);
    prepare_mount_point(inside, fs::is_directory(st), flag);
    b.add(MountKind::bind, source.lexically_normal().string(), inside);
    if (!writable) b.add(MountKind::readonly, {}, inside, nullptr, partial_ok);
    if (writable) b.plan.writable.push_back(inside);
    b.plan.described.push_back(std::string("bind ") + source.string() + " on " + inside + (writable ? " writable" : " read-only"));
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
