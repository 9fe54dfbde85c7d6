// The mount namespace: the native renderer of the sandbox's file system (fs_plan.hpp). The parent
// turns the plan's entries, in order, into MountSteps below a staging directory (checking that the
// read-only root has the mount points it cannot make, and opening the idmapped --rw trees); pid 1
// of the sandbox executes them and pivots into the staging directory.
#pragma once

#include "child_plan.hpp"

#include "nucleus/sandbox/fs_plan.hpp"

#include "nucleus/core/fd.hpp"

#include <deque>
#include <string>
#include <vector>

namespace nucleus::sandbox::detail {

struct MountPlan {
  std::deque<std::string> strings; // owns every path the steps point to
  std::vector<MountStep> steps;
  std::vector<std::string> described; // one line per mount, for --verbose
  std::vector<core::UniqueFd> trees;  // idmapped --rw mount trees the child attaches
};

// Whether the kernel has mount_setattr (5.12+), the only way to make a mount and every mount
// below it read-only.
bool mount_setattr_available() noexcept;

// Parent: the steps that realise `fs` below `staging`. Throws Error where the host cannot: a mount
// point missing from the read-only root, an idmapped mount the kernel refuses.
MountPlan render_mounts(const FsPlan& fs, const IsolationConfig& config, const std::string& staging);

// Child (pid 1, in the new mount namespace): private propagation, the steps, pivot_root, chdir.
int apply_mounts(const ChildPlan& plan) noexcept;

} // namespace nucleus::sandbox::detail
