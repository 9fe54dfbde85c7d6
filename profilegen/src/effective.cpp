// Per-architecture classification of a policy's syscalls.
#include "nucleus/profile/effective.hpp"

#include "nucleus/profile/oci.hpp"
#include "nucleus/core/syscalls.hpp"
#include "nucleus/core/strings.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <unordered_map>

namespace nucleus::profile {
namespace {

using core::Policy;
using core::Rule;

std::string_view op_symbol(core::CmpOp op) {
  switch (op) {
  case core::CmpOp::ne: return "!=";
  case core::CmpOp::lt: return "<";
  case core::CmpOp::le: return "<=";
  case core::CmpOp::eq: return "==";
  case core::CmpOp::ge: return ">=";
  case core::CmpOp::gt: return ">";
  case core::CmpOp::masked_eq: return "&";
  }
  return "?";
}

Access classify(const Policy& policy, const std::vector<const Rule*>& rules) {
  if (rules.empty()) return permits(policy.default_action) ? Access::allowed : Access::denied;
  bool some_permit = false;
  bool unconditional_deny = false;
  for (const Rule* r : rules) {
    if (permits(r->action)) {
      if (r->args.empty()) return Access::allowed;
      some_permit = true;
    } else if (r->args.empty()) {
      unconditional_deny = true;
    }
  }
  if (some_permit) return Access::conditional;
  if (unconditional_deny) return Access::denied;
  // Only conditional denials: the default decides the rest.
  return permits(policy.default_action) ? Access::conditional : Access::denied;
}

} // namespace

std::string_view access_name(Access access) noexcept {
  switch (access) {
  case Access::denied: return "denied";
  case Access::conditional: return "conditional";
  case Access::allowed: return "allowed";
  }
  return "denied";
}

bool permits(const core::Action& action) noexcept {
  return action.kind == core::ActionKind::allow || action.kind == core::ActionKind::log;
}

std::vector<const Rule*> rules_for(const Policy& policy, std::string_view name) {
  std::vector<const Rule*> out;
  for (const auto& rule : policy.rules)
    if (std::find(rule.names.begin(), rule.names.end(), name) != rule.names.end()) out.push_back(&rule);
  return out;
}

Access access_of(const Policy& policy, std::string_view name) { return classify(policy, rules_for(policy, name)); }

ArchAccess arch_access(const Policy& policy, core::Arch arch, bool as_if_listed) {
  ArchAccess view;
  view.arch = arch;
  auto arches = policy.effective_arches();
  view.covered = std::find(arches.begin(), arches.end(), arch) != arches.end();
  auto table = core::syscall_table(arch);
  view.table_size = table.size();
  if (!view.covered && !as_if_listed) return view;
  std::unordered_map<std::string_view, std::vector<const Rule*>> index;
  for (const auto& rule : policy.rules)
    for (const auto& name : rule.names) index[name].push_back(&rule);
  static const std::vector<const Rule*> none;
  for (const auto& name : table) {
    auto it = index.find(name);
    switch (classify(policy, it == index.end() ? none : it->second)) {
    case Access::allowed: view.allowed.push_back(name); break;
    case Access::conditional: view.conditional.push_back(name); break;
    case Access::denied: break;
    }
  }
  return view;
}

std::string describe_conditions(const std::vector<core::ArgCondition>& args) {
  std::string out;
  for (const auto& c : args) {
    if (!out.empty()) out += " && ";
    std::string arg = "arg" + std::to_string(c.index);
    if (c.op == core::CmpOp::masked_eq)
      out += "(" + arg + " & " + core::hex(c.value) + ") == " + core::hex(c.value_two);
    else out += arg + " " + std::string(op_symbol(c.op)) + " " + core::hex(c.value);
  }
  return out;
}

std::string describe_rule(const core::Action& action, const std::vector<core::ArgCondition>& args) {
  std::string out =
      action.kind == core::ActionKind::errno_ret ? "errno(" + errno_name(action.data) + ")" : core::to_string(action);
  if (!args.empty()) out += " if " + describe_conditions(args);
  return out;
}

std::string errno_name(std::uint32_t value) {
  const char* name = value <= 4095 ? strerrorname_np(static_cast<int>(value)) : nullptr;
  return name != nullptr ? std::string(name) : std::to_string(value);
}

const core::Policy* Reference::for_arch(core::Arch arch) const {
  auto it = by_arch.find(arch);
  return it == by_arch.end() ? nullptr : &it->second;
}

Reference load_reference(const std::filesystem::path& path, const std::vector<core::Arch>& arches, std::string label) {
  Reference ref;
  ref.label = std::move(label);
  // Docker resolves its includes for the machine it runs on, then the one filter covers every ABI.
  auto policy = load_profile(path).policy;
  for (auto arch : arches) ref.by_arch.emplace(arch, policy);
  return ref;
}

} // namespace nucleus::profile
