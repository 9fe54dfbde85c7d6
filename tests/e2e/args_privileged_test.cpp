// Argument-conditioned profiles end to end: a trace with argument values of the probe, gen, then
// nucleus-run: what was observed runs with the same output and no denial; another address family,
// a user namespace or executable memory is denied and reported as an argument condition.
#include "e2e_support.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <fstream>
#include <map>
#include <sys/mman.h>
#include <sys/socket.h>

using nucleus::test::run;
using nucleus::test::sample;
using nucleus::test::tool;
using nlohmann::json;

namespace {

// The argument values the probe's run makes, by syscall: the probe's own calls, and what the
// dynamic loader maps (code read+exec, data read+write, RELRO made read-only, guard gaps).
std::map<std::string, json> probe_values() {
  return {
      {"socket", json::array({{{"index", 0}, {"values", {AF_UNIX}}}, {{"index", 1}, {"values", {SOCK_STREAM}}}})},
      {"unshare", json::array({{{"index", 0}, {"values", {0}}}})},
      {"mmap", json::array({{{"index", 2}, {"values", {PROT_NONE, PROT_READ, PROT_READ | PROT_WRITE, PROT_READ | PROT_EXEC}}}})},
      {"mprotect", json::array({{{"index", 2}, {"values", {PROT_NONE, PROT_READ}}}})},
  };
}

// A trace of `argv` with argument values, at `path`. Until the eBPF recorder is in, the names come
// from nucleus-trace (audit: names only) and the values from probe_values(); a sensitive syscall
// without hand-written values is marked as overflowed, so gen leaves it unconditioned. With the
// recorder, this is the nucleus-trace call alone (and its "arguments" header).
std::string trace_with_values(const nucleus::test::TempDir& dir, const std::vector<std::string>& argv) {
  auto names_only = (dir / "names.trace").string();
  std::vector<std::string> cmd{tool("nucleus-trace").string(), "--trust-level=trusted", "--ro",
                               nucleus::test::binary_dir().string(), "-q", "-o", names_only, "--"};
  cmd.insert(cmd.end(), argv.begin(), argv.end());
  auto r = run(cmd, {}, 120);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  static const std::map<std::string, std::vector<int>> sensitive{
      {"socket", {0, 1}}, {"socketpair", {0, 1}}, {"clone", {0}},    {"unshare", {0}},  {"ioctl", {1}},
      {"prctl", {0}},     {"personality", {0}},   {"mmap", {2}},     {"mprotect", {2}}, {"pkey_mprotect", {2}}};
  auto values = probe_values();
  auto path = (dir / "values.trace").string();
  std::ifstream in(names_only);
  std::ofstream out(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto j = json::parse(line);
    if (j["type"] == "header") j["arguments"] = true;
    if (j["type"] == "syscall") {
      auto name = j["name"].get<std::string>();
      if (auto v = values.find(name); v != values.end()) j["args"] = v->second;
      else if (auto s = sensitive.find(name); s != sensitive.end()) {
        j["args"] = json::array();
        for (int index : s->second) j["args"].push_back({{"index", index}, {"values", json::array()}, {"overflow", true}});
      }
    }
    out << j.dump() << "\n";
  }
  return path;
}

class ArgsPrivileged : public ::testing::Test {
protected:
  void SetUp() override { NUCLEUS_REQUIRE_ROOT(); }
  nucleus::test::TempDir dir;
};

} // namespace

TEST_F(ArgsPrivileged, ObservedValuesRunAndOthersAreDeniedAndReported) {
  const std::vector<std::string> observed{sample("probe").string(), "socket:1,1,0", "unshare:0"};
  auto trace = trace_with_values(dir, observed);
  auto profile = (dir / "probe.json").string();
  auto g = run({tool("nucleus-profile").string(), "gen", trace, "-o", profile});
  ASSERT_EQ(g.exit_code, 0) << g.err;
  auto p = json::parse(nucleus::test::read_text(profile));
  std::size_t conditioned = 0;
  for (const auto& e : p["syscalls"])
    if (e.contains("args")) ++conditioned;
  EXPECT_GE(conditioned, 3u) << p.dump(2);

  // What was observed: the same output as without a profile, and no denial.
  auto plain = run(observed);
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  std::vector<std::string> strict{tool("nucleus-run").string(), "--trust-level=trusted", "--profile", profile, "--"};
  auto same = strict;
  same.insert(same.end(), observed.begin(), observed.end());
  auto r = run(same);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto want = nucleus::test::probe_lines(plain.out);
  auto got = nucleus::test::probe_lines(r.out);
  ASSERT_EQ(got.size(), want.size()) << r.out;
  for (std::size_t i = 0; i < got.size(); ++i) {
    // A new descriptor's number depends on what the process inherited (nucleus passes only 0-2),
    // so descriptors compare by success; everything else by value.
    if (got[i]["call"] == "socket") EXPECT_EQ(got[i]["ret"].get<long>() >= 0, want[i]["ret"].get<long>() >= 0) << got[i].dump();
    else EXPECT_EQ(got[i]["ret"], want[i]["ret"]) << got[i].dump();
    EXPECT_EQ(got[i]["errno"], want[i]["errno"]) << got[i].dump();
  }
  EXPECT_EQ(r.err.find("denied"), std::string::npos) << r.err;

  // One new thing each: another address family, a user namespace, executable memory.
  auto other = strict;
  other.insert(other.end(), {sample("probe").string(), "socket:10,1,0", "unshare:0x10000000", "mprotect:buf,4096,5",
                             "mprotect:buf,4096,7", "socket:1,1,0"});
  r = run(other);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto lines = nucleus::test::probe_lines(r.out);
  ASSERT_EQ(lines.size(), 5u) << r.out;
  for (std::size_t i = 0; i < 4; ++i) EXPECT_EQ(lines[i]["errno"].get<int>(), EPERM) << lines[i].dump();
  EXPECT_EQ(lines[4]["errno"].get<int>(), 0) << lines[4].dump(); // the observed call still works
  for (const char* name : {"socket", "unshare", "mprotect"}) {
    EXPECT_NE(r.err.find(std::string("denied ") + name + " (x86_64)"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("the profile allows " + std::string(name) + " only with"), std::string::npos) << r.err;
  }
  EXPECT_NE(r.err.find("(argument condition: the profile allows socket only with AF_UNIX only; type SOCK_STREAM only"),
            std::string::npos) << r.err;
  EXPECT_NE(r.err.find("nucleus-profile add " + profile + " socket:VALUE"), std::string::npos) << r.err;

  // The review tools read the same conditions in symbols.
  auto e = run({tool("nucleus-profile").string(), "explain", profile});
  EXPECT_NE(e.out.find("socket: AF_UNIX only; type SOCK_STREAM only"), std::string::npos) << e.out;
  EXPECT_NE(e.out.find("mprotect: no PROT_EXEC"), std::string::npos) << e.out;
  // add takes a value; the edited profile lets that family through and no other.
  auto a = run({tool("nucleus-profile").string(), "add", profile, "socket:AF_INET6"});
  ASSERT_EQ(a.exit_code, 0) << a.err;
  auto after = strict;
  after.insert(after.end(), {sample("probe").string(), "socket:10,1,0", "socket:2,1,0"});
  r = run(after);
  lines = nucleus::test::probe_lines(r.out);
  ASSERT_EQ(lines.size(), 2u) << r.out;
  EXPECT_EQ(lines[0]["errno"].get<int>(), 0) << lines[0].dump();
  EXPECT_EQ(lines[1]["errno"].get<int>(), EPERM) << lines[1].dump();
}
