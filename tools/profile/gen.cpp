// nucleus-profile gen: traces (or raw audit text) in, the minimal profile out.
#include "commands.hpp"
#include "policy.hpp"

#include "cli.hpp"
#include "nucleus/profile/effective.hpp"
#include "nucleus/profile/generate.hpp"
#include "nucleus/profile/oci.hpp"
#include "nucleus/core/error.hpp"
#include "nucleus/sandbox/filter.hpp"
#include "nucleus/core/io.hpp"

#include <filesystem>
#include <iostream>
#include <memory>
#include <set>

namespace nucleus::profile_tool {

void register_gen(CLI::App& app, Action& selected) {
  struct Options {
    std::vector<std::string> inputs;
    std::string output = "-";
    std::string policy;
    std::string default_action = "errno";
    bool no_log = false;
    bool allow_io_uring = false;
    bool no_args = false;
    bool allow_clone3 = false;
    bool no_runtime_allowance = false;
    std::optional<pid_t> pid;
    std::optional<std::string> exe;
    std::optional<std::uint32_t> ses;
  };
  auto opt = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("gen", "generate the minimal profile from traces or raw audit text");
  cmd->footer(R"(Examples:
  nucleus-profile gen app.trace -o app.json
  nucleus-profile gen run1.trace run2.trace -o app.json        # union of several runs
  nucleus-profile gen --default-action kill-process app.trace  # to stdout
  nucleus-profile gen --allow-io-uring app.trace -o app.json   # keep traced io_uring (bypasses seccomp)
  nucleus-profile gen --no-args app.trace -o app.json           # names only, no argument conditions
  nucleus-profile gen --ses 42 /var/log/audit/audit.log -o app.json
  journalctl -k -o cat > kernel.txt && nucleus-profile gen --exe /usr/bin/app kernel.txt
  nucleus-profile gen app.trace -o app.json --policy app.policy.json   # also the files and network policy

The profile allows each traced syscall on the architecture it was made on, plus execve, exit,
exit_group, rt_sigreturn and restart_syscall; everything else gets the default action (errno
EPERM unless told otherwise), logged so that denials are visible. It is compiled before it is
written, and written atomically.

Where the trace carries argument values (the eBPF recorder), the argument-sensitive syscalls are
allowed only with what was seen: socket/socketpair (domain; type without SOCK_NONBLOCK and
SOCK_CLOEXEC), clone (no namespace, CLONE_PARENT or CLONE_UNTRACED flag that was not seen),
unshare (flags), ioctl (request, low 32 bits), prctl (option), personality (persona),
mmap/mprotect/pkey_mprotect (PROT_EXEC only if seen, PROT_WRITE with PROT_EXEC only if seen);
clone3 returns ENOSYS so that the C library falls back to clone. Values of several traces are
unioned. Traces from the audit or kmsg recorders carry names only: gen says so and writes
name-only rules.

io_uring_setup, io_uring_enter and io_uring_register are left out even when traced (with a
warning): io_uring's operations bypass seccomp; --allow-io-uring keeps them.

--policy FILE also writes the files and network policy from the traces' behaviour records (the
eBPF and gVisor recorders write them; a trace without them is refused). It grants what was seen,
widened only by these rules, each named in the entry's reason and printed when it widens:
  workspace  the trace's working directory and --rw folders, where used: what was done there
             (read; read, write, create, remove once anything was changed); never HOME or above
  tmp        a change under /tmp: /tmp read, write, create, remove (nucleus-run's /tmp is private)
  system     reads and runs under /usr, /lib*, /bin, /sbin: that folder, read and/or execute
  own        reads and runs in the folder of a program that ran, the traced command included
             (its prefix for .../bin)
  exact      anything else: the path seen, with the access seen ("list" for a listed folder)
Failed calls and relative paths grant nothing; gen lists them. Network: the TCP and UDP endpoints
connected to or bound, and the Unix socket paths; none when the program used none.)");
  cmd->add_option("inputs", opt->inputs, "trace logs, or raw audit text (audit.log, dmesg, journalctl)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("-o,--output", opt->output, "profile to write; - for standard output")->capture_default_str();
  cmd->add_option("--policy", opt->policy, "also write the files and network policy (JSON) to this file");
  cmd->add_option("--default-action", opt->default_action, "kill-process, kill-thread, trap, errno[:N], log")
      ->capture_default_str();
  cmd->add_flag("--no-log-flag", opt->no_log, "leave out SECCOMP_FILTER_FLAG_LOG (denials are then silent)");
  cmd->add_flag("--allow-io-uring", opt->allow_io_uring,
                "keep traced io_uring_setup/enter/register: io_uring's file and socket operations bypass the "
                "seccomp filter, so the profile then cannot restrict them");
  cmd->add_flag("--no-args", opt->no_args, "names only: no argument conditions even where the trace has values");
  cmd->add_flag("--no-runtime-allowance", opt->no_runtime_allowance,
                "traces of containers: allow only what was traced, not also the calls a container runtime's init "
                "may make between installing the filter and the exec (futex, nanosleep, ... for runc)");
  cmd->add_flag(
      "--allow-clone3", opt->allow_clone3,
      "allow clone3 by name instead of ENOSYS (its flags cannot be checked; for callers without a clone fallback)");
  cmd->add_option("--pid", opt->pid, "raw audit text: records of this pid only");
  cmd->add_option("--exe", opt->exe, "raw audit text: records of this executable only");
  cmd->add_option("--ses", opt->ses, "raw audit text: records of this audit session only");
  cmd->callback([opt, &selected] {
    selected = [opt] {
      auto action = core::parse_action(opt->default_action);
      if (!action || action->kind == core::ActionKind::allow || action->kind == core::ActionKind::notify ||
          action->kind == core::ActionKind::trace)
        throw core::Error(core::ErrorKind::usage, "unknown default action \"" + opt->default_action + "\"",
                          "use kill-process, kill-thread, trap, errno, errno:N or log");
      profile::RecordSelector selector{opt->pid, opt->exe, opt->ses};
      std::vector<std::filesystem::path> inputs(opt->inputs.begin(), opt->inputs.end());
      auto traces = profile::read_inputs(inputs, selector);
      if (opt->policy == "-")
        throw core::Error(core::ErrorKind::usage, "--policy - : the policy is written to a file",
                          "give a file name, e.g. --policy app.policy.json");
      if (!opt->policy.empty() && opt->output != "-" &&
          std::filesystem::weakly_canonical(opt->policy) == std::filesystem::weakly_canonical(opt->output))
        throw core::Error(core::ErrorKind::usage, "--policy " + opt->policy + " is the profile's file (-o) too",
                          "write the policy to a file of its own, e.g. app.policy.json beside app.json");
      std::optional<core::AccessPolicy> access_policy;
      if (!opt->policy.empty()) access_policy = generate_policy_for(traces, opt->inputs);
      for (std::size_t i = 0; i < traces.size(); ++i) {
        const auto& s = traces[i].summary;
        if (!s)
          cli::warn(tool, opt->inputs[i] + " has no summary line: the tracer did not finish, it may be incomplete");
        else if (!s->loss.empty())
          cli::warn(tool, opt->inputs[i] + " is incomplete (" + s->loss + "): the profile may be too small");
        else if (s->lost != 0)
          cli::warn(tool,
                    opt->inputs[i] + " lost " + std::to_string(s->lost) + " record(s): the profile may be too small");
        for (const auto& w : traces[i].header.warnings) cli::warn(tool, opt->inputs[i] + ": " + w);
        if (traces[i].header.source == "gvisor")
          std::cerr << tool << ": note: " << opt->inputs[i] << " was recorded under gVisor ("
                    << (traces[i].header.runtime.empty() ? "runsc" : traces[i].header.runtime)
                    << "): on a host kernel the program may also take paths gVisor refused (it returns ENOSYS for "
                       "clone3 and rseq, EINVAL for some statx uses) while needing no clock_gettime (vDSO); "
                       "check a host run with nucleus-run --complain --trust-level trusted\n";
      }
      profile::GenerateOptions gen_options;
      gen_options.default_action = *action;
      gen_options.log_denials = !opt->no_log;
      gen_options.allow_io_uring = opt->allow_io_uring;
      gen_options.arguments = !opt->no_args;
      gen_options.allow_clone3 = opt->allow_clone3;
      gen_options.runtime_allowance = !opt->no_runtime_allowance;
      auto generated = profile::generate(traces, gen_options, opt->inputs);
      for (const auto& n : generated.notes) std::cerr << tool << ": note: " << n << "\n";
      auto& policy = generated.policy;
      const auto& left_out = generated.left_out;
      if (opt->allow_io_uring)
        cli::warn(tool, "--allow-io-uring: io_uring's file and socket operations bypass seccomp; whatever the "
                        "profile denies, the program can still do through io_uring");
      if (!left_out.empty()) {
        std::string names;
        for (const auto& n : left_out) names += (names.empty() ? "" : ", ") + n;
        cli::warn(tool,
                  "left out " + names +
                      " although traced: io_uring's operations bypass seccomp; the program "
                      "gets the default action and must fall back to ordinary syscalls (--allow-io-uring keeps them)");
      }
      sandbox::CompileStats stats;
      sandbox::compile(policy, {}, &stats); // never write a profile that does not compile
      core::write_file_atomic(opt->output, profile::to_oci_json(policy));
      if (access_policy) {
        core::write_file_atomic(opt->policy, core::write_access_policy(*access_policy));
        const auto& n = access_policy->network;
        std::cerr << tool << ": wrote " << opt->policy << ": " << access_policy->files.size() << " path(s), "
                  << n.connect.size() + n.bind.size() << " endpoint(s), " << n.unix_paths.size() << " Unix socket(s)\n";
      }
      if (opt->output != "-") {
        std::set<std::string> names, conditioned;
        for (const auto& r : policy.rules) {
          if (!profile::permits(r.action)) continue;
          names.insert(r.names.begin(), r.names.end());
          if (!r.args.empty()) conditioned.insert(r.names.begin(), r.names.end());
        }
        std::cerr << tool << ": wrote " << opt->output << ": " << names.size() << " syscalls allowed ("
                  << conditioned.size() << " under argument conditions) on " << policy.architectures.size()
                  << " architecture(s), " << stats.instructions << " BPF instructions\n";
      }
      return 0;
    };
  });
}

} // namespace nucleus::profile_tool
