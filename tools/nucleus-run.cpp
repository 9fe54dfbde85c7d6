// nucleus-run: strict mode. Runs a command under a seccomp profile; every syscall outside the
// profile is denied with the profile's action and reported on stderr while it happens.
#include "cli.hpp"
#include "sandbox_flags.hpp"

#include "nucleus/profile/oci.hpp"
#include "nucleus/sandbox/filter.hpp"
#include "nucleus/sandbox/spawn.hpp"
#include "nucleus/sandbox/syscalls.hpp"
#include "nucleus/tracer/aggregate.hpp"
#include "nucleus/tracer/gvisor.hpp"
#include "nucleus/tracer/monitor.hpp"
#include "nucleus/tracer/report.hpp"
#include "nucleus/tracer/trace_log.hpp"
#include "nucleus/sandbox/io.hpp"
#include "nucleus/sandbox/isolation.hpp"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

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

// The profile as gVisor reads it: runsc 20221219 knows kill-thread only by its original OCI name
// SCMP_ACT_KILL (the same action) and refuses SCMP_ACT_KILL_THREAD.
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
                                        gvisor_spelling(profile::to_oci_json(loaded.policy)));
  const bool under_gvisor = isolation.backend() == sandbox::Backend::gvisor;
  if (under_gvisor && opt.complain) {
    // gVisor refuses SCMP_ACT_LOG, so complain mode under gVisor enforces nothing and checks each
    // call gVisor records (number and raw arguments) against the profile instead.
    isolation = cli::prepare_sandbox(tool, opt.sandbox, sandbox::RunMode::strict, opt.command);
  }
  if (under_gvisor && opt.source != "auto" && opt.source != "gvisor")
    throw sandbox::Error(sandbox::ErrorKind::usage,
                         "--source " + opt.source + " reads the host's audit records, which never see a workload under gVisor",
                         "drop --source, or run on the host with --trust-level trusted");
  const sandbox::BpfProgram* filter = isolation.host_filter() ? &program : nullptr;

  tracer::DenialTally tally;
  tracer::Aggregator would_deny;
  tracer::MonitorOptions mon;
  mon.argv = isolation.argv();
  mon.filter = filter;
  mon.pre_exec = isolation.pre_exec();
  mon.pre_exec_context = isolation.context();
  mon.source = cli::parse_source(opt.source);
  if (under_gvisor) {
    mon.gvisor = tracer::MonitorOptions::Gvisor{isolation.argv().front(), cli::resolve_command(opt.command.front()),
                                                !opt.complain};
    if (!opt.complain) {
      // The stream is read for attribution; only the denials from the debug log are reported.
      mon.classify = [](int, const std::array<std::uint64_t, 6>&) { return sandbox::Action::allow(); };
    } else {
      mon.classify = [&loaded](int nr, const std::array<std::uint64_t, 6>& args) {
        auto name = sandbox::syscall_name(sandbox::native_arch(), nr);
        // A number with no name cannot be in the profile: the default action applies.
        return name ? tracer::gvisor::evaluate(loaded.policy, *name, args) : loaded.policy.default_action;
      };
    }
  }
  mon.on_record = [&](const tracer::SeccompRecord& rec) {
    auto kind = rec.action().kind;
    if (kind == sandbox::ActionKind::allow) return;
    if (kind == sandbox::ActionKind::log) { // complain mode: would have been denied
      tally.add(rec);
      would_deny.add(rec);
      return;
    }
    if (opt.quiet) return;
    // gVisor's record carries the errno it really returned; the host's audit record carries none,
    // so the profile's is named where the profile settles it.
    auto known = under_gvisor ? std::optional<sandbox::Action>(rec.action())
                              : sandbox::action_for(loaded.policy, tracer::syscall_display_name(rec));
    std::cerr << tool << ": " << tracer::describe_denial(rec, opt.profile, known)
              << (under_gvisor ? " (pid in the sandbox)" : "") << std::endl;
  };

  if (under_gvisor && opt.quiet && !opt.complain) {
    // Nothing to report: gVisor enforces the profile and no monitoring stream is needed.
    sandbox::SpawnSpec spec;
    spec.argv = isolation.argv();
    spec.pre_exec = isolation.pre_exec();
    spec.pre_exec_context = isolation.context();
    sandbox::Child child = sandbox::spawn(spec);
    int status = child.wait();
    if (auto note = isolation.exit_note(status); !note.empty()) cli::warn(tool, note);
    return sandbox::exit_code_from_status(status);
  }

  tracer::MonitorResult result;
  try {
    result = tracer::run_monitored(mon);
  } catch (const sandbox::Error& e) {
    if (e.kind() != sandbox::ErrorKind::permission && e.kind() != sandbox::ErrorKind::unsupported) throw;
    if (under_gvisor && opt.complain) throw; // nothing would be enforced and nothing checked
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
      trace.header.runtime = result.runtime;
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
      (under gVisor, the default, complain mode enforces nothing and checks every call gVisor
       records, arguments included, against the profile)
  nucleus-run --trust-level trusted --profile app.json -- ./app   # on the host kernel
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
  app.add_option("--source", opt.source,
                 "where denials are read from: auto (gvisor under gVisor, else netlink or kmsg), gvisor, netlink, kmsg")
      ->check(CLI::IsMember({"auto", "gvisor", "netlink", "kmsg"}))
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
