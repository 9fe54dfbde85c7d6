// The workload's own terminal. When nucleus's standard input, output or error is a terminal, the
// workload gets a fresh pty instead (its slave as controlling terminal and as those of fds 0-2
// that were the terminal), and the parent relays between the caller's terminal and the master, as
// `docker run -t` does. Whatever the workload does to its terminal (TIOCSTI, TIOCLINUX, termios)
// then reaches only the pty nucleus owns, never the caller's.
// Use: auto pty = open_workload_pty(); SpawnSpec::pty = pty ? &pty->child : nullptr; after spawn,
// pty->close_slave(); RawMode raw(pty->caller_input) while relaying; forward SIGWINCH with
// copy_window_size().
#pragma once

#include "nucleus/core/fd.hpp"

#include <termios.h>

#include <optional>

namespace nucleus::sandbox {

// What the child needs: plain data, used between fork and execve.
struct PtyChild {
  int slave = -1;
  bool replace[3] = {false, false, false}; // which of fds 0-2 become the slave
};

struct WorkloadPty {
  core::UniqueFd master; // the parent's side, close-on-exec
  core::UniqueFd slave;  // the child's side, close-on-exec (the child dup2s it)
  PtyChild child;
  int caller_input = -1;  // the caller's terminal to read keystrokes from (fd 0), or -1
  int caller_output = -1; // where the workload's terminal output goes (fd 1 or 2), or -1
  void close_slave() noexcept {
    slave.reset();
    child.slave = -1;
  }
};

// A pty when any of fds 0-2 is a terminal, with that terminal's settings and window size; nothing
// otherwise. Throws Error when the kernel refuses a pty.
std::optional<WorkloadPty> open_workload_pty();

// Child, async-signal-safe: makes the slave the controlling terminal of the (new) session and
// puts it on the chosen fds. Returns 0 or an errno.
int attach_pty(const PtyChild& pty) noexcept;

// Copies the window size of `from` (a terminal) to `to`; on a pty master the kernel then sends
// SIGWINCH to the workload's foreground process group.
void copy_window_size(int from, int to) noexcept;

// Raw mode on a terminal for as long as the object lives (relaying keystrokes one by one, with
// Ctrl-C and friends going to the workload's terminal, not to nucleus); restored on destruction.
class RawMode {
public:
  explicit RawMode(int fd);
  ~RawMode();
  RawMode(const RawMode&) = delete;
  RawMode& operator=(const RawMode&) = delete;

private:
  int fd_ = -1;
  std::optional<termios> saved_;
};

} // namespace nucleus::sandbox
