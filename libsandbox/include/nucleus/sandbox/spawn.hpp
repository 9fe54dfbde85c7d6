// Starting the workload: resolve the command, fork, run the child's steps (new audit session,
// no_new_privs, seccomp filter, execve) and hand back an owned Child. The child between fork and
// execve does not allocate or throw; a failing step travels to the parent through a close-on-exec
// pipe and the workload never starts.
#pragma once

#include "nucleus/core/fd.hpp"
#include "nucleus/sandbox/filter.hpp"
#include "nucleus/sandbox/pty.hpp"

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace nucleus::sandbox {

struct SpawnSpec {
  std::vector<std::string> argv;      // argv[0] is looked up in PATH unless it contains '/'
  const BpfProgram* filter = nullptr; // installed as the last step before execve
  bool new_audit_session = false;     // write /proc/self/loginuid so the tree gets its own ses=
  // Runs in the child after the audit session and before the filter: isolation steps. Must be
  // async-signal-safe; returns 0 or an errno, which aborts the start.
  int (*pre_exec)(const void* context) noexcept = nullptr;
  const void* pre_exec_context = nullptr;
  // The environment the command gets; nullopt: the caller's own (isolation always gives one).
  std::optional<std::vector<std::string>> env;
  // Descriptors the command keeps besides 0-2; every other one is closed at execve.
  std::vector<int> pass_fds;
  // The workload's own terminal (see pty.hpp), or none.
  const PtyChild* pty = nullptr;
  // Runs in the parent while the child sets itself up (from its audit session on, during
  // pre_exec), given that session; the child installs its filter and execs only once this has
  // returned. For work that must be in place before the command runs, overlapped with the
  // command's start (nucleus-trace attaches its eBPF recorder here). When it throws, the child is
  // killed before its execve and the exception propagates: nothing of the command has run.
  std::function<void(std::optional<std::uint32_t> audit_session)> while_child_starts;
};

// The owned child process. Destroying a running Child kills and reaps it.
class Child {
public:
  Child() = default;
  Child(pid_t pid, core::UniqueFd pidfd, std::optional<std::uint32_t> audit_session)
      : pid_(pid), pidfd_(std::move(pidfd)), ses_(audit_session) {}
  Child(Child&& other) noexcept;
  Child& operator=(Child&& other) noexcept;
  ~Child();

  pid_t pid() const noexcept { return pid_; }
  int pidfd() const noexcept { return pidfd_.get(); } // readable when the child exits
  // The audit session id of the tree, when the child could start a new one.
  std::optional<std::uint32_t> audit_session() const noexcept { return ses_; }
  // Waits for exit; returns the raw wait status. Idempotent.
  int wait();
  // Non-blocking: the raw wait status if the child has exited.
  std::optional<int> try_wait();
  bool signal(int sig) noexcept;

private:
  friend Child spawn(const SpawnSpec& spec);
  pid_t pid_ = -1;
  core::UniqueFd pidfd_;
  std::optional<std::uint32_t> ses_;
  std::optional<int> status_;
};

// The child always starts a new session (setsid), so the workload never shares the caller's
// controlling terminal. A filter that would deny the execve itself is refused before fork.
// Throws Error: not_found (exit 127), not_executable (126), otherwise a failure of nucleus (125).
Child spawn(const SpawnSpec& spec);

// The shell/env/Docker convention: exit code, or 128+N for death by signal N.
int exit_code_from_status(int wait_status) noexcept;

// Exit codes nucleus itself uses.
inline constexpr int exit_nucleus_failed = 125;
inline constexpr int exit_not_executable = 126;
inline constexpr int exit_not_found = 127;

} // namespace nucleus::sandbox
