// Per-syscall cost of strict mode: getppid() in a loop with no filter (the baseline), under a
// small generated-style allowlist, under Docker's default profile, and under the trace filter
// (LOG default). A filter cannot be removed once installed, so each measurement runs in a fresh
// child process; Google Benchmark gets the child's time as manual time. At the end the ratios
// against the baseline of the same run are printed.
//
// Run: build/release/bench/filter_cost_bench [--docker-default PATH]
#include "nucleus/profile/oci.hpp"
#include "nucleus/sandbox/filter.hpp"

#include <benchmark/benchmark.h>

#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <optional>
#include <string>

namespace {

using namespace nucleus;

constexpr long calls_per_batch = 500000;
std::string docker_default_path = "../shared/testdata/docker-seccomp/default.json";

std::optional<sandbox::BpfProgram> program_for(const std::string& mode) {
  if (mode == "none") return std::nullopt;
  if (mode == "trace-log") {
    core::Policy p;
    p.default_action = core::Action::log();
    sandbox::CompileOptions complain;
    complain.complain = true;
    // getppid would be logged on every call under a bare LOG filter: that is the trace cost, not
    // the filter's, so the benchmark allows it as a --baseline trace of a known workload would.
    p.rules.push_back({{"getppid"}, core::Action::allow(), {}, ""});
    return sandbox::compile(p, complain);
  }
  if (mode == "small-allowlist") {
    core::Policy p; // the shape nucleus-profile gen writes for a small program
    p.rules.push_back(
        {{"arch_prctl", "brk", "close", "execve", "exit", "exit_group", "fstat", "getppid", "mmap", "mprotect",
          "munmap", "newfstatat", "openat", "pread64", "read", "restart_syscall", "rt_sigreturn", "write"},
         core::Action::allow(),
         {},
         ""});
    p.flags = {core::FilterFlag::log};
    return sandbox::compile(p);
  }
  auto loaded = profile::load_profile(docker_default_path);
  return sandbox::compile(loaded.policy);
}

// Nanoseconds per getppid() in a child under `program`.
double measure_in_child(const std::optional<sandbox::BpfProgram>& program) {
  int fds[2];
  if (::pipe(fds) != 0) return -1;
  pid_t pid = ::fork();
  if (pid == 0) {
    if (program && sandbox::install_filter(*program) != 0) ::_exit(1);
    auto start = std::chrono::steady_clock::now();
    for (long i = 0; i < calls_per_batch; ++i) ::syscall(SYS_getppid);
    double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count();
    ns /= calls_per_batch;
    if (::write(fds[1], &ns, sizeof ns) != sizeof ns) ::_exit(2);
    ::_exit(0);
  }
  ::close(fds[1]);
  double ns = -1;
  if (::read(fds[0], &ns, sizeof ns) != sizeof ns) ns = -1;
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return ns;
}

void BM_Getppid(benchmark::State& state, const std::string& mode) {
  auto program = program_for(mode);
  if (program) state.counters["bpf_insns"] = static_cast<double>(program->size());
  for (auto _ : state) {
    double ns = measure_in_child(program);
    if (ns < 0) {
      state.SkipWithError("the child could not install the filter");
      break;
    }
    state.SetIterationTime(ns * 1e-9);
  }
}

class RatioReporter : public benchmark::ConsoleReporter {
public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const auto& run : runs)
      if (run.run_type == Run::RT_Aggregate ? run.aggregate_name == "median" : true)
        ns_[run.run_name.str()] = run.GetAdjustedRealTime();
  }
  void print_ratios() const {
    double base = 0;
    for (const auto& [name, ns] : ns_)
      if (name.find("/none") != std::string::npos) base = ns;
    if (base <= 0) return;
    std::printf("\nper-syscall cost against no filter (same run):\n");
    for (const auto& [name, ns] : ns_) std::printf("  %-40s %8.1f ns  x%.2f\n", name.c_str(), ns, ns / base);
  }

private:
  std::map<std::string, double> ns_;
};

} // namespace

int main(int argc, char** argv) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], "--docker-default") == 0) docker_default_path = argv[i + 1];
  for (const char* mode : {"none", "small-allowlist", "docker-default", "trace-log"}) {
    std::string m = mode;
    benchmark::RegisterBenchmark(("getppid/" + m).c_str(), [m](benchmark::State& s) { BM_Getppid(s, m); })
        ->UseManualTime()
        ->Unit(benchmark::kNanosecond)
        ->Iterations(5)
        ->Repetitions(3)
        ->ReportAggregatesOnly(true);
  }
  benchmark::Initialize(&argc, argv);
  RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  reporter.print_ratios();
  return 0;
}
