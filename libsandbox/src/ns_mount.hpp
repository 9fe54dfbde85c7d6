// The mount namespace: the parent turns the configuration into a list of MountSteps below a
// staging directory; pid 1 of the sandbox executes them and pivots into the staging directory.
// The view: the host root (or --rootfs) read-only, nosuid, nodev; a fresh /proc; a minimal /dev
// (null, zero, full, random, urandom, tty, shm, the fd links) that is itself read-only; /proc/sys
// read-only; tmpfs /tmp and empty /run, /var/run, /var/lock;
// then the --tmpfs mounts, then the --ro and --rw binds (mount points below a fresh tmpfs are created).
#pragma once

#include "child_plan.hpp"

#include "nucleus/core/fd.hpp"

#include <deque>
#include <string>
#include <vector>

namespace nucleus::sandbox::detail {

struct MountPlan {
  std::deque<std::string> strings; // owns every path the steps point to
  std::vector<MountStep> steps;
  std::vector<std::string> writable;  // destinations inside the sandbox that are writable
  std::vector<std::string> described; // one line per mount, for --verbose
  std::vector<core::UniqueFd> trees;        // idmapped --rw mount trees the child attaches
};

// The runtime directories (/run, /var/run, /var/lock) that are real directories in `root` (not
// symlinks): each gets an empty tmpfs, natively and under gVisor.
std::vector<std::string> runtime_dirs(const std::string& root);

// Whether the kernel has mount_setattr (5.12+), the only way to make a mount and every mount
// below it read-only.
bool mount_setattr_available() noexcept;

// Parent: validates the paths (throws Error) and builds the steps below `staging`.
MountPlan plan_mounts(const IsolationConfig& config, const std::string& staging);

// Child (pid 1, in the new mount namespace): private propagation, the steps, pivot_root, chdir.
int apply_mounts(const ChildPlan& plan) noexcept;

} // namespace nucleus::sandbox::detail
