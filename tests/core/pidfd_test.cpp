// pidfd_open and the child wait: a pidfd that polls readable when its process exits, and a wait
// that a signal arriving meanwhile does not turn into a failure.
#include "nucleus/core/pidfd.hpp"

#include <gtest/gtest.h>

#include <poll.h>
#include <signal.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>

using nucleus::core::pidfd_open;
using nucleus::core::wait_child;

namespace {

int handled[2] = {-1, -1};
void on_signal(int) {
  const char c = 1;
  (void)::write(handled[1], &c, 1);
}

} // namespace

TEST(Pidfd, PollsReadableWhenTheProcessExits) {
  int go[2];
  ASSERT_EQ(::pipe2(go, O_CLOEXEC), 0);
  pid_t child = ::fork();
  if (child == 0) {
    ::close(go[1]);
    char c;
    (void)::read(go[0], &c, 1);
    ::_exit(7);
  }
  ::close(go[0]);
  auto fd = pidfd_open(child);
  ASSERT_TRUE(fd) << std::strerror(errno);
  EXPECT_NE(::fcntl(fd.get(), F_GETFD) & FD_CLOEXEC, 0);
  pollfd p{fd.get(), POLLIN, 0};
  EXPECT_EQ(::poll(&p, 1, 0), 0) << "still running";
  ::close(go[1]);
  EXPECT_EQ(::poll(&p, 1, 10000), 1);
  int status = 0;
  ASSERT_EQ(wait_child(child, status), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 7);
}

TEST(Pidfd, NoSuchProcess) {
  pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  int status = 0;
  ASSERT_EQ(wait_child(child, status), child);
  errno = 0;
  EXPECT_FALSE(pidfd_open(child)) << "a reaped process has no pidfd";
  EXPECT_EQ(errno, ESRCH);
}

// A signal handled without SA_RESTART interrupts waitpid with EINTR: the wait goes on. The child
// signals the parent once the parent is blocked in wait4 (its /proc/PID/syscall says so), and exits
// only after the handler has run, so the wait is interrupted before there is a status to collect.
TEST(WaitChild, ASignalDoesNotEndTheWait) {
  ASSERT_EQ(::pipe2(handled, O_CLOEXEC), 0);
  struct sigaction sa {
  }, old{};
  sa.sa_handler = on_signal; // no SA_RESTART
  ASSERT_EQ(::sigaction(SIGUSR1, &sa, &old), 0);
  const pid_t parent = ::getpid();
  pid_t child = ::fork();
  if (child == 0) {
    char path[64];
    std::snprintf(path, sizeof path, "/proc/%d/syscall", static_cast<int>(parent));
    for (int tries = 0; tries < 10000; ++tries) { // 10 s at most
      char buf[32] = {};
      int fd = ::open(path, O_RDONLY | O_CLOEXEC);
      if (fd < 0) ::_exit(10);
      ssize_t n = ::read(fd, buf, sizeof buf - 1);
      ::close(fd);
      if (n > 0 && std::atol(buf) == SYS_wait4) break;
      ::usleep(1000);
    }
    ::kill(parent, SIGUSR1);
    char c;
    if (::read(handled[0], &c, 1) != 1) ::_exit(11);
    ::_exit(3);
  }
  int status = 0;
  pid_t rc = wait_child(child, status);
  int err = errno;
  ::sigaction(SIGUSR1, &old, nullptr);
  ::close(handled[0]);
  ::close(handled[1]);
  if (rc != child) {
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
  }
  ASSERT_EQ(rc, child) << std::strerror(err);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 3) << status;
}

TEST(WaitChild, NoHangAndNoChild) {
  pid_t child = ::fork();
  if (child == 0) {
    ::pause();
    ::_exit(0);
  }
  int status = 0;
  EXPECT_EQ(wait_child(child, status, WNOHANG), 0) << "still running";
  ::kill(child, SIGKILL);
  ASSERT_EQ(wait_child(child, status), child);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  errno = 0;
  EXPECT_EQ(wait_child(child, status), -1);
  EXPECT_EQ(errno, ECHILD);
}
