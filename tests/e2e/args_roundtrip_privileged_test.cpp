// Argument-conditioned profiles from the real recorder, for every sample and a few Debian programs
// (an interpreter, two compressors, one of them multi-threaded, a fork-exec chain): nucleus-trace
// with the eBPF recorder -> gen -> nucleus-run runs the same command with the same output and no
// denial; the profile conditions the argument-sensitive calls the program made; and it allows no
// name that Docker's default refuses, except the ones a workload was asked to make. Each case
// prints one row of the README's table (lines starting with "| "):
//   build/dev/tests/e2e_privileged_tests --gtest_filter='Workloads/ArgsRoundTripPrivileged.*' | grep '^| '
#include "e2e_support.hpp"

#include "nucleus/profile/args.hpp"
#include "nucleus/profile/check.hpp"
#include "nucleus/profile/oci.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <iostream>
#include <map>
#include <set>
#include <sys/stat.h>

using nlohmann::json;
using nucleus::test::run;
using nucleus::test::sample;
using nucleus::test::tool;

namespace {

struct Workload {
  std::string name;
  std::vector<std::string> argv; // "INPUT" stands for a data file the test writes
  // Names the profile must allow only under argument conditions.
  std::set<std::string> conditioned;
  // Names the profile may allow although Docker's default does not, and why.
  std::map<std::string, std::string> beyond_docker;
  bool probe_output = false; // pids and descriptor numbers differ between runs: compare errnos
};

// How gtest (and so ctest) names a case: by its name, not by its bytes.
void PrintTo(const Workload& w, std::ostream* os) { *os << w.name; }

// Waits for the waiter's "ready" on a fifo, sends it SIGUSR1 and prints what it saw.
constexpr const char* waiter_driver =
    "f=$(mktemp -u) && mkfifo \"$f\" || exit 1\n"
    "\"$0\" /bin/true >\"$f\" &\n"
    "read r <\"$f\"; kill -USR1 $!; wait $!; c=$?; rm -f \"$f\"; echo \"waiter: $r, exit $c\"\n";

std::vector<Workload> workloads() {
  const std::set<std::string> memory{"mmap", "mprotect"};
  auto with = [&](std::set<std::string> more) {
    more.insert(memory.begin(), memory.end());
    return more;
  };
  return {
      {"probe", {sample("probe").string(), "getpid", "uname", "socket:1,1,0"}, with({"socket"}), {}, true},
      {"threads", {sample("threads").string(), "4"}, with({"clone"}), {}},
      {"forkexec", {sample("forkexec").string()}, with({"clone"}), {}},
      {"echo", {sample("echo").string(), "round-trip"}, with({"clone", "socket"}), {}},
      {"shortlived", {sample("shortlived").string(), "20"}, with({"clone"}), {}},
      {"burst", {sample("burst").string(), "--threads", "2", "--count", "20000"}, with({"clone"}), {}},
      {"files", {sample("files").string()}, memory, {}},
      {"waiter", {"/bin/sh", "-c", waiter_driver, sample("waiter").string()}, with({"clone", "ioctl"}), {}},
      {"forge", {sample("forge").string()}, with({"prctl"}), {}},
      {"python3",
       {"/usr/bin/python3", "-I", "-c",
        "import hashlib, json, sys\n"
        "print(json.dumps({'sha256': hashlib.sha256(open(sys.argv[1], 'rb').read()).hexdigest()}))",
        "INPUT"},
       with({"ioctl"}),
       {}},
      {"gzip", {"/bin/gzip", "-c", "INPUT"}, memory, {}},
      // Two blocks of 64 KiB on two threads: a multi-threaded run. Into a file, whose digest is
      // the output: on a pipe xz calls poll() only when the pipe happens to be full, which two
      // traced runs may not show (the strict run was then denied poll).
      {"xz",
       {"/bin/sh", "-c",
        "f=$(mktemp) && /usr/bin/xz -T2 --block-size=65536 -c \"$0\" > \"$f\" && sha256sum < \"$f\" && rm \"$f\"",
        "INPUT"},
       with({"clone", "ioctl"}),
       {}},
      {"sh-pipe", {"/bin/sh", "-c", "ls /etc | wc -l"}, with({"clone", "ioctl"}), {}},
  };
}

std::string join(const std::set<std::string>& names, std::size_t limit = SIZE_MAX) {
  std::string out;
  std::size_t n = 0;
  for (const auto& name : names) {
    if (n++ == limit) return out + ", ...";
    out += (out.empty() ? "" : ", ") + name;
  }
  return out.empty() ? "none" : out;
}

// The names a profile allows, whatever the conditions; and those it allows only under conditions.
std::set<std::string> allowed_names(const json& profile) {
  std::set<std::string> out;
  for (const auto& e : profile["syscalls"])
    if (e["action"] == "SCMP_ACT_ALLOW")
      for (const auto& n : e["names"]) out.insert(n.get<std::string>());
  return out;
}
std::set<std::string> conditioned_names(const json& profile) {
  std::set<std::string> any, unconditioned;
  for (const auto& e : profile["syscalls"]) {
    if (e["action"] != "SCMP_ACT_ALLOW") continue;
    bool has_args = e.contains("args") && !e["args"].empty();
    for (const auto& n : e["names"]) (has_args ? any : unconditioned).insert(n.get<std::string>());
  }
  std::set<std::string> out;
  for (const auto& n : any)
    if (unconditioned.count(n) == 0) out.insert(n);
  return out;
}

class ArgsRoundTripPrivileged : public ::testing::TestWithParam<Workload> {
protected:
  void SetUp() override {
    NUCLEUS_REQUIRE_ROOT();
    // Some megabytes of varied bytes, so that xz makes two blocks and gzip has work to do.
    auto text = nucleus::test::read_text("/usr/bin/python3");
    input_ = dir / "input.bin";
    nucleus::test::write_text(input_, text.substr(0, std::min<std::size_t>(text.size(), 256 * 1024)));
    ::chmod(input_.c_str(), 0644);
  }
  std::vector<std::string> argv() const {
    auto out = GetParam().argv;
    for (auto& a : out)
      if (a == "INPUT") a = input_.string();
    return out;
  }
  // The tool, the trusted level, the build tree and the test folder bound read-only (both may lie
  // under /tmp, which the sandbox replaces), then `args`, then the command.
  std::vector<std::string> tool_argv(const std::string& name, std::vector<std::string> args) const {
    std::vector<std::string> out{
        tool(name).string(), "--trust-level=trusted", "--ro", nucleus::test::binary_dir().string(), "--ro",
        dir.path().string()};
    out.insert(out.end(), args.begin(), args.end());
    out.push_back("--");
    auto cmd = argv();
    out.insert(out.end(), cmd.begin(), cmd.end());
    return out;
  }
  nucleus::test::TempDir dir;
  std::filesystem::path input_;
};

void expect_same_output(const Workload& w, const nucleus::test::RunResult& got, const nucleus::test::RunResult& want) {
  EXPECT_EQ(got.exit_code, want.exit_code) << got.err;
  if (!w.probe_output) {
    EXPECT_EQ(got.out, want.out);
    return;
  }
  auto g = nucleus::test::probe_lines(got.out), e = nucleus::test::probe_lines(want.out);
  ASSERT_EQ(g.size(), e.size()) << got.out;
  for (std::size_t i = 0; i < g.size(); ++i) EXPECT_EQ(g[i]["errno"], e[i]["errno"]) << g[i].dump();
}

} // namespace

TEST_P(ArgsRoundTripPrivileged, TracedProfileRunsTheSameCommandAndConditionsWhatItSaw) {
  const Workload& w = GetParam();
  auto direct = run(argv(), {}, 120);
  ASSERT_EQ(direct.exit_code, 0) << direct.err;

  // Two traced runs, as a user would make for a workload whose calls vary with timing.
  std::vector<std::string> traces;
  nucleus::test::RunResult traced;
  for (int i = 0; i < 2; ++i) {
    auto path = (dir / (w.name + std::to_string(i) + ".trace")).string();
    auto r = run(tool_argv("nucleus-trace", {"--source", "ebpf", "-q", "-o", path}), {}, 120);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    expect_same_output(w, r, direct);
    auto t = nucleus::test::read_trace_file(path);
    EXPECT_EQ(t.header["source"], "ebpf");
    EXPECT_EQ(t.header.value("arguments", false), true) << t.header.dump();
    EXPECT_EQ(t.summary["lost"].get<int>(), 0) << t.summary.dump();
    traces.push_back(path);
    if (i == 0) traced = r;
  }

  auto profile_path = (dir / (w.name + ".json")).string();
  std::vector<std::string> gen{tool("nucleus-profile").string(), "gen", "-o", profile_path};
  gen.insert(gen.end(), traces.begin(), traces.end());
  auto g = run(gen);
  ASSERT_EQ(g.exit_code, 0) << g.err;
  auto profile = json::parse(nucleus::test::read_text(profile_path));
  auto allowed = allowed_names(profile);
  auto conditioned = conditioned_names(profile);
  for (const auto& name : w.conditioned)
    EXPECT_TRUE(conditioned.count(name)) << name << " is not conditioned: " << profile.dump(2);
  // An argument-sensitive name allowed whatever its arguments would be a hole the trace could have
  // closed: every one the program made comes out conditioned.
  for (const auto& name : allowed) {
    if (nucleus::profile::sensitive_args_of(name).empty()) continue;
    EXPECT_TRUE(conditioned.count(name)) << name << " is allowed without conditions\n" << g.err;
  }

  // The same command under the profile: the same output and exit code, and no denial.
  auto strict = run(tool_argv("nucleus-run", {"--profile", profile_path}), {}, 120);
  expect_same_output(w, strict, traced);
  EXPECT_EQ(strict.err.find("denied"), std::string::npos) << strict.err;

  // Against Docker's default on the same program: names it allows that the profile does not, and
  // the other way round (only what a workload was asked to make).
  auto docker_json = nucleus::test::docker_default_resolved();
  auto docker = allowed_names(docker_json);
  auto docker_conditioned = conditioned_names(docker_json);
  std::set<std::string> docker_only, beyond;
  for (const auto& n : docker)
    if (allowed.count(n) == 0) docker_only.insert(n);
  for (const auto& n : allowed)
    if (docker.count(n) == 0) beyond.insert(n);
  for (const auto& n : beyond) {
    EXPECT_TRUE(w.beyond_docker.count(n)) << n << " is allowed by the generated profile, not by Docker's default";
  }
  std::set<std::string> risky_docker_only, tighter;
  for (const auto& r : nucleus::profile::risky_syscalls())
    if (docker_only.count(std::string(r.name))) risky_docker_only.insert(std::string(r.name));
  for (const auto& n : conditioned)
    if (docker.count(n) && docker_conditioned.count(n) == 0) tighter.insert(n);
  std::string extra = beyond.empty() ? "none" : "";
  for (const auto& n : beyond) extra += (extra.empty() ? "" : ", ") + n + " (" + w.beyond_docker.at(n) + ")";
  std::cout << "| `" << w.name << "` | " << allowed.size() << " | " << conditioned.size() << " (" << join(conditioned)
            << ") | " << join(tighter) << " | " << docker_only.size()
            << " (risky among them: " << join(risky_docker_only, 8) << ") | " << extra << " |" << std::endl;
}

INSTANTIATE_TEST_SUITE_P(Workloads, ArgsRoundTripPrivileged, ::testing::ValuesIn(workloads()),
                         [](const ::testing::TestParamInfo<Workload>& param) {
                           std::string name = param.param.name;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });
