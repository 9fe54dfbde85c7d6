// nucleus-profile check and explain: review what a profile allows.
#include "commands.hpp"

#include "cli.hpp"
#include "nucleus/profile/check.hpp"
#include "nucleus/profile/explain.hpp"
#include "nucleus/profile/oci.hpp"
#include "nucleus/sandbox/error.hpp"

#include <iostream>
#include <memory>

namespace nucleus::profile_tool {
namespace {

struct ReviewOptions {
  std::string file;
  std::string docker_default;
  bool json = false;
  std::string fail_on = "low";
};

void add_review_options(CLI::App* cmd, ReviewOptions& opt) {
  cmd->add_option("profile", opt.file, "OCI or Docker seccomp profile (JSON)")->required();
  cmd->add_option("--docker-default", opt.docker_default,
                  "Docker's default profile (profiles/seccomp/default.json of Docker's source) to compare with")
      ->check(CLI::ExistingFile);
  cmd->add_flag("--json", opt.json, "print JSON instead of text");
}

std::optional<profile::Reference> docker_reference(const ReviewOptions& opt, const sandbox::Policy& policy) {
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
  nucleus-profile check --fail-on high --json app.json

Each finding has a severity (info, low, medium, high, critical), the reason it matters and the fix.
Exit status: 0 when no finding reaches --fail-on (default low); otherwise by the highest severity:
3 low, 4 medium, 5 high, 6 critical. 1: the profile is invalid; 2: trouble (unreadable file, bad flags).)");
  add_review_options(cmd, *opt);
  cmd->add_option("--fail-on", opt->fail_on, "lowest severity that makes the exit status non-zero: low, medium, high, critical")
      ->capture_default_str()
      ->check(CLI::IsMember({"info", "low", "medium", "high", "critical"}));
  cmd->callback([opt, &selected] {
    selected = [opt] {
      auto loaded = profile::load_profile(opt->file);
      for (const auto& w : loaded.warnings) cli::warn(tool, opt->file + ": " + w.path + ": " + w.message);
      auto docker = docker_reference(*opt, loaded.policy);
      profile::CheckOptions options;
      options.docker_default = docker ? &*docker : nullptr;
      auto result = profile::check_profile(loaded.policy, options);
      std::cout << (opt->json ? profile::check_to_json(result, opt->file) : profile::format_check_text(result, opt->file));
      return profile::check_exit_code(result, *profile::severity_from_name(opt->fail_on));
    };
  });
}

void register_explain(CLI::App& app, Action& selected) {
  auto opt = std::make_shared<ReviewOptions>();
  auto* cmd = app.add_subcommand("explain", "what a profile allows, by systemd syscall group and against each architecture's table");
  cmd->footer(R"(Examples:
  nucleus-profile explain app.json
  nucleus-profile explain --docker-default default.json app.json   # "... Docker's default allows N"
  nucleus-profile explain --json app.json

Counts are against every syscall libseccomp knows on each architecture. Groups are systemd's
(@file-system, @network-io, @process, @privileged, ...); a syscall can be in several.)");
  add_review_options(cmd, *opt);
  cmd->callback([opt, &selected] {
    selected = [opt] {
      auto loaded = profile::load_profile(opt->file);
      for (const auto& w : loaded.warnings) cli::warn(tool, opt->file + ": " + w.path + ": " + w.message);
      auto docker = docker_reference(*opt, loaded.policy);
      auto e = profile::explain_profile(loaded.policy, docker ? &*docker : nullptr);
      std::cout << (opt->json ? profile::explain_to_json(e, opt->file) : profile::format_explain_text(e, opt->file));
      return 0;
    };
  });
}

} // namespace nucleus::profile_tool
