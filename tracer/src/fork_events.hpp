// The kernel's process events (the NETLINK_CONNECTOR group CN_IDX_PROC): one message for every
// fork on the host, queued before the new process runs. The audit recorder's process-tree
// attribution (used where the workload cannot get an audit session of its own) follows them, so
// that a process that exited before its records were read is still known to be the workload's:
// its fork was queued before it could make a call, so before any record of it.
// Order: open (before the workload is forked) → drain on every wake-up → overflows at the end.
#pragma once

#include "nucleus/core/fd.hpp"

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace nucleus::tracer::detail {

class ForkEvents {
public:
  // Subscribed, or nullopt with `why` (the kernel wants CAP_NET_ADMIN, the initial user and pid
  // namespaces, and CONFIG_PROC_EVENTS).
  static std::optional<ForkEvents> open(std::string& why);

  int fd() const noexcept { return fd_.get(); }
  // Reads what is queued without blocking: forked(parent's tgid, the new process's tgid) for each
  // fork (a new thread has its parent's tgid).
  void drain(const std::function<void(pid_t, pid_t)>& forked);
  // How often the kernel found our queue full (ENOBUFS): forks that were never seen.
  std::uint64_t overflows() const noexcept { return overflows_; }

private:
  explicit ForkEvents(core::UniqueFd fd) : fd_(std::move(fd)) {}
  core::UniqueFd fd_;
  std::uint64_t overflows_ = 0;
};

} // namespace nucleus::tracer::detail
