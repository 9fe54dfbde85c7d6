// Input made to exhaust a reader or a generator, as the tools meet it: deeply nested profiles,
// trace lines, YAML and container states are refused within memory and time bounds this file sets
// (a reader whose cost grew with the square of the nesting took gigabytes and minutes); a trace
// with hundreds of argument values gives a profile that compiles, with a note; an OCI state whose
// pid does not fit a pid is refused, not narrowed to another process's pid.
#include "e2e_support.hpp"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <chrono>

using nlohmann::json;
using nucleus::test::run;
using nucleus::test::RunResult;
using nucleus::test::TempDir;
using nucleus::test::tool;
using nucleus::test::write_text;

namespace {

// What one bounded run of a tool may use: far above what the fixed readers need (a few MiB and
// milliseconds), far below what the quadratic ones took.
constexpr int max_seconds = 20;
constexpr long max_resident_kib = 256 * 1024;

#if defined(__SANITIZE_ADDRESS__)
constexpr bool address_space_can_be_capped = false; // AddressSanitizer reserves terabytes up front
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool address_space_can_be_capped = false;
#else
constexpr bool address_space_can_be_capped = true;
#endif
#else
constexpr bool address_space_can_be_capped = true;
#endif

// Runs a tool with its address space capped (a reader that grows past it fails there instead of
// taking the machine's memory) and a deadline; checks time and the largest resident size of the
// children this test waited for.
RunResult run_bounded(std::vector<std::string> argv, const std::string& input = {}) {
  if (address_space_can_be_capped) argv.insert(argv.begin(), {"/usr/bin/prlimit", "--as=1073741824", "--"});
  const auto start = std::chrono::steady_clock::now();
  RunResult r = run(argv, input, max_seconds);
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_LT(took, std::chrono::seconds(max_seconds)) << argv.back() << ": " << r.err.substr(0, 400);
  rusage usage{};
  ::getrusage(RUSAGE_CHILDREN, &usage);
  EXPECT_LT(usage.ru_maxrss, max_resident_kib) << argv.back() << " grew to " << usage.ru_maxrss << " KiB";
  return r;
}

std::string nested(std::size_t levels) { return std::string(levels, '[') + std::string(levels, ']'); }

// A profile of `bytes` bytes whose nested arrays sit under a key nucleus does not know.
std::string deep_profile(std::size_t bytes) {
  return R"({"defaultAction":"SCMP_ACT_ERRNO","syscalls":[],"x":)" + nested(bytes / 2) + "}";
}

// nucleus-profile exits 1 on a bad input (diff 2: 1 means a difference), nucleus-run and the hook
// 125: one of them, never a signal.
void expect_refused_as_too_deep(const RunResult& r, const std::string& what) {
  EXPECT_TRUE(r.exit_code == 1 || r.exit_code == 2 || r.exit_code == 125)
      << what << ": " << r.exit_code << " " << r.err.substr(0, 400);
  EXPECT_NE(r.err.find("nested deeper than 64 levels"), std::string::npos) << what << ": " << r.err.substr(0, 400);
}

} // namespace

TEST(HostileInput, DeeplyNestedProfileIsRefusedQuicklyByEveryCommand) {
  TempDir dir;
  const std::string profile = tool("nucleus-profile").string();
  for (std::size_t bytes : {std::size_t{100'000}, std::size_t{400'000}}) {
    SCOPED_TRACE(std::to_string(bytes) + " bytes");
    const std::string deep = (dir / "deep.json").string();
    write_text(deep, deep_profile(bytes));
    write_text(dir / "plain.json", R"({"defaultAction":"SCMP_ACT_ERRNO","syscalls":[]})");
    const std::string plain = (dir / "plain.json").string();
    const std::vector<std::vector<std::string>> commands{
        {profile, "validate", deep},
        {profile, "check", deep},
        {profile, "report", deep, "-o", (dir / "report.html").string()},
        {profile, "export", deep, "--format", "oci"},
        {profile, "diff", plain, deep},
        {profile, "merge", plain, deep},
        {tool("nucleus-run").string(), "--profile", deep, "--", "/bin/true"},
    };
    for (const auto& argv : commands) expect_refused_as_too_deep(run_bounded(argv), argv[1]);
    EXPECT_FALSE(std::filesystem::exists(dir / "report.html")) << "no half-written report";
  }
}

// Nesting up to the limit is a profile like any other: the limit refuses depth, not structure.
TEST(HostileInput, NestingWithinTheLimitIsRead) {
  TempDir dir;
  write_text(dir / "ok.json", R"({"defaultAction":"SCMP_ACT_ERRNO","syscalls":[],"x":)" + nested(60) + "}");
  auto r = run_bounded({tool("nucleus-profile").string(), "validate", (dir / "ok.json").string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("unknown key"), std::string::npos) << r.err;
}

// Many repeated keys are reported, the first few by path, without a path string kept per level.
TEST(HostileInput, ManyDuplicateKeysAreCountedNotListed) {
  TempDir dir;
  std::string keys = std::string(100'000, 'k');
  std::string text = R"({"defaultAction":"SCMP_ACT_ERRNO","syscalls":[],")" + keys + R"(":{)";
  for (int i = 0; i < 20'000; ++i) text += std::string(i == 0 ? "" : ",") + R"("a":1)";
  text += "}}";
  write_text(dir / "dup.json", text);
  auto r = run_bounded({tool("nucleus-profile").string(), "validate", (dir / "dup.json").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("19983 more keys given twice"), std::string::npos) << r.err.substr(0, 400);
  EXPECT_LT(r.err.size(), 4 * keys.size()) << "the long parent key is spelt out once per repeat";
}

TEST(HostileInput, DeeplyNestedTraceLineIsRefusedWithItsLine) {
  TempDir dir;
  const std::string trace =
      R"({"type":"header","format":"nucleus-trace","version":1,"command":["./app"],"source":"ebpf","kernel":"6.1.0","started_at":"2026-11-28T09:00:00Z"})"
      "\n"
      R"({"type":"syscall","arch":"x86_64","nr":0,"name":"read","count":1,"exe":"/app","x":)" +
      nested(200'000) + "}\n";
  write_text(dir / "deep.trace", trace);
  auto r = run_bounded({tool("nucleus-profile").string(), "gen", (dir / "deep.trace").string()});
  expect_refused_as_too_deep(r, "gen");
  EXPECT_NE(r.err.find("deep.trace:2: "), std::string::npos) << r.err.substr(0, 400);
  EXPECT_TRUE(r.out.empty()) << "no half-written profile";
  for (const char* sub : {"review", "merge"}) {
    std::vector<std::string> argv{tool("nucleus-profile").string(), sub, (dir / "deep.trace").string()};
    if (std::string(sub) == "merge") argv.push_back("--trace");
    r = run_bounded(argv);
    expect_refused_as_too_deep(r, sub);
    EXPECT_TRUE(r.out.empty()) << sub;
  }
}

// Below the depth where yaml-cpp's own guard stops it (about 500 flow sequences), deep enough for
// the JSON readers' limit.
TEST(HostileInput, DeeplyNestedKubernetesYamlIsRefusedWithItsLine) {
  TempDir dir;
  std::string yaml = "apiVersion: security-profiles-operator.x-k8s.io/v1beta1\nkind: SeccompProfile\n"
                     "metadata:\n  name: deep\nspec:\n  defaultAction: SCMP_ACT_ERRNO\n  x: " +
                     nested(300) + "\n";
  write_text(dir / "deep.yaml", yaml);
  auto r = run_bounded({tool("nucleus-profile").string(), "import", (dir / "deep.yaml").string()});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("nested deeper than 64 levels"), std::string::npos) << r.err.substr(0, 400);
  EXPECT_NE(r.err.find("deep.yaml: line 7"), std::string::npos) << r.err.substr(0, 400);
}

// The hook reads its state before it does anything: these need no privileges. The pids name no
// process even where a hook narrowed them, so that a hook that did would fail here, not record.
TEST(HostileInput, OciStateDeeplyNestedOrWithAPidOutOfRangeIsRefused) {
  TempDir dir;
  const std::vector<std::string> hook{tool("nucleus-trace").string(), "--oci-hook", "prestart", "--trace-dir",
                                      dir.path().string()};
  const std::string annotation = R"("annotations":{"io.nucleus.trace":"x.trace"})";
  auto deep = run_bounded(hook, R"({"id":"x",)" + annotation + R"(,"x":)" + nested(200'000) + "}");
  expect_refused_as_too_deep(deep, "--oci-hook");
  // 2^32 + 4194305 would be 4194305 as a 32-bit pid_t, one past the kernel's largest pid.
  for (const std::string pid : {"4299161601", "2147483648", "-1", "1.5", "\"1\"", "true", "[1]"}) {
    SCOPED_TRACE(pid);
    auto r = run(hook, R"({"id":"x","pid":)" + pid + "," + annotation + "}");
    EXPECT_EQ(r.exit_code, 125) << r.err;
    EXPECT_NE(r.err.find("which is not a process id"), std::string::npos) << r.err;
  }
}

// Ten programs each opening 32 sockets of kinds no other opens: hundreds of values of socket's
// domain and type, which as conditions multiplied into a filter the kernel refuses (three copies)
// or one that took minutes to build (ten). gen bounds them and says so, in its notes and in the
// profile's comment, and the profile compiles.
TEST(HostileInput, TraceWithHundredsOfArgumentValuesGivesACompilingProfile) {
  for (int copies : {3, 10}) {
    SCOPED_TRACE(std::to_string(copies) + " copies");
    TempDir dir;
    std::string trace =
        R"({"type":"header","format":"nucleus-trace","version":1,"command":["./app"],"source":"ebpf","kernel":"6.1.0","started_at":"2026-11-28T09:00:00Z","arguments":true})"
        "\n";
    for (int c = 0; c < copies; ++c) {
      json domains = json::array(), types = json::array();
      for (int i = 0; i < 32; ++i) {
        domains.push_back(c * 32 + i);
        types.push_back(c * 32 + i + 1);
      }
      json line = {{"type", "syscall"},
                   {"arch", "x86_64"},
                   {"nr", 41},
                   {"name", "socket"},
                   {"count", 32},
                   {"exe", "/copy" + std::to_string(c)},
                   {"args", {{{"index", 0}, {"values", domains}}, {{"index", 1}, {"values", types}}}}};
      trace += line.dump() + "\n";
    }
    trace += R"({"type":"summary","events":320,"distinct":1,"lost":0,"exit_code":0,"duration_ms":10})"
             "\n";
    write_text(dir / "many.trace", trace);
    const std::string out = (dir / "many.json").string();
    auto gen = run_bounded({tool("nucleus-profile").string(), "gen", (dir / "many.trace").string(), "-o", out});
    ASSERT_EQ(gen.exit_code, 0) << gen.err.substr(0, 600);
    EXPECT_NE(gen.err.find("distinct values traced, more than 16"), std::string::npos) << gen.err.substr(0, 600);
    auto profile = json::parse(nucleus::test::read_text(out));
    std::size_t socket_entries = 0;
    bool commented = false;
    for (const auto& entry : profile["syscalls"]) {
      if (entry["names"] != json::array({"socket"})) continue;
      ++socket_entries;
      commented = commented || entry.value("comment", "").find("not checked") != std::string::npos;
    }
    EXPECT_EQ(socket_entries, 1u) << "allowed by name, one entry";
    EXPECT_TRUE(commented) << profile.dump(1).substr(0, 2000);
    auto validate = run({tool("nucleus-profile").string(), "validate", out});
    EXPECT_EQ(validate.exit_code, 0) << validate.err;
  }
}
