// Process handles and waits: a pidfd names one process for good (a recycled pid cannot be
// mistaken for it), and a wait that a signal interrupts is retried rather than taken for a
// failure. Both allocate nothing and never throw, so they also serve between fork and exec.
#pragma once

#include "nucleus/core/fd.hpp"

#include <sys/types.h>

namespace nucleus::core {

// pidfd_open(2), close-on-exec: invalid, with errno set (ESRCH: no such process; EINVAL: a
// thread, not a process; ENOSYS: before Linux 5.3), when it fails.
UniqueFd pidfd_open(pid_t pid) noexcept;

// waitpid(2) retried while a signal interrupts it: the pid waited for, 0 (WNOHANG and still
// running), or -1 with errno set (never EINTR).
pid_t wait_child(pid_t pid, int& status, int options = 0) noexcept;

} // namespace nucleus::core
