// Text that others wrote (a profile's names, a trace's command and dates) reaches the reviewer's
// terminal and Markdown file shown, never obeyed: no terminal sequence runs, no Markdown structure
// opens. The attacks are the ones a hostile profile or trace can carry.
#include "e2e_support.hpp"

#include <gtest/gtest.h>

#include <sstream>

using namespace nucleus;

namespace {

std::string profile_tool() { return test::tool("nucleus-profile").string(); }

// What a terminal would act on: ESC, CR, the C1 CSI, BEL, backspace.
bool has_terminal_control(const std::string& s) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == 0x1b || c == '\r' || c == 0x07 || c == 0x08) return true;
    if (c == 0xc2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) == 0x9b) return true;
  }
  return false;
}

// A profile allowing read and write, and denying by name a syscall whose name hides what follows.
std::string hostile_profile(const test::TempDir& dir) {
  return test::write_profile(
      dir, "hostile.json",
      {{"defaultAction", "SCMP_ACT_ERRNO"},
       {"syscalls", nlohmann::json::array({{{"names", {"read", "write", "x\x1b[8m"}}, {"action", "SCMP_ACT_ALLOW"}},
                                           {{"names", {"ptrace"}}, {"action", "SCMP_ACT_ALLOW"}}})}});
}

// Whether `raw` stands in `text` without a backslash before its first character: CommonMark reads
// a backslash-escaped punctuation character as that character, so only an unescaped one opens markup.
bool has_unescaped(const std::string& text, const std::string& raw) {
  for (auto at = text.find(raw); at != std::string::npos; at = text.find(raw, at + 1))
    if (at == 0 || text[at - 1] != '\\') return true;
  return false;
}

} // namespace

TEST(HostileText, CheckShowsAProfilesTerminalSequencesEscaped) {
  test::TempDir dir;
  auto r = test::run({profile_tool(), "check", hostile_profile(dir)});
  EXPECT_FALSE(has_terminal_control(r.out + r.err)) << r.out << r.err;
  EXPECT_NE((r.out + r.err).find("x\\x1b[8m"), std::string::npos) << r.out << r.err;
  // The findings after the hostile name are still there to read.
  EXPECT_NE(r.out.find("ptrace"), std::string::npos) << r.out;
}

TEST(HostileText, DiffShowsATracesTerminalSequencesEscaped) {
  // `diff PROFILE TRACE` names the executable that made each call the profile does not allow.
  test::TempDir dir;
  auto plain =
      test::write_profile(dir, "plain.json",
                          {{"defaultAction", "SCMP_ACT_ERRNO"},
                           {"syscalls", nlohmann::json::array({{{"names", {"read"}}, {"action", "SCMP_ACT_ALLOW"}}})}});
  auto trace = dir / "hostile.trace";
  test::write_text(
      trace,
      std::string(
          R"({"type":"header","format":"nucleus-trace","version":1,"command":["./t"],"source":"audit-netlink","kernel":"6.1.0","started_at":"2026-11-28T09:00:00Z"})") +
          "\n" +
          R"({"type":"syscall","arch":"x86_64","nr":101,"name":"ptrace","count":1,"exe":"/t\r\u001b[2K\u001b[1A\u001b[8m\n  nothing else differs"})" +
          "\n" + R"({"type":"summary","events":1,"distinct":1,"lost":0,"exit_code":0,"duration_ms":1})" + "\n");
  auto r = test::run({profile_tool(), "diff", plain, trace.string()});
  EXPECT_FALSE(has_terminal_control(r.out + r.err)) << r.out << r.err;
  EXPECT_NE(r.out.find("ptrace"), std::string::npos) << r.out << r.err;
  EXPECT_NE((r.out + r.err).find("/t\\x0d\\x1b[2K"), std::string::npos) << r.out << r.err;
  // A newline in the path cannot start a line of its own.
  EXPECT_EQ(r.out.find("\n  nothing else differs"), std::string::npos) << r.out;
}

TEST(HostileText, MachineFormatsStayValidJsonAndCarryNoControls) {
  // DEL, a C1 control, a bidi override and a zero-width joiner: JSON carries them raw unless told
  // to write ASCII, and the terminal filter must not turn them into escapes JSON does not know.
  test::TempDir dir;
  auto profile = test::write_profile(
      dir, "odd.json",
      {{"defaultAction", "SCMP_ACT_ERRNO"},
       {"syscalls", nlohmann::json::array({{{"names", {"read", "x\x7f", "y\xc2\x9b", "z\xe2\x80\xae", "w\xe2\x80\x8d"}},
                                            {"action", "SCMP_ACT_ALLOW"}}})}});
  for (std::vector<std::string> args : {std::vector<std::string>{"check", "--format", "json", profile},
                                        std::vector<std::string>{"check", "--format", "sarif", profile},
                                        std::vector<std::string>{"explain", "--format", "json", profile}}) {
    args.insert(args.begin(), profile_tool());
    auto r = test::run(args);
    auto parsed = nlohmann::json::parse(r.out, nullptr, false);
    EXPECT_FALSE(parsed.is_discarded()) << args[1] << " " << args[3] << " wrote JSON that does not parse:\n" << r.out;
    for (unsigned char c : r.out) EXPECT_TRUE(c < 0x80 && (c >= 0x20 || c == '\n')) << args[3] << ": byte " << int(c);
  }
}

TEST(HostileText, MarkdownReportOpensNoStructureFromATrace) {
  test::TempDir dir;
  auto trace = dir / "hostile.trace";
  nlohmann::json header = {
      {"type", "header"},
      {"format", "nucleus-trace"},
      {"version", 1},
      {"command", {"./tool` | x |\n\n# No findings\n\nAll clear.\n<!--", "<img src=x onerror=alert(1)>"}},
      {"source", "audit-netlink"},
      {"kernel", "6.1.0\n## Findings\n\nNo findings."},
      {"started_at", "![pwned](http://attacker.example/p.png)"}};
  test::write_text(trace, header.dump() + "\n" +
                              R"({"type":"syscall","arch":"x86_64","nr":101,"name":"ptrace","count":1,"exe":"/t\n# x"})"
                              "\n" +
                              R"({"type":"summary","events":1,"distinct":1,"lost":0,"exit_code":0,"duration_ms":1})"
                              "\n");
  auto profile = (dir / "p.json").string();
  auto g = test::run({profile_tool(), "gen", trace.string(), "-o", profile});
  ASSERT_EQ(g.exit_code, 0) << g.err;
  auto md = (dir / "review.md").string();
  auto r = test::run({profile_tool(), "report", profile, trace.string(), "-o", md});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto text = test::read_text(md);
  // Headings: only the report's own.
  std::istringstream lines(text);
  int findings_headings = 0;
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("#", 0) == 0) {
      EXPECT_TRUE(line.rfind("# Seccomp profile review", 0) == 0 || line.rfind("## ", 0) == 0) << line;
      EXPECT_EQ(line.find("No findings"), std::string::npos) << line;
      if (line == "## Findings") ++findings_headings;
    }
    EXPECT_NE(line, "All clear.");
  }
  EXPECT_EQ(findings_headings, 1) << text;
  // The finding on ptrace is a row of the findings table, not hidden behind a comment or a fake section.
  auto findings = text.find("## Findings");
  ASSERT_NE(findings, std::string::npos);
  auto table = text.substr(findings, text.find("\n## ", findings + 1) - findings);
  EXPECT_NE(table.find("| ptrace |"), std::string::npos) << table;
  for (const char* raw : {"<!--", "<img", "![", "| x"})
    EXPECT_FALSE(has_unescaped(text, raw)) << "unescaped " << raw << " in:\n" << text;
  // The trace's row: its command's backtick cannot open a code span that swallows the cells.
  auto row = text.find("| \\/tmp");
  ASSERT_NE(row, std::string::npos) << text;
  EXPECT_FALSE(has_unescaped(text.substr(row, text.find('\n', row) - row), "`")) << text;
  EXPECT_FALSE(has_terminal_control(text));
}
