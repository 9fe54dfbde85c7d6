// Reviewing a profile: what in it helps an attacker, why, and how to fix it. Findings carry a
// severity; the tool's exit code follows the highest one. Use: auto r = check_profile(policy, opts);
// then format_check_text(r) or check_to_json(r), and check_exit_code(r, Severity::low).
#pragma once

#include "nucleus/profile/effective.hpp"
#include "nucleus/core/policy.hpp"

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace nucleus::profile {

enum class Severity { info, low, medium, high, critical };
std::string_view severity_name(Severity severity) noexcept; // "high"
std::optional<Severity> severity_from_name(std::string_view name);

// A syscall that is dangerous to allow, and what makes allowing it acceptable.
struct RiskySyscall {
  std::string_view name;
  Severity severity;
  std::string_view reason; // the escape or attack it enables
  std::string_view fix;
  // Allowed only under a condition on this argument, the syscall is acceptable (socket's domain,
  // ioctl's request, clone's flags, personality's persona); -1: conditions do not make it safe.
  int guard_arg = -1;
};
// The whole list `check` looks for, in a fixed order.
std::span<const RiskySyscall> risky_syscalls() noexcept;

struct Finding {
  Severity severity = Severity::info;
  std::string id;                  // "risky-syscall", "default-action", "architectures", "beyond-docker-default", ...
  std::string subject;             // the syscall or setting: "ptrace", "defaultAction"
  std::vector<std::string> arches; // where it applies; empty: everywhere
  std::string message;
  std::string reason;
  std::string fix;
  std::string exe = {}; // review: the executable whose behaviour it is; empty for check's findings
};

struct CheckOptions {
  const Reference* docker_default = nullptr; // no comparison when null
};

struct CheckResult {
  std::vector<Finding> findings;  // most severe first, then by subject
  std::vector<std::string> notes; // e.g. that the Docker comparison was not made
  std::optional<Severity> highest() const;
};

CheckResult check_profile(const core::Policy& policy, const CheckOptions& options = {});

// Exit status of `nucleus-profile check`: 0 when no finding reaches `fail_on`, else by the highest
// severity: 3 low, 4 medium, 5 high, 6 critical (1 and 2 stay "invalid input" and "trouble").
int check_exit_code(const CheckResult& result, Severity fail_on);
int severity_exit_code(Severity severity) noexcept;

std::string format_check_text(const CheckResult& result, std::string_view profile_name);
std::string check_to_json(const CheckResult& result, std::string_view profile_name);

} // namespace nucleus::profile
