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
#include <filesystem>

using nucleus::test::run;
using nucleus::test::tool;
using nlohmann::json;

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
  for (const auto& entry : std::filesystem::directory_iterator(dir.path()))
    EXPECT_EQ(entry.path().filename().string().find(".app.json"), std::string::npos) << "temporary file left";
}

TEST(ProfileTool, ValidateNamesFilePathAndProblem) {
  nucleus::test::TempDir dir;
  auto bad = nucleus::test::write_profile(
      dir, "bad.json",
      json{{"defaultAction", "SCMP_ACT_ERRNO"},
           {"syscalls", json::array({{{"names", {"read"}}, {"action", "SCMP_ACT_ALLOW"}},
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
