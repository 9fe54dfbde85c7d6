// nucleus-trace: trace mode. Runs a command with a filter whose default action is LOG and records
// every syscall of it and all its children, from the kernel's audit records, into a trace log.
#include "cli.hpp"
#include "sandbox_flags.hpp"

#include "nucleus/profile/oci.hpp"
#include "nucleus/sandbox/filter.hpp"
#include "nucleus/sandbox/io.hpp"
#include "nucleus/sandbox/isolation.hpp"
#include "nucleus/sandbox/spawn.hpp"
#include "nucleus/tracer/aggregate.hpp"
#include "nucleus/tracer/monitor.hpp"
#include "nucleus/tracer/trace_log.hpp"

#include <CLI/CLI.hpp>

#include <sys/utsname.h>
#include <unistd.h>

#include <ctime>
#include <iostream>

namespace {

using namespace nucleus;
constexpr std::string_view tool = "nucleus-trace";

struct Options {
  std::string output = "trace.log";
  std::string source = "auto";
  std::string baseline;
  bool allow_loss = false;
  bool quiet = false;
  std::vector<std::string> command;
  cli::SandboxFlags sandbox;
};

// The kernel logs SCMP_ACT_LOG only while "log" is in kernel.seccomp.actions_logged.
void require_log_action_logged() {
  std::string logged;
  try {
    logged = sandbox::read_file("/proc/sys/kernel/seccomp/actions_logged");
  } catch (const sandbox::Error&) {
    return; // older kernels have no such file and always log
  }
  if (logged.find("log") == std::string::npos)
    throw sandbox::Error(sandbox::ErrorKind::unsupported,
                         "the kernel is set not to log seccomp LOG actions, so a trace would record nothing",
                         "add it: echo '" + logged.substr(0, logged.find('\n')) +
                             " log' > /proc/sys/kernel/seccomp/actions_logged");
}

sandbox::BpfProgram trace_filter(const Options& opt) {
  sandbox::CompileOptions complain;
  complain.complain = true; // everything the baseline does not allow is logged, never denied
  if (opt.baseline.empty()) {
    sandbox::Policy log_all;
    log_all.default_action = sandbox::Action::log();
    return sandbox::compile(log_all, complain);
  }
  auto loaded = profile::load_profile(opt.baseline);
  for (const auto& w : loaded.warnings) cli::warn(tool, opt.baseline + ": " + w.path + ": " + w.message);
  return sandbox::compile(loaded.policy, complain);
}

int run(const Options& opt) {
  require_log_action_logged();
  // Opened before the workload exists: nothing it does to paths can redirect this write.
  const auto output = sandbox::OutputPath::open(opt.output);
  sandbox::BpfProgram program = trace_filter(opt);
  auto isolation = cli::prepare_sandbox(tool, opt.sandbox, sandbox::RunMode::trace, opt.command);
  const bool live = !opt.quiet && ::isatty(STDERR_FILENO) != 0;
  const std::string started_at = cli::utc_now();

  tracer::Aggregator aggregator;
  tracer::MonitorOptions mon;
  mon.argv = isolation.argv();
  mon.filter = &program;
  mon.pre_exec = isolation.pre_exec();
  mon.pre_exec_context = isolation.context();
  mon.source = cli::parse_source(opt.source);
  mon.on_record = [&](const tracer::SeccompRecord& rec) { aggregator.add(rec); };
  if (live) {
    mon.on_tick = [&] {
      std::cerr << "\r" << tool << ": " << aggregator.events() << " events, " << aggregator.distinct()
                << " distinct syscalls" << std::flush;
    };
  }
  tracer::MonitorResult result = tracer::run_monitored(mon);
  if (live) std::cerr << "\r\033[K";

  if (auto note = isolation.exit_note(result.wait_status); !note.empty()) cli::warn(tool, note);
  if (!result.source_note.empty()) cli::warn(tool, result.source_note);
  if (result.attribution == tracer::Attribution::process_tree)
    cli::warn(tool, "could not start a new audit session (writing /proc/self/loginuid needs CAP_AUDIT_CONTROL "
                    "outside a user namespace): records were matched by process tree, and processes that "
                    "exited within microseconds may be missing");

  tracer::Trace trace;
  utsname uts{};
  ::uname(&uts);
  trace.header = {opt.command, result.source, uts.release, started_at, opt.baseline};
  trace.syscalls = aggregator.entries();
  trace.summary = tracer::TraceSummary{aggregator.events(), aggregator.distinct(), result.loss.lost,
                                       result.exit_code, static_cast<std::uint64_t>(result.duration.count()),
                                       result.unparsed};
  output.write_atomic(tracer::write_trace(trace));

  if (!opt.quiet) {
    std::cerr << tool << ": " << aggregator.events() << " events, " << aggregator.distinct()
              << " distinct syscalls, " << result.loss.lost << " lost, exit code " << result.exit_code
              << ", " << result.duration.count() << " ms, source " << result.source << "\n";
    auto top = aggregator.most_frequent(5);
    if (!top.empty()) {
      std::cerr << tool << ": most frequent:";
      for (const auto& [name, count] : top) std::cerr << " " << name << " " << count << ";";
      std::cerr << "\n";
    }
    std::cerr << tool << ": trace written to " << opt.output << "\n";
  }
  if (result.loss.any()) {
    std::cerr << tool << ": " << (opt.allow_loss ? "warning" : "error") << ": the trace is incomplete: "
              << result.loss.detail << "\n";
    if (!opt.allow_loss) {
      std::cerr << tool << ": hint: re-run (use --source netlink as root for a lossless trace), or accept "
                           "the loss with --allow-loss\n";
      return sandbox::exit_nucleus_failed;
    }
  }
  return result.exit_code;
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"Run a command in trace mode and record every syscall it and all its children make,\n"
               "from the kernel's own audit records, into a trace log (NDJSON).",
               "nucleus-trace"};
  app.footer(R"(Examples:
  nucleus-trace ./app                          # writes trace.log
  nucleus-trace -o app.trace -- ./app --serve  # options go before the command; -- is optional
  nucleus-trace --baseline app.json -o new.trace -- ./app   # record only what app.json does not allow
  nucleus-profile gen app.trace -o app.json
  nucleus-trace --rw ./work -o ./work/app.trace -- ./app    # written into ./work as opened at the start

The workload is host uid/gid 65534 (or --host-id) as under nucleus-run; setting set-id bits and
TIOCSTI/TIOCLINUX are refused in trace mode too.

Exit status: the command's own (128+N for signal N); 125 when tracing failed or records were
lost (unless --allow-loss); 126 not executable; 127 not found.)");
  Options opt;
  app.add_option("-o,--output", opt.output, "trace log to write (atomically)")->capture_default_str();
  app.add_option("--source", opt.source,
                 "audit record source: auto (netlink, else kmsg), netlink (lossless), kmsg")
      ->check(CLI::IsMember({"auto", "netlink", "kmsg"}))
      ->capture_default_str();
  app.add_option("--baseline", opt.baseline,
                 "profile whose allowed syscalls run unlogged: the trace holds only the rest");
  app.add_flag("--allow-loss", opt.allow_loss, "exit with the command's code even if records were lost");
  app.add_flag("-q,--quiet", opt.quiet, "no progress and no summary on stderr");
  nucleus::cli::add_sandbox_flags(app, opt.sandbox);
  app.prefix_command();
  try {
    app.parse(argc, argv);
    opt.command = app.remaining();
    if (!opt.command.empty() && opt.command.front() == "--") opt.command.erase(opt.command.begin());
    if (opt.command.empty()) throw CLI::RequiredError("a command to trace (after the options)");
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : nucleus::sandbox::exit_nucleus_failed;
  }
  return nucleus::cli::guarded_main(tool, nucleus::cli::workload_exit_code, [&] { return run(opt); });
}
