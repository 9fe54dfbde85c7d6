#include "nucleus/sandbox/pty.hpp"

#include "nucleus/core/error.hpp"

#include <fcntl.h>
#include <pty.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>

namespace nucleus::sandbox {
using core::throw_errno;

std::optional<WorkloadPty> open_workload_pty() {
  bool tty[3];
  int reference = -1;
  for (int fd = 0; fd < 3; ++fd) {
    tty[fd] = ::isatty(fd) != 0;
    if (tty[fd] && reference < 0) reference = fd;
  }
  if (reference < 0) return std::nullopt;
  termios settings{};
  winsize size{};
  bool have_settings = ::tcgetattr(reference, &settings) == 0;
  bool have_size = ::ioctl(reference, TIOCGWINSZ, &size) == 0;
  int master = -1;
  int slave = -1;
  if (::openpty(&master, &slave, nullptr, have_settings ? &settings : nullptr, have_size ? &size : nullptr) != 0)
    throw_errno("cannot open a terminal (pty) for the workload",
                "the workload gets its own pty when nucleus runs on a terminal; redirect its input and output to run "
                "without one");
  WorkloadPty pty;
  pty.master.reset(master);
  pty.slave.reset(slave);
  for (int fd : {master, slave}) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  pty.child.slave = slave;
  for (int fd = 0; fd < 3; ++fd) pty.child.replace[fd] = tty[fd];
  pty.caller_input = tty[0] ? 0 : -1;
  pty.caller_output = tty[1] ? 1 : (tty[2] ? 2 : -1);
  return pty;
}

int attach_pty(const PtyChild& pty) noexcept {
  if (pty.slave < 0) return 0;
  if (::ioctl(pty.slave, TIOCSCTTY, 0) != 0) return errno;
  for (int fd = 0; fd < 3; ++fd) {
    if (pty.replace[fd] && ::dup2(pty.slave, fd) < 0) return errno;
  }
  return 0; // the slave itself is close-on-exec
}

void copy_window_size(int from, int to) noexcept {
  winsize size{};
  if (::ioctl(from, TIOCGWINSZ, &size) == 0) ::ioctl(to, TIOCSWINSZ, &size);
}

RawMode::RawMode(int fd) : fd_(fd) {
  termios t{};
  if (fd < 0 || ::tcgetattr(fd, &t) != 0) return;
  saved_ = t;
  ::cfmakeraw(&t);
  // Output processing stays: nucleus's own messages on the same terminal keep their line breaks.
  t.c_oflag = saved_->c_oflag;
  ::tcsetattr(fd, TCSADRAIN, &t);
}

RawMode::~RawMode() {
  if (saved_) ::tcsetattr(fd_, TCSADRAIN, &*saved_);
}

} // namespace nucleus::sandbox
