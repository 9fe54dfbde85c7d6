// SARIF output of check findings: levels, rules shared between results, URIs and regions.
#include "nucleus/profile/sarif.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using namespace nucleus::profile;

namespace {

Finding finding(Severity severity, std::string id, std::string subject) {
  Finding f;
  f.severity = severity;
  f.id = std::move(id);
  f.subject = std::move(subject);
  f.message = f.subject + " is allowed";
  f.reason = "because";
  f.fix = "remove it";
  return f;
}

const SarifTool tool{"nucleus-profile", "1.2.3", "https://example.invalid/nucleus"};

} // namespace

TEST(Sarif, LevelsFollowSeverity) {
  EXPECT_EQ(sarif_level(Severity::critical), "error");
  EXPECT_EQ(sarif_level(Severity::high), "error");
  EXPECT_EQ(sarif_level(Severity::medium), "warning");
  EXPECT_EQ(sarif_level(Severity::low), "note");
  EXPECT_EQ(sarif_level(Severity::info), "none");
}

TEST(Sarif, OneRulePerKindResultsPointAtIt) {
  CheckResult r;
  r.findings = {
      finding(Severity::high, "risky-syscall", "ptrace"), finding(Severity::medium, "architectures", "architectures"),
      finding(Severity::medium, "architectures", "architectures"), finding(Severity::low, "risky-syscall", "socket")};
  std::string text = "{\n  \"architectures\": [],\n  \"syscalls\": [{\"names\": [\"ptrace\"]}]\n}\n";
  auto s = nlohmann::json::parse(check_to_sarif(r, "dir with space/p.json", text, tool));
  const auto& driver = s["runs"][0]["tool"]["driver"];
  EXPECT_EQ(driver["version"], "1.2.3");
  EXPECT_EQ(driver["informationUri"], "https://example.invalid/nucleus");
  ASSERT_EQ(driver["rules"].size(), 3u); // ptrace, architectures (twice, one rule), socket
  const auto& results = s["runs"][0]["results"];
  ASSERT_EQ(results.size(), 4u);
  EXPECT_EQ(results[1]["ruleIndex"], results[2]["ruleIndex"]);
  EXPECT_EQ(results[3]["ruleId"], "risky-syscall/socket");
  EXPECT_EQ(results[3]["level"], "note");
  const auto& loc = results[0]["locations"][0]["physicalLocation"];
  EXPECT_EQ(loc["artifactLocation"]["uri"], "dir%20with%20space/p.json");
  EXPECT_EQ(loc["region"]["startLine"], 3);
  EXPECT_EQ(loc["region"]["startColumn"], 27);
  EXPECT_EQ(results[1]["locations"][0]["physicalLocation"]["region"]["startLine"], 2);
  // socket is not in the text: no region rather than a wrong one.
  EXPECT_FALSE(results[3]["locations"][0]["physicalLocation"].contains("region"));
}

TEST(Sarif, NoFindingsIsAnEmptyRun) {
  auto s = nlohmann::json::parse(check_to_sarif({}, "/abs/p.json", "{}", tool));
  EXPECT_EQ(s["version"], "2.1.0");
  EXPECT_TRUE(s["runs"][0]["results"].is_array());
  EXPECT_TRUE(s["runs"][0]["results"].empty());
  EXPECT_TRUE(s["runs"][0]["tool"]["driver"]["rules"].empty());
  EXPECT_EQ(s["runs"][0]["artifacts"][0]["location"]["uri"], "file:///abs/p.json");
}
