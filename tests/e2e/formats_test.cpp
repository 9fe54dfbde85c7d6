// Machine-readable output of the review subcommands, as pipelines read it: --format json for
// check, diff and explain, and SARIF 2.1.0 for check, each field checked against what the format
// requires, and the exit codes the same whatever the format.
#include "e2e_support.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

using nlohmann::json;
using nucleus::test::run;

namespace {

std::string profile_tool() { return nucleus::test::tool("nucleus-profile").string(); }

// ptrace (high) allowed unconditionally, socket (low) too, and no architectures listed (low).
const char* risky_profile = R"({
  "defaultAction": "SCMP_ACT_ERRNO",
  "syscalls": [
    {
      "names": ["read", "write", "ptrace"],
      "action": "SCMP_ACT_ALLOW"
    },
    {
      "names": ["socket"],
      "action": "SCMP_ACT_ALLOW"
    }
  ]
}
)";

struct Files {
  nucleus::test::TempDir dir;
  std::string risky = (dir / "risky.json").string();
  std::string other = (dir / "other.json").string();
  Files() {
    nucleus::test::write_text(risky, risky_profile);
    nucleus::test::write_text(other, R"({"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86_64"],)"
                                     R"("syscalls":[{"names":["read","write"],"action":"SCMP_ACT_ALLOW"}]})");
  }
};

// 1-based line and column of `needle` in `text`.
std::pair<int, int> position(const std::string& text, const std::string& needle) {
  auto at = text.find(needle);
  int line = 1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(at), '\n'));
  auto start = text.rfind('\n', at);
  int column = static_cast<int>(at - (start == std::string::npos ? 0 : start + 1)) + 1;
  return {line, column};
}

} // namespace

TEST(Formats, CheckJsonFieldByFieldAndExitCodeUnchanged) {
  Files f;
  auto text = run({profile_tool(), "check", f.risky});
  auto r = run({profile_tool(), "check", "--format", "json", f.risky});
  EXPECT_EQ(text.exit_code, 5); // highest finding: high
  EXPECT_EQ(r.exit_code, text.exit_code) << r.err;
  auto j = json::parse(r.out);
  EXPECT_EQ(j["profile"], f.risky);
  EXPECT_EQ(j["highest"], "high");
  ASSERT_TRUE(j["findings"].is_array());
  ASSERT_FALSE(j["findings"].empty());
  bool saw_ptrace = false;
  for (const auto& finding : j["findings"]) {
    for (const char* key : {"severity", "id", "subject", "message", "reason", "fix"})
      ASSERT_TRUE(finding[key].is_string()) << key << " in " << finding.dump();
    EXPECT_TRUE(finding["arches"].is_array());
    if (finding["subject"] == "ptrace") {
      saw_ptrace = true;
      EXPECT_EQ(finding["severity"], "high");
      EXPECT_EQ(finding["id"], "risky-syscall");
    }
  }
  EXPECT_TRUE(saw_ptrace);
  EXPECT_TRUE(j["notes"].is_array());
  // --json stays the same as --format json.
  auto legacy = run({profile_tool(), "check", "--json", f.risky});
  EXPECT_EQ(legacy.out, r.out);
  EXPECT_EQ(legacy.exit_code, r.exit_code);
  // --fail-on still decides the exit code in every format.
  for (const char* format : {"text", "json", "sarif"})
    EXPECT_EQ(run({profile_tool(), "check", "--fail-on", "critical", "--format", format, f.risky}).exit_code, 0)
        << format;
  EXPECT_EQ(run({profile_tool(), "check", "--format", "xml", f.risky}).exit_code, 2);
}

TEST(Formats, CheckSarif210) {
  Files f;
  auto r = run({profile_tool(), "check", "--format", "sarif", f.risky});
  EXPECT_EQ(r.exit_code, 5) << r.err;
  auto s = json::parse(r.out);
  EXPECT_EQ(s["version"], "2.1.0");
  EXPECT_EQ(s["$schema"], "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json");
  ASSERT_TRUE(s["runs"].is_array());
  ASSERT_EQ(s["runs"].size(), 1u);
  const auto& run0 = s["runs"][0];
  const auto& driver = run0["tool"]["driver"];
  EXPECT_EQ(driver["name"], "nucleus-profile");
  EXPECT_EQ(driver["version"], NUCLEUS_PROJECT_VERSION);
  ASSERT_TRUE(driver["informationUri"].is_string());
  // An absolute URI: a scheme, then ':'.
  EXPECT_NE(driver["informationUri"].get<std::string>().find(':'), std::string::npos);
  ASSERT_TRUE(driver["rules"].is_array());
  std::set<std::string> rule_ids;
  for (const auto& rule : driver["rules"]) {
    ASSERT_TRUE(rule["id"].is_string());
    EXPECT_TRUE(rule_ids.insert(rule["id"]).second) << "duplicate rule " << rule["id"];
    EXPECT_TRUE(rule["shortDescription"]["text"].is_string());
    EXPECT_TRUE(rule["fullDescription"]["text"].is_string());
    EXPECT_TRUE(rule["help"]["text"].is_string());
    auto level = rule["defaultConfiguration"]["level"].get<std::string>();
    EXPECT_TRUE(level == "none" || level == "note" || level == "warning" || level == "error") << level;
  }
  ASSERT_TRUE(run0["results"].is_array());
  // As many results as check finds.
  auto plain = json::parse(run({profile_tool(), "check", "--format", "json", f.risky}).out);
  ASSERT_EQ(run0["results"].size(), plain["findings"].size());
  const std::string profile_text = nucleus::test::read_text(f.risky);
  bool saw_ptrace = false;
  for (std::size_t i = 0; i < run0["results"].size(); ++i) {
    const auto& result = run0["results"][i];
    const auto& finding = plain["findings"][i];
    ASSERT_TRUE(result["ruleId"].is_string());
    EXPECT_EQ(rule_ids.count(result["ruleId"]), 1u) << result["ruleId"];
    auto index = result["ruleIndex"].get<std::size_t>();
    ASSERT_LT(index, driver["rules"].size());
    EXPECT_EQ(driver["rules"][index]["id"], result["ruleId"]);
    auto level = result["level"].get<std::string>();
    std::string severity = finding["severity"];
    std::string expected = severity == "critical" || severity == "high" ? "error"
                           : severity == "medium"                       ? "warning"
                           : severity == "low"                          ? "note"
                                                                        : "none";
    EXPECT_EQ(level, expected) << severity;
    std::string message = result["message"]["text"];
    EXPECT_NE(message.find(finding["message"].get<std::string>()), std::string::npos) << message;
    ASSERT_TRUE(result["locations"].is_array());
    ASSERT_EQ(result["locations"].size(), 1u);
    const auto& physical = result["locations"][0]["physicalLocation"];
    EXPECT_EQ(physical["artifactLocation"]["uri"], "file://" + f.risky);
    if (finding["subject"] == "ptrace") {
      saw_ptrace = true;
      EXPECT_EQ(result["ruleId"], "risky-syscall/ptrace");
      auto [line, column] = position(profile_text, "\"ptrace\"");
      const auto& region = physical["region"];
      EXPECT_EQ(region["startLine"], line);
      EXPECT_EQ(region["startColumn"], column);
      EXPECT_EQ(region["endLine"], line);
      EXPECT_EQ(region["endColumn"], column + 8);
    }
    if (finding["id"] == "architectures") {
      EXPECT_FALSE(physical.contains("region")); // not in the file
    }
  }
  EXPECT_TRUE(saw_ptrace);
}

TEST(Formats, SarifUriOfARelativePathStaysRelative) {
  Files f;
  auto r = run(
      {"sh", "-c", "cd '" + f.dir.path().string() + "' && '" + profile_tool() + "' check --format sarif risky.json"});
  EXPECT_EQ(r.exit_code, 5) << r.err;
  auto s = json::parse(r.out);
  EXPECT_EQ(s["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], "risky.json");
  EXPECT_EQ(s["runs"][0]["artifacts"][0]["location"]["uri"], "risky.json");
}

TEST(Formats, DiffJsonFieldByField) {
  Files f;
  auto r = run({profile_tool(), "diff", "--format", "json", f.other, f.risky});
  EXPECT_EQ(r.exit_code, 1) << r.err; // as diff(1): different
  auto j = json::parse(r.out);
  EXPECT_EQ(j["from"], f.other);
  EXPECT_EQ(j["to"], f.risky);
  EXPECT_EQ(j["same"], false);
  EXPECT_TRUE(j["architectures"]["added"].is_array());
  EXPECT_TRUE(j["architectures"]["removed"].is_array());
  ASSERT_TRUE(j["syscalls"].is_object());
  bool ptrace_added = false;
  for (const auto& [arch, change] : j["syscalls"].items())
    for (const auto& name : change["added"]) ptrace_added = ptrace_added || name == "ptrace";
  EXPECT_TRUE(ptrace_added) << r.out;
  EXPECT_TRUE(j["changed"].is_array());
  EXPECT_EQ(run({profile_tool(), "diff", "--format", "json", f.other, f.other}).exit_code, 0);
  EXPECT_EQ(run({profile_tool(), "diff", "--format", "json", f.other, (f.dir / "missing.json").string()}).exit_code, 2);
}

TEST(Formats, ExplainJsonFieldByField) {
  Files f;
  auto r = run({profile_tool(), "explain", "--format", "json", f.other});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto j = json::parse(r.out);
  EXPECT_EQ(j["profile"], f.other);
  EXPECT_TRUE(j["defaultAction"].is_string());
  ASSERT_TRUE(j["architectures"].is_array());
  ASSERT_EQ(j["architectures"].size(), 1u);
  EXPECT_EQ(j["architectures"][0]["arch"], "x86_64");
  EXPECT_EQ(j["architectures"][0]["allowed"], 2); // read, write
  EXPECT_GT(j["architectures"][0]["total"].get<int>(), 300);
  ASSERT_TRUE(j["groups"].is_array());
  for (const auto& g : j["groups"]) {
    EXPECT_TRUE(g["name"].get<std::string>().starts_with("@"));
    EXPECT_TRUE(g["size"].is_number());
  }
  EXPECT_EQ(run({profile_tool(), "explain", "--format", "sarif", f.other}).exit_code, 2); // check only
}
