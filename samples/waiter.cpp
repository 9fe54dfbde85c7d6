// waiter: prints "ready" and then waits for SIGUSR1; then forks a child that execs PROGRAM, waits
// for it and exits with its exit code. It exists to check that a recorder attached to a process
// that runs already (nucleus-trace --pid / --cgroup) follows what it forks and execs afterwards.
//
//   waiter PROGRAM [ARG...]    PROGRAM: a path (no PATH search)
//
// System calls after the signal: clone (fork), execve in the child, wait4, exit_group.
#include "sample_io.hpp"

#include <sys/wait.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>

using samples::print_line;

int main(int argc, char** argv) {
  if (argc < 2) {
    static const char usage[] = "usage: waiter PROGRAM [ARG...]\n";
    (void)!::write(STDERR_FILENO, usage, sizeof usage - 1);
    return 2;
  }
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  sigprocmask(SIG_BLOCK, &set, nullptr);
  print_line("ready");
  int sig = 0;
  while (sigwait(&set, &sig) != 0) {}
  pid_t child = ::fork();
  if (child < 0) return 1;
  if (child == 0) {
    sigprocmask(SIG_UNBLOCK, &set, nullptr);
    ::execv(argv[1], argv + 1);
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(child, &status, 0) < 0)
    if (errno != EINTR) return 1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
