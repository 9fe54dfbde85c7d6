// The eBPF recorder's loss paths, provoked for real in the kernel: more executables than it names,
// a full exec-event ring buffer, a full table of tracked processes, a full facts map (the last
// three with the test-only smaller maps of EbpfMapSizes). Each must come out as loss with its own
// cause, not as a trace that looks whole. And the program is off every tracepoint once the
// workload has exited, while the recorder still holds its maps.
#include "ebpf_test_support.hpp"
#include "nucleus/tracer/ebpf.hpp"

#include "test_support.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>

using namespace nucleus;

namespace {

using test::command;
using test::require_ebpf;

// `n` distinct executables (copies, so each has its own inode) in `dir`, and a shell command
// that runs each once.
std::vector<std::string> run_copies_of_true(const test::TempDir& dir, int n) {
  for (int i = 0; i < n; ++i) {
    auto to = dir / ("true" + std::to_string(100 + i));
    std::filesystem::copy_file("/bin/true", to);
    std::filesystem::permissions(to, std::filesystem::perms::owner_all);
  }
  return {"/bin/sh", "-c", "for f in " + dir.path().string() + "/true*; do \"$f\" || exit 1; done"};
}

// The tracepoints this process holds eBPF links on, from its descriptors' fdinfo ("tp_name:").
std::multiset<std::string> own_attached_tracepoints() {
  std::multiset<std::string> out;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    if (std::filesystem::read_symlink(entry.path(), ec).string() != "anon_inode:bpf_link") continue;
    std::ifstream info("/proc/self/fdinfo/" + entry.path().filename().string());
    for (std::string line; std::getline(info, line);)
      if (line.starts_with("tp_name:")) out.insert(line.substr(line.find_first_not_of(" \t", 8)));
  }
  return out;
}

bool mentions(const tracer::LossReport& loss, const std::string& what) {
  return loss.detail.find(what) != std::string::npos;
}

} // namespace

// 40 executables where the recorder names 30: the calls of the rest go under "?", and the trace
// says so (an overflow: how many calls belong to which of them is unknown).
TEST(EbpfLossPrivileged, MoreExecutablesThanSlotsIsReportedAsLoss) {
  require_ebpf();
  test::TempDir dir;
  auto recorder = tracer::EbpfRecorder::open(nullptr);
  auto trace = recorder.run(command(run_copies_of_true(dir, 40)));
  ASSERT_EQ(trace.run.exit_code, 0);
  EXPECT_TRUE(trace.run.loss.overflowed) << trace.run.loss.detail;
  EXPECT_TRUE(mentions(trace.run.loss, "more executables ran than the recorder names")) << trace.run.loss.detail;
  std::set<std::string> exes;
  for (const auto& s : trace.syscalls) exes.insert(s.exe);
  EXPECT_TRUE(exes.count("?")) << "the calls of the unnamed executables are still counted";
}

// A one-page ring buffer holds 15 exec events; 26 executables (the shell and 25 copies) overflow it.
TEST(EbpfLossPrivileged, ExecEventsDroppedFromAFullRingBufferAreReportedAsLoss) {
  require_ebpf();
  test::TempDir dir;
  tracer::EbpfMapSizes sizes;
  sizes.exec_event_bytes = 4096;
  auto recorder = tracer::EbpfRecorder::open(nullptr, sizes);
  auto trace = recorder.run(command(run_copies_of_true(dir, 25)));
  ASSERT_EQ(trace.run.exit_code, 0);
  EXPECT_GT(trace.run.loss.lost, 0u);
  EXPECT_TRUE(mentions(trace.run.loss, "exec event(s) were dropped (ring buffer full)")) << trace.run.loss.detail;
}

// A facts map of one entry: the workload's executable takes it, and the argument values of its
// first mmap find it full.
TEST(EbpfLossPrivileged, FullFactsMapIsReportedAsLoss) {
  require_ebpf();
  tracer::EbpfMapSizes sizes;
  sizes.facts = 1;
  auto recorder = tracer::EbpfRecorder::open(nullptr, sizes);
  auto trace = recorder.run(command({"/bin/true"}));
  ASSERT_EQ(trace.run.exit_code, 0);
  EXPECT_GT(trace.run.loss.lost, 0u);
  EXPECT_TRUE(mentions(trace.run.loss, "found the recorder's map full")) << trace.run.loss.detail;
}

// --pid with a table of 4 processes: a shell that has 8 children alive at once fills it.
TEST(EbpfLossPrivileged, FullTableOfTrackedProcessesIsReportedAsLoss) {
  NUCLEUS_REQUIRE_ROOT();
  if (auto why = tracer::ebpf_attach_unavailable()) NUCLEUS_SKIP(*why);
  int go[2];
  ASSERT_EQ(::pipe2(go, O_CLOEXEC), 0);
  pid_t root = ::fork();
  if (root == 0) {
    ::dup2(go[0], STDIN_FILENO);
    ::execl("/bin/sh", "sh", "-c", "read x; for i in 1 2 3 4 5 6 7 8; do sleep 0.3 & done; wait", nullptr);
    ::_exit(127);
  }
  ::close(go[0]);
  tracer::EbpfMapSizes sizes;
  sizes.tracked = 4;
  auto recorder = tracer::EbpfRecorder::open(nullptr, sizes, false, {true, true});
  tracer::EbpfAttachOptions target;
  target.pid = root;
  target.on_attached = [&] { EXPECT_EQ(::write(go[1], "\n", 1), 1); };
  auto trace = recorder.record_existing(target);
  ::close(go[1]);
  int status = 0;
  ASSERT_EQ(::waitpid(root, &status, 0), root);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_GT(trace.run.loss.lost, 0u);
  EXPECT_TRUE(mentions(trace.run.loss, "found the recorder's table of tracked processes full"))
      << trace.run.loss.detail;
}

// The program is on its tracepoints while the workload runs and on none once it has exited, while
// the recorder (its maps, its programs) still exists: no process on the machine pays for it then.
TEST(EbpfLossPrivileged, ProgramIsDetachedOnceTheWorkloadHasExited) {
  require_ebpf();
  auto recorder = tracer::EbpfRecorder::open(nullptr);
  std::multiset<std::string> while_running;
  tracer::MonitorOptions options = command({"/bin/true"});
  options.on_start = [&](pid_t) { while_running = own_attached_tracepoints(); };
  auto trace = recorder.run(options);
  ASSERT_EQ(trace.run.exit_code, 0);
  EXPECT_TRUE(while_running.count("sys_enter")) << "the test must see the links it expects gone";
  EXPECT_TRUE(while_running.count("sched_process_exec"));
  EXPECT_EQ(own_attached_tracepoints(), std::multiset<std::string>{}) << "still attached after the workload exited";
}
