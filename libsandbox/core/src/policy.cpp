// Comparison operators, filter flags and condition semantics of the in-memory policy.
#include "nucleus/core/policy.hpp"

#include <algorithm>
#include <array>
#include <cerrno>

namespace nucleus::core {
namespace {

struct OpNames {
  CmpOp op;
  std::string_view oci;
};
constexpr std::array<OpNames, 7> op_table{{
    {CmpOp::ne, "SCMP_CMP_NE"},
    {CmpOp::lt, "SCMP_CMP_LT"},
    {CmpOp::le, "SCMP_CMP_LE"},
    {CmpOp::eq, "SCMP_CMP_EQ"},
    {CmpOp::ge, "SCMP_CMP_GE"},
    {CmpOp::gt, "SCMP_CMP_GT"},
    {CmpOp::masked_eq, "SCMP_CMP_MASKED_EQ"},
}};

struct FlagNames {
  FilterFlag flag;
  std::string_view oci;
};
constexpr std::array<FlagNames, 4> flag_table{{
    {FilterFlag::tsync, "SECCOMP_FILTER_FLAG_TSYNC"},
    {FilterFlag::log, "SECCOMP_FILTER_FLAG_LOG"},
    {FilterFlag::spec_allow, "SECCOMP_FILTER_FLAG_SPEC_ALLOW"},
    {FilterFlag::wait_killable_recv, "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"},
}};

} // namespace

std::optional<CmpOp> cmp_op_from_oci(std::string_view oci_name) {
  for (const auto& o : op_table)
    if (o.oci == oci_name) return o.op;
  return std::nullopt;
}

std::string_view cmp_op_oci_name(CmpOp op) noexcept {
  for (const auto& o : op_table)
    if (o.op == op) return o.oci;
  return "SCMP_CMP_EQ";
}

std::optional<FilterFlag> filter_flag_from_oci(std::string_view oci_name) {
  for (const auto& f : flag_table)
    if (f.oci == oci_name) return f.flag;
  return std::nullopt;
}

std::string_view filter_flag_oci_name(FilterFlag flag) noexcept {
  for (const auto& f : flag_table)
    if (f.flag == flag) return f.oci;
  return "";
}

bool matches(const ArgCondition& cond, std::uint64_t arg) noexcept {
  switch (cond.op) {
  case CmpOp::ne: return arg != cond.value;
  case CmpOp::lt: return arg < cond.value;
  case CmpOp::le: return arg <= cond.value;
  case CmpOp::eq: return arg == cond.value;
  case CmpOp::ge: return arg >= cond.value;
  case CmpOp::gt: return arg > cond.value;
  case CmpOp::masked_eq: return (arg & cond.value) == cond.value_two;
  }
  return false;
}

bool Policy::has_flag(FilterFlag f) const noexcept { return std::find(flags.begin(), flags.end(), f) != flags.end(); }

std::vector<Arch> Policy::effective_arches() const {
  if (architectures.empty()) return {native_arch()};
  return architectures;
}

std::optional<Action> action_for(const Policy& policy, std::string_view name) {
  for (const auto& rule : policy.rules) {
    if (std::find(rule.names.begin(), rule.names.end(), name) == rule.names.end()) continue;
    if (!rule.args.empty()) return std::nullopt;
    return rule.action;
  }
  return policy.default_action;
}

bool is_clone3_fallback(const Rule& rule) {
  return rule.action == Action::errno_ret(ENOSYS) && rule.args.empty() &&
         std::find(rule.names.begin(), rule.names.end(), clone3_name) != rule.names.end();
}

Rule clone3_fallback_rule() {
  return {{std::string(clone3_name)},
          Action::errno_ret(ENOSYS),
          {},
          "its flags are in memory, out of a filter's reach: ENOSYS makes the C library fall back to clone"};
}

bool falls_back_from_clone3(const Policy& policy) {
  for (const auto& rule : policy.rules)
    if (std::find(rule.names.begin(), rule.names.end(), clone3_name) != rule.names.end())
      return is_clone3_fallback(rule);
  return false;
}

} // namespace nucleus::core
