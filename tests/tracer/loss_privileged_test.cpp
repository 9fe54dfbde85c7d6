// Loss detection on the live paths, provoked for real where that touches nothing but our own
// socket: the netlink receive buffer overflowing (ENOBUFS), and the kernel's audit lost counter
// rising, seen through the monitor (the counter itself is fed: raising the real one would make every
// trace running on the host at the same time report loss).
#include "nucleus/sandbox/filter.hpp"
#include "nucleus/tracer/monitor.hpp"
#include "nucleus/tracer/source.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

using namespace nucleus;

namespace {

sandbox::BpfProgram log_all() {
  sandbox::Policy p;
  p.default_action = sandbox::Action::log();
  return sandbox::compile(p);
}

// A child that makes `count` logged syscalls, waited for.
void logged_burst(const sandbox::BpfProgram& program, int count) {
  pid_t pid = ::fork();
  if (pid == 0) {
    if (sandbox::install_filter(program) != 0) ::_exit(99);
    for (int i = 0; i < count; ++i) ::syscall(SYS_getppid);
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "the burst child could not install its filter";
}

} // namespace

TEST(LossPrivileged, NetlinkReceiveBufferOverflowIsReported) {
  NUCLEUS_REQUIRE_ROOT();
  auto source = tracer::open_live_source(tracer::SourceKind::netlink);
  // The production buffer (256 MiB) is too large to fill in a test; a small one overflows for real.
  int small = 4096;
  ASSERT_EQ(::setsockopt(source->fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small), 0);
  std::uint64_t records = 0;
  auto sink = [&](std::string_view, int) { ++records; };
  source->drain(sink); // whatever was queued before the buffer shrank
  EXPECT_FALSE(source->loss().any()) << source->loss().detail;
  auto program = log_all();
  logged_burst(program, 5000);
  // kauditd delivers asynchronously: read until the overflow shows, for a bounded time.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!source->loss().any() && std::chrono::steady_clock::now() < deadline) {
    pollfd p{source->fd(), POLLIN, 0};
    ::poll(&p, 1, 100);
    source->drain(sink);
  }
  auto loss = source->loss();
  EXPECT_TRUE(loss.overflowed);
  EXPECT_NE(loss.detail.find("ENOBUFS"), std::string::npos) << loss.detail;
  EXPECT_LT(records, 5000u) << "the overflow dropped nothing";
}

TEST(LossPrivileged, AuditLostCounterRisingDuringTheRunIsReported) {
  NUCLEUS_REQUIRE_ROOT();
  auto real = tracer::audit_lost_counter();
  ASSERT_TRUE(real.has_value()) << "the audit lost counter must be readable as root";
  auto program = log_all();
  tracer::MonitorOptions opt;
  opt.argv = {test::sample("probe").string(), "getppid"};
  opt.filter = &program;
  opt.source = tracer::SourceKind::netlink;
  int reads = 0;
  opt.lost_counter = [&]() -> std::optional<std::uint32_t> { return *real + (reads++ == 0 ? 0u : 7u); };
  auto result = tracer::run_monitored(opt);
  EXPECT_EQ(reads, 2) << "read once before and once after the run";
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_TRUE(result.loss.any());
  EXPECT_GE(result.loss.lost, 7u);
  EXPECT_NE(result.loss.detail.find("dropped 7 record(s) (audit lost counter"), std::string::npos) << result.loss.detail;

  // The same run with the counter standing still reports nothing lost.
  reads = 0;
  opt.lost_counter = [&]() -> std::optional<std::uint32_t> { return *real; };
  auto steady = tracer::run_monitored(opt);
  EXPECT_FALSE(steady.loss.any()) << steady.loss.detail;
}
