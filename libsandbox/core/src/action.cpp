// Seccomp actions: names, parsing, and the mapping to kernel and libseccomp values.
#include "nucleus/core/action.hpp"

#include <linux/seccomp.h>
#include <seccomp.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>

namespace nucleus::core {
namespace {

struct ActionNames {
  ActionKind kind;
  std::string_view oci;
  std::string_view short_name;
};

constexpr std::array<ActionNames, 8> action_table{{
    {ActionKind::kill_process, "SCMP_ACT_KILL_PROCESS", "kill-process"},
    {ActionKind::kill_thread, "SCMP_ACT_KILL_THREAD", "kill-thread"},
    {ActionKind::trap, "SCMP_ACT_TRAP", "trap"},
    {ActionKind::errno_ret, "SCMP_ACT_ERRNO", "errno"},
    {ActionKind::trace, "SCMP_ACT_TRACE", "trace"},
    {ActionKind::log, "SCMP_ACT_LOG", "log"},
    {ActionKind::allow, "SCMP_ACT_ALLOW", "allow"},
    {ActionKind::notify, "SCMP_ACT_NOTIFY", "notify"},
}};

struct ErrnoName {
  int value;
  std::string_view name;
};
// The errno values a profile plausibly returns; others print as numbers.
constexpr std::array<ErrnoName, 12> errno_names{{
    {EPERM, "EPERM"},
    {ENOENT, "ENOENT"},
    {EINTR, "EINTR"},
    {EIO, "EIO"},
    {EAGAIN, "EAGAIN"},
    {ENOMEM, "ENOMEM"},
    {EACCES, "EACCES"},
    {EFAULT, "EFAULT"},
    {EINVAL, "EINVAL"},
    {ENOSYS, "ENOSYS"},
    {EOPNOTSUPP, "EOPNOTSUPP"},
    {EAFNOSUPPORT, "EAFNOSUPPORT"},
}};

std::optional<std::uint32_t> parse_errno_value(std::string_view text) {
  for (const auto& e : errno_names)
    if (e.name == text) return static_cast<std::uint32_t>(e.value);
  std::uint32_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size() || v > 4095) return std::nullopt;
  return v;
}

} // namespace

std::optional<ActionKind> action_kind_from_oci(std::string_view oci_name) {
  if (oci_name == "SCMP_ACT_KILL") return ActionKind::kill_thread; // libseccomp's old name
  for (const auto& a : action_table)
    if (a.oci == oci_name) return a.kind;
  return std::nullopt;
}

std::string_view action_oci_name(ActionKind kind) noexcept {
  for (const auto& a : action_table)
    if (a.kind == kind) return a.oci;
  return "SCMP_ACT_KILL_PROCESS";
}

std::string_view action_short_name(ActionKind kind) noexcept {
  for (const auto& a : action_table)
    if (a.kind == kind) return a.short_name;
  return "kill-process";
}

std::optional<Action> parse_action(std::string_view text) {
  std::string_view name = text;
  std::string_view arg;
  const auto colon = text.find(':');
  const bool has_arg = colon != std::string_view::npos;
  if (has_arg) {
    name = text.substr(0, colon);
    arg = text.substr(colon + 1);
    if (arg.empty()) return std::nullopt;
  }
  std::optional<ActionKind> kind;
  for (const auto& a : action_table)
    if (a.short_name == name) kind = a.kind;
  if (!kind) kind = action_kind_from_oci(name);
  if (!kind) return std::nullopt;
  Action action{*kind, 0};
  if (*kind == ActionKind::errno_ret) {
    action.data = EPERM;
    if (!arg.empty()) {
      auto v = parse_errno_value(arg);
      if (!v) return std::nullopt;
      action.data = *v;
    }
  } else if (*kind == ActionKind::trace) {
    if (!arg.empty()) {
      auto [end, ec] = std::from_chars(arg.data(), arg.data() + arg.size(), action.data);
      if (ec != std::errc{} || end != arg.data() + arg.size() || action.data > 0xffff) return std::nullopt;
    }
  } else if (has_arg) {
    return std::nullopt;
  }
  return action;
}

std::string to_string(const Action& action) {
  std::string out(action_short_name(action.kind));
  if (action.kind == ActionKind::errno_ret) {
    for (const auto& e : errno_names)
      if (static_cast<std::uint32_t>(e.value) == action.data) return out + "(" + std::string(e.name) + ")";
    return out + "(" + std::to_string(action.data) + ")";
  }
  if (action.kind == ActionKind::trace) return out + "(" + std::to_string(action.data) + ")";
  return out;
}

Action action_from_seccomp_ret(std::uint32_t ret) noexcept {
  std::uint32_t data = ret & SECCOMP_RET_DATA;
  switch (ret & SECCOMP_RET_ACTION_FULL) {
  case SECCOMP_RET_KILL_PROCESS: return {ActionKind::kill_process, 0};
  case SECCOMP_RET_KILL_THREAD: return {ActionKind::kill_thread, 0};
  case SECCOMP_RET_TRAP: return {ActionKind::trap, data};
  case SECCOMP_RET_ERRNO: return {ActionKind::errno_ret, data};
  case SECCOMP_RET_USER_NOTIF: return {ActionKind::notify, 0};
  case SECCOMP_RET_TRACE: return {ActionKind::trace, data};
  case SECCOMP_RET_LOG: return {ActionKind::log, 0};
  case SECCOMP_RET_ALLOW: return {ActionKind::allow, 0};
  default: return {ActionKind::kill_process, 0}; // the kernel treats unknown actions as a kill
  }
}

std::uint32_t to_scmp(const Action& action) noexcept {
  switch (action.kind) {
  case ActionKind::kill_process: return SCMP_ACT_KILL_PROCESS;
  case ActionKind::kill_thread: return SCMP_ACT_KILL_THREAD;
  case ActionKind::trap: return SCMP_ACT_TRAP;
  case ActionKind::errno_ret: return SCMP_ACT_ERRNO(action.data);
  case ActionKind::trace: return SCMP_ACT_TRACE(action.data);
  case ActionKind::log: return SCMP_ACT_LOG;
  case ActionKind::allow: return SCMP_ACT_ALLOW;
  case ActionKind::notify: return SCMP_ACT_NOTIFY;
  }
  return SCMP_ACT_KILL_PROCESS;
}

int strictness(ActionKind kind) noexcept {
  // The kernel's precedence (seccomp(2), "multiple filters"): lower value wins.
  switch (kind) {
  case ActionKind::kill_process: return 0;
  case ActionKind::kill_thread: return 1;
  case ActionKind::trap: return 2;
  case ActionKind::errno_ret: return 3;
  case ActionKind::notify: return 4;
  case ActionKind::trace: return 5;
  case ActionKind::log: return 6;
  case ActionKind::allow: return 7;
  }
  return 0;
}

} // namespace nucleus::core
