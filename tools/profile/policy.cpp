// nucleus-profile's subcommands on the files and network policy; the work is in profilegen's
// policy_gen and policy_review.
#include "policy.hpp"

#include "cli.hpp"
#include "commands.hpp"
#include "nucleus/profile/generate.hpp"
#include "nucleus/profile/merge.hpp"
#include "nucleus/profile/policy_gen.hpp"
#include "nucleus/profile/policy_review.hpp"
#include "nucleus/core/error.hpp"
#include "nucleus/core/io.hpp"
#include "nucleus/core/strings.hpp"

#include <cstdlib>
#include <iostream>

namespace nucleus::profile_tool {
namespace {

std::vector<std::string> caller_homes() {
  const char* home = std::getenv("HOME");
  if (home == nullptr || *home != '/') return {};
  return {home};
}

core::AccessPolicy read_policy(const std::string& file, const std::string& text) {
  return core::read_access_policy(text, file);
}

} // namespace

core::AccessPolicy generate_policy_for(const std::vector<core::Trace>& traces, const std::vector<std::string>& names) {
  profile::refuse_without_behaviour(traces, names);
  for (std::size_t i = 0; i < traces.size(); ++i)
    if (traces[i].summary && traces[i].summary->behaviour_dropped != 0)
      cli::warn(tool, names[i] + " dropped " + std::to_string(traces[i].summary->behaviour_dropped) +
                          " behaviour record(s) at its cap: the policy may deny what the program needs");
  profile::PolicyGenOptions options;
  options.homes = caller_homes();
  auto result = profile::generate_access_policy(traces, options);
  for (const auto& w : result.widened) std::cerr << tool << ": policy: " << w << "\n";
  for (const auto& f : result.failed) std::cerr << tool << ": policy: " << f << "\n";
  for (const auto& n : result.notes) std::cerr << tool << ": policy: note: " << n << "\n";
  return std::move(result.policy);
}

int check_policy(const std::string& file, const std::string& text, const std::string& format,
                 const std::string& fail_on) {
  if (format == "sarif")
    throw core::Error(core::ErrorKind::usage, file + " is a policy: --format sarif is for seccomp profiles",
                      "use --format text or json");
  auto policy = read_policy(file, text);
  profile::PolicyCheckOptions options;
  options.homes = caller_homes();
  options.name = file;
  auto result = profile::check_access_policy(policy, options);
  std::cout << (format == "json" ? profile::check_to_json(result, file) : profile::format_check_text(result, file));
  return profile::check_exit_code(result, *profile::severity_from_name(fail_on));
}

int explain_policy(const std::string& file, const std::string& text, bool json) {
  auto policy = read_policy(file, text);
  std::cout << (json ? profile::explain_access_policy_json(policy, file)
                     : profile::explain_access_policy(policy, file));
  return 0;
}

int diff_policy(const std::string& a, const std::string& a_text, const std::vector<std::string>& b, bool json) {
  auto old_policy = read_policy(a, a_text);
  const std::string first = core::read_file(b.front());
  if (profile::is_policy_text(first)) {
    if (b.size() != 1)
      throw core::Error(core::ErrorKind::usage, "diff compares two policies, or a policy with trace logs");
    auto d = profile::diff_access_policies(old_policy, read_policy(b.front(), first));
    std::cout << (json ? profile::policy_diff_to_json(d, a, b.front())
                       : profile::format_policy_diff_text(d, a, b.front()));
    return d.same() ? 0 : 1;
  }
  if (profile::is_profile_text(first))
    throw core::Error(core::ErrorKind::usage, b.front() + " is a seccomp profile, " + a + " a policy",
                      "diff a policy with a policy or with trace logs, a profile with a profile or with trace logs");
  std::vector<std::filesystem::path> paths(b.begin(), b.end());
  auto traces = profile::read_inputs(paths, {});
  profile::refuse_without_behaviour(traces, b);
  const std::string names = core::join(b, ", ");
  auto d = profile::diff_access_policy_trace(old_policy, traces, a);
  std::cout << (json ? profile::policy_trace_diff_to_json(d, a, names)
                     : profile::format_policy_trace_diff_text(d, a, names));
  return d.same() ? 0 : 1;
}

void merge_policies(const std::vector<std::string>& inputs, const std::string& output) {
  std::vector<core::AccessPolicy> policies;
  std::vector<core::Trace> traces;
  std::vector<std::string> trace_names;
  for (const auto& path : inputs) {
    const std::string text = core::read_file(path);
    if (profile::is_policy_text(text)) {
      policies.push_back(read_policy(path, text));
    } else if (profile::is_profile_text(text)) {
      throw core::Error(core::ErrorKind::usage, path + " is a seccomp profile; the other inputs are policies",
                        "merge policies (and traces) into a policy, profiles (and traces) into a profile");
    } else {
      traces.push_back(core::read_trace(text, path));
      trace_names.push_back(path);
    }
  }
  if (!traces.empty()) policies.push_back(generate_policy_for(traces, trace_names));
  core::write_file_atomic(output, core::write_access_policy(profile::merge_access_policies(policies)));
}

int edit_policy(const std::string& file, bool add, const PolicyEditOptions& o) {
  auto policy = read_policy(file, core::read_file(file));
  if (!o.any())
    throw core::Error(core::ErrorKind::usage, std::string("nothing to ") + (add ? "add" : "remove"),
                      "give --path PATH --access ACCESS, --connect, --bind or --unix");
  if (!o.access.empty() && o.paths.empty()) throw core::Error(core::ErrorKind::usage, "--access needs --path");
  profile::PolicyEdit edit;
  const core::PathAccessSet access = o.access.empty() ? 0 : profile::parse_path_access(o.access);
  for (const auto& p : o.paths) edit.paths.push_back({p, access, o.reason});
  for (const auto& e : o.connect) edit.connect.push_back(profile::parse_endpoint(e));
  for (const auto& e : o.bind) edit.bind.push_back(profile::parse_endpoint(e));
  for (const auto& u : o.unix_paths) {
    if (!u.starts_with('/') && !u.starts_with('@'))
      throw core::Error(core::ErrorKind::usage,
                        "--unix " + u + ": a socket path is absolute, or @name for an abstract one");
    edit.unix_paths.push_back(u);
  }
  std::vector<std::string> changed, unchanged;
  policy = add ? profile::add_to_policy(std::move(policy), edit, changed, unchanged)
               : profile::remove_from_policy(std::move(policy), edit, changed);
  core::write_file_atomic(file, core::write_access_policy(policy));
  for (const auto& u : unchanged) cli::warn(tool, u + " is already allowed");
  std::cerr << tool << ": " << file << ": " << (add ? "added" : "removed") << " "
            << (changed.empty() ? std::string("nothing") : core::join(changed, "; ")) << "\n";
  return 0;
}

} // namespace nucleus::profile_tool
