// forkexec: forks two children one after the other and waits for each. The first execs a program
// (/bin/true, or the absolute path given as arguments) and must exit 0; the second calls getppid
// and then _exit(3) without exec. Prints both exit codes; exit 0 when they are 0 and 3. It exists
// to check that a trace follows forks and execs (the exec'd program's calls belong to the trace
// too) and that strict mode applies to every process below the command.
//
//   forkexec [PROGRAM [ARG...]]    PROGRAM: a path (no PATH search, so one execve is made)
//
// System calls: clone (fork), execve and wait4 for the first child; clone, getppid (in the
// child, never in the parent), exit_group and wait4 for the second; write for the report. The
// exec'd program makes its own.
#include "sample_io.hpp"

#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <string>

using samples::print_line;

namespace {

constexpr int plain_child_code = 3;
constexpr int exec_failed_code = 127;

// Waits for `pid`; returns its exit code, or -1 when it did not exit normally.
int wait_exit_code(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

} // namespace

int main(int argc, char** argv) {
  static char default_program[] = "/bin/true";
  static char* default_argv[] = {default_program, nullptr};
  char** exec_argv = argc > 1 ? argv + 1 : default_argv;
  if (exec_argv[0][0] != '/') {
    std::fputs("usage: forkexec [PROGRAM [ARG...]]   (PROGRAM: an absolute path)\n", stderr);
    return 2;
  }

  pid_t exec_child = ::fork();
  if (exec_child < 0) {
    std::perror("forkexec: fork");
    return 1;
  }
  if (exec_child == 0) {
    ::execv(exec_argv[0], exec_argv);
    // Only async-signal-safe calls between fork and exec's failure: write(2), then _exit.
    const char message[] = "forkexec: exec failed\n";
    (void)!::write(STDERR_FILENO, message, sizeof message - 1);
    ::_exit(exec_failed_code);
  }
  int exec_code = wait_exit_code(exec_child);

  pid_t plain_child = ::fork();
  if (plain_child < 0) {
    std::perror("forkexec: fork");
    return 1;
  }
  if (plain_child == 0) {
    // getppid marks the child's own work: the parent never makes it.
    ::_exit(::syscall(SYS_getppid) > 0 ? plain_child_code : 1);
  }
  int plain_code = wait_exit_code(plain_child);

  bool printed = print_line("forkexec: exec child exited " + std::to_string(exec_code) + ", plain child exited " +
                            std::to_string(plain_code));
  if (exec_code != 0 || plain_code != plain_child_code) {
    std::fprintf(stderr, "forkexec: expected exit codes 0 and %d\n", plain_child_code);
    return 1;
  }
  return printed ? 0 : 1;
}
