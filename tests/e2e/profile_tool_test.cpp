// nucleus-profile gen, validate and compile as a user runs them: exit codes, messages, atomic
// output, and a raw BPF program that the kernel loads as it is (no privileges needed).
#include "e2e_support.hpp"

#include <gtest/gtest.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <algorithm>
#include <filesystem>
#include <functional>
#include <map>
#include <regex>
#include <seccomp.h>
#include <set>
#include <sstream>

using nlohmann::json;
using nucleus::test::run;
using nucleus::test::tool;

namespace {

const std::string trace_text =
    R"({"type":"header","format":"nucleus-trace","version":1,"command":["./app"],"source":"audit-netlink","kernel":"6.1.0","started_at":"2026-11-28T09:00:00Z"})"
    "\n"
    R"({"type":"syscall","arch":"x86_64","nr":0,"name":"read","count":42,"exe":"/usr/bin/app"})"
    "\n"
    R"({"type":"syscall","arch":"x86_64","nr":39,"name":"getpid","count":1,"exe":"/usr/bin/app"})"
    "\n"
    R"({"type":"summary","events":43,"distinct":2,"lost":0,"exit_code":0,"duration_ms":120})"
    "\n";

} // namespace

TEST(ProfileTool, GenWritesACompilingProfile) {
  nucleus::test::TempDir dir;
  nucleus::test::write_text(dir / "app.trace", trace_text);
  auto out = (dir / "app.json").string();
  auto r = run({tool("nucleus-profile").string(), "gen", (dir / "app.trace").string(), "-o", out});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto p = json::parse(nucleus::test::read_text(out));
  EXPECT_EQ(p["defaultAction"], "SCMP_ACT_ERRNO");
  EXPECT_EQ(p["defaultErrnoRet"], 1);
  EXPECT_EQ(p["flags"], json::array({"SECCOMP_FILTER_FLAG_LOG"}));
  EXPECT_EQ(p["architectures"], json::array({"SCMP_ARCH_X86_64"}));
  auto names = p["syscalls"][0]["names"];
  EXPECT_EQ(names, json::array({"execve", "exit", "exit_group", "getpid", "read", "restart_syscall", "rt_sigreturn"}));
  // To stdout without -o.
  auto to_stdout = run({tool("nucleus-profile").string(), "gen", (dir / "app.trace").string()});
  EXPECT_EQ(json::parse(to_stdout.out), p);
  EXPECT_EQ(run({tool("nucleus-profile").string(), "validate", out}).exit_code, 0);
}

TEST(ProfileTool, GenLeavesNoPartialFileOnError) {
  nucleus::test::TempDir dir;
  nucleus::test::write_text(dir / "bad.trace", trace_text.substr(0, trace_text.size() / 2) + "{not json\n");
  auto out = dir / "app.json";
  auto r = run({tool("nucleus-profile").string(), "gen", (dir / "bad.trace").string(), "-o", out.string()});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("bad.trace:"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(out));
  // Nothing at all is left beside the input: no output, and no temporary file of any name.
  std::vector<std::string> left;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path()))
    left.push_back(entry.path().filename().string());
  EXPECT_EQ(left, std::vector<std::string>{"bad.trace"});
}

TEST(ProfileTool, ValidateNamesFilePathAndProblem) {
  nucleus::test::TempDir dir;
  auto bad = nucleus::test::write_profile(
      dir, "bad.json",
      json{{"defaultAction", "SCMP_ACT_ERRNO"},
           {"syscalls",
            json::array({{{"names", {"read"}}, {"action", "SCMP_ACT_ALLOW"}},
                         {{"names", {"socket"}},
                          {"action", "SCMP_ACT_ALLOW"},
                          {"args", json::array({{{"index", 0}, {"value", 1}, {"op", "SCMP_CMP_NOPE"}}})}}})}});
  auto r = run({tool("nucleus-profile").string(), "validate", bad});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("bad.json: syscalls[1].args[0].op"), std::string::npos) << r.err;
  EXPECT_EQ(run({tool("nucleus-profile").string(), "validate", (dir / "missing.json").string()}).exit_code, 2);
}

TEST(ProfileTool, CompiledBpfLoadsAsItIs) {
  nucleus::test::TempDir dir;
  auto profile = nucleus::test::write_profile(
      dir, "p.json",
      json{{"defaultAction", "SCMP_ACT_ALLOW"},
           {"syscalls", json::array({{{"names", {"getppid"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", EACCES}}})}});
  auto bpf = (dir / "p.bpf").string();
  auto r = run({tool("nucleus-profile").string(), "compile", profile, "-o", bpf});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("instructions: "), std::string::npos) << r.out;
  std::string bytes = nucleus::test::read_text(bpf);
  ASSERT_EQ(bytes.size() % sizeof(sock_filter), 0u);
  std::vector<sock_filter> insns(bytes.size() / sizeof(sock_filter));
  std::memcpy(insns.data(), bytes.data(), bytes.size());
  EXPECT_NE(r.out.find("instructions: " + std::to_string(insns.size())), std::string::npos) << r.out;
  pid_t pid = ::fork();
  if (pid == 0) {
    sock_fprog prog{static_cast<unsigned short>(insns.size()), insns.data()};
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) ::_exit(10);
    if (::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) ::_exit(11);
    errno = 0;
    long ret = ::syscall(SYS_getppid);
    ::_exit(ret == -1 && errno == EACCES ? 0 : 12);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "10/11: the kernel refused the program; 12: getppid was not denied";
}

TEST(ProfileTool, HelpHasExamples) {
  for (const char* sub : {"gen", "validate", "compile"}) {
    auto r = run({tool("nucleus-profile").string(), sub, "--help"});
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_NE(r.out.find("Examples:"), std::string::npos) << sub;
  }
  for (const char* t : {"nucleus-run", "nucleus-trace"}) {
    auto r = run({tool(t).string(), "--help"});
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_NE(r.out.find("Examples:"), std::string::npos) << t;
  }
  auto r = run({tool("nucleus-run").string(), "--profile", "x.json"});
  EXPECT_EQ(r.exit_code, 125) << "a missing command is nucleus's failure";
}

namespace {

// The seccomp records of an auditd log, read here without the project's parser: type, selectors
// and (arch, number) pairs, names from libseccomp.
struct RawRecord {
  std::uint32_t ses = 0;
  long pid = 0;
  std::string exe;
  std::string arch; // OCI name
  std::string name;
};

std::vector<RawRecord> raw_seccomp_records(const std::string& text) {
  static const std::regex field_re(R"((?:^|\s)(ses|pid|exe|arch|syscall)=("[^"]*"|\S+))");
  std::vector<RawRecord> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.find("type=SECCOMP ") == std::string::npos && line.find("type=UNKNOWN[1326] ") == std::string::npos)
      continue;
    std::map<std::string, std::string> f;
    for (std::sregex_iterator it(line.begin(), line.end(), field_re), end; it != end; ++it)
      if (!f.count((*it)[1])) f[(*it)[1]] = (*it)[2];
    RawRecord r;
    r.ses = static_cast<std::uint32_t>(std::stoul(f["ses"]));
    r.pid = std::stol(f["pid"]);
    r.exe = f["exe"].size() >= 2 && f["exe"].front() == '"' ? f["exe"].substr(1, f["exe"].size() - 2) : f["exe"];
    long nr = std::stol(f["syscall"]);
    std::uint32_t token = 0;
    if (f["arch"] == "c000003e") {
      token = (nr & 0x40000000) != 0 ? SCMP_ARCH_X32 : SCMP_ARCH_X86_64;
      r.arch = (nr & 0x40000000) != 0 ? "SCMP_ARCH_X32" : "SCMP_ARCH_X86_64";
    } else if (f["arch"] == "40000003") {
      token = SCMP_ARCH_X86;
      r.arch = "SCMP_ARCH_X86";
    } else {
      continue;
    }
    char* name = seccomp_syscall_resolve_num_arch(token, static_cast<int>(nr));
    if (name == nullptr) continue;
    r.name = name;
    std::free(name);
    out.push_back(r);
  }
  return out;
}

// The profile's allowed names per architecture: generated entries say which one in their comment
// ("traced on x86_64"), one entry per architecture.
std::map<std::string, std::set<std::string>> allowed_by_arch(const json& p) {
  std::map<std::string, std::set<std::string>> out;
  for (const auto& entry : p["syscalls"]) {
    if (entry["action"] != "SCMP_ACT_ALLOW") continue;
    const std::string comment = entry.value("comment", "");
    std::string arch;
    for (const auto& a : p["architectures"]) {
      std::string lower = a.get<std::string>().substr(std::string("SCMP_ARCH_").size());
      std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
      if (comment.ends_with(" " + lower)) arch = a.get<std::string>();
    }
    for (const auto& name : entry["names"]) out[arch].insert(name.get<std::string>());
  }
  return out;
}

} // namespace

// gen on auditd's log, as the README shows: --ses, --pid and --exe given on the command line each
// select exactly the records a reader of the log would pick by hand.
TEST(ProfileTool, GenOnRawAuditTextWithEachSelector) {
  nucleus::test::TempDir dir;
  const auto log = nucleus::test::source_dir() / "tests/tracer/data/audit.log";
  const auto records = raw_seccomp_records(nucleus::test::read_text(log));
  ASSERT_GE(records.size(), 4u);
  const std::set<std::string> always{"execve", "exit", "exit_group", "restart_syscall", "rt_sigreturn"};
  struct Case {
    std::vector<std::string> flag;
    std::function<bool(const RawRecord&)> keep;
  } cases[] = {
      {{"--ses", "1"}, [](const RawRecord& r) { return r.ses == 1; }},
      {{"--pid", "2141"}, [](const RawRecord& r) { return r.pid == 2141; }},
      {{"--exe", "/usr/bin/app"}, [](const RawRecord& r) { return r.exe == "/usr/bin/app"; }},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.flag[0]);
    std::map<std::string, std::set<std::string>> expected;
    for (const auto& r : records)
      if (c.keep(r)) expected[r.arch].insert(r.name);
    ASSERT_FALSE(expected.empty());
    for (auto& [arch, names] : expected) names.insert(always.begin(), always.end());
    auto out = (dir / ("sel" + c.flag[0] + ".json")).string();
    std::vector<std::string> argv{tool("nucleus-profile").string(), "gen"};
    argv.insert(argv.end(), c.flag.begin(), c.flag.end());
    argv.insert(argv.end(), {log.string(), "-o", out});
    auto r = run(argv);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto p = json::parse(nucleus::test::read_text(out));
    EXPECT_EQ(allowed_by_arch(p), expected) << p.dump(1);
  }
  // Without a selector raw text is refused, and nothing is written.
  auto out = (dir / "none.json").string();
  auto r = run({tool("nucleus-profile").string(), "gen", log.string(), "-o", out});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("--ses"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(out));
  // A selection that matches nothing is an error too, not an allow-nothing profile.
  r = run({tool("nucleus-profile").string(), "gen", "--pid", "999999", log.string(), "-o", out});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_FALSE(std::filesystem::exists(out));
}

// A trace made on a big-endian machine (s390x) cannot be compiled into a filter here: libseccomp
// refuses that byte order beside the native one. gen compiles before writing, so it fails and
// leaves nothing behind, not even a temporary file, alone or merged with a native trace. The
// control: the native trace alone gives a profile.
TEST(ProfileTool, GeneratedProfileThatDoesNotCompileIsNotWritten) {
  nucleus::test::TempDir dir;
  const std::string header =
      R"({"type":"header","format":"nucleus-trace","version":1,"command":["./app"],"source":"audit-netlink","kernel":"6.1.0","started_at":"2026-11-28T09:00:00Z"})"
      "\n";
  const std::string summary = R"({"type":"summary","events":1,"distinct":1,"lost":0,"exit_code":0,"duration_ms":1})"
                              "\n";
  const int s390x_getpid = seccomp_syscall_resolve_name_arch(SCMP_ARCH_S390X, "getpid");
  ASSERT_GE(s390x_getpid, 0);
  nucleus::test::write_text(
      dir / "x86_64.trace",
      header +
          R"({"type":"syscall","arch":"x86_64","nr":39,"name":"getpid","count":1,"exe":"/usr/bin/app"})"
          "\n" +
          summary);
  nucleus::test::write_text(dir / "s390x.trace", header + R"({"type":"syscall","arch":"s390x","nr":)" +
                                                     std::to_string(s390x_getpid) +
                                                     R"(,"name":"getpid","count":1,"exe":"/usr/bin/app"})"
                                                     "\n" +
                                                     summary);
  auto native = (dir / "x86_64.json").string();
  auto r = run({tool("nucleus-profile").string(), "gen", (dir / "x86_64.trace").string(), "-o", native});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_TRUE(std::filesystem::exists(native));
  for (std::vector<std::string> inputs :
       {std::vector<std::string>{"s390x.trace"}, std::vector<std::string>{"x86_64.trace", "s390x.trace"}}) {
    SCOPED_TRACE(inputs.size());
    auto out = dir / "app.json";
    std::vector<std::string> argv{tool("nucleus-profile").string(), "gen"};
    for (const auto& i : inputs) argv.push_back((dir / i).string());
    argv.insert(argv.end(), {"-o", out.string()});
    r = run(argv);
    EXPECT_NE(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find("nucleus-profile: error:"), std::string::npos) << r.err;
    EXPECT_FALSE(std::filesystem::exists(out)) << "a profile that does not compile was written";
    std::set<std::string> left;
    for (const auto& entry : std::filesystem::directory_iterator(dir.path()))
      left.insert(entry.path().filename().string());
    EXPECT_EQ(left, (std::set<std::string>{"s390x.trace", "x86_64.json", "x86_64.trace"}));
  }
}
