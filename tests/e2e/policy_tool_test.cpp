// nucleus-profile on the files and network policy as a user runs it: gen --policy writes both files
// and prints what each rule widened; a trace without behaviour records is refused and nothing is
// written; check's exit status follows its findings; add/remove/diff/merge/explain take the policy.
#include "e2e_support.hpp"

#include <gtest/gtest.h>

#include <filesystem>

using nlohmann::json;
using nucleus::test::run;
using nucleus::test::tool;

namespace {

std::string profile_tool() { return tool("nucleus-profile").string(); }

std::string trace_text(bool behaviour) {
  std::string header =
      R"({"type":"header","format":"nucleus-trace","version":1,"command":["tool"],"source":"ebpf","kernel":"6.1.0","started_at":"2026-11-28T09:00:00Z","workspace":["/home/u/proj"])";
  header += behaviour ? R"(,"behaviour":true})" : "}";
  std::string out = header + "\n";
  out += R"({"type":"syscall","arch":"x86_64","nr":0,"name":"read","count":4,"exe":"/usr/bin/tool"})"
         "\n";
  if (behaviour) {
    out +=
        R"({"type":"file","exe":"/usr/bin/tool","syscall":"openat","path":"/home/u/proj/a.txt","access":["read"],"result":"ok","count":1})"
        "\n";
    out +=
        R"({"type":"file","exe":"/usr/bin/tool","syscall":"openat","path":"/home/u/proj/out/b.txt","access":["write","create"],"result":"ok","count":1})"
        "\n";
    out +=
        R"({"type":"file","exe":"/usr/bin/tool","syscall":"openat","path":"/home/u/.ssh/id_ed25519","access":["read"],"result":"ok","count":1})"
        "\n";
    out +=
        R"({"type":"file","exe":"/usr/bin/tool","syscall":"openat","path":"/home/u/.ssh/id_rsa","access":["read"],"result":"failed","count":1})"
        "\n";
    out +=
        R"({"type":"net","exe":"/usr/bin/tool","syscall":"connect","family":"inet","socktype":"stream","address":"127.0.0.1","port":8080,"result":"ok","count":1})"
        "\n";
  }
  out += R"({"type":"summary","events":4,"distinct":1,"lost":0,"exit_code":0,"duration_ms":10})"
         "\n";
  return out;
}

} // namespace

TEST(PolicyTool, GenWritesThePolicyAndSaysWhatItWidened) {
  nucleus::test::TempDir dir;
  nucleus::test::write_text(dir / "app.trace", trace_text(true));
  const auto policy = (dir / "app.policy.json").string();
  auto r =
      run({profile_tool(), "gen", (dir / "app.trace").string(), "-o", (dir / "app.json").string(), "--policy", policy});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("policy: rule workspace widened /home/u/proj/a.txt, /home/u/proj/out/b.txt to /home/u/proj"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("/home/u/.ssh/id_rsa (read) by /usr/bin/tool failed: not granted"), std::string::npos) << r.err;
  const auto p = json::parse(nucleus::test::read_text(policy));
  EXPECT_EQ(p["format"], "nucleus-policy");
  EXPECT_EQ(p["network"]["connect"], json::parse(R"([{"protocol":"tcp","address":"127.0.0.1","port":8080}])"));
  EXPECT_TRUE(std::filesystem::exists(dir / "app.json"));

  // check: the SSH key is a high finding (exit 5), explain names the rule.
  auto check = run({profile_tool(), "check", policy});
  EXPECT_EQ(check.exit_code, 5) << check.out << check.err;
  EXPECT_NE(check.out.find("high: /home/u/.ssh/id_ed25519"), std::string::npos) << check.out;
  auto explain = run({profile_tool(), "explain", policy});
  EXPECT_EQ(explain.exit_code, 0) << explain.err;
  EXPECT_NE(explain.out.find("(rule workspace)"), std::string::npos) << explain.out;

  // remove the key, then the policy passes check and the trace differs from it by that read.
  auto removed = run({profile_tool(), "remove", policy, "--path", "/home/u/.ssh/id_ed25519"});
  EXPECT_EQ(removed.exit_code, 0) << removed.err;
  EXPECT_EQ(run({profile_tool(), "check", policy}).exit_code, 0);
  auto diff = run({profile_tool(), "diff", policy, (dir / "app.trace").string()});
  EXPECT_EQ(diff.exit_code, 1) << diff.err;
  EXPECT_NE(diff.out.find("--path /home/u/.ssh/id_ed25519 --access read"), std::string::npos) << diff.out;

  auto added = run(
      {profile_tool(), "add", policy, "--connect", "tcp:127.0.0.1:9090", "--path", "/srv/data", "--access", "read"});
  EXPECT_EQ(added.exit_code, 0) << added.err;
  auto merged = run({profile_tool(), "merge", policy, (dir / "app.trace").string(), "-o", (dir / "m.json").string()});
  ASSERT_EQ(merged.exit_code, 0) << merged.err;
  auto both = run({profile_tool(), "diff", policy, (dir / "m.json").string()});
  EXPECT_EQ(both.exit_code, 1);
  EXPECT_NE(both.out.find("+ /home/u/.ssh/id_ed25519 read"), std::string::npos) << both.out;
}

TEST(PolicyTool, ATraceWithoutBehaviourIsRefusedAndNothingIsWritten) {
  nucleus::test::TempDir dir;
  nucleus::test::write_text(dir / "app.trace", trace_text(false));
  auto r = run({profile_tool(), "gen", (dir / "app.trace").string(), "-o", (dir / "app.json").string(), "--policy",
                (dir / "app.policy.json").string()});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("did not record behaviour"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("eBPF"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir / "app.json"));
  EXPECT_FALSE(std::filesystem::exists(dir / "app.policy.json"));

  nucleus::test::write_text(dir / "app.trace", trace_text(true));
  auto same = run({profile_tool(), "gen", (dir / "app.trace").string(), "-o", (dir / "app.json").string(), "--policy",
                   (dir / "." / "app.json").string()});
  EXPECT_EQ(same.exit_code, 2) << same.err;
  EXPECT_FALSE(std::filesystem::exists(dir / "app.json")) << "one file for both: refused before writing";
}

TEST(PolicyTool, WrongFlagsForTheFileAreRefused) {
  nucleus::test::TempDir dir;
  nucleus::test::write_text(dir / "app.trace", trace_text(true));
  const auto policy = (dir / "app.policy.json").string();
  const auto profile = (dir / "app.json").string();
  ASSERT_EQ(run({profile_tool(), "gen", (dir / "app.trace").string(), "-o", profile, "--policy", policy}).exit_code, 0);
  const std::string before = nucleus::test::read_text(policy);
  EXPECT_EQ(run({profile_tool(), "add", policy, "openat"}).exit_code, 2);
  EXPECT_EQ(run({profile_tool(), "add", profile, "--path", "/srv", "--access", "read"}).exit_code, 2);
  EXPECT_EQ(run({profile_tool(), "add", policy, "--connect", "tcp:70000"}).exit_code, 2);
  EXPECT_EQ(run({profile_tool(), "add", policy, "--path", "/srv", "--access", "fly"}).exit_code, 2);
  EXPECT_EQ(run({profile_tool(), "remove", policy, "--path", "/not/there"}).exit_code, 1);
  EXPECT_EQ(run({profile_tool(), "check", "--format", "sarif", policy}).exit_code, 2);
  EXPECT_EQ(run({profile_tool(), "diff", policy, profile}).exit_code, 2);
  EXPECT_EQ(run({profile_tool(), "merge", policy, profile}).exit_code, 2);
  EXPECT_EQ(nucleus::test::read_text(policy), before) << "a refused edit left the file as it was";
}

// export writes seccomp only: a policy named there is refused with what would be left out, and
// the profile gen wrote beside it exports as before.
TEST(PolicyTool, ExportRefusesThePolicyAndSaysWhatEnforcesIt) {
  nucleus::test::TempDir dir;
  nucleus::test::write_text(dir / "app.trace", trace_text(true));
  const auto policy = (dir / "app.policy.json").string(), profile = (dir / "app.json").string();
  ASSERT_EQ(run({profile_tool(), "gen", (dir / "app.trace").string(), "-o", profile, "--policy", policy}).exit_code, 0);
  for (const char* format : {"oci", "k8s"}) {
    auto r = run({profile_tool(), "export", policy, "--format", format, "-o", (dir / "out").string()});
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("is a files and network policy"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("nucleus-run --profile app.json --policy app.policy.json"), std::string::npos) << r.err;
    EXPECT_FALSE(std::filesystem::exists(dir / "out"));
  }
  EXPECT_EQ(run({profile_tool(), "export", profile, "--format", "oci", "-o", (dir / "out").string()}).exit_code, 0);
}
