// Argument-conditioned profiles end to end, from the eBPF recorder's argument values: a trace of
// the probe (and of an interpreter), gen, then nucleus-run: what was observed runs with the same
// outcome and no denial; another address family, a user namespace or executable memory is denied
// and reported as an argument condition.
#include "e2e_support.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <set>

using nlohmann::json;
using nucleus::test::run;
using nucleus::test::sample;
using nucleus::test::tool;

namespace {

class ArgsPrivileged : public ::testing::Test {
protected:
  void SetUp() override { NUCLEUS_REQUIRE_ROOT(); }
  // The tool on the host kernel with the build tree and the test folder bound read-only (both may
  // lie under /tmp, which the sandbox replaces), then `args`, then the command.
  std::vector<std::string> tool_argv(const std::string& name, std::vector<std::string> args,
                                     const std::vector<std::string>& command) const {
    std::vector<std::string> out{
        tool(name).string(), "--trust-level=trusted", "--ro", nucleus::test::binary_dir().string(), "--ro",
        dir.path().string()};
    out.insert(out.end(), args.begin(), args.end());
    out.push_back("--");
    out.insert(out.end(), command.begin(), command.end());
    return out;
  }
  // A trace of `command` by the eBPF recorder, which records the argument values, and the profile
  // gen makes of it.
  std::string traced_profile(const std::string& name, const std::vector<std::string>& command) {
    auto trace = (dir / (name + ".trace")).string();
    auto r = run(tool_argv("nucleus-trace", {"--source", "ebpf", "-q", "-o", trace}, command), {}, 120);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    auto t = nucleus::test::read_trace_file(trace);
    EXPECT_EQ(t.header.value("arguments", false), true) << t.header.dump();
    auto profile = (dir / (name + ".json")).string();
    auto g = run({tool("nucleus-profile").string(), "gen", trace, "-o", profile});
    EXPECT_EQ(g.exit_code, 0) << g.err;
    return profile;
  }
  nucleus::test::TempDir dir;
};

// What a probe line says, without what differs between runs (pids, descriptor numbers).
std::multiset<std::string> outcomes(const std::string& out) {
  std::multiset<std::string> s;
  for (const auto& l : nucleus::test::probe_lines(out))
    s.insert(l["call"].get<std::string>() + " " +
             (l["ret"].get<long>() >= 0 ? "ok" : "errno " + std::to_string(l["errno"].get<int>())));
  return s;
}

} // namespace

TEST_F(ArgsPrivileged, ObservedValuesRunAndOthersAreDeniedAndReported) {
  // The probe makes a Unix socket, a no-op unshare and a plain fork (clone with SIGCHLD only: the
  // child goes on with the calls after it, so the last one is printed twice, the child's line only
  // if it writes before the sandbox ends: when the probe exits, the sandbox's pid namespace ends
  // and takes the child with it).
  const std::vector<std::string> observed{sample("probe").string(), "socket:1,1,0", "unshare:0", "clone:17,0,0,0,0"};
  auto profile = traced_profile("probe", observed);
  auto p = json::parse(nucleus::test::read_text(profile));
  std::set<std::string> conditioned;
  for (const auto& e : p["syscalls"])
    if (e.contains("args") && e["action"] == "SCMP_ACT_ALLOW") conditioned.insert(e["names"][0].get<std::string>());
  EXPECT_EQ(conditioned, (std::set<std::string>{"clone", "mmap", "mprotect", "socket", "unshare"})) << p.dump(2);

  // What was observed: the same outcomes as without a profile, and no denial.
  auto plain = run(observed);
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  std::vector<std::string> strict{tool("nucleus-run").string(), "--trust-level=trusted", "--profile", profile, "--"};
  auto same = strict;
  same.insert(same.end(), observed.begin(), observed.end());
  auto r = run(same);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto distinct = [](const std::multiset<std::string>& m) { return std::set<std::string>(m.begin(), m.end()); };
  EXPECT_EQ(distinct(outcomes(r.out)), distinct(outcomes(plain.out))) << r.out;
  EXPECT_GE(outcomes(r.out).count("clone ok"), 1u) << r.out;
  EXPECT_EQ(r.err.find("denied"), std::string::npos) << r.err;

  // One new thing each: another address family, a user namespace (unshare, and clone), memory
  // made executable, memory mapped writable and executable at once.
  auto other = strict;
  other.insert(other.end(), {sample("probe").string(), "socket:10,1,0", "unshare:0x10000000",
                             "clone:0x10000011,0,0,0,0", "mprotect:buf,4096,5", "mmap:0,4096,7,0x22,-1,0",
                             // Still allowed: the observed family, and read+exec mappings, which the
                             // dynamic loader makes for every program it starts.
                             "socket:1,1,0", "mmap:0,4096,5,0x22,-1,0"});
  r = run(other);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto lines = nucleus::test::probe_lines(r.out);
  ASSERT_EQ(lines.size(), 7u) << r.out;
  for (std::size_t i = 0; i < 5; ++i) EXPECT_EQ(lines[i]["errno"].get<int>(), EPERM) << lines[i].dump();
  for (std::size_t i = 5; i < 7; ++i) EXPECT_EQ(lines[i]["errno"].get<int>(), 0) << lines[i].dump();
  for (const char* name : {"socket", "unshare", "clone", "mprotect", "mmap"}) {
    EXPECT_NE(r.err.find(std::string("denied ") + name + " (x86_64)"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("the profile allows " + std::string(name) + " only "), std::string::npos) << r.err;
  }
  // The errno is the profile's default, the only action left for a call no allow entry matched.
  EXPECT_NE(r.err.find(": errno(EPERM) (argument condition: the profile allows socket only with AF_UNIX only; type "
                       "SOCK_STREAM only"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("the profile allows clone only without CLONE_PARENT|CLONE_NEWNS|"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("the profile allows mmap only with PROT_EXEC only without PROT_WRITE"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("nucleus-profile add " + profile + " socket:VALUE"), std::string::npos) << r.err;

  // The review tools read the same conditions in symbols.
  auto e = run({tool("nucleus-profile").string(), "explain", profile});
  EXPECT_NE(e.out.find("socket: AF_UNIX only; type SOCK_STREAM only"), std::string::npos) << e.out;
  EXPECT_NE(e.out.find("mprotect: no PROT_EXEC"), std::string::npos) << e.out;
  // add takes a value; the edited profile lets that family through and no other.
  auto a = run({tool("nucleus-profile").string(), "add", profile, "socket:AF_INET6"});
  ASSERT_EQ(a.exit_code, 0) << a.err;
  auto after = strict;
  after.insert(after.end(), {sample("probe").string(), "socket:10,1,0", "socket:2,1,0"});
  r = run(after);
  lines = nucleus::test::probe_lines(r.out);
  ASSERT_EQ(lines.size(), 2u) << r.out;
  EXPECT_EQ(lines[0]["errno"].get<int>(), 0) << lines[0].dump();
  EXPECT_EQ(lines[1]["errno"].get<int>(), EPERM) << lines[1].dump();
}

// A real program, the same way: an interpreter traced while it makes a Unix socket and read-write
// memory is denied another family and writable+executable memory, and says so in its own words.
TEST_F(ArgsPrivileged, InterpreterAskedForAnotherFamilyOrExecutableMemoryIsDenied) {
  const std::string script = "import errno, mmap, socket, sys\n"
                             "for what in sys.argv[1:]:\n"
                             "    try:\n"
                             "        if what.startswith('AF_'):\n"
                             "            socket.socket(getattr(socket, what), socket.SOCK_STREAM).close()\n"
                             "        else:\n"
                             "            prot = 0\n"
                             "            for p in what.split('|'): prot |= getattr(mmap, p)\n"
                             "            mmap.mmap(-1, 4096, prot=prot).close()\n"
                             "        print(what, 'ok')\n"
                             "    except OSError as e:\n"
                             "        print(what, errno.errorcode[e.errno])\n";
  auto python = [&](std::vector<std::string> args) {
    std::vector<std::string> argv{"/usr/bin/python3", "-I", "-c", script};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  };
  auto profile = traced_profile("python3", python({"AF_UNIX", "PROT_READ|PROT_WRITE"}));
  auto r = run(tool_argv("nucleus-run", {"--profile", profile}, python({"AF_UNIX", "PROT_READ|PROT_WRITE"})));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "AF_UNIX ok\nPROT_READ|PROT_WRITE ok\n");
  EXPECT_EQ(r.err.find("denied"), std::string::npos) << r.err;

  r = run(tool_argv("nucleus-run", {"--profile", profile},
                    python({"AF_INET6", "PROT_READ|PROT_WRITE|PROT_EXEC", "AF_UNIX"})));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "AF_INET6 EPERM\nPROT_READ|PROT_WRITE|PROT_EXEC EPERM\nAF_UNIX ok\n");
  for (const char* name : {"socket", "mmap"}) {
    EXPECT_NE(r.err.find(std::string("denied ") + name + " (x86_64) in /usr/bin/python3"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("the profile allows " + std::string(name) + " only "), std::string::npos) << r.err;
  }
}
