// Reviewing and editing the files and network policy (core/access_policy.hpp): check (risky
// grants, as check's findings), explain (each entry and why), diff (two policies, or a policy and
// the traces it must allow), merge (union) and add/remove. The tools tell a policy from a profile
// by its "format" key (is_policy_text). Use: auto p = core::read_access_policy(text, name); then
// check_access_policy(p), explain_access_policy(p, name), diff_access_policies(a, b), ...
#pragma once

#include "nucleus/profile/check.hpp"
#include "nucleus/core/access_policy.hpp"
#include "nucleus/core/trace_log.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace nucleus::profile {

// True when the text is a JSON object whose "format" is "nucleus-policy".
bool is_policy_text(std::string_view text);

// Where an address is: "loopback", "private", "link-local", "public", or "any" for an empty one.
std::string_view address_scope(std::string_view address);

struct PolicyCheckOptions {
  std::vector<std::string> homes; // the caller's home folders besides /root and /home/NAME
  std::string name = "POLICY";    // the policy's file, in the fixes' commands
};
// Findings: a change allowed under system folders or /etc (high), HOME or a folder above it
// granted (high; "list" only: low), credentials readable (high), start-up files writable (high),
// a container engine's socket (critical), any public or any-address endpoint (medium; connect to
// any address: high; the cloud metadata address: high), a bind beyond loopback (medium).
CheckResult check_access_policy(const core::AccessPolicy& policy, const PolicyCheckOptions& options = {});

std::string explain_access_policy(const core::AccessPolicy& policy, std::string_view name);
std::string explain_access_policy_json(const core::AccessPolicy& policy, std::string_view name);

// "tcp:127.0.0.1:8080", "udp:[::1]:53", "tcp:8080" (any address); "PORT" alone is tcp. Throws
// Error(usage) with the accepted forms.
core::Endpoint parse_endpoint(std::string_view text);
std::string endpoint_text(const core::Endpoint& endpoint); // "tcp 127.0.0.1:8080", "tcp *:8080"
// "read,write" into a set; throws Error(usage) naming the unknown access.
core::PathAccessSet parse_path_access(std::string_view text);

struct PolicyEdit {
  std::vector<core::PathRule> paths; // remove: an access of 0 removes the whole entry
  std::vector<core::Endpoint> connect, bind;
  std::vector<std::string> unix_paths;
  bool empty() const noexcept { return paths.empty() && connect.empty() && bind.empty() && unix_paths.empty(); }
};
// Each returns the edited policy and says in `changed` / `unchanged` what each item did. remove
// throws Error(invalid_input) for an item the policy does not hold, so a typo is not taken for done.
core::AccessPolicy add_to_policy(core::AccessPolicy policy, const PolicyEdit& edit, std::vector<std::string>& changed,
                                 std::vector<std::string>& unchanged);
core::AccessPolicy remove_from_policy(core::AccessPolicy policy, const PolicyEdit& edit,
                                      std::vector<std::string>& changed);

// The union: every path with the union of its access (reasons joined), every endpoint once.
core::AccessPolicy merge_access_policies(const std::vector<core::AccessPolicy>& policies);

struct PolicyDiff {
  std::vector<std::string> added, removed, changed; // one line each: "/srv/data read,write"
  bool same() const noexcept { return added.empty() && removed.empty() && changed.empty(); }
};
PolicyDiff diff_access_policies(const core::AccessPolicy& a, const core::AccessPolicy& b);

// What the traces did that the policy does not allow: each path with the access it lacks, each
// endpoint, each Unix socket, with the add command that would allow it. Failed calls are left out,
// as gen leaves them out.
struct PolicyTraceDiff {
  std::vector<std::string> denied;   // "read /etc/hosts by /usr/bin/curl (openat)"
  std::vector<std::string> commands; // "nucleus-profile add app.policy.json --path /etc/hosts --access read"
  bool same() const noexcept { return denied.empty(); }
};
PolicyTraceDiff diff_access_policy_trace(const core::AccessPolicy& policy, const std::vector<core::Trace>& traces,
                                         std::string_view policy_name);

std::string format_policy_diff_text(const PolicyDiff& d, std::string_view a_name, std::string_view b_name);
std::string format_policy_trace_diff_text(const PolicyTraceDiff& d, std::string_view policy_name,
                                          std::string_view trace_names);
std::string policy_diff_to_json(const PolicyDiff& d, std::string_view a_name, std::string_view b_name);
std::string policy_trace_diff_to_json(const PolicyTraceDiff& d, std::string_view policy_name,
                                      std::string_view trace_names);

} // namespace nucleus::profile
