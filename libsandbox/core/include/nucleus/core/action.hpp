// Seccomp actions: what the filter returns for a syscall. Parsed from OCI names ("SCMP_ACT_ERRNO")
// and from the short names used on the command line ("errno", "errno:13", "kill-process").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace nucleus::core {

enum class ActionKind { kill_process, kill_thread, trap, errno_ret, trace, log, allow, notify };

struct Action {
  ActionKind kind = ActionKind::allow;
  std::uint32_t data = 0; // errno for errno_ret, message for trace

  static constexpr Action allow() { return {ActionKind::allow, 0}; }
  static constexpr Action log() { return {ActionKind::log, 0}; }
  static constexpr Action errno_ret(std::uint32_t e) { return {ActionKind::errno_ret, e}; }
  static constexpr Action kill_process() { return {ActionKind::kill_process, 0}; }

  friend constexpr bool operator==(const Action&, const Action&) = default;
};

std::optional<ActionKind> action_kind_from_oci(std::string_view oci_name); // "SCMP_ACT_KILL" too
std::string_view action_oci_name(ActionKind kind) noexcept;                // "SCMP_ACT_ERRNO"
std::string_view action_short_name(ActionKind kind) noexcept;              // "errno"
// "kill-process", "errno", "errno:13", "trace:7", "log", "allow", ...; errno defaults to EPERM.
std::optional<Action> parse_action(std::string_view text);
std::string to_string(const Action& action); // "errno(EPERM)", "kill-process", ...

// Decodes the `code=` of an audit SECCOMP record (SECCOMP_RET_* | data).
Action action_from_seccomp_ret(std::uint32_t ret) noexcept;
// The libseccomp value (SCMP_ACT_*) for an action.
std::uint32_t to_scmp(const Action& action) noexcept;

// Ranks actions from most to least restrictive, as the kernel does when several filters disagree.
int strictness(ActionKind kind) noexcept;

} // namespace nucleus::core
