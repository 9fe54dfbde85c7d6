// The files whose reading or writing nucleus judges, one list for the review of what a program did
// (review_rules.cpp) and the check of a files and network policy (policy_check.cpp), so that both
// name the same keys, tokens and start-up files.
//
// Patterns: "/etc/shadow" (the whole path), ".ssh/id_*" (a home's: at any depth for the review,
// below each home for the policy check), "/etc/profile.d/**" or ".mozilla/firefox/**" (anything
// below). "*" matches within one name, never a leading dot.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace nucleus::profile::sensitive {

// Read: credentials and secrets (keys, tokens, browser profiles, password hashes).
std::span<const std::string_view> credentials();
// Written: what runs later, outside any sandbox (shell start-up, cron, systemd, sudoers, PAM, ...).
std::span<const std::string_view> persistence();

// A path's names ("/a/b/" -> a, b).
std::vector<std::string> components(std::string_view path);
// Whether the file `path` (absolute) is one `pattern` names.
bool path_matches(std::string_view pattern, std::string_view path);
// Whether a policy entry for `granted` (a file, or a folder with all below it) reaches a file the
// absolute `pattern` names: it is one, lies in one's subtree, or is a folder on the way to one.
bool reaches(std::string_view granted, std::string_view pattern);

} // namespace nucleus::profile::sensitive
