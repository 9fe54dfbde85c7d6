// nucleus-profile export: the profile for runc/Docker, Kubernetes, systemd or minijail.
#include "commands.hpp"

#include "cli.hpp"
#include "nucleus/profile/export.hpp"
#include "nucleus/profile/oci.hpp"
#include "nucleus/profile/policy_review.hpp"
#include "nucleus/core/error.hpp"
#include "nucleus/core/io.hpp"

#include <memory>

namespace nucleus::profile_tool {

void register_export(CLI::App& app, Action& selected) {
  struct Options {
    std::string file;
    std::string format;
    std::string output = "-";
    std::string name;
    std::string arch;
    bool accept_kill_default = false;
    bool accept_name_only = false;
    bool no_flags = false;
  };
  auto opt = std::make_shared<Options>();
  auto* cmd =
      app.add_subcommand("export", "write the profile for another runtime: oci, docker, k8s, systemd, minijail");
  cmd->footer(R"(Examples:
  nucleus-profile export app.json --format oci -o config-seccomp.json   # runc 1.2+, crun, podman
  nucleus-profile export app.json --format oci --no-flags -o config-seccomp.json   # runc before 1.2
  nucleus-profile export app.json --format docker -o app-docker.json    # docker run --security-opt seccomp=...
  nucleus-profile export app.json --format k8s --name my-app -o app.yaml   # Security Profiles Operator SeccompProfile
  nucleus-profile export app.json --format systemd >> /etc/systemd/system/app.service.d/seccomp.conf
  nucleus-profile export app.json --format minijail --arch x86_64 --accept-kill-default -o app.policy

Only the seccomp profile is exported: the files and network policy (gen --policy) has no place in
these formats, and is enforced by nucleus-run --policy alone (naming it here is an error).
What a format cannot express (argument conditions in systemd, several architectures in one minijail
file, an action the target does not have) is an error that names it: nothing is dropped silently.
oci, docker and k8s keep argument conditions as they are; minijail writes them as "arg0 == 0x1 ||
arg0 == 0xa" and masks as "argN in MASK && argN & BIT". systemd filters by name only: a profile
with conditions is refused unless --accept-name-only accepts the wider profile (said on stderr).
  nucleus-profile export app.json --format systemd --accept-name-only)");
  cmd->add_option("profile", opt->file, "OCI or Docker seccomp profile (JSON)")->required();
  cmd->add_option("-f,--format", opt->format, "oci, docker, k8s, systemd or minijail")
      ->required()
      ->check(CLI::IsMember({"oci", "docker", "k8s", "systemd", "minijail"}));
  cmd->add_option("-o,--output", opt->output, "file to write; - for standard output")->capture_default_str();
  cmd->add_option("--name", opt->name, "k8s: metadata.name (default: the file name without extension)");
  cmd->add_option("--arch", opt->arch, "minijail: the architecture to write the policy for");
  cmd->add_flag(
      "--accept-name-only", opt->accept_name_only,
      "systemd: allow the syscalls the profile conditions on their arguments by name, whatever the arguments");
  cmd->add_flag("--no-flags", opt->no_flags,
                "oci, docker, k8s: leave out the filter flags (SECCOMP_FILTER_FLAG_LOG), which runc before 1.2 "
                "refuses; denials are then not audit-logged");
  cmd->add_flag("--accept-kill-default", opt->accept_kill_default,
                "minijail: accept that syscalls outside the policy kill the process");
  cmd->callback([opt, &selected] {
    selected = [opt] {
      // Read once: the files and network policy has no place in these formats (seccomp only).
      const std::string text = core::read_file(opt->file);
      if (profile::is_policy_text(text))
        throw core::Error(core::ErrorKind::usage,
                          opt->file + " is a files and network policy: OCI, Docker, Kubernetes, systemd and minijail "
                                      "formats hold the seccomp profile only, so its paths and endpoints would be "
                                      "left out",
                          "export the profile (nucleus-profile export app.json --format ...) and enforce the policy "
                          "with nucleus-run --profile app.json --policy app.policy.json");
      auto loaded = profile::parse_profile(text, opt->file);
      for (const auto& w : loaded.warnings) cli::warn(tool, opt->file + ": " + w.path + ": " + w.message);
      profile::ExportOptions options;
      options.source = std::filesystem::path(opt->file).filename().string();
      options.name = opt->name.empty() ? std::filesystem::path(opt->file).stem().string() : opt->name;
      options.accept_kill_default = opt->accept_kill_default;
      options.accept_name_only = opt->accept_name_only;
      options.drop_flags = opt->no_flags;
      if (!opt->arch.empty()) {
        options.arch = core::arch_from_any(opt->arch);
        if (!options.arch) throw core::Error(core::ErrorKind::usage, "unknown architecture \"" + opt->arch + "\"");
      }
      auto result = profile::export_profile(loaded.policy, *profile::export_format_from_name(opt->format), options);
      for (const auto& n : result.notes) cli::warn(tool, n);
      core::write_file_atomic(opt->output, result.text);
      return 0;
    };
  });
}

} // namespace nucleus::profile_tool
