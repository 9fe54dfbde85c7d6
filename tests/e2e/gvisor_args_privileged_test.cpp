// What the gVisor recorder (the default level) gives a profile, against the host's eBPF recorder:
// the same argument conditions for the same program (a probe with sockets and a fork, python3,
// xz -T2), a profile that denies what the trace did not show (AF_INET6, a user namespace, PROT_EXEC
// on writable memory) when run under gVisor, and the numbers gVisor's stream never sends (437, 438,
// 440 on runsc 20240729) found in the trace.
#include "e2e_support.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <set>

using nlohmann::json;
using nucleus::test::read_trace_file;
using nucleus::test::run;
using nucleus::test::sample;
using nucleus::test::tool;
namespace fs = std::filesystem;

namespace {

using nucleus::test::have_runsc;

struct Program {
  std::string name;
  std::vector<std::string> argv; // "INPUT" stands for a data file the test writes
};

std::vector<Program> programs() {
  return {
      // Sockets of two families, and a fork (clone with SIGCHLD and no stack: the child goes on
      // like its parent, prints its own line and exits).
      {"probe", {sample("probe").string(), "socket:1,1,0", "socket:2,2,0", "socketpair:1,1,0,buf", "clone:17,0,0,0,0"}},
      {"python3",
       {"/usr/bin/python3", "-I", "-c", "import json, sys; print(json.dumps(open(sys.argv[1], 'rb').read()[:4].hex()))",
        "INPUT"}},
      // Two blocks of 64 KiB on two threads: a multi-threaded run.
      {"xz", {"/usr/bin/xz", "-T2", "--block-size=65536", "-c", "INPUT"}},
  };
}

// The allow entries with argument conditions, as gen writes them (the part a recorder decides).
std::multiset<std::string> conditions(const json& profile) {
  std::multiset<std::string> out;
  for (const auto& e : profile["syscalls"])
    if (e["action"] == "SCMP_ACT_ALLOW" && e.contains("args") && !e["args"].empty())
      out.insert(e["names"].dump() + " " + e["args"].dump());
  return out;
}

std::string join(const std::multiset<std::string>& s) {
  std::string out;
  for (const auto& x : s) out += "\n  " + x;
  return out;
}

class GvisorArgsPrivileged : public ::testing::Test {
protected:
  void SetUp() override {
    NUCLEUS_REQUIRE_ROOT();
    if (!have_runsc()) NUCLEUS_SKIP("runsc (gVisor) is not installed");
    // Varied bytes, so that xz makes two blocks on its two threads.
    auto text = nucleus::test::read_text("/usr/bin/python3");
    input_ = dir / "input.bin";
    nucleus::test::write_text(input_, text.substr(0, std::min<std::size_t>(text.size(), 256 * 1024)));
    ::chmod(input_.c_str(), 0644);
  }
  // The tool with the build tree and the test folder bound read-only (both may lie under /tmp,
  // which the sandbox replaces), `args`, then the command.
  std::vector<std::string> tool_argv(const std::string& name, std::vector<std::string> args,
                                     const std::vector<std::string>& command) const {
    std::vector<std::string> out{tool(name).string(), "--ro", nucleus::test::binary_dir().string(), "--ro",
                                 dir.path().string()};
    out.insert(out.end(), args.begin(), args.end());
    out.push_back("--");
    for (auto a : command) out.push_back(a == "INPUT" ? input_.string() : a);
    return out;
  }
  // nucleus-trace with `level_args`, then gen: the profile.
  json traced_profile(const Program& p, const std::string& tag, const std::vector<std::string>& level_args) {
    auto trace = (dir / (p.name + "." + tag + ".trace")).string();
    std::vector<std::string> args = level_args;
    args.insert(args.end(), {"-q", "-o", trace});
    auto t = run(tool_argv("nucleus-trace", args, p.argv), {}, 180);
    EXPECT_EQ(t.exit_code, 0) << t.err;
    auto header = read_trace_file(trace).header;
    EXPECT_EQ(header.value("arguments", false), true) << header.dump();
    auto profile = (dir / (p.name + "." + tag + ".json")).string();
    auto g = run({tool("nucleus-profile").string(), "gen", "-o", profile, trace});
    EXPECT_EQ(g.exit_code, 0) << g.err;
    return json::parse(nucleus::test::read_text(profile));
  }
  nucleus::test::TempDir dir;
  fs::path input_;
};

} // namespace

// gen writes the same argument conditions from a trace at the default level (gVisor's stream) as
// from a host trace of the same program (the eBPF recorder).
TEST_F(GvisorArgsPrivileged, ConditionsEqualTheHostRecorders) {
  for (const auto& p : programs()) {
    SCOPED_TRACE(p.name);
    if (!fs::exists(p.argv.front())) NUCLEUS_SKIP(p.argv.front() + " is not installed");
    auto under_gvisor = traced_profile(p, "gvisor", {});
    auto on_host = traced_profile(p, "host", {"--trust-level=trusted", "--source", "ebpf"});
    auto g = conditions(under_gvisor), h = conditions(on_host);
    EXPECT_FALSE(g.empty());
    EXPECT_EQ(g, h) << "under gVisor:" << join(g) << "\non the host:" << join(h);
  }
}

// The profile generated under gVisor denies, under gVisor, the argument values the trace did not
// show, and still allows the ones it did.
TEST_F(GvisorArgsPrivileged, ProfileDeniesValuesTheTraceDidNotShow) {
  const Program traced{"probe", {sample("probe").string(), "socket:1,1,0", "unshare:0", "mmap:0,4096,3,0x22,-1,0"}};
  auto profile = traced_profile(traced, "gvisor", {});
  auto path = (dir / "probe.json").string();
  nucleus::test::write_text(path, profile.dump());
  // AF_INET6; CLONE_NEWUSER; PROT_READ|PROT_WRITE|PROT_EXEC on private anonymous memory.
  const std::vector<std::string> calls{"socket:1,1,0",       "socket:10,1,0",           "unshare:0",
                                       "unshare:0x10000000", "mmap:0,4096,3,0x22,-1,0", "mmap:0,4096,7,0x22,-1,0"};
  std::vector<std::string> command{sample("probe").string()};
  command.insert(command.end(), calls.begin(), calls.end());
  auto r = run(tool_argv("nucleus-run", {"--profile", path}, command), {}, 120);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto lines = nucleus::test::probe_lines(r.out);
  ASSERT_EQ(lines.size(), calls.size()) << r.out << r.err;
  std::map<std::string, int> want{
      {"socket:1,1,0", 0},           {"socket:10,1,0", EPERM},       {"unshare:0", 0},
      {"unshare:0x10000000", EPERM}, {"mmap:0,4096,3,0x22,-1,0", 0}, {"mmap:0,4096,7,0x22,-1,0", EPERM}};
  for (std::size_t i = 0; i < calls.size(); ++i)
    EXPECT_EQ(lines[i]["errno"].get<int>(), want[calls[i]]) << calls[i] << ": " << lines[i].dump() << "\n" << r.err;
  for (const char* name : {"socket", "unshare", "mmap"})
    EXPECT_NE(r.err.find(std::string("denied ") + name + " (x86_64)"), std::string::npos) << name << ":\n" << r.err;
}

// runsc 20240729's trace metadata lists stream points for 437 (openat2), 438 (pidfd_getfd) and 440
// (process_madvise), which its syscall table lacks: the stream never sends them. Each call still
// reaches the trace, by its executable, or the trace reports a loss.
TEST_F(GvisorArgsPrivileged, NumbersTheStreamNeverSendsAreRecorded) {
  auto trace = dir / "gaps.trace";
  auto r = run(tool_argv("nucleus-trace", {"-q", "-o", trace.string()},
                         {sample("probe").string(), "openat2:0,0,0,0", "pidfd_getfd:0,0,0", "process_madvise:0,0,0,0,0",
                          "faccessat2:0,0,0,0"}),
               {}, 120);
  auto t = read_trace_file(trace);
  if (r.exit_code != 0) { // a reported loss is the other honest outcome
    EXPECT_NE(t.summary.value("loss", ""), "") << r.err;
    return;
  }
  std::map<int, json> by_nr;
  for (const auto& s : t.syscalls) by_nr[s["nr"].get<int>()] = s;
  for (int nr : {437, 438, 439, 440}) {
    ASSERT_TRUE(by_nr.count(nr)) << nr << " is missing and no loss was reported\n" << r.err;
    EXPECT_EQ(by_nr[nr]["exe"], fs::canonical(sample("probe")).string()) << nr;
    EXPECT_EQ(by_nr[nr]["count"], 1) << nr;
  }
}

// A program that forks (clone) but never made clone3 gets gen's "clone3: ENOSYS" entry. gVisor
// answers errno actions with EPERM only, so under gVisor that entry is given as SCMP_ACT_TRACE,
// which answers ENOSYS without a tracer: clone3 (whose flags, CLONE_NEWUSER among them, sit in
// memory out of a filter's reach) must still never run, and threads still start through clone.
TEST_F(GvisorArgsPrivileged, Clone3NeverRunsUnderAProfileFromAForkOnlyTrace) {
  const Program forks{"probe", {sample("probe").string(), "clone:17,0,0,0,0"}};
  auto profile = traced_profile(forks, "gvisor", {});
  auto path = (dir / "forks.json").string();
  nucleus::test::write_text(path, profile.dump());
  // A zeroed clone_args of the first published size (64 bytes): clone3 would make a child.
  auto r = run(tool_argv("nucleus-run", {"--profile", path}, {sample("probe").string(), "clone3:buf,64"}), {}, 120);
  auto lines = nucleus::test::probe_lines(r.out);
  ASSERT_EQ(lines.size(), 1u) << "clone3 ran and made a child:\n" << r.out << r.err;
  EXPECT_EQ(lines[0]["errno"].get<int>(), ENOSYS) << lines[0].dump() << "\n" << r.err;
}
