// nucleus-run: strict mode. Runs a command under a seccomp profile; every syscall outside the
// profile is denied with the profile's action and reported on stderr while it happens.
#include "cli.hpp"
#include "command_line.hpp"
#include "sandbox_flags.hpp"

#include "nucleus/core/text.hpp"
#include "nucleus/profile/args.hpp"
#include "nucleus/profile/effective.hpp"
#include "nucleus/profile/oci.hpp"
#include "nucleus/profile/policy_review.hpp"
#include "nucleus/sandbox/filter.hpp"
#include "nucleus/sandbox/spawn.hpp"
#include "nucleus/core/syscalls.hpp"
#include "nucleus/core/aggregate.hpp"
#include "nucleus/tracer/ebpf.hpp"
#include "nucleus/tracer/gvisor.hpp"
#include "nucleus/tracer/monitor.hpp"
#include "nucleus/tracer/report.hpp"
#include "nucleus/core/trace_log.hpp"
#include "nucleus/core/io.hpp"
#include "nucleus/sandbox/isolation.hpp"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <sys/utsname.h>

#include <algorithm>
#include <cerrno>
#include <iostream>
#include <optional>

namespace {

using namespace nucleus;
constexpr std::string_view tool = "nucleus-run";

struct Options {
  std::string profile;
  bool complain = false;
  std::string complain_trace;
  bool quiet = false;
  std::string source = "auto";
  std::vector<std::string> command;
  std::string profile_sha256;
  cli::SandboxFlags sandbox;
};

// The profile as gVisor reads it: runsc (20221219 and 20240729 alike, measured) knows kill-thread
// only by its original OCI name SCMP_ACT_KILL (the same action) and refuses SCMP_ACT_KILL_THREAD.
std::string gvisor_spelling(const std::string& oci_json) {
  auto doc = nlohmann::json::parse(oci_json);
  auto respell = [](nlohmann::json& action) {
    if (action.is_string() && action.get<std::string>() == "SCMP_ACT_KILL_THREAD") action = "SCMP_ACT_KILL";
  };
  if (doc.contains("defaultAction")) respell(doc["defaultAction"]);
  if (doc.contains("syscalls") && doc["syscalls"].is_array())
    for (auto& entry : doc["syscalls"])
      if (entry.contains("action")) respell(entry["action"]);
  return doc.dump(2);
}

// Standard output is the command's too.
core::OutputPath open_complain_output(const std::string& path) {
  if (path == "-")
    throw core::Error(core::ErrorKind::usage,
                      "--complain-trace -: the command writes to the same standard output, so the trace could not "
                      "be told from its output",
                      "give the trace a file: --complain-trace extra.trace");
  return core::OutputPath::open(path);
}

// Refused by nucleus's guard, not by the profile: adding it to the profile alone would not help.
void report_refused_io_uring(const core::SeccompRecord& rec, const Options& opt, bool under_gvisor) {
  std::cerr << tool << ": " << tracer::describe_denial(rec, {}, core::Action::errno_ret(EPERM))
            << (under_gvisor ? " (pid in the sandbox)" : "")
            << " (nucleus refuses io_uring whatever the profile: its operations bypass seccomp); to allow it: "
               "--allow-io-uring, and nucleus-profile add "
            << opt.profile << " " << tracer::syscall_display_name(rec) << std::endl;
}

// What of the policy's denials this run can report, said once before the workload starts.
void note_policy_reporting(const Options& opt, bool under_gvisor) {
  if (opt.sandbox.policy.empty() || opt.quiet) return;
  if (under_gvisor) {
    cli::warn(tool,
              "--policy under gVisor: a path outside the policy does not exist in the sandbox and a read-only one "
              "refuses writes (ENOENT, EROFS); gVisor does not report these, so they are not reported here");
    return;
  }
  if (tracer::audit_enabled() != std::optional<bool>(true))
    cli::warn(tool,
              "--policy: the policy's denials (Landlock) are enforced but not reported: the kernel logs them only "
              "while its audit is enabled (auditd running, or audit=1 on the kernel command line); a path outside "
              "the policy is never reported, since it does not exist in the sandbox");
}

// Complain mode with --policy learns the files and endpoints the run used: under gVisor from its
// stream; natively, where Landlock has no log-only mode and the audit records name no path, from
// the eBPF recorder's behaviour records beside the audit records. Refused before the workload runs
// when that recorder cannot load here.
void refuse_complain_with_policy(const Options& opt, bool under_gvisor) {
  if (!opt.complain || opt.sandbox.policy.empty() || under_gvisor) return;
  if (auto why = tracer::ebpf_unavailable(nullptr))
    throw core::Error(
        core::ErrorKind::unsupported,
        "--complain with --policy at the trusted level learns the files and endpoints the run uses from the eBPF "
        "recorder (Landlock has no log-only mode), which cannot run here: " +
            *why,
        "run it at the default level (gVisor), where complain mode compares what gVisor records with the policy; "
        "or trace it (nucleus-trace -o app.trace -- COMMAND) and compare: nucleus-profile diff app.policy.json "
        "app.trace");
}

// The run's behaviour records (complain mode: gVisor's stream, or the eBPF recorder's) as a trace's, for the policy's
// comparison and --complain-trace.
void add_run_behaviour(core::Trace& trace, const tracer::MonitorResult& result) {
  if (!result.behaviour) return;
  trace.header.behaviour = true;
  trace.execs = result.behaviour->execs();
  trace.files = result.behaviour->files();
  trace.nets = result.behaviour->nets();
}

// Complain mode with --policy: the policy was not applied; what the run did that it does not
// allow is said as `nucleus-profile diff POLICY TRACE` says it, with the add command for each.
void report_policy_complaints(const Options& opt, const core::AccessPolicy& policy,
                              const tracer::MonitorResult& result) {
  if (!result.behaviour) {
    cli::warn(tool, "complain mode: the run recorded no files or endpoints, so the policy was not compared");
    return;
  }
  core::Trace trace;
  add_run_behaviour(trace, result);
  const auto diff = profile::diff_access_policy_trace(policy, {trace}, opt.sandbox.policy);
  if (diff.same()) {
    std::cerr << tool << ": complain mode: the policy would have denied nothing\n";
    return;
  }
  std::cerr << tool << ": complain mode: the policy would have denied:\n";
  for (const auto& line : diff.denied) std::cerr << "  " << line << "\n";
  std::cerr << "to allow them (check each first):\n";
  for (const auto& command : diff.commands) std::cerr << "  " << command << "\n";
  if (result.behaviour->dropped() != 0)
    cli::warn(tool, "complain mode: " + std::to_string(result.behaviour->dropped()) +
                        " behaviour record(s) past the cap were not compared with the policy");
}

// The policy's denials, live, from the host's audit records (natively only: see note_policy_reporting).
void report_policy_denials(tracer::MonitorOptions& mon, const Options& opt, bool under_gvisor, std::uint64_t& count) {
  if (opt.sandbox.policy.empty() || under_gvisor) return;
  mon.on_landlock = [&opt, &count](const core::LandlockRecord& rec, const core::SyscallRecord& process) {
    ++count;
    if (!opt.quiet)
      std::cerr << tool << ": " << tracer::describe_landlock_denial(rec, process, opt.sandbox.policy) << std::endl;
  };
}

// Read once: the bytes that are pinned are the bytes that are parsed. Docker's includes/excludes
// are resolved for the capabilities the workload will keep.
profile::LoadedProfile read_profile(const Options& opt) {
  const std::string profile_text = core::read_file(opt.profile);
  if (!opt.profile_sha256.empty()) sandbox::verify_sha256(profile_text, opt.profile_sha256, opt.profile);
  profile::ResolveContext context;
  context.capabilities = opt.sandbox.cap_add;
  auto loaded = profile::parse_profile(profile_text, opt.profile, context);
  for (const auto& w : loaded.warnings) cli::warn(tool, opt.profile + ": " + w.path + ": " + w.message);
  return loaded;
}

// Compiled in the parent: a profile that does not compile means the command never starts.
sandbox::BpfProgram compile_profile(const core::Policy& policy, const Options& opt) {
  sandbox::CompileOptions compile_options;
  compile_options.force_log_flag = true; // denials must reach the audit log to be reported
  compile_options.complain = opt.complain;
  compile_options.allow_io_uring = opt.sandbox.allow_io_uring;
  return sandbox::compile(policy, compile_options);
}

// A denial the profile made, live: what was denied and how to allow it.
void report_denial(const core::SeccompRecord& rec, const Options& opt, const core::Policy& policy, bool under_gvisor) {
  std::string name = tracer::syscall_display_name(rec);
  // gVisor's record carries the errno it really returned; the host's audit record carries none,
  // so the profile's is named where the profile settles it.
  auto known = under_gvisor ? std::optional<core::Action>(rec.action()) : core::action_for(policy, name);
  const char* where = under_gvisor ? " (pid in the sandbox)" : "";
  std::string allowed = profile::access_of(policy, name) == profile::Access::conditional
                            ? profile::describe_allowed(policy, name)
                            : std::string();
  if (!allowed.empty()) {
    // Allowed for some arguments only, so these were others; the host's record does not say which.
    // Where every entry naming it allows, the call met none of them and the default answered.
    auto entries = profile::rules_for(policy, name);
    if (!known &&
        std::all_of(entries.begin(), entries.end(), [](const core::Rule* r) { return profile::permits(r->action); }))
      known = policy.default_action;
    std::string_view with = allowed.starts_with("without ") ? " only " : " only with ";
    std::cerr << tool << ": " << tracer::describe_denial(rec, {}, known) << where
              << " (argument condition: the profile allows " << name << with << allowed
              << (under_gvisor ? "" : "; the audit record carries no arguments")
              << "); to allow a value: nucleus-profile add " << opt.profile << " " << name << ":VALUE" << std::endl;
    return;
  }
  std::cerr << tool << ": " << tracer::describe_denial(rec, opt.profile, known) << where << std::endl;
}

// What complain mode would have denied, as a trace (--complain-trace), for gen or merge.
void write_complain_trace(const core::OutputPath& output, const Options& opt, const tracer::MonitorResult& result,
                          const core::Aggregator& would_deny) {
  core::Trace trace;
  utsname uts{};
  ::uname(&uts);
  trace.header = {opt.command, result.source, uts.release, cli::utc_now(), opt.profile};
  trace.header.runtime = result.runtime;
  trace.syscalls = would_deny.entries();
  // With --policy, what the run touched, from which gen --policy learns what the policy lacked.
  if (!opt.sandbox.policy.empty()) add_run_behaviour(trace, result);
  trace.summary = cli::trace_summary(would_deny, result);
  output.write_atomic(core::write_trace(trace));
}

int run(const Options& opt) {
  // Opened before the workload exists: nothing it does to paths can redirect this write.
  std::optional<core::OutputPath> complain_output;
  if (!opt.complain_trace.empty()) complain_output = open_complain_output(opt.complain_trace);
  auto loaded = read_profile(opt);
  sandbox::BpfProgram program = compile_profile(loaded.policy, opt);
  std::optional<core::AccessPolicy> complain_policy; // read before the run: a bad one never starts it
  if (opt.complain && !opt.sandbox.policy.empty())
    complain_policy = core::read_access_policy(core::read_file(opt.sandbox.policy), opt.sandbox.policy);

  // gVisor gets the profile as resolved here: it does not know Docker's includes/excludes, and
  // would otherwise allow capability-gated entries unconditionally. Complain mode applies no
  // policy: under gVisor, the files and endpoints the run used are compared with it at the end.
  cli::SandboxFlags sandbox_flags = opt.sandbox;
  if (opt.complain) sandbox_flags.policy.clear();
  auto isolation = cli::prepare_sandbox(tool, sandbox_flags, sandbox::RunMode::strict, opt.command,
                                        gvisor_spelling(profile::to_oci_json(loaded.policy)));
  const bool under_gvisor = isolation.backend() == sandbox::Backend::gvisor;
  refuse_complain_with_policy(opt, under_gvisor);
  if (under_gvisor && opt.complain) {
    // gVisor refuses SCMP_ACT_LOG, so complain mode under gVisor enforces nothing and checks each
    // call gVisor records (number and raw arguments) against the profile instead.
    isolation = cli::prepare_sandbox(tool, sandbox_flags, sandbox::RunMode::strict, opt.command);
  }
  if (under_gvisor && opt.source != "auto" && opt.source != "gvisor")
    throw core::Error(core::ErrorKind::usage,
                      "--source " + opt.source +
                          " reads the host's audit records, which never see a workload under gVisor",
                      "drop --source, or run on the host with --trust-level trusted");
  const sandbox::BpfProgram* filter = isolation.host_filter() ? &program : nullptr;
  if (!opt.complain) note_policy_reporting(opt, under_gvisor);

  tracer::DenialTally tally;
  tracer::DenialTally denied; // strict mode: repeated once the workload is gone (see below)
  core::Aggregator would_deny;
  tracer::MonitorOptions mon;
  mon.argv = isolation.argv();
  mon.filter = filter;
  mon.pre_exec = isolation.pre_exec();
  mon.pre_exec_context = isolation.context();
  mon.env = isolation.environment();
  mon.pass_fds = isolation.pass_fds();
  mon.source = cli::parse_source(opt.source);
  if (under_gvisor) {
    mon.gvisor = tracer::MonitorOptions::Gvisor{isolation.argv().front(), cli::resolve_command(opt.command.front()),
                                                !opt.complain, [](const std::string& note) { cli::warn(tool, note); }};
    mon.gvisor->record_calls = opt.complain;
    if (!opt.complain) {
      // The stream is read for attribution; only the denials from the debug log are reported.
      mon.classify = [](int, const std::array<std::uint64_t, 6>&) { return core::Action::allow(); };
    } else {
      mon.classify = [&loaded](int nr, const std::array<std::uint64_t, 6>& args) {
        auto name = core::syscall_name(core::native_arch(), nr);
        // A number with no name cannot be in the profile: the default action applies.
        return name ? tracer::gvisor::policy_action(loaded.policy, *name, args) : loaded.policy.default_action;
      };
    }
  }
  std::uint64_t clone3_fallbacks = 0;
  mon.on_record = [&](const core::SeccompRecord& rec) {
    auto kind = rec.action().kind;
    if (kind == core::ActionKind::allow) return;
    if (kind == core::ActionKind::log) { // complain mode: would have been denied
      tally.add(rec);
      would_deny.add(rec);
      return;
    }
    if (opt.quiet) return;
    std::string name = tracer::syscall_display_name(rec);
    // clone3 answered ENOSYS because the profile says so (generated profiles and Docker's default
    // do: its flags are out of a filter's reach, and the C library falls back to clone) is the
    // profile working as written, not a denial to act on: counted, and said once at the end.
    if (name == core::clone3_name && core::falls_back_from_clone3(loaded.policy)) {
      ++clone3_fallbacks;
      return;
    }
    denied.add(rec);
    if (!opt.sandbox.allow_io_uring && name.starts_with("io_uring_"))
      return report_refused_io_uring(rec, opt, under_gvisor);
    report_denial(rec, opt, loaded.policy, under_gvisor);
  };

  std::uint64_t policy_denials = 0;
  report_policy_denials(mon, opt, under_gvisor, policy_denials);

  // Enforcement does not depend on reporting: without a record source the workload still runs
  // (once), and the warning says why denials are not reported. Complain mode under gVisor enforces
  // nothing, so there the record stream is required.
  mon.require_source = under_gvisor && opt.complain;
  mon.behaviour = opt.complain && !opt.sandbox.policy.empty() && !under_gvisor;
  tracer::MonitorResult result = tracer::run_monitored(mon);

  if (auto note = isolation.exit_note(result.wait_status); !note.empty()) cli::warn(tool, note);
  if (clone3_fallbacks != 0 && !opt.quiet)
    std::cerr << tool << ": note: clone3 got ENOSYS " << clone3_fallbacks
              << " time(s), as the profile asks (the C library then falls back to clone)\n";
  if (result.source.empty()) cli::warn(tool, "denials were not reported: " + result.source_note);
  else if (!result.source_note.empty()) cli::warn(tool, result.source_note);
  if (result.loss.any())
    cli::warn(tool, "some records were lost, so some denials may be missing: " + result.loss.detail);
  // The live lines share the terminal with the workload, which can move the cursor and erase them;
  // this summary comes once it and all its processes are gone, so nothing of theirs follows it.
  if (!opt.complain && !opt.quiet && !denied.empty())
    std::cerr << tool << ": the profile denied, during the run:\n" << denied.render();
  if (!opt.quiet && policy_denials != 0)
    std::cerr << tool << ": the policy denied " << policy_denials << " access(es) during the run (see above)\n";
  if (opt.complain) {
    if (tally.empty()) {
      std::cerr << tool << ": complain mode: nothing would have been denied\n";
    } else {
      std::cerr << tool << ": complain mode: the profile would have denied:\n" << tally.render();
    }
    if (complain_policy) report_policy_complaints(opt, *complain_policy, result);
    if (complain_output) write_complain_trace(*complain_output, opt, result, would_deny);
  }
  return result.exit_code;
}

} // namespace

int main(int argc, char** argv) {
  // Every message, note and denial line goes out through printable_lines(): a workload's or a
  // file's terminal sequences are shown, never obeyed (see text.hpp).
  nucleus::core::PrintableStream safe_out(std::cout), safe_err(std::cerr);
  CLI::App app{"Run a command in strict mode: every syscall outside the profile is denied with the\n"
               "profile's action and reported on stderr as it happens (syscall, architecture,\n"
               "executable, pid, and the command that would allow it).",
               "nucleus-run"};
  app.footer(R"(Examples:
  nucleus-run --profile app.json -- ./app --port 8080
  nucleus-run --profile app.json --complain --complain-trace extra.trace -- ./app
      (under gVisor, the default, complain mode enforces nothing and checks every call gVisor
       records, arguments included, against the profile)
  nucleus-run --trust-level trusted --profile app.json -- ./app   # on the host kernel
  nucleus-run --profile app.json --policy app.policy.json -- ./app
      (only the policy's paths are visible, with the access it grants; natively Landlock also
       limits TCP connect and bind to its ports and reports each denial while audit is enabled)
  nucleus-run --profile app.json --policy app.policy.json --complain --complain-trace extra.trace -- ./app
      (the policy is not applied either; what it would deny is listed at the end: at the
       trusted level the eBPF recorder names the files and endpoints the run used)
  nucleus-profile gen extra.trace app.trace -o app.json    # fold what complain mode saw back in
  nucleus-run --profile app.json --host-id 61000:61000 --rw ./out -- ./app   # a dedicated host identity
  nucleus-run --trust-level trusted --host-root --profile app.json -- ./app  # host root: trusted only

The workload is host uid/gid 65534 (or --host-id) when nucleus runs as root; --rw directories
owned by another unprivileged user are idmapped, root-owned ones are refused (chown them).
Setting S_ISUID/S_ISGID, ioctl TIOCSTI/TIOCLINUX and io_uring (its operations bypass seccomp;
--allow-io-uring lifts that) are refused whatever the profile says, and syscalls from ABIs the
profile does not list are killed.

  nucleus-run --trust-level trusted --env CI=1 --env-file build.env --pass-fd 3 --profile app.json -- ./app 3<in.db
  nucleus-run --pids 4096 --memory unlimited --profile app.json -- make -j8

The workload sees fds 0-2 (a pty of its own when nucleus runs on a terminal) plus --pass-fd, and
only PATH, LANG, LC_*, TERM, TZ, HOME=/tmp (its own empty /tmp; --env HOME keeps the caller's) plus
--env/--env-file; defaults --pids 1024, --memory 4G.

Exit status: the command's own; 128+N when it died of signal N (159 = SIGSYS, a seccomp kill);
125 when nucleus-run failed (the command did not run); 126 not executable; 127 not found.)");
  Options opt;
  app.add_option("-p,--profile", opt.profile, "OCI/Docker seccomp profile (JSON) to enforce")->required();
  app.add_flag("--complain", opt.complain,
               "log instead of denying; print what would have been denied at exit (with --policy: the policy is not "
               "applied, and the files and endpoints the run used are compared with it)");
  app.add_option("--complain-trace", opt.complain_trace,
                 "with --complain: write the would-be denials as a trace log to this file (a regular file or a new "
                 "name, never a device, FIFO or symlink)")
      ->needs("--complain");
  app.add_flag("-q,--quiet", opt.quiet, "do not report denials on stderr");
  app.add_option("--source", opt.source,
                 "where denials are read from: auto (gvisor under gVisor, else netlink or kmsg), gvisor, netlink, kmsg")
      ->check(CLI::IsMember({"auto", "gvisor", "netlink", "kmsg"}))
      ->capture_default_str();
  app.add_option("--profile-sha256", opt.profile_sha256,
                 "refuse the profile unless its SHA-256 is this (64 hex digits)");
  nucleus::cli::add_policy_flags(app, opt.sandbox);
  nucleus::cli::add_sandbox_flags(app, opt.sandbox);
  nucleus::cli::add_standard_options(
      app, {"run a command under a seccomp profile, reporting every denial", "[--] COMMAND [ARG]..."});
  try {
    // The first word that is not one of ours starts the command (`--` is optional).
    opt.command = nucleus::cli::parse_with_command(app, argc, argv, "a command to run (after the options)");
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : nucleus::sandbox::exit_nucleus_failed;
  }
  return nucleus::cli::guarded_main(tool, nucleus::cli::workload_exit_code, [&] { return run(opt); });
}
