// nucleus-profile merge: the union of profiles and traces, with provenance.
#include "commands.hpp"
#include "policy.hpp"

#include "cli.hpp"
#include "nucleus/profile/generate.hpp"
#include "nucleus/profile/merge.hpp"
#include "nucleus/profile/oci.hpp"
#include "nucleus/profile/policy_review.hpp"
#include "nucleus/sandbox/filter.hpp"
#include "nucleus/core/error.hpp"
#include "nucleus/core/io.hpp"
#include "nucleus/core/trace_log.hpp"

#include <iostream>
#include <memory>

namespace nucleus::profile_tool {
namespace {

int merge_traces(const std::vector<std::string>& paths, const std::string& output) {
  std::vector<core::Trace> traces;
  for (const auto& path : paths) {
    std::string text = core::read_file(path);
    if (!core::is_trace_log(text) || profile::is_profile_text(text))
      throw core::Error(core::ErrorKind::usage, path + ": not a trace log", "merge --trace unites trace logs only");
    traces.push_back(core::read_trace(text, path));
  }
  const core::Trace merged = profile::merge_traces(traces);
  core::write_file_atomic(output, core::write_trace(merged));
  if (merged.summary && merged.summary->behaviour_dropped != 0)
    cli::warn(tool, std::to_string(merged.summary->behaviour_dropped) +
                        " behaviour record(s) dropped at the cap on distinct records: the merged trace says so");
  return 0;
}

} // namespace

void register_merge(CLI::App& app, Action& selected) {
  struct Options {
    std::vector<std::string> inputs;
    std::string output = "-";
    std::string prefer;
    bool trace = false;
  };
  auto opt = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("merge", "union of profiles and traces, with each entry's sources in its comment");
  cmd->footer(R"(Examples:
  nucleus-profile merge base.json plugin.json -o app.json
  nucleus-profile merge app.json new-run.trace -o app.json          # add what a new run made
  nucleus-profile merge --prefer stricter a.json b.json -o app.json
  nucleus-profile merge --trace run1.trace run2.trace -o all.trace  # one trace: syscalls, files, network, programs
  nucleus-profile merge a.policy.json b.policy.json -o app.policy.json   # policies: the union

Architectures and flags are united. When two sources treat a syscall differently (another action,
errno value or argument condition), or their default actions differ, that is an error naming both,
unless --prefer says which one wins. Traces are generated together (as by gen), so the argument
values they saw are unioned; where a trace and a profile both allow a syscall only under argument
conditions, the result allows what either allows. The result is compiled before it is written atomically.
With --trace, every input must be a trace and the result is one trace (for review or gen): syscall
counts summed and argument values unioned, behaviour records (programs, files, network) unioned with
their counts summed up to the trace's cap on distinct records (what passes it is counted in the
summary's behaviour_dropped), losses and dropped records kept.

Policies (gen --policy) merge into a policy: each path with the union of its access, each endpoint
once; traces among them add what gen --policy would grant for them.)");
  cmd->add_option("inputs", opt->inputs, "profiles (JSON) and trace logs")->required()->check(CLI::ExistingFile);
  cmd->add_option("-o,--output", opt->output, "profile to write; - for standard output")->capture_default_str();
  cmd->add_option("--prefer", opt->prefer, "resolve conflicts: stricter or looser")
      ->check(CLI::IsMember({"stricter", "looser"}));
  cmd->add_flag("--trace", opt->trace,
                "unite traces into one trace (behaviour records kept) instead of making a profile");
  cmd->callback([opt, &selected] {
    selected = [opt] {
      if (opt->trace) return merge_traces(opt->inputs, opt->output);
      if (opt->output.ends_with(".trace"))
        throw core::Error(core::ErrorKind::usage,
                          "merge writes a profile, and " + opt->output + " is named like a trace",
                          "pass --trace to unite traces into one trace, or name the output FILE.json");
      for (const auto& path : opt->inputs)
        if (profile::is_policy_text(core::read_file(path))) {
          if (!opt->prefer.empty())
            throw core::Error(core::ErrorKind::usage,
                              "--prefer is for seccomp profiles: a policy union has no conflicts");
          merge_policies(opt->inputs, opt->output);
          return 0;
        }
      std::vector<profile::MergeInput> inputs;
      // The traces become one input, generated from all of them, so that the argument values they
      // saw are unioned rather than set against each other.
      std::vector<core::Trace> traces;
      std::vector<std::string> trace_names;
      for (const auto& path : opt->inputs) {
        std::string text = core::read_file(path);
        if (!profile::is_profile_text(text)) {
          traces.push_back(core::read_trace(text, path));
          trace_names.push_back(path);
        } else {
          auto loaded = profile::parse_profile(text, path);
          for (const auto& w : loaded.warnings) cli::warn(tool, path + ": " + w.path + ": " + w.message);
          inputs.push_back({path, std::move(loaded.policy), false});
        }
      }
      if (!traces.empty()) {
        auto generated = profile::generate(traces, {}, trace_names);
        for (const auto& n : generated.notes) std::cerr << tool << ": note: " << n << "\n";
        std::string source;
        for (const auto& n : trace_names) source += (source.empty() ? "" : ", ") + n;
        inputs.push_back({source, std::move(generated.policy), true});
      }
      auto prefer = opt->prefer.empty() ? profile::Prefer::none : *profile::prefer_from_name(opt->prefer);
      auto merged = profile::merge_profiles(inputs, prefer);
      sandbox::CompileOptions checking;
      checking.enforcement = false;       // the profile may be meant for a runtime with a notify agent
      sandbox::compile(merged, checking); // never write a profile that does not compile
      core::write_file_atomic(opt->output, profile::to_oci_json(merged));
      return 0;
    };
  });
}

} // namespace nucleus::profile_tool
