// shortlived: forks K children (argument, default 50) that each live well under a millisecond:
// one getpriority(PRIO_PROCESS, 0) call, then _exit(0). The parent forks them all, then waits for
// all, and prints "shortlived: K children exited 0". It exists to check that a trace catches the
// calls of processes that are gone before anyone could look them up by pid (in /proc).
//
//   shortlived [K]       1 <= K <= 2000
//
// System calls: the parent makes clone (fork) K times, wait4 K times, and write; each child makes
// getpriority (which the parent never makes) and exit_group. glibc's fork also has the child
// register its robust-futex list again (set_robust_list).
#include "sample_io.hpp"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <string>
#include <string_view>

using samples::print_line;

namespace {

constexpr int max_children = 2000;

} // namespace

int main(int argc, char** argv) {
  int count = 50;
  if (argc > 2) {
    std::fputs("usage: shortlived [K]\n", stderr);
    return 2;
  }
  if (argc == 2) {
    std::string_view arg = argv[1];
    auto [end, ec] = std::from_chars(arg.data(), arg.data() + arg.size(), count);
    if (ec != std::errc() || end != arg.data() + arg.size() || count < 1 || count > max_children) {
      std::fprintf(stderr, "shortlived: K must be an integer from 1 to %d\n", max_children);
      return 2;
    }
  }

  int started = 0;
  for (; started < count; ++started) {
    pid_t pid = ::fork();
    if (pid < 0) {
      std::perror("shortlived: fork");
      break;
    }
    if (pid == 0) {
      errno = 0;
      long priority = ::syscall(SYS_getpriority, PRIO_PROCESS, 0);
      ::_exit(priority == -1 ? 1 : 0);
    }
  }

  int exited_zero = 0;
  for (int i = 0; i < started; ++i) {
    int status = 0;
    pid_t pid = ::wait(&status);
    if (pid < 0 && errno == EINTR) {
      --i;
      continue;
    }
    if (pid < 0) break;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) ++exited_zero;
  }

  if (exited_zero != count) {
    std::fprintf(stderr, "shortlived: %d of %d children exited 0\n", exited_zero, count);
    return 1;
  }
  return print_line("shortlived: " + std::to_string(count) + " children exited 0") ? 0 : 1;
}
