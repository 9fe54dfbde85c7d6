// Starting the workload. Everything that can allocate or fail loudly happens in the parent before
// fork; the child runs a fixed list of async-signal-safe steps and reports a failing step through
// a close-on-exec pipe, so that the parent knows whether execve happened.
#include "nucleus/sandbox/spawn.hpp"

#include "nucleus/core/error.hpp"
#include "nucleus/core/path_lookup.hpp"
#include "nucleus/core/pidfd.hpp"

#include "child_tail.hpp"

#include <fcntl.h>
#include <signal.h>
#include <linux/audit.h>
#include <linux/close_range.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

extern char** environ;

namespace nucleus::sandbox {
using core::Error;
using core::ErrorKind;
using core::throw_errno;
using core::UniqueFd;
namespace {

enum class ChildStep : std::int32_t {
  audit_session = 1,
  pre_exec = 2,
  filter = 3,
  exec = 4,
  signals = 5,
  session = 6,
  descriptors = 7,
  gate = 8,
};

// What the child tells the parent before execve.
struct ChildMessage {
  std::int32_t kind; // 1: audit session id in value; 2: step failed with errno in value
  ChildStep step;
  std::int64_t value;
};

void send(int fd, const ChildMessage& msg) noexcept {
  ssize_t rc;
  do {
    rc = ::write(fd, &msg, sizeof msg);
  } while (rc < 0 && errno == EINTR);
}

[[noreturn]] void fail(int fd, ChildStep step, int err, int code) noexcept {
  send(fd, {2, step, err});
  ::_exit(code);
}

// Async-signal-safe unsigned to decimal.
std::size_t format_uint(std::uint32_t v, char* buf) noexcept {
  char tmp[16];
  std::size_t n = 0;
  do {
    tmp[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  for (std::size_t i = 0; i < n; ++i) buf[i] = tmp[n - 1 - i];
  return n;
}

std::uint32_t parse_uint(const char* buf, ssize_t len) noexcept {
  std::uint32_t v = 0;
  for (ssize_t i = 0; i < len && buf[i] >= '0' && buf[i] <= '9'; ++i)
    v = v * 10 + static_cast<std::uint32_t>(buf[i] - '0');
  return v;
}

// The last steps of every start, from the gate to the execve. Set in the child only (it is
// single-threaded there), before pre_exec: a pre_exec that starts the workload as a process of
// its own, on a stack of its own, ends it with finish_start() instead of returning (child_tail.hpp).
struct ChildTail {
  int out;  // the report pipe
  int gate; // -1 without while_child_starts
  const BpfProgram* filter;
  const char* exe;
  char* const* argv;
  char* const* env;
};
const ChildTail* child_tail = nullptr;

[[noreturn]] void finish(const ChildTail& t) noexcept {
  if (t.gate >= 0) {
    char go = 0;
    ssize_t n;
    do {
      n = ::read(t.gate, &go, 1);
    } while (n < 0 && errno == EINTR);
    if (n != 1) fail(t.out, ChildStep::gate, n < 0 ? errno : ECANCELED, exit_nucleus_failed);
  }
  if (t.filter != nullptr) {
    int rc = install_filter(*t.filter);
    if (rc != 0) fail(t.out, ChildStep::filter, -rc, exit_nucleus_failed);
  }
  ::execve(t.exe, t.argv, t.env);
  fail(t.out, ChildStep::exec, errno, errno == ENOENT ? exit_not_found : exit_not_executable);
}

constexpr std::uint32_t audit_unset = 0xffffffff;

// Writing loginuid gives this process, and everything it starts, a fresh audit session id, so
// that audit records of this tree can be told from every other process's. The kernel only starts
// a session for a valid uid, so an unset loginuid is replaced by the real uid.
std::uint32_t start_audit_session() noexcept {
  char buf[32];
  std::uint32_t loginuid = audit_unset;
  int fd = ::open("/proc/self/loginuid", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    ::close(fd);
    if (n > 0) loginuid = parse_uint(buf, n);
  }
  if (loginuid == audit_unset) loginuid = ::getuid();
  fd = ::open("/proc/self/loginuid", O_WRONLY | O_CLOEXEC);
  if (fd < 0) return audit_unset;
  std::size_t len = format_uint(loginuid, buf);
  ssize_t written = ::write(fd, buf, len);
  ::close(fd);
  if (written != static_cast<ssize_t>(len)) return audit_unset;
  fd = ::open("/proc/self/sessionid", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return audit_unset;
  ssize_t n = ::read(fd, buf, sizeof buf);
  ::close(fd);
  return n > 0 ? parse_uint(buf, n) : audit_unset;
}

// Every descriptor above 2 is closed at execve except those passed on: what the caller had open
// (a directory, a socket, a token file) must not reach the workload by accident.
int close_inherited_fds(const int* keep, std::size_t keep_count) noexcept {
  if (::syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
    if (errno != ENOSYS && errno != EINVAL) return errno;
    long max = ::sysconf(_SC_OPEN_MAX);
    for (int fd = 3; fd < (max > 0 && max < 1 << 20 ? max : 1 << 20); ++fd) {
      int flags = ::fcntl(fd, F_GETFD);
      if (flags >= 0) ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
    }
  }
  for (std::size_t i = 0; i < keep_count; ++i) {
    int flags = ::fcntl(keep[i], F_GETFD);
    if (flags < 0 || ::fcntl(keep[i], F_SETFD, flags & ~FD_CLOEXEC) != 0) return errno;
  }
  return 0;
}

// The PATH search happens in the parent so that "not found" is known before fork and the child's
// only syscall after the filter is the one execve.
std::filesystem::path resolve_command(const std::string& name) {
  if (name.empty()) throw Error(ErrorKind::usage, "no command given");
  core::CommandLookup found = core::lookup_command(name, core::search_path());
  if (found.found()) return found.path;
  if (found.error != ENOENT)
    throw Error(ErrorKind::not_executable, found.path.string() + ": cannot execute: " + std::strerror(found.error), {},
                found.error);
  if (name.find('/') != std::string::npos)
    throw Error(ErrorKind::command_not_found, name + ": no such file", {}, ENOENT);
  throw Error(ErrorKind::command_not_found, name + ": command not found",
              "check the name, or give a path (the current directory is not searched, even where PATH names it)",
              ENOENT);
}

std::string step_name(ChildStep step) {
  switch (step) {
  case ChildStep::audit_session: return "starting an audit session";
  case ChildStep::pre_exec: return "setting up the sandbox";
  case ChildStep::filter: return "installing the seccomp filter";
  case ChildStep::exec: return "executing the command";
  case ChildStep::signals: return "resetting signals";
  case ChildStep::session: return "starting a session with its own terminal";
  case ChildStep::descriptors: return "closing inherited descriptors";
  case ChildStep::gate: return "waiting for nucleus";
  }
  return "starting the command";
}

// The child's memory is a copy of ours, so the pointers the execve will pass are known here:
// a filter that denies that execve would leave the child unable to start, or even to report
// (a profile that also denies write and exit_group ends it with a bare SIGSEGV).
void refuse_denied_execve(const SpawnSpec& spec, const char* exe, char* const* argv, char* const* env) {
  const std::uint64_t args[6] = {reinterpret_cast<std::uintptr_t>(exe),
                                 reinterpret_cast<std::uintptr_t>(argv),
                                 reinterpret_cast<std::uintptr_t>(env),
                                 0,
                                 0,
                                 0};
  std::uint32_t ret = evaluate(*spec.filter, AUDIT_ARCH_X86_64, SYS_execve, args);
  std::uint32_t action = ret & SECCOMP_RET_ACTION_FULL;
  if (action != SECCOMP_RET_ALLOW && action != SECCOMP_RET_LOG)
    throw Error(ErrorKind::permission,
                "cannot start " + spec.argv.front() +
                    ": the seccomp profile denies execve, the call that starts the command",
                "allow execve in the profile (nucleus-profile add PROFILE execve); nothing was run");
}

// The child reported that `step` failed with `err` (it has been reaped), as an error whose kind
// tells apart the command not found, not executable, and a step of nucleus's own refused.
[[noreturn]] void throw_child_failure(const SpawnSpec& spec, ChildStep step, int err) {
  std::string what = "cannot start " + spec.argv.front() + ": " + step_name(step) + " failed: " + std::strerror(err);
  if (step == ChildStep::exec) {
    if (err == ENOENT) throw Error(ErrorKind::command_not_found, what, {}, err);
    std::string hint =
        err == EPERM || err == EACCES ? "if a profile is in force, it must allow execve (and execveat)" : std::string{};
    throw Error(ErrorKind::not_executable, what, hint, err);
  }
  std::string hint;
  if (step == ChildStep::filter && err == EINVAL)
    hint = "the kernel rejected the filter or its flags: it needs CONFIG_SECCOMP_FILTER, and newer flags need a newer "
           "kernel";
  throw Error(ErrorKind::kernel, what, hint, err);
}

} // namespace

Child::Child(Child&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)), pidfd_(std::move(other.pidfd_)), ses_(other.ses_), status_(other.status_) {}

Child& Child::operator=(Child&& other) noexcept {
  if (this != &other) {
    this->~Child();
    new (this) Child(std::move(other));
  }
  return *this;
}

Child::~Child() {
  if (pid_ > 0 && !status_) {
    ::kill(pid_, SIGKILL);
    wait();
  }
}

int Child::wait() {
  if (status_) return *status_;
  int status = 0;
  if (core::wait_child(pid_, status) < 0) throw_errno("cannot wait for process " + std::to_string(pid_));
  status_ = status;
  return status;
}

std::optional<int> Child::try_wait() {
  if (status_) return status_;
  int status = 0;
  pid_t rc = core::wait_child(pid_, status, WNOHANG);
  if (rc == pid_) status_ = status;
  return status_;
}

bool Child::signal(int sig) noexcept {
  if (pid_ <= 0 || status_) return false;
  return ::kill(pid_, sig) == 0;
}

Child spawn(const SpawnSpec& spec) {
  if (spec.argv.empty()) throw Error(ErrorKind::usage, "no command given");
  const std::filesystem::path exe = resolve_command(spec.argv.front());
  std::vector<char*> argv;
  for (const auto& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  if (spec.env) {
    for (const auto& e : *spec.env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
  }
  char** const env = spec.env ? envp.data() : environ;
  for (int fd : spec.pass_fds)
    if (fd < 3 || ::fcntl(fd, F_GETFD) < 0)
      throw Error(ErrorKind::usage, "--pass-fd " + std::to_string(fd) + ": not an open descriptor above 2");

  if (spec.filter != nullptr) refuse_denied_execve(spec, exe.c_str(), argv.data(), env);

  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) throw_errno("cannot create a pipe");
  UniqueFd report_read(pipe_fds[0]);
  UniqueFd report_write(pipe_fds[1]);
  const pid_t parent = ::getpid();

  // The gate: one byte from the parent once while_child_starts has returned; end of file if it
  // threw or died. A socket, not a pipe, so that the parent's send to a child that has already
  // failed is an error it can ignore, not a SIGPIPE.
  UniqueFd gate_parent;
  UniqueFd gate_child;
  if (spec.while_child_starts) {
    int gate[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, gate) != 0) throw_errno("cannot create a socket pair");
    gate_parent.reset(gate[0]);
    gate_child.reset(gate[1]);
  }

  pid_t pid = ::fork();
  if (pid < 0) throw_errno("cannot fork");
  if (pid == 0) {
    // Child: async-signal-safe calls only, from here to execve.
    int out = report_write.get();
    if (gate_parent) ::close(gate_parent.get()); // else the parent's end never reads as closed
    sigset_t all;
    ::sigemptyset(&all);
    if (::sigprocmask(SIG_SETMASK, &all, nullptr) != 0) fail(out, ChildStep::signals, errno, exit_nucleus_failed);
    for (int sig = 1; sig < NSIG; ++sig) ::signal(sig, SIG_DFL);
    // Its own session: no way to the caller's terminal (TIOCSTI needs it as controlling terminal).
    if (::setsid() < 0) fail(out, ChildStep::session, errno, exit_nucleus_failed);
    if (spec.pty != nullptr) {
      if (int err = attach_pty(*spec.pty); err != 0) fail(out, ChildStep::session, err, exit_nucleus_failed);
    }
    if (int err = close_inherited_fds(spec.pass_fds.data(), spec.pass_fds.size()); err != 0)
      fail(out, ChildStep::descriptors, err, exit_nucleus_failed);
    // If nucleus dies, the workload must not run on unobserved.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (::getppid() != parent) ::_exit(exit_nucleus_failed);
    if (spec.new_audit_session) send(out, {1, ChildStep::audit_session, start_audit_session()});
    const ChildTail tail{out, gate_child ? gate_child.get() : -1, spec.filter, exe.c_str(), argv.data(), env};
    child_tail = &tail;
    if (spec.pre_exec != nullptr) {
      int err = spec.pre_exec(spec.pre_exec_context);
      if (err != 0) fail(out, ChildStep::pre_exec, err, exit_nucleus_failed);
    }
    finish(tail);
  }

  report_write.reset();
  gate_child.reset();
  UniqueFd pidfd = core::pidfd_open(pid);
  Child child(pid, std::move(pidfd), std::nullopt);
  if (!child.pidfd()) throw_errno("cannot open a pidfd for the child");

  std::optional<std::uint32_t> ses;
  // Throwing from here leaves the gate closed, and the Child kills and reaps what it started.
  auto open_gate = [&] {
    if (!gate_parent) return;
    spec.while_child_starts(ses);
    const char go = 1;
    ssize_t n;
    do {
      n = ::send(gate_parent.get(), &go, 1, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    gate_parent.reset(); // a child that failed meanwhile has its error in the report pipe
  };
  if (!spec.new_audit_session) open_gate();
  ChildMessage msg{};
  for (;;) {
    ssize_t n = ::read(report_read.get(), &msg, sizeof msg);
    if (n < 0 && errno == EINTR) continue;
    if (n != static_cast<ssize_t>(sizeof msg)) break; // EOF: execve succeeded (or the child died)
    if (msg.kind == 1) {
      if (static_cast<std::uint32_t>(msg.value) != audit_unset) ses = static_cast<std::uint32_t>(msg.value);
      open_gate();
      continue;
    }
    child.wait();
    throw_child_failure(spec, msg.step, static_cast<int>(msg.value));
  }
  child.ses_ = ses;
  return child;
}

namespace detail {

void finish_start() noexcept { finish(*child_tail); }

void fail_start(int err) noexcept { fail(child_tail->out, ChildStep::pre_exec, err, exit_nucleus_failed); }

} // namespace detail

int exit_code_from_status(int wait_status) noexcept {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return exit_nucleus_failed;
}

} // namespace nucleus::sandbox
