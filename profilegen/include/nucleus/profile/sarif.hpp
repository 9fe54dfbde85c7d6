// `nucleus-profile check` findings as SARIF 2.1.0, the format code-scanning dashboards read: one
// rule per kind of finding (per syscall for risky syscalls), one result per finding, located at
// the line of the profile that causes it where that line can be found.
// Use: check_to_sarif(check_profile(policy), "app.json", text_of_app_json, {"nucleus-profile", "0.1.0", uri}).
#pragma once

#include "nucleus/profile/check.hpp"

#include <string>
#include <string_view>

namespace nucleus::profile {

struct Review;

struct SarifTool {
  std::string name;            // "nucleus-profile"
  std::string version;         // "0.1.0"
  std::string information_uri; // an absolute URI documenting the tool
};

// The SARIF level of a severity: critical and high "error", medium "warning", low "note", info "none".
std::string_view sarif_level(Severity severity) noexcept;

// `profile_uri` is the artifact's URI as given (a relative path stays relative, as dashboards
// expect paths relative to the repository; an absolute path becomes a file:// URI);
// `profile_text` is the profile's JSON text, searched for each finding's line.
std::string check_to_sarif(const CheckResult& result, std::string_view profile_path, std::string_view profile_text,
                           const SarifTool& tool);

// `nucleus-profile review` findings: one rule per review rule ("review/credential-read"), one
// result per finding, located at the first trace reviewed with the executable as a logical
// location; an incomplete inventory and the notes are the invocation's notifications (warnings for
// the incomplete), and run.properties.complete says whether the inventory is whole.
std::string review_to_sarif(const Review& review, const SarifTool& tool);

} // namespace nucleus::profile
