// The eBPF recorder against the real kernel: exact counts for the traced tree and nothing of any
// other process, the ABI of each call, set-up time, and an unusable environment refused up front.
#include "ebpf_test_support.hpp"
#include "nucleus/tracer/ebpf.hpp"

#include "nucleus/core/error.hpp"
#include "nucleus/core/syscalls.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <iostream>
#include <thread>

using namespace nucleus;

namespace {

std::uint64_t count_of(const tracer::EbpfTrace& t, std::string_view name, std::string_view arch = "x86_64") {
  std::uint64_t n = 0;
  for (const auto& s : t.syscalls) {
    if (core::arch_name(s.arch) != arch) continue;
    if (core::syscall_name(s.arch, s.nr) == std::string(name)) n += s.count;
  }
  return n;
}

using test::command;
using test::require_ebpf;

} // namespace

TEST(EbpfPrivileged, CountsExactlyTheTracedTreeAndNothingElse) {
  require_ebpf();
  auto recorder = tracer::EbpfRecorder::open(nullptr);
  // Meanwhile this process makes the same call many times: none of it may be counted.
  std::atomic<bool> stop{false};
  std::thread noise([&] {
    while (!stop) ::syscall(SYS_getppid);
  });
  auto trace = recorder.run(command({test::sample("probe").string(), "getppid", "getppid", "getpriority:0,0"}));
  stop = true;
  noise.join();
  std::cout << "[ MEASURED ] eBPF recorder set-up (load and attach, overlapping the workload's start): "
            << static_cast<double>(recorder.setup_time().count()) / 1000.0 << " ms wall, "
            << static_cast<double>(recorder.setup_cpu_time().count()) / 1000.0 << " ms CPU\n";
  EXPECT_GT(recorder.setup_time().count(), 0) << "the load was waited for before the workload ran";
  EXPECT_EQ(trace.run.source, "ebpf");
  EXPECT_EQ(trace.run.exit_code, 0);
  EXPECT_FALSE(trace.run.loss.any()) << trace.run.loss.detail;
  EXPECT_EQ(count_of(trace, "getppid"), 2u);
  EXPECT_EQ(count_of(trace, "getpriority"), 1u);
  EXPECT_EQ(count_of(trace, "execve"), 1u);
  EXPECT_EQ(count_of(trace, "exit_group"), 1u);
  bool execve_before_exec = false;
  for (const auto& s : trace.syscalls)
    if (core::syscall_name(s.arch, s.nr) == std::string("execve") && s.exe.find("probe") == std::string::npos)
      execve_before_exec = true;
  EXPECT_TRUE(execve_before_exec) << "the execve is made by the image before it, as the audit records have it";
}

TEST(EbpfPrivileged, EveryThreadAndChildIsCounted) {
  require_ebpf();
  auto recorder = tracer::EbpfRecorder::open(nullptr);
  auto trace = recorder.run(command({test::sample("burst").string(), "--threads", "4", "--count", "100000"}));
  EXPECT_EQ(trace.run.exit_code, 0);
  EXPECT_FALSE(trace.run.loss.any()) << trace.run.loss.detail;
  EXPECT_EQ(count_of(trace, "getppid"), 100000u);
}

// The legacy vsyscall page's calls enter the kernel through a page fault, not the syscall entry
// the program watches; seccomp still checks them as gettimeofday, time and getcpu, so a profile
// without them breaks the program. Each call is in the trace, exactly once.
TEST(EbpfPrivileged, VsyscallPageCallsAreCounted) {
  require_ebpf();
  auto direct = test::run({test::sample("vsyscall").string(), "3"});
  if (direct.exit_code == 3) NUCLEUS_SKIP("the kernel has no vsyscall page (vsyscall=none): " + direct.err);
  ASSERT_EQ(direct.exit_code, 0) << direct.err;
  auto recorder = tracer::EbpfRecorder::open(nullptr);
  auto trace = recorder.run(command({test::sample("vsyscall").string(), "3"}));
  EXPECT_EQ(trace.run.exit_code, 0);
  EXPECT_FALSE(trace.run.loss.any()) << trace.run.loss.detail;
  EXPECT_EQ(count_of(trace, "gettimeofday"), 3u);
  EXPECT_EQ(count_of(trace, "time"), 3u);
  EXPECT_EQ(count_of(trace, "getcpu"), 3u);
}
