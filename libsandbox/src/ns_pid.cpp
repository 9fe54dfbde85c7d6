#include "ns_pid.hpp"

#include "child_tail.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>

namespace nucleus::sandbox::detail {
namespace {

[[noreturn]] void exit_with(int status) noexcept {
  if (WIFEXITED(status)) ::_exit(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) ::_exit(128 + WTERMSIG(status));
  ::_exit(125);
}

// A process that will never execve closes what execve would have closed: above all the spawn
// report pipe, whose end-of-file tells the parent that the workload has started.
void close_cloexec_fds() noexcept {
  int dir = ::open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) {
    for (int fd = 3; fd < 4096; ++fd) {
      int flags = ::fcntl(fd, F_GETFD);
      if (flags >= 0 && (flags & FD_CLOEXEC) != 0) ::close(fd);
    }
    return;
  }
  alignas(8) char buf[4096];
  for (;;) {
    long n = ::syscall(SYS_getdents64, dir, buf, sizeof buf);
    if (n <= 0) break;
    for (long off = 0; off < n;) {
      auto* entry = reinterpret_cast<dirent64*>(buf + off);
      off += entry->d_reclen;
      int fd = 0;
      bool number = entry->d_name[0] != '\0';
      for (const char* c = entry->d_name; *c != '\0'; ++c) {
        if (*c < '0' || *c > '9') {
          number = false;
          break;
        }
        fd = fd * 10 + (*c - '0');
      }
      if (!number || fd < 3 || fd == dir) continue;
      int flags = ::fcntl(fd, F_GETFD);
      if (flags >= 0 && (flags & FD_CLOEXEC) != 0) ::close(fd);
    }
  }
  ::close(dir);
}

// Waits with every signal blocked: SIGCHLD means reap, anything else is passed to the child.
[[noreturn]] void supervise(pid_t child, bool reap_all) noexcept {
  sigset_t all;
  ::sigfillset(&all);
  for (;;) {
    siginfo_t info{};
    int sig = ::sigwaitinfo(&all, &info);
    if (sig < 0) continue;
    if (sig != SIGCHLD) {
      ::kill(child, sig);
      continue;
    }
    for (;;) {
      int status = 0;
      pid_t done = ::waitpid(reap_all ? -1 : child, &status, WNOHANG);
      if (done <= 0) break;
      if (done == child) {
        if (reap_all) ::kill(-1, SIGKILL); // what the workload left behind dies with it
        exit_with(status);
      }
    }
  }
}

// The bytes after the last ')' of /proc/self/stat hold fields 3 onwards; returns field `n`.
unsigned long stat_field(const char* text, long len, int n) noexcept {
  long at = len;
  while (at > 0 && text[at - 1] != ')') --at;
  unsigned long value = 0;
  for (int field = 2; at < len; ++at) {
    if (text[at] == ' ') {
      if (field == n) return value;
      ++field;
      value = 0;
    } else if (text[at] >= '0' && text[at] <= '9') {
      value = value * 10 + static_cast<unsigned long>(text[at] - '0');
    }
  }
  return 0;
}

// pid 1 is a fork of nucleus, and /proc/1/cmdline would show the workload nucleus's own command
// line (profile and policy paths, flags). It reads pid 1's argument area, so this overwrites that
// area (pid 1's copy; nucleus's own is untouched) with a title. A last byte that is not NUL is the
// kernel's sign of a rewritten title: it then shows the area up to the first NUL, "nucleus-init",
// and not the length of what was there. Costs one read of /proc/self/stat and one page copied.
void hide_command_line() noexcept {
  int fd = ::open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  char text[2048];
  long len = ::read(fd, text, sizeof text);
  ::close(fd);
  if (len <= 0) return;
  auto* start = reinterpret_cast<char*>(stat_field(text, len, 48)); // arg_start
  auto* end = reinterpret_cast<char*>(stat_field(text, len, 49));   // arg_end
  if (start == nullptr || end <= start) return;
  constexpr char title[] = "nucleus-init";
  for (char* p = start; p < end; ++p) *p = '\0';
  if (end - start <= static_cast<long>(sizeof title)) return; // all NUL: shows nothing but NULs
  for (std::size_t i = 0; i + 1 < sizeof title; ++i) start[i] = title[i];
  end[-1] = ' ';
}

} // namespace

int fork_namespace_init() noexcept {
  sigset_t all;
  ::sigfillset(&all);
  if (::sigprocmask(SIG_SETMASK, &all, nullptr) != 0) return errno;
  pid_t pid = ::fork();
  if (pid < 0) return errno;
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (::getppid() != 0) ::_exit(125); // the outer process is gone (it is outside: ppid reads 0)
    hide_command_line();
    return 0;
  }
  close_cloexec_fds();
  supervise(pid, false);
}

namespace {

struct WorkloadStart {
  int (*body)(const void*) noexcept;
  const void* arg;
};

int workload_entry(void* start) noexcept {
  const auto& w = *static_cast<const WorkloadStart*>(start);
  ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  if (::getppid() != 1) ::_exit(125);
  sigset_t none;
  ::sigemptyset(&none);
  if (::sigprocmask(SIG_SETMASK, &none, nullptr) != 0) fail_start(errno);
  fail_start(w.body(w.arg)); // body ends in finish_start() unless a step failed
}

} // namespace

int start_workload(int (*body)(const void*) noexcept, const void* arg) noexcept {
  constexpr std::size_t stack_size = 256 << 10;
  void* stack = ::mmap(nullptr, stack_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) return errno;
  WorkloadStart start{body, arg};
  // CLONE_VFORK: pid 1 sleeps until the workload has exec'd or exited, so nothing here runs
  // while the two share memory.
  pid_t pid = ::clone(workload_entry, static_cast<char*>(stack) + stack_size, CLONE_VM | CLONE_VFORK | SIGCHLD, &start);
  if (pid < 0) return errno;
  ::munmap(stack, stack_size);
  // pid 1 keeps nucleus's memory (its environment among it) and the namespace's capabilities:
  // not dumpable, the workload cannot read /proc/1/environ or /proc/1/mem even with
  // --cap-add CAP_SYS_PTRACE. Only now: until its execve the workload shared this memory.
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  close_cloexec_fds();
  supervise(pid, true);
}

} // namespace nucleus::sandbox::detail
