// nucleus-run: strict mode. Runs a command under a seccomp profile; every syscall outside the
// profile is denied with the profile's action and reported on stderr while it happens.
#include "cli.hpp"
#include "sandbox_flags.hpp"

#include "nucleus/profile/args.hpp"
#include "nucleus/profile/effective.hpp"
#include "nucleus/profile/oci.hpp"
#include "nucleus/sandbox/filter.hpp"
#include "nucleus/sandbox/spawn.hpp"
#include "nucleus/tracer/aggregate.hpp"
#include "nucleus/tracer/monitor.hpp"
#include "nucleus/tracer/report.hpp"
#include "nucleus/tracer/trace_log.hpp"
#include "nucleus/sandbox/io.hpp"
#include "nucleus/sandbox/isolation.hpp"

#include <CLI/CLI.hpp>

#include <sys/utsname.h>

#include <iostream>

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

int run(const Options& opt) {
  // Read once: the bytes that are pinned are the bytes that are parsed.
  const std::string profile_text = sandbox::read_file(opt.profile);
  if (!opt.profile_sha256.empty()) sandbox::verify_sha256(profile_text, opt.profile_sha256, opt.profile);
  // Docker's includes/excludes are resolved for the capabilities the workload will keep.
  profile::ResolveContext context;
  context.capabilities = opt.sandbox.cap_add;
  auto loaded = profile::parse_profile(profile_text, opt.profile, context);
  for (const auto& w : loaded.warnings) cli::warn(tool, opt.profile + ": " + w.path + ": " + w.message);

  // Compile in the parent: a profile that does not compile means the command never starts.
  sandbox::CompileOptions compile_options;
  compile_options.force_log_flag = true; // denials must reach the audit log to be reported
  compile_options.complain = opt.complain;
  sandbox::BpfProgram program = sandbox::compile(loaded.policy, compile_options);

  // gVisor gets the profile as resolved here: it does not know Docker's includes/excludes, and
  // would otherwise allow capability-gated entries unconditionally.
  auto isolation = cli::prepare_sandbox(tool, opt.sandbox, sandbox::RunMode::strict, opt.command,
                                        profile::to_oci_json(loaded.policy));
  if (!isolation.host_filter()) {
    if (opt.complain)
      throw sandbox::Error(sandbox::ErrorKind::usage, "--complain needs the host's audit records, which gVisor never produces",
                           "use --trust-level trusted for complain mode");
    cli::warn(tool, "under gVisor the profile is enforced by gVisor's kernel: denials are not reported here");
  }
  const sandbox::BpfProgram* filter = isolation.host_filter() ? &program : nullptr;

  tracer::DenialTally tally;
  tracer::Aggregator would_deny;
  tracer::MonitorOptions mon;
  mon.argv = isolation.argv();
  mon.filter = filter;
  mon.pre_exec = isolation.pre_exec();
  mon.pre_exec_context = isolation.context();
  mon.source = cli::parse_source(opt.source);
  mon.on_record = [&](const tracer::SeccompRecord& rec) {
    auto kind = rec.action().kind;
    if (kind == sandbox::ActionKind::allow) return;
    if (kind == sandbox::ActionKind::log) { // complain mode: would have been denied
      tally.add(rec);
      would_deny.add(rec);
      return;
    }
    if (opt.quiet) return;
    std::string name = tracer::syscall_display_name(rec);
    std::string allowed = profile::access_of(loaded.policy, name) == profile::Access::conditional
                              ? profile::describe_allowed(loaded.policy, name)
                              : std::string();
    if (!allowed.empty()) {
      // Allowed for some arguments only, so these were others; the kernel's record does not say which.
      std::cerr << tool << ": " << tracer::describe_denial(rec, {}, sandbox::action_for(loaded.policy, name))
                << " (argument condition: the profile allows " << name << " only with " << allowed
                << "; the audit record carries no arguments); to allow a value: nucleus-profile add " << opt.profile
                << " " << name << ":VALUE" << std::endl;
      return;
    }
    std::cerr << tool << ": " << tracer::describe_denial(rec, opt.profile, sandbox::action_for(loaded.policy, name))
              << std::endl;
  };

  tracer::MonitorResult result;
  try {
    result = tracer::run_monitored(mon);
  } catch (const sandbox::Error& e) {
    if (e.kind() != sandbox::ErrorKind::permission && e.kind() != sandbox::ErrorKind::unsupported) throw;
    // Enforcement does not depend on reporting: run without it, and say so.
    cli::warn(tool, std::string("denials will not be reported: ") + e.what());
    sandbox::SpawnSpec spec;
    spec.argv = isolation.argv();
    spec.filter = filter;
    spec.pre_exec = isolation.pre_exec();
    spec.pre_exec_context = isolation.context();
    sandbox::Child child = sandbox::spawn(spec);
    int status = child.wait();
    if (auto note = isolation.exit_note(status); !note.empty()) cli::warn(tool, note);
    return sandbox::exit_code_from_status(status);
  }

  if (auto note = isolation.exit_note(result.wait_status); !note.empty()) cli::warn(tool, note);
  if (!result.source_note.empty()) cli::warn(tool, result.source_note);
  if (result.loss.any()) cli::warn(tool, "some audit records were lost, so some denials may be missing: " + result.loss.detail);
  if (opt.complain) {
    if (tally.empty()) {
      std::cerr << tool << ": complain mode: nothing would have been denied\n";
    } else {
      std::cerr << tool << ": complain mode: the profile would have denied:\n" << tally.render();
    }
    if (!opt.complain_trace.empty()) {
      tracer::Trace trace;
      utsname uts{};
      ::uname(&uts);
      trace.header = {opt.command, result.source, uts.release, cli::utc_now(), opt.profile};
      trace.syscalls = would_deny.entries();
      trace.summary = tracer::TraceSummary{would_deny.events(), would_deny.distinct(), result.loss.lost,
                                           result.exit_code, static_cast<std::uint64_t>(result.duration.count()),
                                           result.unparsed};
      sandbox::write_file_atomic(opt.complain_trace, tracer::write_trace(trace));
    }
  }
  return result.exit_code;
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"Run a command in strict mode: every syscall outside the profile is denied with the\n"
               "profile's action and reported on stderr as it happens (syscall, architecture,\n"
               "executable, pid, and the command that would allow it).",
               "nucleus-run"};
  app.footer(R"(Examples:
  nucleus-run --profile app.json -- ./app --port 8080
  nucleus-run --profile app.json --complain --complain-trace extra.trace -- ./app
  nucleus-profile gen extra.trace app.trace -o app.json    # fold what complain mode saw back in

Exit status: the command's own; 128+N when it died of signal N (159 = SIGSYS, a seccomp kill);
125 when nucleus-run failed (the command did not run); 126 not executable; 127 not found.)");
  Options opt;
  app.add_option("-p,--profile", opt.profile, "OCI/Docker seccomp profile (JSON) to enforce")->required();
  app.add_flag("--complain", opt.complain,
               "log instead of denying; print what would have been denied at exit");
  app.add_option("--complain-trace", opt.complain_trace,
                 "with --complain: write the would-be denials as a trace log to this file")
      ->needs("--complain");
  app.add_flag("-q,--quiet", opt.quiet, "do not report denials on stderr");
  app.add_option("--source", opt.source, "where denials are read from: auto, netlink, kmsg")
      ->check(CLI::IsMember({"auto", "netlink", "kmsg"}))
      ->capture_default_str();
  app.add_option("--profile-sha256", opt.profile_sha256,
                 "refuse the profile unless its SHA-256 is this (64 hex digits)");
  nucleus::cli::add_sandbox_flags(app, opt.sandbox);
  app.prefix_command(); // the first non-option starts the command; `--` is optional
  try {
    app.parse(argc, argv);
    // With prefix_command, everything from the command on is left over.
    opt.command = app.remaining();
    if (!opt.command.empty() && opt.command.front() == "--") opt.command.erase(opt.command.begin());
    if (opt.command.empty()) throw CLI::RequiredError("a command to run (after the options)");
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : nucleus::sandbox::exit_nucleus_failed;
  }
  return nucleus::cli::guarded_main(tool, nucleus::cli::workload_exit_code, [&] { return run(opt); });
}
