// nucleus-profile diff: two profiles, or a profile and what a traced run made.
#include "commands.hpp"
#include "policy.hpp"

#include "cli.hpp"
#include "nucleus/profile/diff.hpp"
#include "nucleus/profile/generate.hpp"
#include "nucleus/profile/merge.hpp"
#include "nucleus/profile/oci.hpp"
#include "nucleus/profile/policy_review.hpp"
#include "nucleus/core/io.hpp"

#include <iostream>
#include <memory>

namespace nucleus::profile_tool {

void register_diff(CLI::App& app, Action& selected) {
  struct Options {
    std::string a;
    std::vector<std::string> b;
    bool json = false;
    std::string format = "text";
  };
  auto opt = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("diff", "compare two profiles, or a profile with traces");
  cmd->footer(R"(Examples:
  nucleus-profile diff app-1.0.json app-1.1.json      # syscalls added/removed per architecture, changed entries
  nucleus-profile diff app.json new-run.trace         # what the run made that the profile would deny
  nucleus-profile diff --format json app-1.0.json app-1.1.json
  nucleus-profile diff old.policy.json new.policy.json   # paths and endpoints added, removed, changed
  nucleus-profile diff app.policy.json new-run.trace     # what the run did that the policy denies

Exit status, as diff(1): 0 no difference (every traced call allowed), 1 different, 2 trouble
(a file that is missing or does not parse), whatever the --format.)");
  cmd->add_option("old", opt->a, "profile (JSON)")->required();
  cmd->add_option("new", opt->b, "profile (JSON), or one or more trace logs")->required();
  cmd->add_option("--format", opt->format, "output format: text, json")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  cmd->add_flag("--json", opt->json, "the same as --format json")->excludes("--format");
  cmd->callback([opt, &selected] {
    selected = [opt] {
      if (opt->format == "json") opt->json = true;
      // diff(1)'s contract: any trouble is 2, whatever its kind.
      return cli::guarded_main(
          tool, [](const core::Error&) noexcept { return 2; },
          [&] {
            const std::string a_text = core::read_file(opt->a);
            if (profile::is_policy_text(a_text)) return diff_policy(opt->a, a_text, opt->b, opt->json);
            auto a = profile::parse_profile(a_text, opt->a).policy;
            std::string first = core::read_file(opt->b.front());
            if (profile::is_policy_text(first))
              throw core::Error(core::ErrorKind::usage,
                                opt->b.front() + " is a policy, " + opt->a + " a seccomp profile",
                                "diff a profile with a profile or traces, a policy with a policy or traces");
            if (!profile::is_profile_text(first)) {
              std::vector<std::filesystem::path> paths(opt->b.begin(), opt->b.end());
              auto traces = profile::read_inputs(paths, {});
              std::string names;
              for (const auto& b : opt->b) names += (names.empty() ? "" : ", ") + b;
              auto d = profile::diff_trace(a, traces);
              std::cout << (opt->json ? profile::trace_diff_to_json(d, opt->a, names)
                                      : profile::format_trace_diff_text(d, opt->a, names));
              return d.same() ? 0 : 1;
            }
            if (opt->b.size() != 1)
              throw core::Error(core::ErrorKind::usage, "diff compares two profiles, or a profile with trace logs");
            auto b = profile::parse_profile(first, opt->b.front()).policy;
            auto d = profile::diff_profiles(a, b);
            std::cout << (opt->json ? profile::diff_to_json(d, opt->a, opt->b.front())
                                    : profile::format_diff_text(d, opt->a, opt->b.front()));
            return d.same() ? 0 : 1;
          });
    };
  });
}

} // namespace nucleus::profile_tool
