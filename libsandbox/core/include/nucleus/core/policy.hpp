// The in-memory policy: the one model that JSON profiles, command-line flags and traces all fill,
// and that the filter compiler turns into BPF. Mirrors the OCI LinuxSeccomp object.
#pragma once

#include "nucleus/core/action.hpp"
#include "nucleus/core/arch.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nucleus::core {

enum class CmpOp { ne, lt, le, eq, ge, gt, masked_eq };

std::optional<CmpOp> cmp_op_from_oci(std::string_view oci_name); // "SCMP_CMP_MASKED_EQ"
std::string_view cmp_op_oci_name(CmpOp op) noexcept;

struct ArgCondition {
  unsigned index = 0; // 0..5
  CmpOp op = CmpOp::eq;
  std::uint64_t value = 0;
  std::uint64_t value_two = 0; // masked_eq: value is the mask, value_two the expected value (OCI order)
  friend bool operator==(const ArgCondition&, const ArgCondition&) = default;
};
// True when `arg` satisfies the condition; the reference semantics the compiler must match.
bool matches(const ArgCondition& cond, std::uint64_t arg) noexcept;

// One OCI syscalls[] entry. All conditions must hold (AND), including several on the same index.
struct Rule {
  std::vector<std::string> names;
  Action action = Action::allow();
  std::vector<ArgCondition> args;
  std::string comment;
  friend bool operator==(const Rule&, const Rule&) = default;
};

// The clone3 fallback, a mark on an entry: clone3 answered with ENOSYS whatever its arguments. Its
// flags are in memory, out of a filter's reach, and on ENOSYS (only on that errno) the C library
// falls back to clone, whose flags a filter can check; gen writes the entry, Docker's default has
// it. Recognised by what the entry does, so that a profile read back from JSON (or merged, the
// entry then naming more syscalls with the same treatment) carries the mark as a generated one
// does; a clone3 entry with another errno or with conditions is the author's own, not the mark.
inline constexpr std::string_view clone3_name = "clone3";
bool is_clone3_fallback(const Rule& rule);
Rule clone3_fallback_rule(); // the entry gen writes, with its comment

// SECCOMP_FILTER_FLAG_* names as OCI writes them.
enum class FilterFlag : unsigned { tsync = 1, log = 2, spec_allow = 4, wait_killable_recv = 32 };
std::optional<FilterFlag> filter_flag_from_oci(std::string_view oci_name);
std::string_view filter_flag_oci_name(FilterFlag flag) noexcept;

struct Policy {
  Action default_action = Action::errno_ret(1); // EPERM
  std::vector<Arch> architectures;              // empty: native only
  std::vector<FilterFlag> flags;
  std::vector<Rule> rules;
  friend bool operator==(const Policy&, const Policy&) = default;

  bool has_flag(FilterFlag f) const noexcept;
  // The architectures the filter covers: `architectures`, or the native one when empty.
  std::vector<Arch> effective_arches() const;
};

// The action the policy takes for syscall `name` whatever its arguments: that of the entry naming
// it without conditions, or the default when no entry names it; nullopt when it depends on the
// arguments. Used to say exactly what a denial was (the kernel's record omits the errno value).
std::optional<Action> action_for(const Policy& policy, std::string_view name);

// Whether the entry that decides clone3 in `policy` (see action_for) is the clone3 fallback, so a
// clone3 answered ENOSYS is the profile working as written.
bool falls_back_from_clone3(const Policy& policy);

} // namespace nucleus::core
