#include "ns_mount.hpp"

#include "nucleus/core/error.hpp"
#include "nucleus/core/pidfd.hpp"
#include "nucleus/core/strings.hpp"

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
using core::throw_errno;
using core::UniqueFd;
namespace {

namespace fs = std::filesystem;

// Mount points cannot be created in a read-only view, so they must already exist there.
void require_mount_point(const std::string& root, const std::string& inside, bool directory, const std::string& flag) {
  fs::path p = fs::path(root) / fs::path(inside).relative_path();
  std::error_code ec;
  auto st = fs::status(p, ec);
  if (ec || !fs::exists(st))
    throw Error(ErrorKind::not_found, flag + " " + inside + ": the mount point does not exist in the sandbox's root",
                "mount points are not created, because the root is read-only: create " + p.string() + " first");
  if (directory != fs::is_directory(st))
    throw Error(ErrorKind::usage,
                flag + " " + inside + ": source and mount point must both be directories or both files");
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
    while (::read(wait_end.get(), &c, 1) < 0 && errno == EINTR) {}
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

unsigned long mount_flags(const FsEntry& e) {
  return (e.nosuid ? MS_NOSUID : 0) | (e.nodev ? MS_NODEV : 0) | (e.noexec ? MS_NOEXEC : 0) |
         (e.writable ? 0 : MS_RDONLY);
}

struct Builder {
  MountPlan plan;
  std::string staging;
  std::string root;
  unsigned long partial_ok = 0; // readonly steps carry in `flags` whether the pre-5.12 fallback is acceptable

  const char* keep(std::string s) { return plan.strings.emplace_back(std::move(s)).c_str(); }
  void add(MountKind kind, const std::string& source, const std::string& inside, const char* fstype = nullptr,
           unsigned long flags = 0, const char* data = nullptr) {
    plan.steps.push_back(
        {kind, source.empty() ? nullptr : keep(source), keep(staging + inside), fstype, flags, data, -1});
  }

  // The mount point: made inside a fresh tmpfs, or required of the root, which is read-only here.
  void make_mount_point(const FsEntry& e) {
    if (e.needs_mount_point) {
      std::string flag(origin_flag(e.origin));
      require_mount_point(root, e.path, e.directory, flag.empty() ? "--rootfs" : flag);
    }
    for (std::size_t i = 0; i < e.make_first.size(); ++i) {
      bool last = i + 1 == e.make_first.size();
      add(last && !e.directory ? MountKind::create_file : MountKind::create_dir, {}, e.make_first[i]);
    }
  }

  void add_root(const FsEntry& e) {
    if (e.source.empty()) {
      // Writable while the mount points are made; read-only once every entry is mounted (finish).
      add(MountKind::filesystem, "tmpfs", "", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755,size=1m");
      plan.described.push_back("mount an empty tmpfs as /, read-only once the mount points are made (" + e.purpose +
                               ")");
      return;
    }
    add(MountKind::bind, e.source, "");
    add(MountKind::readonly, {}, "", nullptr, partial_ok);
    plan.described.push_back("mount " + e.source + " read-only as /, nosuid, nodev; private propagation");
  }

  void add_proc(const FsEntry& e) {
    make_mount_point(e);
    add(MountKind::filesystem, "proc", e.path, "proc", mount_flags(e));
    for (const auto& knob : e.read_only_below) {
      add(MountKind::bind, staging + knob, knob);
      add(MountKind::readonly, {}, knob, nullptr, partial_ok);
    }
    plan.described.push_back(
        "mount a fresh " + e.path + " (only the sandbox's processes)" +
        (e.read_only_below.empty() ? "" : ", " + core::join(e.read_only_below, " and ") + " read-only"));
  }

  // A tmpfs with the device nodes bound from the host, the usual links, and mount points for
  // /dev/pts and /dev/shm; then read-only (the nodes are mounts of their own and stay writable).
  void add_dev(const FsEntry& e) {
    make_mount_point(e);
    add(MountKind::filesystem, "tmpfs", e.path, "tmpfs", mount_flags(e) & ~MS_RDONLY,
        keep(e.tmpfs_data)); // filled first
    for (const auto& node : e.devices) {
      std::string inside = e.path + "/" + node;
      add(MountKind::create_file, {}, inside);
      add(MountKind::bind, "/dev/" + node, inside);
    }
    add(MountKind::create_dir, {}, e.path + "/shm");
    add(MountKind::create_dir, {}, e.path + "/pts");
    const std::pair<const char*, const char*> links[] = {{"/proc/self/fd", "fd"},
                                                         {"/proc/self/fd/0", "stdin"},
                                                         {"/proc/self/fd/1", "stdout"},
                                                         {"/proc/self/fd/2", "stderr"},
                                                         {"pts/ptmx", "ptmx"}};
    for (const auto& [to, at] : links) add(MountKind::symlink, to, e.path + "/" + at);
    if (!e.writable) add(MountKind::remount_ro, {}, e.path);
    plan.described.push_back("mount a minimal " + std::string(e.writable ? "" : "read-only ") + e.path + ": " +
                             core::join(e.devices, " "));
  }

  void add_tmpfs(const FsEntry& e) {
    make_mount_point(e);
    // A read-only one is made read-only last (render_mounts): mount points may be made in it first.
    add(MountKind::filesystem, "tmpfs", e.path, "tmpfs", mount_flags(e) & ~MS_RDONLY, keep(e.tmpfs_data));
    plan.described.push_back("mount an empty " + std::string(e.origin == FsOrigin::tmpfs ? "writable " : "") +
                             "tmpfs on " + e.path + (e.purpose.empty() ? "" : " (" + e.purpose + ")"));
  }

  void add_bind(const FsEntry& e, const IsolationConfig& config);
};

} // namespace

// A plain bind, read-only or nosuid,nodev; or an idmapped --rw tree, opened and idmapped here and
// attached by the child.
void Builder::add_bind(const FsEntry& e, const IsolationConfig& config) {
  make_mount_point(e);
  std::string how;
  if (!e.idmap) {
    add(MountKind::bind, e.source, e.path);
    // Nothing the workload writes there may raise privileges: no set-id binaries, no devices.
    if (e.writable) add(MountKind::nosuid_nodev, {}, e.path);
    else add(MountKind::readonly, {}, e.path, nullptr, partial_ok);
  } else {
    const std::string uid = std::to_string(config.host_uid);
    const std::string owner = std::to_string(e.idmap->owner_uid);
    UniqueFd userns = idmap_userns(e.idmap->owner_uid, e.idmap->owner_gid, config.host_uid, config.host_gid);
    UniqueFd tree(static_cast<int>(
        ::syscall(SYS_open_tree, AT_FDCWD, e.source.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE)));
    if (!tree) throw_errno("--rw " + e.shown_as + ": cannot clone the mount");
    mount_attr attr{};
    attr.attr_set = MOUNT_ATTR_IDMAP | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
    attr.userns_fd = static_cast<std::uint64_t>(userns.get());
    if (::mount_setattr(tree.get(), "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) != 0)
      throw Error(ErrorKind::unsupported,
                  "--rw " + e.shown_as + " is owned by uid " + owner + " and the workload runs as " + uid +
                      ": it needs an idmapped mount, which this kernel or file system refuses (" +
                      std::strerror(errno) + "; idmapped mounts need Linux 5.12 and a file system that supports them)",
                  "give it to an unprivileged owner (chown " + uid + ":" + std::to_string(config.host_gid) + " " +
                      e.shown_as + ", or to your own user), or make it writable for uid " + uid +
                      "; or, for trusted work only, --host-root",
                  errno);
    add(MountKind::attach, {}, e.path);
    plan.steps.back().fd = tree.get();
    plan.trees.push_back(std::move(tree));
    how = ", idmapped: its owner uid " + owner + " is the workload's uid; what it creates is owned by uid " + owner +
          " on the host";
  }
  plan.described.push_back("bind " + e.source + " on " + e.path +
                           (e.writable ? " writable, nosuid, nodev" : " read-only") + how);
}

bool mount_setattr_available() noexcept {
  // An invalid call: ENOSYS only where the kernel lacks mount_setattr (before 5.12).
  return !(::syscall(SYS_mount_setattr, -1, "", 0, nullptr, 0) != 0 && errno == ENOSYS);
}

MountPlan render_mounts(const FsPlan& fs, const IsolationConfig& config, const std::string& staging) {
  Builder b;
  b.staging = staging;
  b.root = fs.root().source;
  b.partial_ok = fs.partial_read_only_ok ? 1 : 0;
  for (const FsEntry& e : fs.entries) {
    switch (e.kind) {
    case FsKind::root: b.add_root(e); break;
    case FsKind::proc: b.add_proc(e); break;
    case FsKind::dev: b.add_dev(e); break;
    case FsKind::tmpfs: b.add_tmpfs(e); break;
    case FsKind::directory: b.make_mount_point(e); break;
    case FsKind::bind: b.add_bind(e, config); break;
    }
  }
  for (auto it = fs.entries.rbegin(); it != fs.entries.rend(); ++it)
    if (it->kind == FsKind::tmpfs && !it->writable) b.add(MountKind::remount_ro, {}, it->path);
  if (fs.empty_root()) b.add(MountKind::remount_ro, {}, "");
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
  case MountKind::bind: return ::mount(s.source, s.target, nullptr, MS_BIND | MS_REC, nullptr) == 0 ? 0 : errno;
  case MountKind::readonly: return make_readonly(s.target, true, s.flags != 0);
  case MountKind::remount_ro: return make_readonly(s.target, false, true);
  case MountKind::nosuid_nodev: {
    mount_attr attr{};
    attr.attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
    if (::mount_setattr(AT_FDCWD, s.target, AT_RECURSIVE, &attr, sizeof attr) == 0) return 0;
    if (errno != ENOSYS) return errno;
    return ::mount(nullptr, s.target, nullptr, MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV, nullptr) == 0 ? 0 : errno;
  }
  case MountKind::attach: return ::move_mount(s.fd, "", AT_FDCWD, s.target, MOVE_MOUNT_F_EMPTY_PATH) == 0 ? 0 : errno;
  case MountKind::filesystem: return ::mount(s.source, s.target, s.fstype, s.flags, s.data) == 0 ? 0 : errno;
  case MountKind::create_file: {
    int fd = ::open(s.target, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return errno;
    ::close(fd);
    return 0;
  }
  case MountKind::create_dir: return ::mkdir(s.target, 0755) == 0 || errno == EEXIST ? 0 : errno;
  case MountKind::symlink: return ::symlink(s.source, s.target) == 0 ? 0 : errno;
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
