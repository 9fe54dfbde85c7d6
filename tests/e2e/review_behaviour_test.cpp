// nucleus-profile review as users run it: exit codes by severity, formats by extension, --against,
// --workspace, bad input, merge --trace and diff on traces with behaviour records, and the HTML of
// review and report rendered in headless Chromium on a 1200-pixel-wide page.
#include "e2e_support.hpp"

#include "nucleus/core/trace_log.hpp"

#include <gtest/gtest.h>

#include <regex>

using namespace nucleus;

namespace {

std::string profile_tool() { return test::tool("nucleus-profile").string(); }
std::string data(const std::string& name) {
  return (test::source_dir() / "tests/profilegen/data/review" / name).string();
}

const std::filesystem::path chromium = "/usr/bin/chromium";

// The page's document width as Chromium lays it out in a 1200-pixel window: the page's own CSP
// (no scripts) is taken out of a copy and a script writes scrollWidth into the DOM it dumps.
long document_width(const test::TempDir& dir, const std::string& html_path) {
  std::string page = test::read_text(html_path);
  page = std::regex_replace(page, std::regex("<meta http-equiv=\"Content-Security-Policy\"[^>]*>"), "");
  auto end = page.rfind("</body>");
  if (end == std::string::npos) return -1;
  page.insert(end, "<script>document.body.setAttribute('data-width', document.documentElement.scrollWidth);</script>");
  auto measured = dir / "measured.html";
  test::write_text(measured, page);
  auto r = test::run({chromium.string(), "--headless", "--no-sandbox", "--disable-gpu",
                      "--disable-background-networking", "--disable-component-update", "--disable-sync",
                      "--no-first-run", "--user-data-dir=" + (dir / "chromium").string(), "--window-size=1200,2000",
                      "--dump-dom", "file://" + measured.string()},
                     {}, 120);
  std::smatch m;
  if (r.exit_code != 0 || !std::regex_search(r.out, m, std::regex("data-width=\"([0-9]+)\""))) return -1;
  return std::stol(m[1]);
}

} // namespace

TEST(ReviewTool, ExitCodesBySeverityAndFormatsByExtension) {
  auto r = test::run({profile_tool(), "review", data("sidetrip-all.trace")});
  EXPECT_EQ(r.exit_code, 5) << r.err; // high
  EXPECT_NE(r.out.find("high: credential-read: /home/dev/.ssh/id_ed25519"), std::string::npos) << r.out;
  EXPECT_EQ(test::run({profile_tool(), "review", "--fail-on", "critical", data("sidetrip-all.trace")}).exit_code, 0);
  EXPECT_EQ(test::run({profile_tool(), "review", data("sidetrip-clean.trace")}).exit_code, 0);
  EXPECT_EQ(test::run({profile_tool(), "review", "--fail-on", "bogus", data("sidetrip-clean.trace")}).exit_code, 2);

  test::TempDir dir;
  for (const char* ext : {"json", "sarif", "md", "html"}) {
    auto out = (dir / ("review." + std::string(ext))).string();
    r = test::run({profile_tool(), "review", data("sidetrip-all.trace"), "-o", out});
    EXPECT_EQ(r.exit_code, 5) << ext << ": " << r.err;
    auto text = test::read_text(out);
    const std::string e = ext;
    if (e == "json" || e == "sarif") {
      EXPECT_TRUE(nlohmann::json::accept(text)) << ext;
    } else {
      EXPECT_EQ(text.rfind(e == "html" ? "<!DOCTYPE html>" : "# review of", 0), 0u) << ext;
    }
  }
}

TEST(ReviewTool, WorkspaceAgainstAndBadInput) {
  // --workspace replaces the trace's (/home/dev/project): with /, the write under /tmp is inside it.
  auto r = test::run({profile_tool(), "review", "--format", "json", "--workspace", "/", data("sidetrip-all.trace")});
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["workspace"], nlohmann::json::array({"/"}));
  for (const auto& f : j["findings"]) EXPECT_NE(f["id"], "write-temp") << "inside the workspace given";

  r = test::run({profile_tool(), "review", "--format", "json", "--against", data("sidetrip-clean.trace"),
                 data("sidetrip-all.trace")});
  EXPECT_EQ(r.exit_code, 5) << r.err;
  j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["against"].size(), 1u);
  for (const auto& inv : j["inventory"])
    for (const auto& f : inv["files_read"])
      EXPECT_NE(f["path"], "/home/dev/project/notes.txt") << "read by both versions";
  // --against takes one trace: the words after it are the new version's traces.
  r = test::run({profile_tool(), "review", "--format", "json", "--against", data("sidetrip-clean.trace"),
                 data("sidetrip-all.trace"), data("sidetrip-clean.trace")});
  j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["against"].size(), 1u) << j["against"].dump();
  EXPECT_EQ(j["traces"].size(), 2u) << j["traces"].dump();
  r = test::run({profile_tool(), "review", "--against", data("sidetrip-all.trace"), data("sidetrip-all.trace")});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("findings:\n  none"), std::string::npos) << r.out;

  test::TempDir dir;
  auto bad = (dir / "bad.trace").string();
  test::write_text(bad, test::read_text(data("sidetrip-all.trace")) +
                            R"({"type":"file","exe":"/a","syscall":"openat","path":"/x","access":["fly"],"count":1})"
                            "\n");
  r = test::run({profile_tool(), "review", bad});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("bad.trace:"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty());
  auto audit = (dir / "audit.log").string();
  test::write_text(audit, "type=SECCOMP msg=audit(1.0:1): pid=1 syscall=0\n");
  r = test::run({profile_tool(), "review", audit});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("not a nucleus trace log"), std::string::npos) << r.err;
}

TEST(ReviewTool, IncompleteAndHostileTracesThroughTheTool) {
  test::TempDir dir;
  auto text = test::read_text(data("sidetrip-all.trace"));
  auto trace = (dir / "dropped.trace").string();
  test::write_text(trace, std::regex_replace(text, std::regex("\"duration_ms\":12\\}"),
                                             "\"duration_ms\":12,\"behaviour_dropped\":9}"));
  auto r = test::run({profile_tool(), "review", trace});
  EXPECT_NE(r.out.find("INCOMPLETE: "), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("the inventory is incomplete"), std::string::npos) << r.err;

  auto hostile = (dir / "hostile.trace").string();
  test::write_text(
      hostile,
      text +
          R"({"type":"exec","exe":"/opt/t","path":"/bin/sh","argv":["sh","-c","\u001b]2;x\u0007\u001b[2J\nrm -rf ~"],"count":1})"
          "\n");
  r = test::run({profile_tool(), "review", hostile});
  EXPECT_EQ(r.out.find('\x1b'), std::string::npos);
  EXPECT_NE(r.out.find("\\x1b[2J\\x0arm -rf"), std::string::npos) << r.out;
}

TEST(ReviewTool, MergeTraceAndDiffKeepBehaviour) {
  test::TempDir dir;
  auto merged = (dir / "all.trace").string();
  auto r = test::run(
      {profile_tool(), "merge", "--trace", data("sidetrip-all.trace"), data("sidetrip-clean.trace"), "-o", merged});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto t = core::read_trace(test::read_text(merged), merged);
  EXPECT_EQ(t.execs.size(), 1u);
  auto notes = std::find_if(t.files.begin(), t.files.end(),
                            [](const auto& f) { return f.path == "/home/dev/project/notes.txt"; });
  ASSERT_NE(notes, t.files.end());
  EXPECT_EQ(notes->count, 2u) << "counted in both runs";
  EXPECT_EQ(test::run({profile_tool(), "review", merged}).exit_code, 5);
  // diff PROFILE TRACE on traces with behaviour records, and on an older one.
  auto profile = (dir / "app.json").string();
  ASSERT_EQ(test::run({profile_tool(), "gen", data("sidetrip-clean.trace"), "-o", profile}).exit_code, 0);
  EXPECT_EQ(test::run({profile_tool(), "diff", profile, data("sidetrip-clean.trace")}).exit_code, 0);
  r = test::run({profile_tool(), "diff", profile, merged});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("unshare"), std::string::npos) << r.out;
  EXPECT_EQ(
      test::run({profile_tool(), "merge", data("sidetrip-clean.trace"), "-o", (dir / "x.trace").string()}).exit_code,
      2);
}

TEST(ReviewTool, HtmlFitsA1200PixelPageInHeadlessChromium) {
  if (!std::filesystem::exists(chromium)) NUCLEUS_SKIP("chromium is not installed (Debian package chromium)");
  test::TempDir dir;
  auto review = (dir / "review.html").string();
  ASSERT_EQ(test::run({profile_tool(), "review", data("sidetrip-all.trace"), "-o", review}).exit_code, 5);
  auto profile = (dir / "app.json").string();
  ASSERT_EQ(test::run({profile_tool(), "gen", data("sidetrip-all.trace"), "-o", profile}).exit_code, 0);
  auto report = (dir / "report.html").string();
  auto r = test::run(
      {profile_tool(), "report", profile, data("sidetrip-all.trace"), "--date", "2026-12-07T10:00:00Z", "-o", report});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const auto& page : {review, report}) {
    auto source = test::read_text(page);
    EXPECT_EQ(source.find("src="), std::string::npos) << "self-contained";
    auto rendered =
        test::run({chromium.string(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                   "--disable-component-update", "--disable-sync", "--no-first-run",
                   "--user-data-dir=" + (dir / "chromium").string(), "--dump-dom", "file://" + page},
                  {}, 120);
    ASSERT_EQ(rendered.exit_code, 0) << rendered.err;
    for (const char* section : {"review-summary", "review-findings", "review-inventory"})
      EXPECT_NE(rendered.out.find("id=\"" + std::string(section) + "\""), std::string::npos) << page << " " << section;
    for (const char* id : {"credential-read", "persistence", "user-namespace", "shell-started", "dns-query"})
      EXPECT_NE(rendered.out.find("data-id=\"" + std::string(id) + "\""), std::string::npos) << page << " " << id;
    EXPECT_NE(rendered.out.find("/home/dev/.ssh/id_ed25519"), std::string::npos) << page;
    // The clone flag list, the findings tables and the paths wrap: nothing runs off the page.
    long width = document_width(dir, page);
    EXPECT_GT(width, 0) << page;
    EXPECT_LE(width, 1200) << page << " is wider than the window: it scrolls sideways";
    auto png = dir / "page.png";
    auto shot = test::run({chromium.string(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                           "--user-data-dir=" + (dir / "chromium").string(), "--screenshot=" + png.string(),
                           "--window-size=1200,2000", "file://" + page},
                          {}, 120);
    ASSERT_EQ(shot.exit_code, 0) << shot.err;
    EXPECT_GT(std::filesystem::file_size(png), 10000u);
  }
}

TEST(ReviewTool, ReportIncludesTheReviewOnlyWhenTheTracesCarryBehaviour) {
  test::TempDir dir;
  auto profile = (dir / "app.json").string();
  ASSERT_EQ(test::run({profile_tool(), "gen", data("sidetrip-all.trace"), "-o", profile}).exit_code, 0);
  auto md = (dir / "report.md").string();
  auto r = test::run({profile_tool(), "report", profile, data("sidetrip-all.trace"), "-o", md});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto text = test::read_text(md);
  for (const char* h : {"## What the program did", "## Findings of the review", "## Inventory"})
    EXPECT_NE(text.find(h), std::string::npos) << h;
  EXPECT_NE(text.find("credential\\-read"), std::string::npos);
  // A trace from before behaviour records: the report is what it was, without a review section.
  auto old_trace = (dir / "old.trace").string();
  auto t = core::read_trace(test::read_text(data("sidetrip-all.trace")), "t");
  t.header.behaviour = false;
  t.execs.clear();
  t.files.clear();
  t.nets.clear();
  test::write_text(old_trace, core::write_trace(t));
  r = test::run({profile_tool(), "report", profile, old_trace, "-o", md});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(test::read_text(md).find("## Findings of the review"), std::string::npos);
}
