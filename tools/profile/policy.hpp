// The files and network policy in nucleus-profile's subcommands: gen --policy, and check, explain,
// diff, merge, add and remove when their file is a policy (its "format" says so).
#pragma once

#include "nucleus/core/access_policy.hpp"
#include "nucleus/core/trace_log.hpp"

#include <string>
#include <vector>

namespace nucleus::profile_tool {

// gen --policy: refuses traces without behaviour records, prints what each rule widened, the
// failed calls and the notes on stderr, and returns the policy (written by the caller after the
// profile, so that a refusal writes neither).
core::AccessPolicy generate_policy_for(const std::vector<core::Trace>& traces, const std::vector<std::string>& names);

int check_policy(const std::string& file, const std::string& text, const std::string& format,
                 const std::string& fail_on);
int explain_policy(const std::string& file, const std::string& text, bool json);
// `a` is a policy; `b` a policy or trace logs. 0 same, 1 different.
int diff_policy(const std::string& a, const std::string& a_text, const std::vector<std::string>& b, bool json);
// Policies and traces (generated as by gen --policy) into one policy.
void merge_policies(const std::vector<std::string>& inputs, const std::string& output);

struct PolicyEditOptions {
  std::vector<std::string> paths;
  std::string access; // for every --path; remove: empty means the whole entry
  std::string reason;
  std::vector<std::string> connect, bind, unix_paths;
  bool any() const {
    return !paths.empty() || !access.empty() || !connect.empty() || !bind.empty() || !unix_paths.empty();
  }
};
int edit_policy(const std::string& file, bool add, const PolicyEditOptions& options);

} // namespace nucleus::profile_tool
