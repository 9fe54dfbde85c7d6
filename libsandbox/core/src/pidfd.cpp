// pidfd_open and waitpid, each in one place.
#include "nucleus/core/pidfd.hpp"

#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

namespace nucleus::core {

UniqueFd pidfd_open(pid_t pid) noexcept {
  // The kernel makes every pidfd close-on-exec; glibc 2.36 has no wrapper.
  return UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
}

pid_t wait_child(pid_t pid, int& status, int options) noexcept {
  while (true) {
    pid_t rc = ::waitpid(pid, &status, options);
    if (rc >= 0 || errno != EINTR) return rc;
  }
}

} // namespace nucleus::core
