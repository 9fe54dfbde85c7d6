// The run loop with a fake source, no privileges: the order in which a source is driven, the
// drain after the child's exit that the source decides, signals passed on, the tick, the exit
// status, and the workload's own terminal.
#include "nucleus/tracer/run_loop.hpp"

#include "nucleus/core/error.hpp"
#include "nucleus/tracer/monitor.hpp"
#include "test_support.hpp"

#include <boost/asio/posix/stream_descriptor.hpp>
#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

using namespace nucleus;
namespace asio = boost::asio;

namespace {

// Reads lines from a pipe the workload writes to (fd 3 in the workload) as its "records"; the
// drain ends once the child has exited and the pipe has reached EOF, which a grandchild that
// outlives the child holds off.
class PipeSource final : public tracer::RunSource {
public:
  PipeSource() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2");
    read_end_ = fds[0];
    write_end_ = fds[1];
  }
  ~PipeSource() override {
    if (read_end_ >= 0) ::close(read_end_);
    if (write_end_ >= 0) ::close(write_end_);
  }

  void prepare(sandbox::SpawnSpec& spec, tracer::MonitorResult& result) override {
    steps.push_back("prepare");
    if (throw_in_prepare) throw core::Error(core::ErrorKind::unsupported, "this source cannot run here");
    result.source = "pipe";
    // The workload keeps the write end (pass_fds) and is told its number as its last argument.
    spec.pass_fds.push_back(write_end_);
    spec.argv.push_back(std::to_string(write_end_));
  }

  void started(asio::io_context& io, const sandbox::Child& child, tracer::MonitorResult& result) override {
    steps.push_back("started");
    pid_seen = child.pid();
    EXPECT_EQ(result.pid, child.pid());
    ::close(write_end_); // the workload's copies are the only writers now
    write_end_ = -1;
    fd_.emplace(io, ::dup(read_end_));
    wait(io);
  }

  void child_exited(asio::io_context& io, tracer::MonitorResult& result) override {
    steps.push_back("child_exited");
    exit_status_at_exit = result.wait_status;
    child_gone_ = true;
    if (eof_) io.stop();
  }

  void finish(tracer::MonitorResult& result) override {
    steps.push_back("finish");
    result.records_seen = records.size();
    result.fenced = eof_;
  }

  std::vector<std::string> steps;
  std::vector<std::string> records;
  bool throw_in_prepare = false;
  pid_t pid_seen = 0;
  int exit_status_at_exit = -1;

private:
  void wait(asio::io_context& io) {
    fd_->async_wait(asio::posix::stream_descriptor::wait_read, [this, &io](const boost::system::error_code& ec) {
      if (ec) return;
      char buf[4096];
      ssize_t n = ::read(read_end_, buf, sizeof buf);
      if (n <= 0) {
        eof_ = true;
        if (child_gone_) io.stop();
        return;
      }
      partial_.append(buf, static_cast<std::size_t>(n));
      for (std::size_t nl; (nl = partial_.find('\n')) != std::string::npos; partial_.erase(0, nl + 1))
        records.push_back(partial_.substr(0, nl));
      wait(io);
    });
  }

  int read_end_ = -1;
  int write_end_ = -1;
  std::optional<asio::posix::stream_descriptor> fd_;
  std::string partial_;
  bool eof_ = false;
  bool child_gone_ = false;
};

// A shell script run as `bash -c SCRIPT bash ARG... FD`: the source's pipe comes last.
tracer::MonitorOptions shell(const std::string& script, const std::vector<std::string>& args = {}) {
  tracer::MonitorOptions options;
  options.argv = {"/bin/bash", "-c", script, "bash"};
  options.argv.insert(options.argv.end(), args.begin(), args.end());
  options.terminal = false;
  return options;
}

} // namespace

TEST(RunLoop, DrivesTheSourceInOrderAndReportsTheExitStatus) {
  PipeSource source;
  auto options = shell("echo one >&$1; echo two >&$1; exit 3");
  pid_t started_pid = 0;
  options.on_start = [&](pid_t pid) { started_pid = pid; };
  auto result = tracer::run_loop(options, source);
  EXPECT_EQ(source.steps, (std::vector<std::string>{"prepare", "started", "child_exited", "finish"}));
  EXPECT_EQ(result.source, "pipe");
  EXPECT_EQ(result.exit_code, 3);
  EXPECT_TRUE(WIFEXITED(result.wait_status));
  EXPECT_EQ(source.exit_status_at_exit, result.wait_status);
  EXPECT_EQ(result.pid, source.pid_seen);
  EXPECT_EQ(started_pid, source.pid_seen);
  EXPECT_EQ(source.records, (std::vector<std::string>{"one", "two"}));
  EXPECT_EQ(result.records_seen, 2u);
}

// The loop ends when the source says its drain has ended, not when the child exits: a record
// written after the child's exit (by a grandchild it left behind) still arrives.
TEST(RunLoop, TheSourceDecidesWhenTheDrainEnds) {
  PipeSource source;
  // The grandchild writes only once the child has gone (reaped by the loop), then ends.
  auto options = shell("parent=$$; (while kill -0 $parent 2>/dev/null; do :; done; echo late >&$1) & "
                       "echo early >&$1; exit 0");
  auto result = tracer::run_loop(options, source);
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_TRUE(result.fenced);
  EXPECT_EQ(source.records, (std::vector<std::string>{"early", "late"}));
}

TEST(RunLoop, SignalsArePassedOnToTheChild) {
  PipeSource source;
  // The child blocks until it is signalled; the signal goes to us once the child runs.
  auto options = shell("exec sleep 60");
  options.on_start = [](pid_t) { ::kill(::getpid(), SIGTERM); };
  auto result = tracer::run_loop(options, source);
  EXPECT_EQ(result.forwarded_signal, SIGTERM);
  EXPECT_TRUE(WIFSIGNALED(result.wait_status));
  EXPECT_EQ(result.exit_code, 128 + SIGTERM);
}

// The tick runs while the child runs: here the child waits for input that only the tick sends.
TEST(RunLoop, TicksWhileTheChildRuns) {
  PipeSource source;
  int go[2];
  ASSERT_EQ(::pipe2(go, O_CLOEXEC), 0);
  auto options = shell("read line <&$1; echo \"$line\" >&$2", {std::to_string(go[0])});
  options.pass_fds = {go[0]};
  int ticks = 0;
  options.on_tick = [&] {
    if (++ticks == 1) {
      ASSERT_EQ(::write(go[1], "ticked\n", 7), 7);
    }
  };
  auto result = tracer::run_loop(options, source);
  ::close(go[0]);
  ::close(go[1]);
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_GE(ticks, 1);
  EXPECT_EQ(source.records, (std::vector<std::string>{"ticked"}));
}

// A source that cannot run throws before the child exists: nothing of the workload runs.
TEST(RunLoop, ASourceThatFailsToPrepareStartsNothing) {
  test::TempDir dir;
  const auto marker = dir.path() / "ran";
  PipeSource source;
  source.throw_in_prepare = true;
  auto options = shell("touch " + marker.string());
  EXPECT_THROW(tracer::run_loop(options, source), core::Error);
  EXPECT_EQ(source.steps, (std::vector<std::string>{"prepare"}));
  EXPECT_FALSE(std::filesystem::exists(marker));
}

// Run on a terminal, the workload gets a terminal of its own on stdin and stdout, not the
// caller's, and what it writes there reaches the caller's terminal through the relay.
TEST(RunLoop, TheWorkloadGetsATerminalOfItsOwn) {
  int master = -1, slave = -1;
  ASSERT_EQ(::openpty(&master, &slave, nullptr, nullptr, nullptr), 0);
  struct stat caller {};
  ASSERT_EQ(::fstat(slave, &caller), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // The caller: a session of its own with the test pty as its terminal, as a shell starts a command.
    nucleus::test::take_terminal(master, slave);
    int code = 100;
    try {
      PipeSource source;
      auto options = shell("test -t 0 && test -t 1 && echo tty-in-out; stat -L -c 'device %t:%T' /dev/stdout");
      options.terminal = true;
      code = tracer::run_loop(options, source).exit_code;
    } catch (...) {
      code = 101;
    }
    ::_exit(code);
  }
  ::close(slave);
  std::string screen;
  for (;;) {
    pollfd p{master, POLLIN, 0};
    if (::poll(&p, 1, 30000) <= 0) break;
    char buf[4096];
    ssize_t n = ::read(master, buf, sizeof buf);
    if (n <= 0) break; // EIO: every holder of the slave has gone
    screen.append(buf, static_cast<std::size_t>(n));
  }
  ::close(master);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << screen;
  EXPECT_NE(screen.find("tty-in-out"), std::string::npos) << screen;
  char callers[64];
  std::snprintf(callers, sizeof callers, "device %x:%x", major(caller.st_rdev), minor(caller.st_rdev));
  EXPECT_NE(screen.find("device "), std::string::npos) << screen;
  EXPECT_EQ(screen.find(callers), std::string::npos) << "the workload wrote to the caller's terminal: " << screen;
}
