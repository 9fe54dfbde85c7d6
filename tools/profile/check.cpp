// nucleus-profile check and explain: review what a profile allows.
#include "commands.hpp"
#include "policy.hpp"

#include "cli.hpp"
#include "command_line.hpp"
#include "nucleus/profile/check.hpp"
#include "nucleus/profile/explain.hpp"
#include "nucleus/profile/oci.hpp"
#include "nucleus/profile/policy_review.hpp"
#include "nucleus/profile/sarif.hpp"
#include "nucleus/core/error.hpp"
#include "nucleus/core/io.hpp"

#include <iostream>
#include <memory>

namespace nucleus::profile_tool {
namespace {

struct ReviewOptions {
  std::string file;
  std::string docker_default;
  bool json = false;
  std::string format = "text";
  std::string fail_on = "low";
  bool as_json() const { return json || format == "json"; }
};

void add_review_options(CLI::App* cmd, ReviewOptions& opt, std::vector<std::string> formats) {
  cmd->add_option("profile", opt.file, "OCI or Docker seccomp profile (JSON), or a files and network policy")
      ->required();
  cmd->add_option("--docker-default", opt.docker_default,
                  "Docker's default profile (profiles/seccomp/default.json of Docker's source) to compare with")
      ->check(CLI::ExistingFile);
  std::string list;
  for (const auto& f : formats) list += (list.empty() ? "" : ", ") + f;
  cmd->add_option("--format", opt.format, "output format: " + list)
      ->check(CLI::IsMember(formats))
      ->capture_default_str();
  cmd->add_flag("--json", opt.json, "the same as --format json")->excludes("--format");
}

std::optional<profile::Reference> docker_reference(const ReviewOptions& opt, const core::Policy& policy) {
  if (opt.docker_default.empty()) return std::nullopt;
  return profile::load_reference(opt.docker_default, policy.effective_arches());
}

} // namespace

void register_check(CLI::App& app, Action& selected) {
  auto opt = std::make_shared<ReviewOptions>();
  auto* cmd = app.add_subcommand("check", "lint a profile: risky syscalls, default action, architectures");
  cmd->footer(R"(Examples:
  nucleus-profile check app.json
  nucleus-profile check --docker-default default.json app.json   # also: what it allows beyond Docker's default
  nucleus-profile check --fail-on high --format json app.json
  nucleus-profile check --format sarif app.json > app.sarif    # for code-scanning dashboards (SARIF 2.1.0)
  nucleus-profile check app.policy.json                        # a files and network policy

For a policy (gen --policy): a change allowed in system folders or /etc, HOME or a folder above it,
credentials readable (SSH and GPG keys, cloud and registry tokens, /etc/shadow), shell start-up
files or authorized_keys writable, a container engine's socket, endpoints beyond loopback.

Each finding has a severity (info, low, medium, high, critical), the reason it matters and the fix.
Exit status: 0 when no finding reaches --fail-on (default low); otherwise by the highest severity:
3 low, 4 medium, 5 high, 6 critical. 1: the profile is invalid; 2: trouble (unreadable file, bad flags).
The exit status is the same whatever the --format.)");
  add_review_options(cmd, *opt, {"text", "json", "sarif"});
  cmd->add_option("--fail-on", opt->fail_on,
                  "lowest severity that makes the exit status non-zero: low, medium, high, critical")
      ->capture_default_str()
      ->check(CLI::IsMember({"info", "low", "medium", "high", "critical"}));
  cmd->callback([opt, &selected] {
    selected = [opt] {
      // Read once: SARIF locates each finding in the same bytes that were checked.
      const std::string text = core::read_file(opt->file);
      if (profile::is_policy_text(text)) {
        if (!opt->docker_default.empty())
          throw core::Error(core::ErrorKind::usage,
                            "--docker-default compares seccomp profiles; " + opt->file + " is a policy");
        return check_policy(opt->file, text, opt->as_json() ? "json" : opt->format, opt->fail_on);
      }
      auto loaded = profile::parse_profile(text, opt->file);
      for (const auto& w : loaded.warnings) cli::warn(tool, opt->file + ": " + w.path + ": " + w.message);
      auto docker = docker_reference(*opt, loaded.policy);
      profile::CheckOptions options;
      options.docker_default = docker ? &*docker : nullptr;
      auto result = profile::check_profile(loaded.policy, options);
      if (opt->format == "sarif")
        std::cout << profile::check_to_sarif(result, opt->file, text,
                                             {std::string(tool), cli::version(), cli::information_uri()});
      else
        std::cout << (opt->as_json() ? profile::check_to_json(result, opt->file)
                                     : profile::format_check_text(result, opt->file));
      return profile::check_exit_code(result, *profile::severity_from_name(opt->fail_on));
    };
  });
}

void register_explain(CLI::App& app, Action& selected) {
  auto opt = std::make_shared<ReviewOptions>();
  auto* cmd = app.add_subcommand(
      "explain", "what a profile allows, by systemd syscall group and against each architecture's table");
  cmd->footer(R"(Examples:
  nucleus-profile explain app.json
  nucleus-profile explain --docker-default default.json app.json   # "... Docker's default allows N"
  nucleus-profile explain --format json app.json
  nucleus-profile explain app.policy.json        # each path and endpoint of a policy, and why

Counts are against every syscall libseccomp knows on each architecture. Groups are systemd's
(@file-system, @network-io, @process, @privileged, ...); a syscall can be in several.)");
  add_review_options(cmd, *opt, {"text", "json"});
  cmd->callback([opt, &selected] {
    selected = [opt] {
      const std::string text = core::read_file(opt->file);
      if (profile::is_policy_text(text)) return explain_policy(opt->file, text, opt->as_json());
      auto loaded = profile::parse_profile(text, opt->file);
      for (const auto& w : loaded.warnings) cli::warn(tool, opt->file + ": " + w.path + ": " + w.message);
      auto docker = docker_reference(*opt, loaded.policy);
      auto e = profile::explain_profile(loaded.policy, docker ? &*docker : nullptr);
      std::cout << (opt->as_json() ? profile::explain_to_json(e, opt->file)
                                   : profile::format_explain_text(e, opt->file));
      return 0;
    };
  });
}

} // namespace nucleus::profile_tool
