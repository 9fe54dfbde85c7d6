// Trace and strict mode under gVisor (the default --trust-level untrusted), with the real runsc:
// completeness against strace -f run inside the same sandbox, the trace -> gen -> run round trip
// under gVisor and on the host, numbers gVisor does not know, records the workload tries to forge,
// denials, kills and complain mode, a stalled reader, the monitoring stream cut from outside while
// the workload runs, and a debug log that does not end with the sandbox.
#include "e2e_support.hpp"
#include "nucleus/core/strings.hpp"

#include "nucleus/core/fd.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

using nlohmann::json;
using nucleus::test::read_trace_file;
using nucleus::test::run;
using nucleus::test::sample;
using nucleus::test::strace_names;
using nucleus::test::tool;
using nucleus::test::TraceFile;
namespace fs = std::filesystem;

namespace {

// How many calls of `name` the trace counts, over every executable and architecture.
std::uint64_t calls_of(const TraceFile& t, const std::string& name) {
  std::uint64_t n = 0;
  for (const auto& s : t.syscalls)
    if (s["name"] == name) n += s["count"].get<std::uint64_t>();
  return n;
}

using nucleus::test::have_runsc;

// The build tree is bound read-only: under gVisor as on the host, /tmp is a fresh tmpfs.
std::vector<std::string> with_flags(std::vector<std::string> argv, std::vector<std::string> extra = {}) {
  std::vector<std::string> flags{"--ro", nucleus::test::binary_dir().string()};
  flags.insert(flags.end(), extra.begin(), extra.end());
  argv.insert(argv.begin() + 1, flags.begin(), flags.end());
  return argv;
}

class GvisorPrivileged : public ::testing::Test {
protected:
  void SetUp() override {
    NUCLEUS_REQUIRE_ROOT();
    if (!have_runsc()) NUCLEUS_SKIP("runsc (gVisor) is not installed");
  }
  nucleus::test::TempDir dir;
};

struct Workload {
  std::string name;
  std::vector<std::string> argv;
};

std::vector<Workload> workloads() {
  std::vector<Workload> w = {
      {"threads", {sample("threads").string(), "4"}},
      {"forkexec", {sample("forkexec").string()}},
      {"echo", {sample("echo").string(), "gvisor"}},
      {"shortlived", {sample("shortlived").string(), "10"}},
      {"files", {sample("files").string()}},
      {"probe", {sample("probe").string(), "getpid", "uname"}},
      {"gzip", {"/bin/sh", "-c", "echo nucleus | gzip -c | gzip -dc"}},
  };
  if (fs::exists("/usr/bin/python3"))
    w.push_back({"python3", {"/usr/bin/python3", "-S", "-c", "import json; print(json.dumps([1]))"}});
  return w;
}

} // namespace

// Nothing strace -f sees inside the sandbox is missing from the trace of the same run (strace's
// own calls set aside, apart from the execve that starts the workload), and the header names the
// recorder and runsc's version.
TEST_F(GvisorPrivileged, CompleteAgainstStraceInTheSameSandbox) {
  const fs::path strace("/usr/bin/strace");
  if (!fs::exists(strace)) NUCLEUS_SKIP("strace is not installed");
  for (const auto& w : workloads()) {
    if (w.name == "echo" || w.name == "probe" || w.name == "files") continue; // covered by the round trip
    SCOPED_TRACE(w.name);
    auto trace_path = dir / (w.name + ".trace");
    auto strace_out = dir / (w.name + ".strace");
    std::vector<std::string> argv{tool("nucleus-trace").string(),
                                  "-q",
                                  "-o",
                                  trace_path.string(),
                                  "--rw",
                                  dir.path().string(),
                                  "--",
                                  strace.string(),
                                  "-f",
                                  "-qq",
                                  "-o",
                                  strace_out.string()};
    argv.insert(argv.end(), w.argv.begin(), w.argv.end());
    auto r = run(with_flags(argv), {}, 120);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto t = read_trace_file(trace_path);
    EXPECT_EQ(t.header["source"], "gvisor");
    EXPECT_EQ(t.header["runtime"].get<std::string>().rfind("runsc ", 0), 0u) << t.header.dump();
    EXPECT_EQ(t.summary["lost"].get<int>(), 0);
    std::set<std::string> traced;
    for (const auto& s : t.syscalls)
      if (s["exe"].get<std::string>() != strace.string() || s["name"] == "execve")
        traced.insert(s["name"].get<std::string>());
    std::set<std::string> missing;
    for (const auto& name : strace_names(nucleus::test::read_text(strace_out)))
      if (traced.count(name) == 0) missing.insert(name);
    EXPECT_TRUE(missing.empty()) << "strace saw, the trace lacks: " << nucleus::core::join(missing, " ")
                                 << "\ntrace: " << nucleus::core::join(traced, " ");
  }
}

// trace (default level) -> gen -> run: the same output and exit code under gVisor, and on the host
// at --trust-level trusted.
TEST_F(GvisorPrivileged, RoundTripUnderGvisorAndOnTheHost) {
  for (const auto& w : workloads()) {
    SCOPED_TRACE(w.name);
    auto direct = run(w.argv);
    ASSERT_EQ(direct.exit_code, 0) << direct.err;
    auto trace = (dir / (w.name + ".trace")).string();
    std::vector<std::string> argv{tool("nucleus-trace").string(), "-q", "-o", trace, "--"};
    argv.insert(argv.end(), w.argv.begin(), w.argv.end());
    auto t = run(with_flags(argv), {}, 120);
    ASSERT_EQ(t.exit_code, 0) << t.err;
    EXPECT_EQ(read_trace_file(trace).header["source"], "gvisor");
    auto profile = (dir / (w.name + ".json")).string();
    auto g = run({tool("nucleus-profile").string(), "gen", "-o", profile, trace});
    ASSERT_EQ(g.exit_code, 0) << g.err;
    for (const char* level : {"untrusted", "trusted"}) {
      SCOPED_TRACE(level);
      std::vector<std::string> strict{tool("nucleus-run").string(), "--trust-level", level, "--profile", profile, "--"};
      strict.insert(strict.end(), w.argv.begin(), w.argv.end());
      auto r = run(with_flags(strict), {}, 120);
      EXPECT_EQ(r.exit_code, direct.exit_code) << r.err;
      EXPECT_EQ(r.err.find("denied"), std::string::npos) << r.err;
      if (w.name == "probe") {
        for (const auto& line : nucleus::test::probe_lines(r.out))
          EXPECT_EQ(line["errno"].get<int>(), 0) << line.dump();
      } else {
        EXPECT_EQ(r.out, direct.out);
      }
    }
  }
}

// Numbers gVisor's table lacks still reach the trace with their (arch, nr), and the libseccomp
// name where there is one.
TEST_F(GvisorPrivileged, NumbersGvisorDoesNotKnowAreRecorded) {
  auto trace = dir / "unknown.trace";
  auto r = run(with_flags({tool("nucleus-trace").string(), "-q", "-o", trace.string(), "--", sample("probe").string(),
                           "futex_waitv:0,0,0,0,0", "cachestat:0,0,0,0", "getppid"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto t = read_trace_file(trace);
  std::map<int, json> by_nr;
  for (const auto& s : t.syscalls) by_nr[s["nr"].get<int>()] = s;
  ASSERT_TRUE(by_nr.count(449)) << r.err;
  EXPECT_EQ(by_nr[449]["name"], "futex_waitv");
  EXPECT_EQ(by_nr[449]["arch"], "x86_64");
  EXPECT_EQ(by_nr[449]["exe"], fs::canonical(sample("probe")).string());
  ASSERT_TRUE(by_nr.count(451));
  EXPECT_EQ(by_nr[451]["name"], "cachestat");
  ASSERT_TRUE(by_nr.count(110)); // getppid, from the structured stream
  EXPECT_EQ(t.summary["lost"].get<int>(), 0);
}

// gVisor maps a vsyscall page of its own and serves its calls as the syscalls they stand for:
// its record has each of them, as the host recorders do.
TEST_F(GvisorPrivileged, VsyscallPageCallsAreRecorded) {
  auto trace = dir / "vsyscall.trace";
  auto r = run(
      with_flags({tool("nucleus-trace").string(), "-q", "-o", trace.string(), "--", sample("vsyscall").string(), "2"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto t = read_trace_file(trace);
  for (const char* name : {"gettimeofday", "time", "getcpu"}) EXPECT_EQ(calls_of(t, name), 2u) << name;
  EXPECT_EQ(t.summary["lost"].get<int>(), 0);
}

// The workload names itself like a record and opens a path holding a newline and a fake record:
// the trace holds the call it really made (449, by its executable) and none of the forged ones.
TEST_F(GvisorPrivileged, WorkloadCannotForgeRecords) {
  auto trace = dir / "forge.trace";
  auto r =
      run(with_flags({tool("nucleus-trace").string(), "-q", "-o", trace.string(), "--", sample("forge").string()}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "forged\n");
  auto t = read_trace_file(trace);
  const std::string exe = fs::canonical(sample("forge")).string();
  std::uint64_t futex_waitv = 0;
  for (const auto& s : t.syscalls) {
    int nr = s["nr"].get<int>();
    EXPECT_NE(nr, 460) << s.dump();
    EXPECT_NE(nr, 461) << s.dump();
    EXPECT_NE(nr, 41) << s.dump(); // "Syscall 41: den" as comm is not a denial of socket
    EXPECT_TRUE(s["exe"] == exe) << s.dump();
    if (nr == 449) futex_waitv += s["count"].get<std::uint64_t>();
  }
  // The call made under the comm holding " E " is not counted from its log line (that shape is
  // what a forged one would have); the one made under the other comm is.
  EXPECT_EQ(futex_waitv, 1u);
}

// Denials under gVisor are reported live: syscall, executable, pid, the add command, and the errno
// gVisor really returned (EPERM whatever errnoRet says), which is what the probe saw.
TEST_F(GvisorPrivileged, DenialsAreReportedWithTheErrnoGvisorReturned) {
  json profile = {{"defaultAction", "SCMP_ACT_ALLOW"},
                  {"architectures", {"SCMP_ARCH_X86_64"}},
                  {"syscalls", {{{"names", {"socket"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", 13}}}}};
  auto path = nucleus::test::write_profile(dir, "deny.json", profile);
  auto r = run(
      with_flags({tool("nucleus-run").string(), "--profile", path, "--", sample("probe").string(), "socket:2,1,0"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto lines = nucleus::test::probe_lines(r.out);
  ASSERT_EQ(lines.size(), 1u) << r.out;
  int seen = lines[0]["errno"].get<int>();
  EXPECT_EQ(seen, EPERM) << "gVisor's SCMP_ACT_ERRNO";
  const std::string exe = fs::canonical(sample("probe")).string();
  EXPECT_NE(r.err.find("denied socket (x86_64) in " + exe + " [pid "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("errno(" + std::string(seen == EPERM ? "EPERM" : "?") + ")"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("nucleus-profile add " + path + " socket"), std::string::npos) << r.err;
}

TEST_F(GvisorPrivileged, KillIsReportedAndExitsWithSigsys) {
  json profile = {{"defaultAction", "SCMP_ACT_ALLOW"},
                  {"architectures", {"SCMP_ARCH_X86_64"}},
                  {"syscalls", {{{"names", {"getppid"}}, {"action", "SCMP_ACT_KILL"}}}}};
  auto path = nucleus::test::write_profile(dir, "kill.json", profile);
  auto r =
      run(with_flags({tool("nucleus-run").string(), "--profile", path, "--", sample("probe").string(), "getppid"}));
  EXPECT_EQ(r.exit_code, 128 + SIGSYS) << r.err;
  EXPECT_NE(r.err.find("denied getppid (x86_64) in " + fs::canonical(sample("probe")).string()), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("kill"), std::string::npos) << r.err;
}

// Complain mode under gVisor: nothing is enforced, and every recorded call is checked against the
// profile, argument conditions included.
TEST_F(GvisorPrivileged, ComplainModeChecksArgumentsAndEnforcesNothing) {
  json profile = {
      {"defaultAction", "SCMP_ACT_ERRNO"}, {"architectures", {"SCMP_ARCH_X86_64"}}, {"syscalls", json::array()}};
  // Allow everything the probe's start-up and output need, by tracing it once.
  auto trace = (dir / "base.trace").string();
  ASSERT_EQ(
      run(with_flags({tool("nucleus-trace").string(), "-q", "-o", trace, "--", sample("probe").string(), "getpid"}))
          .exit_code,
      0);
  auto base = (dir / "base.json").string();
  ASSERT_EQ(run({tool("nucleus-profile").string(), "gen", "-o", base, trace}).exit_code, 0);
  json loaded = json::parse(nucleus::test::read_text(base));
  loaded["syscalls"].push_back({{"names", {"socket"}},
                                {"action", "SCMP_ACT_ALLOW"},
                                {"args", {{{"index", 0}, {"value", 1}, {"op", "SCMP_CMP_EQ"}}}}});
  auto path = nucleus::test::write_profile(dir, "complain.json", loaded);
  auto extra = (dir / "extra.trace").string();
  auto r = run(with_flags({tool("nucleus-run").string(), "--profile", path, "--complain", "--complain-trace", extra,
                           "--", sample("probe").string(), "getpid", "uname", "socket:1,1,0", "socket:2,1,0"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const auto& line : nucleus::test::probe_lines(r.out)) EXPECT_EQ(line["errno"].get<int>(), 0) << line.dump();
  EXPECT_NE(r.err.find("uname (x86_64) by"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("socket (x86_64) by " + fs::canonical(sample("probe")).string() + ": 1 time(s)"),
            std::string::npos)
      << r.err;
  auto t = read_trace_file(extra);
  std::set<std::string> names;
  for (const auto& s : t.syscalls) names.insert(s["name"].get<std::string>());
  EXPECT_EQ(nucleus::core::join(names, " "), "socket uname");
}

// A reader that falls behind slows the sandbox down and loses nothing: every call is counted.
// (runsc 20221219's sink blocks on a full socket instead of dropping; a drop would still be seen in
// the packets' dropped count, which tests/tracer/gvisor_test.cpp covers.)
TEST_F(GvisorPrivileged, StalledReaderLosesNothing) {
  auto trace = dir / "stall.trace";
  auto argv = with_flags({tool("nucleus-trace").string(), "-q", "-o", trace.string(), "--", sample("burst").string(),
                          "--threads", "2", "--count", "3000"});
  argv.insert(argv.begin(), {"/usr/bin/env", "NUCLEUS_TEST_GVISOR_STALL_MS=1"});
  auto r = run(argv, {}, 120);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(calls_of(read_trace_file(trace), "getppid"), 3000u);
}

namespace {

pid_t parent_of(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("PPid:", 0) == 0) return static_cast<pid_t>(std::stol(line.substr(5)));
  return 0;
}

// The gVisor sandbox process (`runsc boot`: the sentry, which writes the monitoring stream) below
// this test process, or 0. Other sandboxes on the machine are not ours to touch.
pid_t our_sandbox() {
  for (const auto& e : fs::directory_iterator("/proc")) {
    const std::string name = e.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    const pid_t pid = static_cast<pid_t>(std::stol(name));
    std::ifstream in(e.path() / "cmdline", std::ios::binary);
    std::vector<std::string> args;
    for (std::string a; std::getline(in, a, '\0');) args.push_back(a);
    if (args.empty() || args[0].find("runsc") == std::string::npos ||
        std::find(args.begin(), args.end(), "boot") == args.end())
      continue;
    for (pid_t p = parent_of(pid); p > 1; p = parent_of(p))
      if (p == ::getpid()) return pid;
  }
  return 0;
}

// Cuts the sandbox's connection to nucleus's monitoring sink, as a crash of the sink's writer or a
// broken connection would: a copy of the sentry's socket (pidfd_getfd) is shut down, which ends
// the connection for both ends while the sandbox and its workload keep running. Returns false if
// the sentry holds no such socket.
bool cut_monitoring_stream(pid_t sandbox) {
  nucleus::core::UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, sandbox, 0)));
  if (!pidfd) return false;
  bool cut = false;
  for (const auto& e : fs::directory_iterator("/proc/" + std::to_string(sandbox) + "/fd")) {
    std::error_code ec;
    if (fs::read_symlink(e.path(), ec).string().rfind("socket:", 0) != 0) continue;
    nucleus::core::UniqueFd copy(
        static_cast<int>(::syscall(SYS_pidfd_getfd, pidfd.get(), std::stoi(e.path().filename()), 0)));
    if (!copy) continue;
    int type = 0;
    socklen_t len = sizeof type;
    sockaddr_un peer{};
    socklen_t peer_len = sizeof peer;
    if (::getsockopt(copy.get(), SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_SEQPACKET) continue;
    if (::getpeername(copy.get(), reinterpret_cast<sockaddr*>(&peer), &peer_len) != 0 || peer.sun_family != AF_UNIX)
      continue;
    const std::string path(peer.sun_path, ::strnlen(peer.sun_path, sizeof peer.sun_path));
    if (path.find("/nucleus-gvisor-") == std::string::npos || !path.ends_with("/sink.sock")) continue;
    cut = ::shutdown(copy.get(), SHUT_RDWR) == 0 || cut;
  }
  return cut;
}

// A copy (pidfd_getfd) of the sentry's descriptor for gVisor's debug log, the FIFO that carries
// the numbers gVisor does not know. Held, it keeps the FIFO open after the sandbox is gone, as a
// writer that survives the sandbox would. Empty if the sentry holds no such FIFO.
nucleus::core::UniqueFd copy_debug_log_writer(pid_t sandbox) {
  nucleus::core::UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, sandbox, 0)));
  if (!pidfd) return {};
  for (const auto& e : fs::directory_iterator("/proc/" + std::to_string(sandbox) + "/fd")) {
    std::error_code ec;
    const std::string target = fs::read_symlink(e.path(), ec).string();
    if (target.find("/nucleus-gvisor-") == std::string::npos || !target.ends_with("/debug.json")) continue;
    nucleus::core::UniqueFd copy(
        static_cast<int>(::syscall(SYS_pidfd_getfd, pidfd.get(), std::stoi(e.path().filename()), 0)));
    if (copy) return copy;
  }
  return {};
}

// A workload under nucleus-trace that says it runs, waits for the test's go, and then makes 20 000
// more calls before it exits: whatever the test does between the two happens while it runs, and
// the end of its stream is still to come.
struct CutRun {
  nucleus::test::RunResult result;
  fs::path trace;
};

// `python`: the same from a Python thread, after the main thread has left on its own (SYS_exit).
CutRun trace_with_cut(const nucleus::test::TempDir& dir, const std::string& name, bool allow_loss,
                      const std::function<bool(pid_t)>& cut, bool python = false) {
  const fs::path started = dir / (name + ".started"), go = dir / (name + ".go");
  CutRun out{{}, dir / (name + ".trace")};
  const std::string script = "echo running > " + started.string() + "; while [ ! -e " + go.string() +
                             " ]; do sleep 0.05; done; " + sample("burst").string() +
                             " --threads 1 --count 20000 && echo finished";
  // The second thread says it runs only once the main thread has left (a zombie leader, as
  // gVisor's /proc shows it, or gone): the test then cuts after the leader's exit, as a fact.
  const std::string python_script = "import ctypes, os, threading, time\n"
                                    "def leader_left():\n"
                                    "    try:\n"
                                    "        with open('/proc/self/task/%d/stat' % os.getpid()) as f: return "
                                    "f.read().rsplit(')', 1)[1].split()[0] in 'ZX'\n"
                                    "    except OSError: return True\n"
                                    "def calls():\n"
                                    "    while not leader_left(): time.sleep(0.01)\n"
                                    "    open('" +
                                    started.string() +
                                    "', 'w').write('running')\n"
                                    "    while not os.path.exists('" +
                                    go.string() +
                                    "'): time.sleep(0.05)\n"
                                    "    for _ in range(20000): os.getppid()\n"
                                    "    print('finished', flush=True)\n"
                                    "threading.Thread(target=calls).start()\n"
                                    "ctypes.CDLL(None).syscall(60, 0)\n"; // SYS_exit: the main thread alone
  std::vector<std::string> argv{
      tool("nucleus-trace").string(), "-q", "-o", out.trace.string(), "--rw", dir.path().string()};
  if (allow_loss) argv.push_back("--allow-loss");
  if (python) argv.insert(argv.end(), {"--", "/usr/bin/python3", "-S", "-c", python_script});
  else argv.insert(argv.end(), {"--", "/bin/sh", "-c", script});
  auto traced = std::async(std::launch::async, [argv = with_flags(argv)] { return run(argv, {}, 120); });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!fs::exists(started) && std::chrono::steady_clock::now() < deadline &&
         traced.wait_for(std::chrono::milliseconds(20)) == std::future_status::timeout) {}
  const pid_t sandbox = fs::exists(started) ? our_sandbox() : 0;
  const bool was_cut = sandbox != 0 && cut(sandbox);
  { std::ofstream(go) << "go\n"; } // also when the cut failed: the workload must not wait forever
  out.result = traced.get();
  EXPECT_NE(sandbox, 0) << "no gVisor sandbox below this test while the workload ran\n" << out.result.err;
  EXPECT_TRUE(was_cut) << "the sandbox held no connection to the monitoring sink\n" << out.result.err;
  return out;
}

} // namespace

// The monitoring stream cut while the workload keeps running is an incomplete trace, never a short
// one that looks whole: nucleus-trace exits 125 and says so, and the trace it writes says so in its
// summary; with --allow-loss it warns and exits with the workload's code.
TEST_F(GvisorPrivileged, MonitoringStreamCutEarlyIsReported) {
  for (bool allow_loss : {false, true}) {
    SCOPED_TRACE(allow_loss ? "--allow-loss" : "default");
    auto c = trace_with_cut(dir, allow_loss ? "cut-allowed" : "cut", allow_loss, cut_monitoring_stream);
    EXPECT_EQ(c.result.out, "burst: 20000 getppid calls from 1 threads\nfinished\n") << "the workload outlives the cut";
    EXPECT_EQ(c.result.exit_code, allow_loss ? 0 : 125) << c.result.err;
    const std::string said =
        std::string("nucleus-trace: ") + (allow_loss ? "warning" : "error") + ": the trace is incomplete: ";
    EXPECT_NE(c.result.err.find(said), std::string::npos) << c.result.err;
    EXPECT_NE(c.result.err.find("monitoring stream ended before"), std::string::npos) << c.result.err;
    if (!allow_loss) {
      EXPECT_NE(c.result.err.find("--allow-loss"), std::string::npos) << c.result.err;
    }
    auto t = read_trace_file(c.trace);
    EXPECT_EQ(t.header["source"], "gvisor");
    ASSERT_TRUE(t.summary.contains("loss")) << t.summary.dump();
    EXPECT_NE(t.summary["loss"].get<std::string>().find("ended before"), std::string::npos) << t.summary.dump();
    EXPECT_LT(calls_of(t, "getppid"), 20000u) << "the calls made after the cut cannot be in the trace";
  }
  // A profile made from it is made with a warning.
  auto g =
      run({tool("nucleus-profile").string(), "gen", "-o", (dir / "cut.json").string(), (dir / "cut.trace").string()});
  EXPECT_EQ(g.exit_code, 0) << g.err;
  EXPECT_NE(g.err.find("is incomplete (gVisor's monitoring stream ended before"), std::string::npos) << g.err;
}

// The main thread leaving first (SYS_exit) does not end the first process: a cut after it, while
// another thread still makes calls, is reported.
TEST_F(GvisorPrivileged, StreamCutAfterTheMainThreadLeftIsReported) {
  if (!fs::exists("/usr/bin/python3")) NUCLEUS_SKIP("python3 is not installed");
  auto c = trace_with_cut(dir, "main-left", false, cut_monitoring_stream, true);
  EXPECT_EQ(c.result.out, "finished\n") << "the workload outlives the cut";
  EXPECT_EQ(c.result.exit_code, 125) << c.result.err;
  EXPECT_NE(c.result.err.find("error: the trace is incomplete: "), std::string::npos) << c.result.err;
  auto t = read_trace_file(c.trace);
  ASSERT_TRUE(t.summary.contains("loss")) << t.summary.dump();
}

// gVisor's debug log still open when the sandbox has ended (a writer outside it holds the FIFO):
// what it might still carry is unknown, so once the drain limit has passed the trace is reported
// incomplete, naming that channel, and the sink's records are all there.
TEST_F(GvisorPrivileged, DebugLogThatDoesNotEndIsReported) {
  nucleus::core::UniqueFd held;
  auto c = trace_with_cut(dir, "debug-held", false, [&](pid_t sandbox) {
    held = copy_debug_log_writer(sandbox);
    return static_cast<bool>(held);
  });
  held.reset();
  EXPECT_EQ(c.result.out, "burst: 20000 getppid calls from 1 threads\nfinished\n");
  EXPECT_EQ(c.result.exit_code, 125) << c.result.err;
  EXPECT_NE(c.result.err.find("error: the trace is incomplete: gVisor's debug log did not end within 10 s"),
            std::string::npos)
      << c.result.err;
  auto t = read_trace_file(c.trace);
  ASSERT_TRUE(t.summary.contains("loss")) << t.summary.dump();
  EXPECT_NE(t.summary["loss"].get<std::string>().find("debug log did not end"), std::string::npos) << t.summary.dump();
  EXPECT_GE(calls_of(t, "getppid"), 20000u) << "the monitoring stream was not cut";
}

// The sandbox process itself killed mid-run (the stream's writer and the workload gone at once):
// reported the same way, whatever the dead workload's code.
TEST_F(GvisorPrivileged, SandboxKilledMidRunIsReported) {
  auto c = trace_with_cut(dir, "killed", false, [](pid_t sandbox) { return ::kill(sandbox, SIGKILL) == 0; });
  EXPECT_EQ(c.result.exit_code, 125) << c.result.err;
  EXPECT_NE(c.result.err.find("error: the trace is incomplete: "), std::string::npos) << c.result.err;
  auto t = read_trace_file(c.trace);
  ASSERT_TRUE(t.summary.contains("loss")) << t.summary.dump();
  EXPECT_NE(t.summary["exit_code"].get<int>(), 0);
}

namespace {

// Name, type, owner, mode and device number of every entry of the host's /dev.
std::set<std::string> host_dev_snapshot() {
  std::set<std::string> out;
  for (const auto& e : fs::directory_iterator("/dev")) {
    struct stat st {};
    if (::lstat(e.path().c_str(), &st) != 0) continue;
    out.insert(e.path().string() + " " + std::to_string(st.st_mode) + " " + std::to_string(st.st_uid) + ":" +
               std::to_string(st.st_gid) + " " + std::to_string(st.st_rdev));
  }
  return out;
}

// Runs argv with fds 0-2 opened on the given host paths, as a shell redirection would.
int run_with_stdio(const std::vector<std::string>& argv, const fs::path& in, const fs::path& out, const fs::path& err) {
  pid_t pid = ::fork();
  if (pid == 0) {
    int fds[] = {::open(in.c_str(), O_RDONLY), ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644),
                 ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644)};
    for (int i = 0; i < 3; ++i)
      if (fds[i] < 0 || ::dup2(fds[i], i) < 0) ::_exit(120);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

} // namespace

// runsc gives the descriptors it is handed to the sandbox's user. The caller's stdin on the host's
// /dev/null, and stdout/stderr on root's files, must stay root's: once /dev/null belonged to the
// sandbox identity, any process running as it could chmod the host's null device.
TEST_F(GvisorPrivileged, CallersStdioFilesAndHostDevNullStayRoots) {
  const auto dev_before = host_dev_snapshot();
  const fs::path input = dir / "in.txt", out = dir / "out.txt", err = dir / "err.txt";
  { std::ofstream(input) << "from-the-host\n"; }
  fs::path profile = dir / "allow.json";
  { std::ofstream(profile) << R"({"defaultAction":"SCMP_ACT_ALLOW"})"; }
  const std::vector<std::string> cmd = with_flags({tool("nucleus-run").string(), "-q", "--profile", profile.string(),
                                                   "--", "/bin/sh", "-c", "cat; echo to-out; echo to-err >&2"});

  int rc = run_with_stdio(cmd, "/dev/null", out, err);
  struct stat null_st {};
  ASSERT_EQ(::stat("/dev/null", &null_st), 0);
  const bool null_intact =
      S_ISCHR(null_st.st_mode) && null_st.st_rdev == makedev(1, 3) && null_st.st_uid == 0 && null_st.st_gid == 0;
  if (!null_intact && S_ISCHR(null_st.st_mode)) (void)!::chown("/dev/null", 0, 0); // leave the host as it was
  EXPECT_TRUE(null_intact) << "the host's /dev/null is now uid " << null_st.st_uid << ", mode " << std::oct
                           << null_st.st_mode;
  EXPECT_EQ(rc, 0) << nucleus::test::read_text(err);
  EXPECT_EQ(nucleus::test::read_text(out), "to-out\n");

  rc = run_with_stdio(cmd, input, out, err);
  EXPECT_EQ(rc, 0) << nucleus::test::read_text(err);
  EXPECT_EQ(nucleus::test::read_text(out), "from-the-host\nto-out\n")
      << "stdin and stdout must still reach the workload";
  EXPECT_NE(nucleus::test::read_text(err).find("to-err"), std::string::npos);
  for (const auto& f : {input, out, err}) {
    struct stat st {};
    ASSERT_EQ(::stat(f.c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, 0u) << f << " was given to uid " << st.st_uid;
  }
  EXPECT_EQ(host_dev_snapshot(), dev_before) << "the host's /dev changed";
}
