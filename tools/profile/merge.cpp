// nucleus-profile merge: the union of profiles and traces, with provenance.
#include "commands.hpp"

#include "cli.hpp"
#include "nucleus/profile/generate.hpp"
#include "nucleus/profile/merge.hpp"
#include "nucleus/profile/oci.hpp"
#include "nucleus/sandbox/filter.hpp"
#include "nucleus/sandbox/io.hpp"

#include <iostream>
#include <memory>

namespace nucleus::profile_tool {

void register_merge(CLI::App& app, Action& selected) {
  struct Options {
    std::vector<std::string> inputs;
    std::string output = "-";
    std::string prefer;
  };
  auto opt = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("merge", "union of profiles and traces, with each entry's sources in its comment");
  cmd->footer(R"(Examples:
  nucleus-profile merge base.json plugin.json -o app.json
  nucleus-profile merge app.json new-run.trace -o app.json          # add what a new run made
  nucleus-profile merge --prefer stricter a.json b.json -o app.json

Architectures and flags are united. When two sources treat a syscall differently (another action,
errno value or argument condition), or their default actions differ, that is an error naming both,
unless --prefer says which one wins. The result is compiled before it is written atomically.)");
  cmd->add_option("inputs", opt->inputs, "profiles (JSON) and trace logs")->required()->check(CLI::ExistingFile);
  cmd->add_option("-o,--output", opt->output, "profile to write; - for standard output")->capture_default_str();
  cmd->add_option("--prefer", opt->prefer, "resolve conflicts: stricter or looser")
      ->check(CLI::IsMember({"stricter", "looser"}));
  cmd->callback([opt, &selected] {
    selected = [opt] {
      std::vector<profile::MergeInput> inputs;
      for (const auto& path : opt->inputs) {
        std::string text = sandbox::read_file(path);
        if (!profile::is_profile_text(text)) {
          inputs.push_back(profile::input_from_trace(tracer::read_trace(text, path), path));
        } else {
          auto loaded = profile::parse_profile(text, path);
          for (const auto& w : loaded.warnings) cli::warn(tool, path + ": " + w.path + ": " + w.message);
          inputs.push_back({path, std::move(loaded.policy), false});
        }
      }
      auto prefer = opt->prefer.empty() ? profile::Prefer::none : *profile::prefer_from_name(opt->prefer);
      auto merged = profile::merge_profiles(inputs, prefer);
      sandbox::CompileOptions checking;
      checking.enforcement = false; // the profile may be meant for a runtime with a notify agent
      sandbox::compile(merged, checking); // never write a profile that does not compile
      sandbox::write_file_atomic(opt->output, profile::to_oci_json(merged));
      return 0;
    };
  });
}

} // namespace nucleus::profile_tool
