// Cgroup limits (--memory, --pids, --cpus): a fresh cgroup below nucleus's own, per controller.
// cgroup v2 is used when every needed controller is available there; otherwise the v1 hierarchy
// of each controller (hybrid systems). The parent creates the cgroups, writes the limits and opens
// the file the child joins through; the child joins by writing "0" to it; the parent reads the
// OOM-kill counter at the end and removes the cgroups.
#pragma once

#include "child_plan.hpp"
#include "nucleus/core/fd.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace nucleus::sandbox::detail {

struct CgroupLimits {
  std::optional<std::uint64_t> memory_bytes;
  std::optional<std::uint64_t> pids;
  std::optional<double> cpus;
  bool any() const { return memory_bytes || pids || cpus; }
};

class Cgroups {
public:
  Cgroups() = default;
  Cgroups(Cgroups&&) noexcept = default;
  Cgroups& operator=(Cgroups&&) noexcept = default;
  ~Cgroups(); // removes the directories (best effort: the processes are gone by then)

  // Throws Error(unsupported/permission) naming the controller that is missing.
  static Cgroups create(const CgroupLimits& limits, const std::string& name);

  // The fds the child joins through (v2 cgroup.procs, v1 tasks; see join_cgroups).
  std::vector<int> join_fds() const;
  // How many processes the kernel's OOM killer killed in the memory cgroup.
  std::uint64_t oom_kills() const;
  const std::vector<std::string>& described() const { return described_; }
  std::optional<std::uint64_t> memory_limit() const { return memory_; }
  // How often a fork or clone was refused at the pids limit (pids.events "max").
  std::uint64_t pids_limit_hits() const;
  std::optional<std::uint64_t> pids_limit() const { return pids_; }

private:
  struct Group {
    std::string dir;
    core::UniqueFd join;
  };
  std::vector<Group> groups_;
  std::string memory_events_; // v2 memory.events or v1 memory.oom_control
  std::optional<std::uint64_t> memory_;
  std::string pids_events_;
  std::optional<std::uint64_t> pids_;
  std::vector<std::string> described_;
};

// Child: joins every cgroup. 0 or an errno. Called while the child is single-threaded (just
// forked), so that moving its one thread moves the process: in v1 it writes to `tasks`, which for
// the calling thread skips the kernel's global threadgroup lock, whose first taking after a quiet
// moment waits out an RCU grace period (7-18 ms here, most of nucleus-run's start-up). v2 moves
// only whole processes between domains (cgroup.procs) and takes that lock.
int join_cgroups(const ChildPlan& plan) noexcept;

} // namespace nucleus::sandbox::detail
