// The trace log: the exact lines write_trace produces, the round trip through read_trace, what a
// reader tolerates (unknown keys and types, blank lines, no summary) and each rejection message.
#include "nucleus/core/error.hpp"
#include "nucleus/core/trace_log.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace nucleus;
using core::Trace;

namespace {

core::Arch arch(const char* name) { return *core::arch_from_name(name); }

Trace design_example() {
  Trace t;
  t.header = {{"./app", "x"}, "audit-netlink", "6.1.0", "2026-11-28T09:00:00Z", ""};
  t.syscalls.push_back({arch("x86_64"), 0, "read", 42, "/usr/bin/app"});
  t.summary = core::TraceSummary{1234, 57, 0, 0, 120, 0};
  return t;
}

const std::string header_line = R"({"type":"header","format":"nucleus-trace","version":1,"command":["./app","x"],)"
                                R"("source":"audit-netlink","kernel":"6.1.0","started_at":"2026-11-28T09:00:00Z"})";
const std::string syscall_line =
    R"({"type":"syscall","arch":"x86_64","nr":0,"name":"read","count":42,"exe":"/usr/bin/app"})";

// The message of the Error that reading `text` throws, or "" when it reads.
std::string rejection(const std::string& text) {
  try {
    core::read_trace(text, "app.trace");
  } catch (const core::Error& e) {
    EXPECT_EQ(e.kind(), core::ErrorKind::invalid_input) << e.what();
    return e.what();
  }
  return "";
}

} // namespace

TEST(TraceLog, WritesTheDocumentedLines) {
  EXPECT_EQ(
      core::write_trace(design_example()),
      header_line + "\n" + syscall_line + "\n" +
          R"({"type":"summary","events":1234,"distinct":57,"lost":0,"exit_code":0,"duration_ms":120,"unparsed":0})"
          "\n");
}

TEST(TraceLog, BaselineIsWrittenOnlyWhenSet) {
  Trace t = design_example();
  EXPECT_EQ(core::write_trace(t).find("baseline"), std::string::npos);
  t.header.baseline = "base.json";
  const std::string text = core::write_trace(t);
  EXPECT_NE(text.find(R"("started_at":"2026-11-28T09:00:00Z","baseline":"base.json"})"), std::string::npos) << text;
}

TEST(TraceLog, TargetIsWrittenOnlyWhenSetAndReadBack) {
  Trace t = design_example();
  EXPECT_EQ(core::write_trace(t).find("\"target\""), std::string::npos); // old readers see old traces
  t.header.command = {};
  t.header.target = "pid 1234";
  const std::string text = core::write_trace(t);
  EXPECT_NE(text.find(R"("target":"pid 1234")"), std::string::npos) << text;
  EXPECT_EQ(core::read_trace(text, "app.trace"), t);
  EXPECT_NE(rejection(header_line.substr(0, header_line.size() - 1) + R"(,"target":7})"), "");
}

TEST(TraceLog, WarningsAreWrittenOnlyWhenSetAndReadBack) {
  Trace t = design_example();
  EXPECT_EQ(core::write_trace(t).find("\"warnings\""), std::string::npos);
  t.header.warnings = {"the container's process started without a seccomp filter", "second"};
  const std::string text = core::write_trace(t);
  EXPECT_NE(text.find(R"("warnings":["the container's process started without a seccomp filter","second"])"),
            std::string::npos)
      << text;
  EXPECT_EQ(core::read_trace(text, "app.trace"), t);
  EXPECT_NE(rejection(header_line.substr(0, header_line.size() - 1) + R"(,"warnings":"one"})"), "");
  EXPECT_NE(rejection(header_line.substr(0, header_line.size() - 1) + R"(,"warnings":[1]})"), "");
}

TEST(TraceLog, ReadsTheDesignExample) {
  // The summary as DESIGN.md shows it, without "unparsed" (a later key).
  Trace t =
      core::read_trace(header_line + "\n" + syscall_line + "\n" +
                           R"({"type":"summary","events":1234,"distinct":57,"lost":0,"exit_code":0,"duration_ms":120})",
                       "app.trace");
  EXPECT_EQ(t, design_example());
}

TEST(TraceLog, RoundTrip) {
  Trace t;
  t.header = {{"/usr/bin/env", "tab\there", "quote\"s", "ünïcødé", ""},
              "kmsg",
              "6.18.0-1",
              "2026-11-28T09:00:00Z",
              "profiles/base.json"};
  t.syscalls = {
      {arch("x86_64"), 59, "execve", 1, "/usr/bin/env"},
      {arch("x86"), 20, "getpid", 18446744073709551615u, "/opt/a b/i386 app"},
      {arch("x32"), 0x40000000 + 39, "getpid", 3, ""},
      {arch("aarch64"), 63, "read", 7, "/bin/ä"},
      {arch("arm"), 3, "read", 0, "/bin/arm"},
  };
  t.summary = core::TraceSummary{18446744073709551615u, 5, 2, -1, 99, 4, "stream ended early; \"2\" dropped"};
  const std::string text = core::write_trace(t);
  EXPECT_EQ(core::read_trace(text, "rt.trace"), t);
  EXPECT_EQ(core::write_trace(core::read_trace(text, "rt.trace")), text);

  // A complete trace has no "loss" key, as written before the key existed.
  t.summary->loss.clear();
  EXPECT_EQ(core::write_trace(t).find("\"loss\""), std::string::npos);
  EXPECT_EQ(core::read_trace(core::write_trace(t), "rt.trace"), t);

  t.summary.reset(); // killed before it finished
  t.syscalls.clear();
  EXPECT_EQ(core::read_trace(core::write_trace(t), "rt.trace"), t);
}

TEST(TraceLog, IgnoresUnknownKeysTypesAndBlankLines) {
  const std::string text =
      std::string("\n  \r\n") +
      R"({"type":"header","format":"nucleus-trace","version":1,"command":["./app","x"],"source":"audit-netlink",)"
      R"("kernel":"6.1.0","started_at":"2026-11-28T09:00:00Z","host":{"name":"ci"}})"
      "\r\n" +
      R"({"type":"note","text":"from a newer nucleus"})"
      "\n\n" +
      R"({"type":"syscall","arch":"x86_64","nr":0,"name":"read","count":42,"exe":"/usr/bin/app","tid":[1,2]})"
      "\n" +
      R"({"type":"summary","events":1234,"distinct":57,"lost":0,"exit_code":0,"duration_ms":120,"unparsed":0,"x":null})";
  EXPECT_EQ(core::read_trace(text, "app.trace"), design_example());
}

TEST(TraceLog, SummaryMayBeMissing) {
  Trace t = core::read_trace(header_line + "\n" + syscall_line + "\n", "app.trace");
  EXPECT_FALSE(t.summary.has_value());
  EXPECT_EQ(t.syscalls.size(), 1u);
}

TEST(TraceLog, RejectsAnotherFormatAndANewerVersion) {
  EXPECT_EQ(rejection(R"({"type":"header","format":"x","version":1})"),
            "app.trace:1: not a nucleus trace: format is \"x\"");
  EXPECT_EQ(rejection("\n" + std::string(R"({"type":"header","format":"nucleus-trace","version":2,"future":true})")),
            "app.trace:2: trace format version 2 is newer than this nucleus (1): upgrade nucleus");
  EXPECT_EQ(rejection(R"({"type":"header","format":"nucleus-trace","version":0})"),
            "app.trace:1: trace format version 0 is not a valid version");
  EXPECT_EQ(rejection(R"({"type":"header","format":"nucleus-trace","version":"1"})"),
            "app.trace:1: key \"version\" in the header line must be an integer, not \"1\"");
}

TEST(TraceLog, RejectsInvalidJsonAndNonObjects) {
  const std::string invalid = rejection(header_line + "\n{\"type\":\"syscall\",");
  EXPECT_EQ(invalid.rfind("app.trace:2: invalid JSON at column 19: ", 0), 0u) << invalid;
  EXPECT_EQ(invalid.find("json.exception"), std::string::npos) << invalid;
  EXPECT_EQ(rejection(header_line + "\n[1,2]"), "app.trace:2: expected a JSON object, not [1,2]");
  // nlohmann reports a number too large for a double as out_of_range, not as a parse error.
  EXPECT_EQ(rejection(header_line + "\n" + R"({"type":"note","x":1e999})"),
            "app.trace:2: invalid JSON: number overflow parsing '1e999'");
  EXPECT_EQ(rejection("type=SECCOMP msg=audit(1.2:3): pid=1").rfind("app.trace:1: invalid JSON at column 2: ", 0), 0u);
}

TEST(TraceLog, RejectsMissingKeysAndWrongTypes) {
  EXPECT_EQ(rejection(R"({"format":"nucleus-trace"})"), "app.trace:1: missing key \"type\"");
  EXPECT_EQ(rejection(R"({"type":"header","format":"nucleus-trace","version":1,"command":["a"],"source":"kmsg"})"),
            "app.trace:1: missing key \"kernel\" in the header line");
  EXPECT_EQ(rejection(R"({"type":"header","format":"nucleus-trace","version":1,"command":["a",1],"source":"kmsg"})"),
            "app.trace:1: key \"command\" in the header line must be an array of strings, not [\"a\",1]");
  EXPECT_EQ(rejection(header_line + "\n" + R"({"type":"syscall","arch":"x86_64","name":"read","count":42,"exe":"/a"})"),
            "app.trace:2: missing key \"nr\" in the syscall line");
  EXPECT_EQ(rejection(header_line + "\n" +
                      R"({"type":"syscall","arch":"x86_64","nr":0,"name":"read","count":"42","exe":"/a"})"),
            "app.trace:2: key \"count\" in the syscall line must be an unsigned integer, not \"42\"");
  EXPECT_EQ(rejection(header_line + "\n" +
                      R"({"type":"syscall","arch":"x86_64","nr":0,"name":"read","count":-1,"exe":"/a"})"),
            "app.trace:2: key \"count\" in the syscall line must be an unsigned integer, not -1");
  EXPECT_EQ(rejection(header_line + "\n" +
                      R"({"type":"syscall","arch":"x86_64","nr":1.5,"name":"read","count":1,"exe":"/a"})"),
            "app.trace:2: key \"nr\" in the syscall line must be an integer, not 1.5");
  EXPECT_EQ(rejection(header_line + "\n" +
                      R"({"type":"syscall","arch":"x86_64","nr":-3,"name":"read","count":1,"exe":"/a"})"),
            "app.trace:2: key \"nr\" in the syscall line must be a syscall number (0 or more), not -3");
  EXPECT_EQ(rejection(header_line + "\n" +
                      R"({"type":"summary","events":1,"distinct":1,"lost":0,"exit_code":4294967296,"duration_ms":1})"),
            "app.trace:2: key \"exit_code\" in the summary line must be an integer, not 4294967296");
  EXPECT_EQ(rejection(header_line + "\n" + R"({"type":7})"), "app.trace:2: key \"type\" must be a string, not 7");
}

TEST(TraceLog, RejectsUnknownArchitectures) {
  EXPECT_EQ(
      rejection(header_line + "\n" + R"({"type":"syscall","arch":"sparc","nr":0,"name":"read","count":1,"exe":"/a"})"),
      "app.trace:2: unknown architecture \"sparc\"");
}

TEST(TraceLog, RejectsAMissingOrMisplacedHeader) {
  EXPECT_EQ(rejection(syscall_line + "\n" + header_line), "app.trace:1: a syscall line before the header line");
  EXPECT_EQ(rejection(R"({"type":"summary","events":1,"distinct":1,"lost":0,"exit_code":0,"duration_ms":1})"),
            "app.trace:1: a summary line before the header line");
  EXPECT_EQ(rejection(""), "app.trace:1: no header line: not a nucleus trace");
  EXPECT_EQ(rejection("\n\n" + std::string(R"({"type":"note"})")), "app.trace:1: no header line: not a nucleus trace");
  EXPECT_EQ(rejection(header_line + "\n" + header_line), "app.trace:2: a second header line: a trace holds one run");
  const std::string summary = R"({"type":"summary","events":1,"distinct":1,"lost":0,"exit_code":0,"duration_ms":1})";
  EXPECT_EQ(rejection(header_line + "\n" + summary + "\n" + summary),
            "app.trace:3: a second summary line: a trace holds one run");
}

TEST(TraceLog, TellsTracesFromAuditText) {
  EXPECT_TRUE(core::is_trace_log(core::write_trace(design_example())));
  EXPECT_TRUE(core::is_trace_log("\n  \n" + header_line));
  EXPECT_TRUE(core::is_trace_log("{broken")); // read_trace then says what is wrong with it
  EXPECT_FALSE(core::is_trace_log("type=SECCOMP msg=audit(1.2:3): pid=1\n{"));
  EXPECT_FALSE(core::is_trace_log("[ 4305.767365] audit: type=1326 audit(1.2:3): pid=1"));
  EXPECT_FALSE(core::is_trace_log(""));
  EXPECT_FALSE(core::is_trace_log("\n\n"));
}

TEST(TraceLog, ArgumentValuesRoundTripAndAreWrittenOnlyWhenRecorded) {
  Trace t = design_example();
  EXPECT_EQ(core::write_trace(t).find("\"args\""), std::string::npos);
  EXPECT_EQ(core::write_trace(t).find("\"arguments\""), std::string::npos);
  t.header.arguments = true;
  core::TraceSyscall socket{arch("x86_64"), 41, "socket", 3, "/usr/bin/app", {}};
  socket.args = {{0, {1, 2, 10}, false}, {1, {1, 2}, true}};
  t.syscalls.push_back(socket);
  const std::string text = core::write_trace(t);
  EXPECT_NE(text.find(R"("arguments":true)"), std::string::npos) << text;
  EXPECT_NE(text.find(R"("args":[{"index":0,"values":[1,2,10]},{"index":1,"values":[1,2],"overflow":true}])"),
            std::string::npos)
      << text;
  EXPECT_EQ(core::read_trace(text, "app.trace"), t);
}

TEST(TraceLog, ArgumentValuesAreSortedAndCheckedOnRead) {
  const std::string with_args =
      header_line + "\n" +
      R"({"type":"syscall","arch":"x86_64","nr":41,"name":"socket","count":1,"exe":"/a","args":[{"index":1,"values":[3,1,3]},{"index":0,"values":[2]}]})";
  Trace t = core::read_trace(with_args, "app.trace");
  ASSERT_EQ(t.syscalls.size(), 1U);
  ASSERT_EQ(t.syscalls[0].args.size(), 2U);
  EXPECT_EQ(t.syscalls[0].args[0].index, 0);
  EXPECT_EQ(t.syscalls[0].args[1].values, (std::vector<std::uint64_t>{1, 3}));
  EXPECT_FALSE(t.header.arguments);
  const std::string syscall_start =
      R"({"type":"syscall","arch":"x86_64","nr":41,"name":"socket","count":1,"exe":"/a",)";
  EXPECT_NE(rejection(header_line + "\n" + syscall_start + R"("args":{}})").find("\"args\""), std::string::npos);
  EXPECT_NE(rejection(header_line + "\n" + syscall_start + R"("args":[{"index":6,"values":[]}]})").find("index"),
            std::string::npos);
  EXPECT_NE(rejection(header_line + "\n" + syscall_start + R"("args":[{"index":0,"values":[-1]}]})").find("values"),
            std::string::npos);
  EXPECT_NE(
      rejection(header_line + "\n" + syscall_start + R"("args":[{"index":0,"values":[1]},{"index":0,"values":[2]}]})")
          .find("twice"),
      std::string::npos);
}

// A line of nested arrays is refused at the limit, with its line, without building the tree.
TEST(TraceLog, NestingPastTheLimitIsRefusedWithItsLine) {
  auto nested = [](std::size_t n) { return std::string(n, '[') + std::string(n, ']'); };
  auto line = [&](std::size_t n) {
    return R"({"type":"syscall","arch":"x86_64","nr":0,"name":"read","count":1,"exe":"/app","x":)" + nested(n) + "}";
  };
  EXPECT_EQ(rejection(header_line + "\n" + line(63) + "\n"), "");
  for (std::size_t depth : {64u, 200'000u}) {
    auto message = rejection(header_line + "\n" + line(depth) + "\n");
    EXPECT_NE(message.find("app.trace:2: "), std::string::npos) << message.substr(0, 300);
    EXPECT_NE(message.find("nested deeper than 64 levels"), std::string::npos) << message.substr(0, 300);
  }
}
