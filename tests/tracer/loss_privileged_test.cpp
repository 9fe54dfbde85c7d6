// Loss detection on the live paths, provoked for real: the netlink receive buffer overflowing
// (ENOBUFS), the kernel's audit lost counter rising (its rate limit lowered for the length of a
// burst: global state, restored at once, see below), and /dev/kmsg overwriting a reader that fell
// behind (EPIPE). The fed-counter test pins the report's wording. The HostWide suite changes what
// the whole host shares, so that every trace running meanwhile sees loss: CTest runs it alone.
#include "nucleus/sandbox/filter.hpp"
#include "nucleus/tracer/monitor.hpp"
#include "nucleus/tracer/source.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/netlink.h>
#include <poll.h>
#include <sys/klog.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <thread>

using namespace nucleus;

namespace {

sandbox::BpfProgram log_all() {
  core::Policy p;
  p.default_action = core::Action::log();
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

// One AUDIT_GET or AUDIT_SET exchange with the kernel; the status it answers (AUDIT_GET), or
// nullopt when it refused.
std::optional<audit_status> audit_status_exchange(std::uint16_t type, const audit_status& set = {}) {
  int fd = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_AUDIT);
  if (fd < 0) return std::nullopt;
  struct {
    nlmsghdr header;
    audit_status status;
  } request{};
  request.header.nlmsg_len = type == AUDIT_SET ? sizeof request : sizeof(nlmsghdr);
  request.header.nlmsg_type = type;
  request.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  request.status = set;
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  std::optional<audit_status> out;
  bool acked = false;
  bool refused = false;
  // AUDIT_GET's answer comes from a kernel thread, so its acknowledgement may come first.
  auto done = [&] { return refused || (type == AUDIT_GET ? out.has_value() : acked); };
  if (::sendto(fd, &request, request.header.nlmsg_len, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) >= 0) {
    alignas(nlmsghdr) char buf[8192];
    pollfd p{fd, POLLIN, 0};
    while (!done() && ::poll(&p, 1, 2000) > 0) {
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      for (std::size_t at = 0; at + sizeof(nlmsghdr) <= static_cast<std::size_t>(n);) {
        nlmsghdr h{};
        std::memcpy(&h, buf + at, sizeof h);
        if (h.nlmsg_len < sizeof h || at + h.nlmsg_len > static_cast<std::size_t>(n)) break;
        const char* data = buf + at + NLMSG_HDRLEN;
        if (h.nlmsg_type == AUDIT_GET && h.nlmsg_len >= NLMSG_HDRLEN + sizeof(audit_status)) {
          audit_status st{};
          std::memcpy(&st, data, sizeof st);
          out = st;
        } else if (h.nlmsg_type == NLMSG_ERROR) {
          int error = 0;
          std::memcpy(&error, data, sizeof error);
          acked = true;
          refused = error != 0;
        }
        at += NLMSG_ALIGN(h.nlmsg_len);
      }
    }
  }
  ::close(fd);
  if (refused || !done()) return std::nullopt;
  return type == AUDIT_SET ? set : out;
}

bool set_audit_rate_limit(std::uint32_t limit) {
  audit_status set{};
  set.mask = AUDIT_STATUS_RATE_LIMIT;
  set.rate_limit = limit;
  return audit_status_exchange(AUDIT_SET, set).has_value();
}

// Makes a FIFO at `path`; its reader's open blocks until a writer opens it.
void make_fifo(const std::filesystem::path& path) { ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0) << path; }

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
  EXPECT_NE(result.loss.detail.find("dropped 7 record(s) (audit lost counter"), std::string::npos)
      << result.loss.detail;

  // The same run with the counter standing still reports nothing lost.
  reads = 0;
  opt.lost_counter = [&]() -> std::optional<std::uint32_t> { return *real; };
  auto steady = tracer::run_monitored(opt);
  EXPECT_FALSE(steady.loss.any()) << steady.loss.detail;
}

// The real counter rising. The kernel's audit rate limit is global: every record of the host is
// subject to it, and every trace running at the same time sees the counter rise (and reports loss,
// as it must). So the limit is lowered to one record a second only for the workload's burst: set
// just before the workload starts, and restored (to what it was) the moment the workload says its
// burst is over, before it exits and before the fence; an early end restores it too.
TEST(HostWideLossPrivileged, AuditLostCounterRisesForRealAndIsReported) {
  NUCLEUS_REQUIRE_ROOT();
  auto before = audit_status_exchange(AUDIT_GET);
  ASSERT_TRUE(before.has_value()) << "the audit status must be readable as root";
  test::TempDir dir;
  const auto burst_done = dir / "burst-done";
  const auto release = dir / "release";
  make_fifo(burst_done);
  make_fifo(release);
  auto program = log_all();
  tracer::MonitorOptions opt;
  // Every call is logged: the shell's start-up and the probe's make dozens of records in a moment.
  opt.argv = {"/bin/sh", "-c",
              test::sample("probe").string() + " getppid getppid getppid getppid >/dev/null; echo > " +
                  burst_done.string() + "; read x < " + release.string()};
  opt.filter = &program;
  opt.source = tracer::SourceKind::netlink;
  // Both FIFOs are held open read-write here, so no open on either side ever blocks: the workload's
  // opens find their peer at once, and the restorer's wait can always be ended by a byte from here.
  int done_fd = ::open(burst_done.c_str(), O_RDWR | O_CLOEXEC);
  int release_fd = ::open(release.c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(done_fd, 0);
  ASSERT_GE(release_fd, 0);
  std::atomic<bool> restored = false;
  auto restore = [&] {
    if (!restored) restored = set_audit_rate_limit(before->rate_limit);
  };
  // If this test dies with the limit lowered (a timeout's kill, a crash), a guardian process puts
  // it back: it waits on a pipe whose only writer is this process, and reads EOF when it is gone.
  int guard[2];
  ASSERT_EQ(::pipe2(guard, O_CLOEXEC), 0);
  const auto old_limit = before->rate_limit;
  pid_t guardian = ::fork();
  ASSERT_GE(guardian, 0);
  if (guardian == 0) {
    ::close(guard[1]);
    char c;
    ssize_t n;
    while ((n = ::read(guard[0], &c, 1)) < 0 && errno == EINTR) {}
    if (n == 0) set_audit_rate_limit(old_limit);
    ::_exit(0);
  }
  ::close(guard[0]);
  std::thread restorer;
  opt.on_start = [&](pid_t) {
    restorer = std::thread([&] {
      char c;
      while (::read(done_fd, &c, 1) < 0 && errno == EINTR) {}
      restore();
      (void)!::write(release_fd, "\n", 1);
    });
  };
  ASSERT_TRUE(set_audit_rate_limit(1)) << "cannot set the audit rate limit (AUDIT_SET)";
  std::optional<tracer::MonitorResult> result;
  std::string error;
  try {
    result = tracer::run_monitored(opt);
  } catch (const std::exception& e) {
    error = e.what();
  }
  // Whatever became of the workload, the restorer is woken (a byte it may never read is harmless).
  (void)!::write(done_fd, "\n", 1);
  if (restorer.joinable()) restorer.join();
  ::close(done_fd);
  ::close(release_fd);
  restore();
  (void)!::write(guard[1], "x", 1); // restored here: the guardian leaves the limit alone
  ::close(guard[1]);
  ::waitpid(guardian, nullptr, 0);
  ASSERT_TRUE(result.has_value()) << error;
  ASSERT_TRUE(restored) << "the audit rate limit could not be set back to " << before->rate_limit;
  auto after = audit_status_exchange(AUDIT_GET);
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->rate_limit, before->rate_limit);
  EXPECT_GT(after->lost, before->lost) << "the kernel dropped nothing: the test proves nothing";
  auto public_reading = tracer::audit_lost_counter(); // what nucleus-trace reads is the kernel's counter
  ASSERT_TRUE(public_reading.has_value());
  EXPECT_GE(*public_reading, after->lost);
  EXPECT_EQ(result->exit_code, 0);
  EXPECT_GE(result->loss.lost, 1u);
  EXPECT_NE(result->loss.detail.find("(audit lost counter"), std::string::npos) << result->loss.detail;
}

// A /dev/kmsg reader that falls behind: the kernel's log ring buffer (128 KiB here) is overwritten
// past its position, and its next read fails with EPIPE. The messages written say what they are.
TEST(HostWideLossPrivileged, KmsgReaderOverwrittenIsReported) {
  NUCLEUS_REQUIRE_ROOT();
  auto source = tracer::open_live_source(tracer::SourceKind::kmsg);
  std::string padding(900, '.');
  const int buffer_bytes = ::klogctl(10 /* SYSLOG_ACTION_SIZE_BUFFER */, nullptr, 0);
  ASSERT_GT(buffer_bytes, 0) << std::strerror(errno);
  const int messages = 2 * buffer_bytes / 900; // twice round the ring
  for (int written = 0; written < messages;) {
    // /dev/kmsg lets each open descriptor write 10 messages per 5 s (printk_devkmsg=ratelimit).
    int fd = ::open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0) << std::strerror(errno);
    for (int i = 0; i < 10 && written < messages; ++i, ++written) {
      std::string line = "<7>nucleus loss test: filling the kernel log so that a reader falls behind " + padding + "\n";
      ASSERT_EQ(::write(fd, line.data(), line.size()), static_cast<ssize_t>(line.size())) << std::strerror(errno);
    }
    ::close(fd);
  }
  std::uint64_t records = 0;
  source->drain([&](std::string_view, int) { ++records; });
  auto loss = source->loss();
  EXPECT_TRUE(loss.overflowed) << loss.detail;
  EXPECT_NE(loss.detail.find("overwritten"), std::string::npos) << loss.detail;
  EXPECT_LT(records, static_cast<std::uint64_t>(messages)) << "nothing was overwritten";
}
