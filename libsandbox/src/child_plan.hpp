// The plan the child executes: plain data prepared by the parent (isolation.cpp), read by the
// async-signal-safe steps in the child. Every pointer refers to memory the parent's Isolation owns.
#pragma once

#include "nucleus/sandbox/isolation.hpp"

#include <cstddef>
#include <cstdint>

namespace nucleus::sandbox::detail {

enum class MountKind {
  bind,         // source onto target, recursively
  readonly,     // make target (and everything below it) read-only, nosuid, nodev
  nosuid_nodev, // make target (and everything below it) nosuid, nodev (writable binds)
  attach,       // move the detached mount tree `fd` (an idmapped --rw bind) onto target
  filesystem,   // mount fstype at target with flags and data
  create_file,  // an empty file to bind a device node onto
  create_dir,   // a directory inside a fresh tmpfs
  symlink,      // target -> source
  remount_ro,   // make this one mount read-only
};

struct MountStep {
  MountKind kind;
  const char* source; // host path, fstype source, or symlink contents
  const char* target; // full path below the staging directory
  const char* fstype;
  unsigned long flags;
  const char* data;
  int fd; // attach: the mount tree, opened and idmapped by the parent
};

struct LandlockRule {
  const char* path; // inside the sandbox, after pivot_root
  std::uint64_t access;
};

struct LandlockPortRule {
  std::uint64_t port;
  std::uint64_t access; // LANDLOCK_ACCESS_NET_BIND_TCP and/or _CONNECT_TCP
};

struct ChildPlan {
  bool gvisor = false;

  // 1. cgroups: the open files to join through (v2 cgroup.procs, v1 tasks); the child writes "0".
  int cgroup_join_fds[4] = {-1, -1, -1, -1};
  int cgroup_fd_count = 0;

  // 2. namespaces
  int unshare_flags = 0;
  bool switch_identity = false; // become host_uid/host_gid before unshare (nucleus runs as root)
  unsigned host_uid = 0;
  unsigned host_gid = 0;
  char uid_map[64] = {};
  char gid_map[64] = {};

  // 3.
  const char* hostname = nullptr;
  std::size_t hostname_len = 0;
  bool loopback_up = false;

  // 5. mounts
  const MountStep* mounts = nullptr;
  std::size_t mount_count = 0;
  const char* new_root = nullptr; // the staging directory that becomes "/"
  const char* cwd = nullptr;      // working directory inside, "/" when it is not visible

  // 7.
  const ResourceLimit* rlimits = nullptr;
  std::size_t rlimit_count = 0;

  // 8. Landlock: a ruleset fd created by the parent, rules added by the child after the mounts.
  int landlock_fd = -1;
  const LandlockRule* landlock_rules = nullptr;
  std::size_t landlock_rule_count = 0;
  const LandlockPortRule* landlock_ports = nullptr;
  std::size_t landlock_port_count = 0;
  std::uint32_t landlock_restrict_flags = 0;

  // 9.
  std::uint64_t cap_keep = 0; // bit n: capability n survives
  int cap_last = 0;           // highest capability number the kernel knows
};

} // namespace nucleus::sandbox::detail
