// nucleus-trace's behaviour records from the eBPF recorder, end to end: the workload's own names
// (a newline, invalid UTF-8) written escaped on one line each and read back; the header's
// workspace; the cap on distinct records reached in a real run, which fails the trace like loss
// unless --allow-loss; --no-behaviour.
#include "e2e_support.hpp"

#include "nucleus/core/io.hpp"
#include "nucleus/core/trace_log.hpp"
#include "nucleus/tracer/ebpf.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <sstream>

using namespace nucleus;
namespace fs = std::filesystem;

namespace {

void require_ebpf() {
  NUCLEUS_REQUIRE_ROOT();
  if (auto why = tracer::ebpf_unavailable(nullptr)) NUCLEUS_SKIP(*why);
}

// A folder the workload (host uid 65534) may write, bound at the same path with --rw.
struct Workspace {
  test::TempDir dir;
  Workspace() {
    fs::permissions(dir.path(), fs::perms::all);
    EXPECT_EQ(::chown(dir.path().c_str(), 65534, 65534), 0);
  }
  std::string path() const { return dir.path().string(); }
};

test::RunResult trace_command(const std::string& trace, const std::vector<std::string>& flags,
                              const std::vector<std::string>& command) {
  std::vector<std::string> argv{
      test::tool("nucleus-trace").string(), "--trust-level=trusted", "--source", "ebpf", "-o", trace};
  argv.insert(argv.end(), flags.begin(), flags.end());
  argv.push_back("--");
  argv.insert(argv.end(), command.begin(), command.end());
  return test::run(argv, {}, 120);
}

bool has_file(const core::Trace& t, const std::string& path) {
  return std::any_of(t.files.begin(), t.files.end(), [&](const core::TraceFile& f) { return f.path == path; });
}

} // namespace

// A file named with a newline and a byte that is not UTF-8, opened by a relative name: its record
// holds the absolute path, on one line of the trace, and the trace reads back.
TEST(BehaviourPrivileged, WorkloadNamesAreWrittenEscapedAndReadBack) {
  require_ebpf();
  Workspace work;
  const std::string odd = "a\nb\xff";
  test::write_text(work.dir / odd, "x\n");
  ASSERT_EQ(::chown((work.dir / odd).c_str(), 65534, 65534), 0);
  test::TempDir out;
  const std::string trace_path = (out / "t.trace").string();
  auto r = trace_command(trace_path, {"--rw", work.path()},
                         {"/bin/sh", "-c", "cd '" + work.path() + "' && cat a*b* >/dev/null && echo z > 'q\nr'"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string text = core::read_file(trace_path);
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);)
    EXPECT_TRUE(line.starts_with("{\"type\":")) << "a record split across lines: " << line;
  auto trace = core::read_trace(text, trace_path);
  EXPECT_TRUE(trace.header.behaviour);
  EXPECT_TRUE(has_file(trace, work.path() + "/q\nr")) << text;
  // Not UTF-8: written as U+FFFD, like every name the trace writer cannot keep byte for byte.
  EXPECT_TRUE(has_file(trace, work.path() + "/a\nb\xef\xbf\xbd")) << text;
  // The workspace: where nucleus-trace ran, and the --rw folder.
  std::error_code ec;
  const std::string cwd = fs::current_path(ec).lexically_normal().string();
  EXPECT_NE(std::find(trace.header.workspace.begin(), trace.header.workspace.end(), cwd), trace.header.workspace.end());
  EXPECT_NE(std::find(trace.header.workspace.begin(), trace.header.workspace.end(), work.path()),
            trace.header.workspace.end());
}

// 9000 distinct paths: more records than the cap keeps. The trace is written, says how many were
// dropped, and fails (125) unless the loss is accepted.
TEST(BehaviourPrivileged, CapReachedIsReportedAndFailsTheTraceUnlessAccepted) {
  require_ebpf();
  test::TempDir out;
  const std::string trace_path = (out / "t.trace").string();
  const std::vector<std::string> many{
      "/usr/bin/python3", "-c", "for i in range(9000):\n  try: open('/nonexistent/%d' % i)\n  except OSError: pass\n"};
  auto r = trace_command(trace_path, {}, many);
  EXPECT_EQ(r.exit_code, 125) << r.err;
  EXPECT_NE(r.err.find("error: the trace is incomplete"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("behaviour record(s) (files, programs, network endpoints) were dropped"), std::string::npos)
      << r.err;
  auto trace = core::read_trace(core::read_file(trace_path), trace_path);
  ASSERT_TRUE(trace.summary);
  EXPECT_GT(trace.summary->behaviour_dropped, 0u);
  EXPECT_EQ(trace.execs.size() + trace.files.size() + trace.nets.size(), core::BehaviourSet::default_cap);

  auto accepted = trace_command(trace_path, {"--allow-loss"}, many);
  EXPECT_EQ(accepted.exit_code, 0) << accepted.err;
  EXPECT_NE(accepted.err.find("warning: the trace is incomplete"), std::string::npos) << accepted.err;
}

// Names only: no behaviour line and no claim of behaviour in the header.
TEST(BehaviourPrivileged, NoBehaviourTracesNamesOnly) {
  require_ebpf();
  test::TempDir out;
  const std::string trace_path = (out / "t.trace").string();
  auto r = trace_command(trace_path, {"--no-behaviour"}, {"/bin/cat", "/etc/hostname"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto trace = core::read_trace(core::read_file(trace_path), trace_path);
  EXPECT_FALSE(trace.header.behaviour);
  EXPECT_TRUE(trace.files.empty());
  EXPECT_TRUE(trace.execs.empty());
  EXPECT_FALSE(trace.syscalls.empty());
}

// The sample tool with every side trip, traced as a user would: each one is in the trace, named as
// a reviewer needs it (the key read, .bashrc appended, a file under /tmp created and removed, the
// TCP endpoint, the DNS query's resolver and port, the shell and its command line), attributed to
// the tool; the user namespace it asked for is in its syscalls.
TEST(BehaviourPrivileged, EverySideTripOfTheSampleToolIsInTheTrace) {
  require_ebpf();
  Workspace work;
  const std::string home = work.path() + "/home";
  fs::create_directories(home + "/.ssh");
  test::write_text(home + "/.ssh/id_ed25519", "not a key\n");
  test::write_text(work.dir / "input.txt", "one\ntwo\n");
  for (const auto& p : fs::recursive_directory_iterator(work.dir.path()))
    ASSERT_EQ(::chown(p.path().c_str(), 65534, 65534), 0);
  test::TempDir out;
  const std::string trace_path = (out / "t.trace").string();
  const std::string tool = test::sample("sidetrip").string();
  auto r =
      trace_command(trace_path, {"--rw", work.path(), "--ro", test::binary_dir().string(), "--env", "HOME=" + home},
                    {tool, "--read-key", "--persist", "--write-tmp", "--connect", "127.0.0.1:9", "--dns", "127.0.0.1",
                     "--shell", "exit 0", "--userns", "--keep-going", work.path() + "/input.txt"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string text = core::read_file(trace_path);
  auto trace = core::read_trace(text, trace_path);
  auto file = [&](const std::string& path, core::FileAccessSet access) {
    return std::any_of(trace.files.begin(), trace.files.end(),
                       [&](const core::TraceFile& f) { return f.path == path && f.access == access && f.exe == tool; });
  };
  using core::FileAccess;
  EXPECT_TRUE(file(home + "/.ssh/id_ed25519", static_cast<core::FileAccessSet>(FileAccess::read))) << text;
  EXPECT_TRUE(file(home + "/.bashrc",
                   FileAccess::write | FileAccess::create | static_cast<core::FileAccessSet>(FileAccess::append)))
      << text;
  EXPECT_TRUE(std::any_of(trace.files.begin(), trace.files.end(), [&](const core::TraceFile& f) {
    return f.path.starts_with("/tmp/sidetrip.") && core::has(f.access, FileAccess::create) &&
           f.result == core::Outcome::ok;
  })) << text;
  EXPECT_TRUE(std::any_of(trace.files.begin(), trace.files.end(), [&](const core::TraceFile& f) {
    return f.path.starts_with("/tmp/sidetrip.") && f.access == static_cast<core::FileAccessSet>(FileAccess::remove);
  })) << text;
  auto net = [&](const std::string& syscall, int port) {
    return std::any_of(trace.nets.begin(), trace.nets.end(), [&](const core::TraceNet& n) {
      return n.syscall == syscall && n.family == "inet" && n.address == "127.0.0.1" && n.port == port && n.exe == tool;
    });
  };
  EXPECT_TRUE(net("connect", 9)) << text;
  EXPECT_TRUE(net("sendto", 53)) << text;
  EXPECT_TRUE(std::any_of(trace.execs.begin(), trace.execs.end(), [&](const core::TraceExec& e) {
    return e.exe == tool && e.path == "/bin/sh" && e.argv.size() == 3 && e.argv[2] == "exit 0";
  })) << text;
  EXPECT_TRUE(std::any_of(trace.syscalls.begin(), trace.syscalls.end(),
                          [](const core::TraceSyscall& s) { return s.name == "unshare"; }));
}

// --no-behaviour under gVisor too: its stream then carries no behaviour points.
TEST(BehaviourPrivileged, NoBehaviourUnderGvisorTracesNamesOnly) {
  NUCLEUS_REQUIRE_ROOT();
  if (!fs::exists("/usr/bin/runsc") && !fs::exists("/usr/sbin/runsc")) NUCLEUS_SKIP("runsc is not installed");
  test::TempDir out;
  const std::string trace_path = (out / "t.trace").string();
  auto r = test::run({test::tool("nucleus-trace").string(), "-q", "--no-behaviour", "-o", trace_path, "--", "/bin/cat",
                      "/etc/hostname"},
                     {}, 120);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto trace = core::read_trace(core::read_file(trace_path), trace_path);
  EXPECT_EQ(trace.header.source, "gvisor");
  EXPECT_FALSE(trace.header.behaviour);
  EXPECT_TRUE(trace.files.empty());
  EXPECT_FALSE(trace.syscalls.empty());
}
