// nucleus-trace: trace mode. Runs a command with a filter whose default action is LOG and records
// every syscall of it and all its children, from the kernel's audit records, into a trace log; or,
// with --pid / --cgroup, records processes that run already with the eBPF recorder.
#include "cli.hpp"
#include "command_line.hpp"
#include "oci_hook.hpp"
#include "sandbox_flags.hpp"

#include "nucleus/core/text.hpp"
#include "nucleus/profile/oci.hpp"
#include "nucleus/sandbox/filter.hpp"
#include "nucleus/core/io.hpp"
#include "nucleus/sandbox/isolation.hpp"
#include "nucleus/sandbox/spawn.hpp"
#include "nucleus/core/syscalls.hpp"
#include "nucleus/core/aggregate.hpp"
#include "nucleus/tracer/ebpf.hpp"
#include "nucleus/tracer/monitor.hpp"
#include "nucleus/tracer/recorder.hpp"
#include "nucleus/core/trace_log.hpp"

#include <CLI/CLI.hpp>

#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <functional>
#include <filesystem>
#include <optional>
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
  bool no_behaviour = false; // --no-behaviour: syscall names only
  std::vector<std::string> command;
  cli::SandboxFlags sandbox;
  // An existing target instead of a command.
  int pid = 0;
  std::string cgroup;
  double duration = 0; // seconds; 0: until the target ends
  bool pid_given = false;
  bool duration_given = false;
  std::vector<std::string> sandbox_flags_given; // isolation flags on the command line
  // --oci-hook: a container's init, from its exec on (see oci_hook.hpp).
  cli::oci_hook::Options hook;
  bool hook_given = false;
  std::string hook_flag_given; // --trace-dir or --max-recorders, which apply to --oci-hook only
  bool await_exec = false;
  std::string target_name;        // the header's "target"; empty: from --pid / --cgroup
  std::function<void()> attached; // called once the target's calls count
};

// The --baseline profile, read once, its warnings said once.
std::optional<core::Policy> load_baseline(const Options& opt) {
  if (opt.baseline.empty()) return std::nullopt;
  auto loaded = profile::load_profile(opt.baseline);
  for (const auto& w : loaded.warnings) cli::warn(tool, opt.baseline + ": " + w.path + ": " + w.message);
  return std::move(loaded.policy);
}

// --pid: the workspace is the process's working directory when the trace starts.
std::vector<std::string> process_workspace(pid_t pid) {
  std::error_code ec;
  auto cwd = std::filesystem::read_symlink("/proc/" + std::to_string(pid) + "/cwd", ec);
  if (ec || !cwd.is_absolute()) return {};
  return {cwd.lexically_normal().string()};
}

// Where the traced command is meant to write: the working directory it starts in and its --rw
// folders (as it sees them), absolute; `review` takes it as the default workspace.
std::vector<std::string> command_workspace(const Options& opt) {
  std::vector<std::string> out;
  std::error_code ec;
  auto cwd = std::filesystem::current_path(ec);
  if (!ec) out.push_back(cwd.lexically_normal().string());
  for (const auto& rw : opt.sandbox.rw) {
    const auto colon = rw.find(':');
    const std::string seen = colon == std::string::npos ? rw : rw.substr(colon + 1);
    auto dir = std::filesystem::absolute(seen, ec).lexically_normal().string();
    while (dir.size() > 1 && dir.ends_with('/')) dir.pop_back();
    if (!ec && std::find(out.begin(), out.end(), dir) == out.end()) out.push_back(dir);
  }
  return out;
}

// The behaviour records of a recorder that made them, into the trace.
template <typename Recorded>
void add_behaviour(core::Trace& trace, Recorded& recorded) {
  if (!recorded.behaviour) return;
  trace.header.behaviour = true;
  trace.execs = std::move(recorded.execs);
  trace.files = std::move(recorded.files);
  trace.nets = std::move(recorded.nets);
  trace.summary->behaviour_dropped = recorded.behaviour_dropped;
}

// Loss (behaviour records past the cap among it), said once; true when the trace must fail for it.
bool report_loss(const Options& opt, const tracer::LossReport& loss, const std::string& hint) {
  if (!loss.any()) return false;
  std::cerr << tool << ": " << (opt.allow_loss ? "warning" : "error") << ": the trace is incomplete: " << loss.detail
            << "\n";
  if (opt.allow_loss) return false;
  std::cerr << tool << ": " << hint << "\n";
  return true;
}

// --pid / --cgroup: nothing is started, so no isolation applies, and only the eBPF recorder can
// attribute calls of processes that are not below a filter or an audit session of ours.
void check_existing_target(const Options& opt) {
  using core::Error;
  using core::ErrorKind;
  const std::string flag = opt.pid_given ? "--pid" : "--cgroup";
  if (!opt.command.empty())
    throw Error(ErrorKind::usage, flag + " records processes that run already, so it takes no command",
                "drop " + flag + " to run and trace a command, or drop the command");
  if (!opt.sandbox_flags_given.empty())
    throw Error(ErrorKind::usage,
                opt.sandbox_flags_given.front() + " sets up the sandbox of a command nucleus starts; " + flag +
                    " records processes that run already, as they are",
                "drop " + opt.sandbox_flags_given.front());
  if (opt.source != "auto" && opt.source != "ebpf")
    throw Error(ErrorKind::usage, flag + " needs the eBPF recorder, not --source " + opt.source,
                "drop --source, or give --source ebpf");
  if (opt.duration_given && !(opt.duration > 0))
    throw Error(ErrorKind::usage, "--duration must be a positive number of seconds");
}

int run_existing(const Options& opt) {
  check_existing_target(opt);
  const auto output = core::OutputPath::open(opt.output);
  const std::string flag = opt.pid_given ? "--pid" : "--cgroup";
  if (auto why = tracer::ebpf_attach_unavailable())
    throw core::Error(core::ErrorKind::unsupported, flag + " needs the eBPF recorder, which cannot run here: " + *why,
                      "run nucleus-trace as root on an x86_64 kernel with BTF (5.18+)");
  std::optional<core::Policy> baseline;
  if (!opt.baseline.empty()) baseline = profile::load_profile(opt.baseline).policy;
  tracer::EbpfAttachOptions target;
  std::string target_name = opt.target_name;
  if (opt.pid_given) {
    target.pid = opt.pid;
    target.await_exec = opt.await_exec;
    if (target_name.empty()) target_name = "pid " + std::to_string(opt.pid);
  } else {
    target.cgroup = std::filesystem::absolute(opt.cgroup).lexically_normal().string();
    while (target.cgroup.size() > 1 && target.cgroup.ends_with('/')) target.cgroup.pop_back();
    target_name = "cgroup " + target.cgroup;
  }
  if (opt.duration_given) target.duration = std::chrono::milliseconds(static_cast<std::int64_t>(opt.duration * 1000.0));
  target.on_attached = [&] {
    if (opt.attached) opt.attached();
    if (opt.quiet) return;
    std::cerr << tool << ": recording " << target_name
              << (opt.pid_given ? " and its descendants until it exits" : " and the cgroups below it until it is empty")
              << (opt.duration_given ? " or the duration ends" : "") << " (Ctrl-C ends the trace)" << std::endl;
  };
  const std::string started_at = cli::utc_now();
  const auto workspace = opt.pid_given ? process_workspace(opt.pid) : std::vector<std::string>{};
  // No filter of ours on processes that run already: only what reaches sys_enter is counted.
  auto recorder = tracer::EbpfRecorder::open(baseline ? &*baseline : nullptr, {}, true, {!opt.no_behaviour, true});
  auto counted = recorder.record_existing(target);
  if (opt.await_exec && counted.awaited_execs == 0)
    throw core::Error(core::ErrorKind::not_found,
                      target_name + ": its process never started (the container was deleted before it ran, or its "
                                    "init failed), so no trace was written");
  core::Aggregator aggregator;
  for (const auto& entry : counted.syscalls) aggregator.add(entry);
  const tracer::MonitorResult& result = counted.run;

  core::Trace trace;
  utsname uts{};
  ::uname(&uts);
  trace.header = {{}, result.source, uts.release, started_at, opt.baseline, true};
  trace.header.target = target_name;
  trace.header.warnings = counted.warnings;
  trace.header.container = opt.await_exec;
  for (const auto& w : counted.warnings) cli::warn(tool, w);
  trace.syscalls = aggregator.entries();
  trace.summary = cli::trace_summary(aggregator, result);
  trace.header.workspace = workspace;
  add_behaviour(trace, counted);
  output.write_atomic(core::write_trace(trace));
  if (!opt.quiet) {
    std::cerr << tool << ": " << aggregator.events() << " events, " << aggregator.distinct() << " distinct syscalls, "
              << result.loss.lost << " lost, "
              << (opt.pid_given && result.wait_status >= 0 ? "exit code " + std::to_string(result.exit_code) + ", "
                                                           : "")
              << result.duration.count() << " ms, source " << result.source << "\n";
    std::cerr << tool << ": trace written to " << opt.output << "\n";
  }
  if (report_loss(opt, result.loss, "hint: re-run, or accept the loss with --allow-loss"))
    return sandbox::exit_nucleus_failed;
  return 0;
}

// --oci-hook: the hook reads the container's state; its recorder is run_existing on the
// container's init, waiting for its exec.
int run_hook(const Options& opt) {
  std::string conflict;
  if (!opt.command.empty()) conflict = "a command";
  else if (opt.pid_given || !opt.cgroup.empty()) conflict = opt.pid_given ? "--pid" : "--cgroup";
  else if (opt.duration_given) conflict = "--duration";
  else if (!opt.sandbox_flags_given.empty()) conflict = opt.sandbox_flags_given.front();
  if (!conflict.empty())
    throw core::Error(core::ErrorKind::usage,
                      "--oci-hook takes its target from the container's state on standard input, not " + conflict,
                      "drop " + conflict);
  return cli::oci_hook::run(opt.hook,
                            [&](const cli::oci_hook::Recording& recording, const std::function<void()>& attached) {
                              Options recorder = opt;
                              recorder.pid = recording.pid;
                              recorder.pid_given = true;
                              recorder.output = recording.output;
                              recorder.await_exec = true;
                              recorder.target_name = recording.target;
                              recorder.attached = attached;
                              try {
                                return run_existing(recorder);
                              } catch (...) {
                                ::unlink(recording.output.c_str()); // the name the hook claimed for this container
                                throw;
                              }
                            });
}

// A command's trace: standard output is the command's too.
core::OutputPath open_command_output(const std::string& path) {
  if (path == "-")
    throw core::Error(core::ErrorKind::usage,
                      "-o -: the traced command writes to the same standard output, so the trace could not be told "
                      "from its output",
                      "give the trace a file: -o app.trace");
  return core::OutputPath::open(path);
}

// The guard refused io_uring; the trace shows it, and this says how to allow it.
void note_refused_io_uring(const Options& opt, const core::Trace& trace) {
  if (opt.sandbox.allow_io_uring) return;
  if (std::none_of(trace.syscalls.begin(), trace.syscalls.end(),
                   [](const auto& s) { return s.name == "io_uring_setup"; }))
    return;
  std::cerr << tool
            << ": note: the command tried io_uring, which was refused (EPERM): its operations bypass seccomp; "
               "to allow it: --allow-io-uring here and in nucleus-run, and nucleus-profile gen --allow-io-uring\n";
}

int run(const Options& opt) {
  if (opt.hook_given) return run_hook(opt);
  if (!opt.hook_flag_given.empty())
    throw core::Error(core::ErrorKind::usage, opt.hook_flag_given + " applies to --oci-hook only",
                      opt.hook_flag_given == "--trace-dir" ? "give the trace's path with -o" : "leave it out");
  if (opt.pid_given || !opt.cgroup.empty()) return run_existing(opt);
  if (opt.duration_given)
    throw core::Error(core::ErrorKind::usage, "--duration applies to --pid and --cgroup only",
                      "a command is traced until it exits");
  // The recorder (tracer::TraceRecorder) chooses and falls back. The trusted level always runs the
  // workload on the host: the eBPF recorder starts loading first, so that the load overlaps the
  // sandbox's preparation as well as the workload's start.
  const std::optional<core::Policy> baseline = load_baseline(opt);
  tracer::TraceRecorder recorder(opt.source, baseline ? &*baseline : nullptr, opt.sandbox.allow_io_uring,
                                 {!opt.no_behaviour});
  const bool trusted = opt.sandbox.trust_level == "trusted";
  if (trusted) recorder.start_ebpf();
  // Opened before the workload exists: nothing it does to paths can redirect this write.
  const auto output = open_command_output(opt.output);
  auto isolation = cli::prepare_sandbox(tool, opt.sandbox, sandbox::RunMode::trace, opt.command);
  const bool under_gvisor = isolation.backend() == sandbox::Backend::gvisor;
  if (!under_gvisor) recorder.start_ebpf();
  const bool live = !opt.quiet && ::isatty(STDERR_FILENO) != 0;
  const std::string started_at = cli::utc_now();

  core::Aggregator aggregator;
  tracer::MonitorOptions mon;
  mon.argv = isolation.argv();
  mon.pre_exec = isolation.pre_exec();
  mon.pre_exec_context = isolation.context();
  mon.env = isolation.environment();
  mon.pass_fds = isolation.pass_fds();
  if (under_gvisor)
    mon.gvisor = tracer::MonitorOptions::Gvisor{isolation.argv().front(), cli::resolve_command(opt.command.front()),
                                                false, [](const std::string& note) { cli::warn(tool, note); }};
  if (under_gvisor) mon.gvisor->behaviour = !opt.no_behaviour;
  mon.on_record = [&](const core::SeccompRecord& rec) { aggregator.add(rec); };
  if (live) {
    mon.on_tick = [&] {
      // nucleus's own carriage return goes past the escaping of std::cerr, straight to the terminal.
      std::string line = "\r" + std::string(tool) + ": " + std::to_string(aggregator.events()) + " events, " +
                         std::to_string(aggregator.distinct()) + " distinct syscalls";
      cli::to_terminal(line);
    };
  }
  tracer::TracedRun traced = recorder.run(std::move(mon));
  if (live) cli::to_terminal("\r\033[K");
  for (const auto& entry : traced.counted) aggregator.add(entry);
  const tracer::MonitorResult& result = traced.run;

  if (auto note = isolation.exit_note(result.wait_status); !note.empty()) cli::warn(tool, note);
  if (!result.source_note.empty()) cli::warn(tool, result.source_note);
  if (result.attribution == tracer::Attribution::process_tree)
    cli::warn(tool, "could not start a new audit session (writing /proc/self/loginuid needs CAP_AUDIT_CONTROL "
                    "outside a user namespace): records were matched by process tree, and processes that "
                    "exited within microseconds may be missing");

  core::Trace trace;
  utsname uts{};
  ::uname(&uts);
  trace.header = {opt.command, result.source, uts.release, started_at, opt.baseline, result.arguments};
  trace.header.runtime = result.runtime;
  trace.syscalls = aggregator.entries();
  trace.summary = cli::trace_summary(aggregator, result);
  trace.header.workspace = command_workspace(opt);
  if (result.behaviour) { // gVisor's recorder
    trace.header.behaviour = true;
    trace.execs = result.behaviour->execs();
    trace.files = result.behaviour->files();
    trace.nets = result.behaviour->nets();
    trace.summary->behaviour_dropped = result.behaviour->dropped();
    if (under_gvisor)
      trace.header.warnings.push_back(
          "paths are as the workload saw them inside gVisor's sandbox: the host's files under its read-only root and "
          "the --ro and --rw folders (SRC:DST shows SRC's files under DST), but /tmp, /dev, /run and the --tmpfs "
          "folders are the sandbox's own, which the host never sees");
  } else {
    add_behaviour(trace, traced); // the eBPF recorder's
  }
  output.write_atomic(core::write_trace(trace));

  if (!opt.quiet) {
    std::cerr << tool << ": " << aggregator.events() << " events, " << aggregator.distinct() << " distinct syscalls, "
              << result.loss.lost << " lost, exit code " << result.exit_code << ", " << result.duration.count()
              << " ms, source " << result.source;
    if (traced.ebpf_setup)
      std::cerr << " (attached in " << static_cast<double>(traced.ebpf_setup->first.count()) / 1000.0 << " ms, "
                << static_cast<double>(traced.ebpf_setup->second.count()) / 1000.0 << " ms CPU)";
    std::cerr << "\n";
    auto top = aggregator.most_frequent(5);
    if (!top.empty()) {
      std::cerr << tool << ": most frequent:";
      for (const auto& [name, count] : top) std::cerr << " " << name << " " << count << ";";
      std::cerr << "\n";
    }
    std::cerr << tool << ": trace written to " << opt.output << "\n";
    note_refused_io_uring(opt, trace);
    if (under_gvisor)
      std::cerr << tool << ": recorded under gVisor (" << result.runtime
                << "): what gVisor's kernel served. On a host kernel the same program also reads the clock "
                   "through the vDSO (no syscall) and may take paths gVisor refused with ENOSYS or EINVAL; check "
                   "a profile for the host with nucleus-run --complain --trust-level trusted\n";
  }
  if (report_loss(opt, result.loss,
                  under_gvisor ? "hint: re-run, or accept the loss with --allow-loss"
                               : "hint: re-run (use --source netlink as root for a lossless trace), or "
                                 "accept the loss with --allow-loss"))
    return sandbox::exit_nucleus_failed;
  return result.exit_code;
}

// --help's text after the options: examples, the modes other than a command, the exit status.
constexpr const char* footer = R"(Examples:
  nucleus-trace ./app                          # writes trace.log; under gVisor (default --trust-level untrusted)
  nucleus-trace --trust-level trusted ./app    # on the host kernel, from its audit records
  nucleus-trace -o app.trace -- ./app --serve  # options go before the command; -- is optional
  nucleus-trace --baseline app.json -o new.trace -- ./app   # record only what app.json does not allow
  nucleus-trace --source ebpf -o app.trace ./app   # insist on the in-kernel recorder (fails if unavailable)
  nucleus-trace --trust-level trusted --env HTTP_PROXY --pass-fd 3 -o app.trace -- ./app 3<in.db
  nucleus-profile gen app.trace -o app.json
  nucleus-trace --rw ./out -o ./out/app.trace -- ./app    # written into ./out as opened at the start
  nucleus-trace --pid 1234 -o app.trace        # a running process and its descendants, until it exits
  nucleus-trace --cgroup /sys/fs/cgroup/app.slice --duration 60 -o app.trace   # a cgroup v2 for 60 s
  nucleus-trace --oci-hook prestart < state.json   # as runc, crun, podman or CRI-O run it (see below)

--pid and --cgroup record processes that run already (as root, with the eBPF recorder), from the
moment the trace attaches: --pid every thread of that process and every process below it, forked
later too; --cgroup every process in that cgroup directory and below it (cgroup v2; a v1
directory is followed through its processes' forks and read again every 100 ms). The trace ends when the
process exits or the cgroup is empty, after --duration seconds, or on Ctrl-C/SIGTERM, and is then
written as usual. The sandbox flags do not apply to them: nothing is started.

--oci-hook records a container that a runtime runs, when the container has the annotation
io.nucleus.trace=NAME: installed for the prestart stage it starts recording the container's
process tree from the exec of its process (nothing of the runtime's own set-up), installed for
poststop it waits for the trace, prints its summary and exits with the recorder's status. The
trace goes to NAME below --trace-dir (a name outside it is refused: annotations are chosen by
whoever creates the container; an existing one too: no container replaces another's trace; "{id}"
in NAME is the container's id, for the containers of a pod, which all get its annotations). At most
--max-recorders containers are recorded at a time (each recording slows every system call on the
host): the prestart hook refuses one more that asks for a trace, and the runtime does not start it. Podman and CRI-O find the hooks in the package's hooks.d files.

The trace also holds the programs the command ran (path, argv), the files it asked for (and what:
read, write, create, ...) and the network endpoints it used, each with its result ("behaviour"
records, from the eBPF recorder and gVisor's stream; --no-behaviour leaves them out). At most 8192 distinct records are
kept; more fail the trace like loss.

The workload is host uid/gid 65534 (or --host-id) as under nucleus-run; setting set-id bits,
TIOCSTI/TIOCLINUX and io_uring (unless --allow-io-uring) are refused in trace mode too, and the
trace shows each refused io_uring call.

The workload's descriptors and environment follow the same rules as in nucleus-run (fds 0-2 plus
--pass-fd; PATH, LANG, LC_*, TERM, TZ, HOME=/tmp plus --env/--env-file), so a trace matches the strict run.

Exit status: the command's own (128+N for signal N); 125 when tracing failed or records were
lost (unless --allow-loss); 126 not executable; 127 not found.)";

} // namespace

int main(int argc, char** argv) {
  // Every message, note and denial line goes out through printable_lines(): a workload's or a
  // file's terminal sequences are shown, never obeyed (see text.hpp).
  nucleus::core::PrintableStream safe_out(std::cout), safe_err(std::cerr);
  CLI::App app{"Run a command in trace mode and record every syscall it and all its children make into a\n"
               "trace log (NDJSON): from gVisor's own record under gVisor (the default), from the kernel's\n"
               "audit records on the host (--trust-level trusted).",
               "nucleus-trace"};
  app.footer(footer);
  Options opt;
  app.add_option("-o,--output", opt.output,
                 "trace log to write (atomically; a regular file or a new name, never a device, FIFO or symlink); "
                 "- for standard output with --pid, --cgroup")
      ->capture_default_str();
  app.add_option("--source", opt.source,
                 "recorder: auto (gvisor under gVisor; on the host ebpf, else netlink, else kmsg), gvisor "
                 "(gVisor's own monitoring stream, the only one that sees an untrusted workload), ebpf "
                 "(in-kernel counting), netlink (audit records, lossless), kmsg")
      ->check(CLI::IsMember({"auto", "gvisor", "ebpf", "netlink", "kmsg"}))
      ->capture_default_str();
  app.add_option("--baseline", opt.baseline,
                 "profile whose allowed syscalls run unlogged: the trace holds only the rest");
  app.add_flag("--allow-loss", opt.allow_loss, "exit with the command's code even if records were lost");
  app.add_flag("-q,--quiet", opt.quiet, "no progress and no summary on stderr");
  app.add_flag("--no-behaviour", opt.no_behaviour,
               "record the syscalls' names and counts only, not the programs run, files and network endpoints "
               "behind them (the eBPF recorder then reads nothing of the workload's memory; gVisor's stream carries "
               "no behaviour points)");
  auto* pid = app.add_option("--pid", opt.pid, "record this running process and its descendants instead of a command")
                  ->type_name("PID");
  auto* cgroup =
      app.add_option("--cgroup", opt.cgroup,
                     "record every process of this cgroup directory (v2, or v1) and below it instead of a command")
          ->type_name("PATH");
  pid->excludes(cgroup);
  auto* duration =
      app.add_option("--duration", opt.duration, "with --pid or --cgroup: stop after SECS seconds")->type_name("SECS");
  auto* hook = app.add_option("--oci-hook", opt.hook.stage,
                              "run as an OCI runtime hook at STAGE (prestart, createRuntime, poststop): record the "
                              "container whose state is on standard input if it has the annotation "
                              "io.nucleus.trace=NAME")
                   ->type_name("STAGE")
                   ->check(CLI::IsMember({"prestart", "createRuntime", "poststop"}));
  auto* trace_dir = app.add_option("--trace-dir", opt.hook.trace_dir,
                                   "with --oci-hook: the directory the traces go to; NAME is taken there and may "
                                   "not leave it")
                        ->type_name("DIR")
                        ->capture_default_str();
  auto* max_recorders =
      app.add_option("--max-recorders", opt.hook.max_recorders,
                     "with --oci-hook: containers recorded at a time; one more that asks for a trace is refused and "
                     "not started (each recording slows every system call on the host)")
          ->type_name("N")
          ->check(CLI::Range(std::size_t{1}, std::size_t{1024}))
          ->capture_default_str();
  hook->excludes(pid);
  hook->excludes(cgroup);
  const auto before = app.get_options();
  nucleus::cli::add_sandbox_flags(app, opt.sandbox);
  std::vector<CLI::Option*> sandbox_flags;
  for (auto* o : app.get_options())
    if (std::find(before.begin(), before.end(), o) == before.end()) sandbox_flags.push_back(o);
  nucleus::cli::add_standard_options(
      app, {"record every system call a command and its children make", "[--] COMMAND [ARG]..."});
  try {
    // The first word that is not one of ours starts the command (`--` is optional).
    try {
      opt.command = nucleus::cli::parse_with_command(app, argc, argv, "a command to trace (after the options)");
    } catch (const CLI::RequiredError&) {
      // --pid, --cgroup and --oci-hook need no command
      if (pid->count() == 0 && cgroup->count() == 0 && hook->count() == 0) throw;
    }
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : nucleus::sandbox::exit_nucleus_failed;
  }
  opt.pid_given = pid->count() > 0;
  opt.hook_given = hook->count() > 0;
  if (trace_dir->count() > 0) opt.hook_flag_given = "--trace-dir";
  else if (max_recorders->count() > 0) opt.hook_flag_given = "--max-recorders";
  opt.duration_given = duration->count() > 0;
  for (auto* o : sandbox_flags)
    if (o->count() > 0) opt.sandbox_flags_given.push_back(o->get_name());
  return nucleus::cli::guarded_main(tool, nucleus::cli::workload_exit_code, [&] { return run(opt); });
}
