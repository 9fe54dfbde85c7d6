// nucleus-profile validate and compile: does the profile load and compile, and what it becomes.
#include "commands.hpp"

#include "cli.hpp"
#include "nucleus/profile/oci.hpp"
#include "nucleus/core/error.hpp"
#include "nucleus/sandbox/filter.hpp"
#include "nucleus/core/io.hpp"

#include <iostream>
#include <memory>

namespace nucleus::profile_tool {
namespace {

std::string arch_list(const core::Policy& policy) {
  std::string out;
  for (auto arch : policy.effective_arches()) {
    if (!out.empty()) out += ", ";
    out += core::arch_name(arch);
  }
  return out;
}

profile::LoadedProfile load_with_warnings(const std::string& path) {
  auto loaded = profile::load_profile(path);
  for (const auto& w : loaded.warnings) cli::warn(tool, path + ": " + w.path + ": " + w.message);
  return loaded;
}

} // namespace

void register_validate(CLI::App& app, Action& selected) {
  struct Options {
    std::string file;
    bool strict = false;
  };
  auto opt = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("validate", "check that a profile loads and compiles");
  cmd->footer(R"(Examples:
  nucleus-profile validate app.json
  nucleus-profile validate /usr/share/containers/seccomp.json     # podman's and CRI-O's default
  nucleus-profile validate --strict app.json                      # CI lint: any warning fails

Every problem is reported in one run: all errors, then all warnings, each with its JSON path.
Syscall names libseccomp cannot place on the profile's architectures (unknown to this libseccomp,
or not on these architectures) are left out with one warning line per kind, as runc does.

Exit status: 0 valid, 1 invalid (the message names the file, the JSON path and the problem; with
--strict also any warning), 2 trouble (unreadable file).)");
  cmd->add_option("profile", opt->file, "OCI or Docker seccomp profile (JSON)")->required();
  cmd->add_flag("--strict", opt->strict, "treat every warning as an error (for CI linting)");
  cmd->callback([opt, &selected] {
    selected = [opt] {
      const std::string& file = opt->file;
      auto loaded = load_with_warnings(file);
      if (opt->strict && !loaded.warnings.empty())
        throw core::Error(core::ErrorKind::invalid_input, file + ": " + std::to_string(loaded.warnings.size()) +
                                                              " warning(s), and --strict treats warnings as errors");
      sandbox::CompileStats stats;
      sandbox::CompileOptions checking;
      checking.enforcement = false; // a notify action is valid for a runtime with a notify agent
      sandbox::compile(loaded.policy, checking, &stats);
      std::cout << file << ": valid: " << loaded.policy.rules.size() << " entries, default "
                << core::to_string(loaded.policy.default_action) << ", architectures " << arch_list(loaded.policy)
                << ", " << stats.instructions << " BPF instructions\n";
      return 0;
    };
  });
}

void register_compile(CLI::App& app, Action& selected) {
  struct Options {
    std::string file;
    std::string output;
  };
  auto opt = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("compile", "compile a profile to seccomp BPF");
  cmd->footer(R"(Examples:
  nucleus-profile compile app.json                 # architectures, rule and instruction counts
  nucleus-profile compile app.json -o app.bpf      # raw BPF, e.g. for: bwrap --seccomp 3 3<app.bpf

The raw output is the array of struct sock_filter the kernel takes; the profile's flags
(SECCOMP_FILTER_FLAG_*) are not part of it.)");
  cmd->add_option("profile", opt->file, "OCI or Docker seccomp profile (JSON)")->required();
  cmd->add_option("-o,--output", opt->output, "write the raw BPF program here");
  cmd->callback([opt, &selected] {
    selected = [opt] {
      auto loaded = load_with_warnings(opt->file);
      sandbox::CompileStats stats;
      auto program = sandbox::compile(loaded.policy, {}, &stats);
      std::cout << "architectures: " << arch_list(loaded.policy) << "\n"
                << "rules: " << stats.rules << "\n"
                << "instructions: " << stats.instructions << "\n";
      if (!opt->output.empty()) core::write_file_atomic(opt->output, program.bytes());
      return 0;
    };
  });
}

} // namespace nucleus::profile_tool
