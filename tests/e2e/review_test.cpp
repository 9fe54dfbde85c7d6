// The review subcommands as users run them: exit codes of diff and check, export errors, add/remove
// in place, merge conflicts, and the HTML report rendered in headless Chromium.
#include "e2e_support.hpp"

#include "nucleus/profile/explain.hpp"
#include "nucleus/profile/oci.hpp"
#include "nucleus/core/syscalls.hpp"

#include <gtest/gtest.h>

#include <regex>
#include <seccomp.h>
#include <set>

using namespace nucleus;

namespace {

std::string profile_tool() { return test::tool("nucleus-profile").string(); }
std::string docker_default() { return (test::shared_dir() / "testdata/docker-seccomp/default.json").string(); }

// A trace of a small tool, in the documented NDJSON format.
std::string trace_text() {
  auto arch = core::native_arch();
  std::string out =
      R"({"type":"header","format":"nucleus-trace","version":1,"command":["./fetch","--once"],"source":"audit-netlink","kernel":"6.1.0","started_at":"2026-11-28T09:00:00Z"})"
      "\n";
  std::uint64_t events = 0;
  int distinct = 0;
  for (auto [name, count] : std::initializer_list<std::pair<const char*, int>>{
           {"read", 420}, {"write", 170}, {"openat", 33}, {"close", 33}, {"mmap", 12}, {"socket", 2}, {"connect", 2}}) {
    out += R"({"type":"syscall","arch":")" + std::string(core::arch_name(arch)) + R"(","nr":)" +
           std::to_string(*core::syscall_number(arch, name)) + R"(,"name":")" + name + R"(","count":)" +
           std::to_string(count) + R"(,"exe":"/usr/bin/fetch"})" + "\n";
    events += static_cast<std::uint64_t>(count);
    ++distinct;
  }
  out += R"({"type":"summary","events":)" + std::to_string(events) + R"(,"distinct":)" + std::to_string(distinct) +
         R"(,"lost":0,"exit_code":0,"duration_ms":120})" + "\n";
  return out;
}

struct Fixture {
  test::TempDir dir;
  std::string trace = (dir / "fetch.trace").string();
  std::string profile = (dir / "fetch.json").string();
  Fixture() {
    test::write_text(trace, trace_text());
    auto r = test::run({profile_tool(), "gen", trace, "-o", profile});
    EXPECT_EQ(r.exit_code, 0) << r.err;
  }
};

} // namespace

TEST(Review, DiffExitCodesLikeDiff) {
  Fixture f;
  auto copy = (f.dir / "copy.json").string();
  test::write_text(copy, test::read_text(f.profile));
  EXPECT_EQ(test::run({profile_tool(), "diff", f.profile, copy}).exit_code, 0);
  EXPECT_EQ(test::run({profile_tool(), "add", copy, "getpid"}).exit_code, 0);
  auto r = test::run({profile_tool(), "diff", f.profile, copy});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("  + getpid"), std::string::npos) << r.out;
  r = test::run({profile_tool(), "diff", "--json", f.profile, copy});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(nlohmann::json::parse(r.out)["same"], false);
  // Trouble is 2 whatever its kind: a missing file, and a file that does not parse.
  EXPECT_EQ(test::run({profile_tool(), "diff", f.profile, (f.dir / "missing.json").string()}).exit_code, 2);
  auto bad = (f.dir / "bad.json").string();
  test::write_text(bad, "{\"defaultAction\": 7}");
  EXPECT_EQ(test::run({profile_tool(), "diff", f.profile, bad}).exit_code, 2);
  // Profile against the trace it was made from: nothing denied; after a removal, the denial shows.
  EXPECT_EQ(test::run({profile_tool(), "diff", f.profile, f.trace}).exit_code, 0);
  EXPECT_EQ(test::run({profile_tool(), "remove", copy, "connect"}).exit_code, 0);
  r = test::run({profile_tool(), "diff", copy, f.trace});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("connect: 2 call(s)"), std::string::npos) << r.out;
}

TEST(Review, CheckExitCodeBySeverityAndFailOn) {
  Fixture f;
  auto r = test::run({profile_tool(), "check", f.profile});
  EXPECT_EQ(r.exit_code, 3) << r.out; // socket without a domain condition: low
  EXPECT_NE(r.out.find("note: no comparison with Docker's default"), std::string::npos);
  EXPECT_EQ(test::run({profile_tool(), "check", "--fail-on", "medium", f.profile}).exit_code, 0);
  EXPECT_EQ(test::run({profile_tool(), "add", f.profile, "ptrace"}).exit_code, 0);
  EXPECT_EQ(test::run({profile_tool(), "check", f.profile}).exit_code, 5);
  r = test::run({profile_tool(), "check", "--json", "--docker-default", docker_default(), f.profile});
  EXPECT_EQ(r.exit_code, 5);
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["highest"], "high");
  // The Docker comparison was made; the one note names the risky syscalls without an argument condition.
  ASSERT_EQ(j["notes"].size(), 1u) << j["notes"].dump();
  EXPECT_NE(
      j["notes"][0].get<std::string>().find("without the argument condition that would settle their risk: socket"),
      std::string::npos)
      << j["notes"].dump();
  EXPECT_EQ(test::run({profile_tool(), "check", "--fail-on", "bogus", f.profile}).exit_code, 2);
}

TEST(Review, ExportNamesWhatATargetCannotSay) {
  auto r = test::run({profile_tool(), "export", docker_default(), "--format", "systemd"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("systemd cannot express argument conditions"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty());
  Fixture f;
  r = test::run({profile_tool(), "export", f.profile, "--format", "systemd"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("SystemCallErrorNumber=EPERM"), std::string::npos);
  EXPECT_NE(r.err.find("SECCOMP_FILTER_FLAG_LOG"), std::string::npos); // said, not dropped silently
}

TEST(Review, AddSuggestsAndLeavesTheFileAlone) {
  Fixture f;
  auto before = test::read_text(f.profile);
  auto r = test::run({profile_tool(), "add", f.profile, "opnat"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("did you mean openat"), std::string::npos) << r.err;
  EXPECT_EQ(test::read_text(f.profile), before);
}

TEST(Review, MergeConflictNamesBothSources) {
  Fixture f;
  auto other = (f.dir / "other.json").string();
  auto j = nlohmann::json::parse(test::read_text(f.profile));
  j["syscalls"].push_back({{"names", {"read"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", 13}});
  j["syscalls"][0]["names"].erase(
      std::find(j["syscalls"][0]["names"].begin(), j["syscalls"][0]["names"].end(), "read"));
  test::write_text(other, j.dump(2));
  auto r = test::run({profile_tool(), "merge", f.profile, other});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("syscall read"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(f.profile), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(other), std::string::npos) << r.err;
  auto out = (f.dir / "merged.json").string();
  r = test::run({profile_tool(), "merge", "--prefer", "stricter", f.profile, other, f.trace, "-o", out});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto merged = profile::load_profile(out).policy;
  bool denied = false;
  for (const auto& rule : merged.rules)
    if (std::find(rule.names.begin(), rule.names.end(), "read") != rule.names.end())
      denied = rule.action == core::Action::errno_ret(13);
  EXPECT_TRUE(denied);
}

TEST(Review, ReportRendersInHeadlessChromium) {
  auto chromium = std::filesystem::path("/usr/bin/chromium");
  if (!std::filesystem::exists(chromium)) NUCLEUS_SKIP("chromium is not installed (Debian package chromium)");
  Fixture f;
  auto previous = (f.dir / "previous.json").string();
  test::write_text(previous, test::read_text(f.profile));
  ASSERT_EQ(test::run({profile_tool(), "remove", previous, "connect"}).exit_code, 0);
  auto html = (f.dir / "review.html").string();
  auto r = test::run({profile_tool(), "report", f.profile, f.trace, "--docker-default", docker_default(), "--previous",
                      previous, "--date", "2026-11-28T10:00:00Z", "-o", html});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto source = test::read_text(html);
  // Self-contained: nothing to fetch.
  EXPECT_EQ(source.find("src="), std::string::npos);
  EXPECT_EQ(source.find("href="), std::string::npos);
  EXPECT_EQ(source.find("@import"), std::string::npos);

  test::TempDir profile_dir;
  r = test::run({chromium.string(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--user-data-dir=" + profile_dir.path().string(), "--dump-dom", "file://" + html},
                {}, 120);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string& dom = r.out;
  for (const char* section : {"summary", "run", "syscalls", "findings", "docker", "groups", "previous"})
    EXPECT_NE(dom.find("<section id=\"" + std::string(section) + "\">"), std::string::npos) << section;

  // The figures, counted here without the code under test: the 7 traced syscalls plus the 5 a
  // generated profile always allows, of the native ABI's syscalls as libseccomp lists them; Docker's
  // default counted from its own JSON (resolved for no capabilities), names that exist natively.
  std::set<std::string> native_names;
  for (int nr = 0; nr < 4096; ++nr) {
    if (char* n = seccomp_syscall_resolve_num_arch(seccomp_arch_native(), nr)) {
      native_names.insert(n);
      std::free(n);
    }
  }
  std::set<std::string> docker_allowed;
  const auto docker = test::docker_default_resolved(); // kept alive for the loop below
  for (const auto& entry : docker["syscalls"])
    if (entry["action"] == "SCMP_ACT_ALLOW")
      for (const auto& n : entry["names"])
        if (native_names.count(n.get<std::string>())) docker_allowed.insert(n.get<std::string>());
  ASSERT_GT(native_names.size(), 250u);
  ASSERT_GT(docker_allowed.size(), 250u);
  std::string sentence = std::string(core::arch_name(core::native_arch())) + ": allows 12 of " +
                         std::to_string(native_names.size()) + " syscalls";
  EXPECT_NE(dom.find(sentence), std::string::npos) << sentence;
  EXPECT_NE(dom.find("Docker's default allows " + std::to_string(docker_allowed.size())), std::string::npos)
      << docker_allowed.size();
  EXPECT_NE(dom.find("./fetch --once"), std::string::npos);
  EXPECT_NE(dom.find("7 distinct syscalls, 672 calls"), std::string::npos);
  // One bar per traced syscall, the longest for read's 420 calls.
  std::regex bar("<rect class=\"bar\" data-name=\"([a-z_0-9]+)\" data-count=\"([0-9]+)\"");
  std::vector<std::pair<std::string, std::string>> bars;
  for (std::sregex_iterator it(dom.begin(), dom.end(), bar), end; it != end; ++it)
    bars.emplace_back((*it)[1], (*it)[2]);
  ASSERT_EQ(bars.size(), 7u);
  EXPECT_EQ(bars[0], (std::pair<std::string, std::string>{"read", "420"}));
  EXPECT_NE(dom.find("socket is allowed without argument conditions"), std::string::npos);
  EXPECT_NE(dom.find("1 added</span> (connect)"), std::string::npos);

  // The rendered page, as pixels: a screenshot is written and is not empty.
  auto png = f.dir / "review.png";
  r = test::run({chromium.string(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--user-data-dir=" + profile_dir.path().string(), "--screenshot=" + png.string(),
                 "--window-size=1200,2000", "file://" + html},
                {}, 120);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_GT(std::filesystem::file_size(png), 10000u);
}

TEST(Review, MarkdownReport) {
  Fixture f;
  auto md = (f.dir / "review.md").string();
  auto r = test::run({profile_tool(), "report", f.profile, f.trace, "--date", "2026-11-28T10:00:00Z", "-o", md});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto text = test::read_text(md);
  for (const char* h : {"## Summary", "## What was run", "## Syscalls made", "## Findings",
                        "## Compared with Docker's default", "## Allowed syscalls by group"})
    EXPECT_NE(text.find(h), std::string::npos) << h;
  EXPECT_NE(text.find("Not compared: Docker's default profile was not given"), std::string::npos);
  EXPECT_NE(text.find("read (" + std::string(core::arch_name(core::native_arch())) + ")"), std::string::npos);
}

// What the recorder warned about (the trace header's "warnings") is in the review document.
TEST(Review, ReportShowsTheTracesWarnings) {
  Fixture f;
  auto text = test::read_text(f.trace);
  auto eol = text.find('\n');
  auto header = nlohmann::json::parse(text.substr(0, eol));
  header["warnings"] = {"the container's process started without a seccomp filter"};
  test::write_text(f.trace, header.dump() + text.substr(eol));
  for (const char* out : {"review.md", "review.html"}) {
    auto path = (f.dir / out).string();
    auto r = test::run({profile_tool(), "report", f.profile, f.trace, "-o", path});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(test::read_text(path).find("started without a seccomp filter"), std::string::npos) << out;
  }
}
