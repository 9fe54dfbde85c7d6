// add/remove: small, validated edits of a profile file.
#include "nucleus/profile/edit.hpp"

#include "nucleus/profile/args.hpp"
#include "nucleus/profile/effective.hpp"
#include "nucleus/profile/oci.hpp"
#include "nucleus/core/error.hpp"
#include "nucleus/sandbox/filter.hpp"
#include "nucleus/core/io.hpp"
#include "nucleus/core/syscalls.hpp"

#include <algorithm>

namespace nucleus::profile {
namespace {

using core::Error;
using core::ErrorKind;

void require_known(const core::Policy& policy, const std::string& name) {
  const auto effective = policy.effective_arches();
  for (auto a : effective)
    if (core::syscall_number(a, name)) return;
  std::string arches;
  for (auto a : effective) arches += (arches.empty() ? "" : ", ") + std::string(core::arch_name(a));
  std::string hint;
  auto close = core::closest_syscall_names(name, effective);
  if (!close.empty()) {
    hint = "did you mean ";
    for (std::size_t i = 0; i < close.size(); ++i) hint += (i ? ", " : "") + close[i];
    hint += "?";
  }
  throw Error(ErrorKind::invalid_input, "unknown syscall \"" + name + "\" (not a syscall on " + arches + ")", hint);
}

bool has(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

bool value_allowed(const core::Policy& policy, const ValueSpec& spec) {
  return access_of(policy, spec.syscall) == Access::allowed ||
         (access_of(policy, spec.syscall) == Access::conditional &&
          values_outside(policy, spec.syscall, spec.arg.index, {spec.value}).empty());
}

// One more value for a syscall allowed under conditions: each permitting entry again, with the new
// value for that argument (so the other arguments stay as they were), or one entry for it alone.
void add_value(core::Policy& policy, const ValueSpec& spec) {
  if (value_allowed(policy, spec)) return;
  const std::string comment = "added by nucleus-profile add";
  std::vector<core::Rule> added;
  auto with_value = [&](std::vector<core::ArgCondition> others) {
    std::erase_if(others, [&](const core::ArgCondition& c) { return c.index == spec.arg.index; });
    if (spec.arg.kind == ArgKind::clone_flags) {
      others.push_back({spec.arg.index, core::CmpOp::masked_eq, clone_guarded_flags() & ~spec.value, 0});
      if (others.back().value == 0) others.pop_back();
    } else if (spec.arg.kind == ArgKind::prot) {
      constexpr std::uint64_t wx = 0x6; // PROT_WRITE | PROT_EXEC
      others.push_back({spec.arg.index, core::CmpOp::masked_eq, wx, spec.value & wx});
    } else {
      others.push_back(condition_for_value(spec.arg, spec.value));
    }
    core::Rule r{{spec.syscall}, core::Action::allow(), std::move(others), comment};
    if (std::find(added.begin(), added.end(), r) == added.end()) added.push_back(std::move(r));
  };
  for (const auto* r : rules_for(policy, spec.syscall))
    if (permits(r->action) && !r->args.empty()) with_value(r->args);
  if (added.empty()) with_value({});
  for (auto& r : added) policy.rules.push_back(std::move(r));
}

// One value less: the permitting entries that let it through go (clone: its bit joins the mask).
void remove_value(core::Policy& policy, const ValueSpec& spec, const std::string& text) {
  if (access_of(policy, spec.syscall) == Access::allowed)
    throw Error(ErrorKind::invalid_input,
                spec.syscall + " is allowed whatever its arguments: an allowlist cannot take one value out",
                "replace it by the values the program uses (nucleus-profile gen from a trace with argument values, "
                "or remove " +
                    spec.syscall + " and add " + spec.syscall + ":VALUE for each)");
  bool found = false;
  for (auto& r : policy.rules) {
    if (!permits(r.action) || !has(r.names, spec.syscall)) continue;
    bool lets_through = std::all_of(r.args.begin(), r.args.end(), [&](const core::ArgCondition& c) {
      return c.index != spec.arg.index || core::matches(c, spec.value);
    });
    if (!lets_through) continue;
    found = true;
    if (spec.arg.kind == ArgKind::clone_flags) {
      bool masked = false;
      for (auto& c : r.args)
        if (c.index == spec.arg.index && c.op == core::CmpOp::masked_eq && c.value_two == 0) {
          c.value |= spec.value;
          masked = true;
        }
      if (!masked) r.args.push_back({spec.arg.index, core::CmpOp::masked_eq, spec.value, 0});
      continue;
    }
    // Only this syscall leaves the entry; names it shares with others keep their conditions.
    r.names.erase(std::remove(r.names.begin(), r.names.end(), spec.syscall), r.names.end());
  }
  if (!found)
    throw Error(ErrorKind::invalid_input, "\"" + text + "\" is not allowed by the profile: nothing to remove");
}

} // namespace

core::Policy add_syscalls(core::Policy policy, const std::vector<std::string>& specs) {
  std::vector<std::string> names;
  for (const auto& s : specs) {
    if (auto spec = parse_value_spec(s)) {
      require_known(policy, spec->syscall);
      continue;
    }
    require_known(policy, s);
    names.push_back(s);
  }
  for (const auto& s : specs)
    if (auto spec = parse_value_spec(s)) add_value(policy, *spec);
  for (const auto& name : names) {
    if (access_of(policy, name) == Access::allowed) continue;
    auto target = std::find_if(policy.rules.begin(), policy.rules.end(),
                               [](const core::Rule& r) { return r.action == core::Action::allow() && r.args.empty(); });
    if (target == policy.rules.end()) {
      policy.rules.push_back({{}, core::Action::allow(), {}, "added by nucleus-profile add"});
      target = policy.rules.end() - 1;
    }
    target->names.push_back(name);
    std::sort(target->names.begin(), target->names.end());
    // An entry that denied the name would still win for matching arguments in libseccomp; drop it.
    for (auto& r : policy.rules)
      if (!permits(r.action)) r.names.erase(std::remove(r.names.begin(), r.names.end(), name), r.names.end());
  }
  std::erase_if(policy.rules, [](const core::Rule& r) { return r.names.empty(); });
  return policy;
}

core::Policy remove_syscalls(core::Policy policy, const std::vector<std::string>& names) {
  if (permits(policy.default_action))
    throw Error(ErrorKind::invalid_input,
                "the default action is " + describe_rule(policy.default_action, {}) +
                    ": every syscall not named runs, so removing names cannot deny anything",
                "make the profile an allowlist first (defaultAction SCMP_ACT_ERRNO)");
  std::vector<std::string> plain;
  for (const auto& s : names) {
    if (auto spec = parse_value_spec(s)) {
      require_known(policy, spec->syscall);
      remove_value(policy, *spec, s);
      continue;
    }
    require_known(policy, s);
    plain.push_back(s);
  }
  for (const auto& name : plain) {
    bool found = false;
    for (auto& r : policy.rules) {
      if (!permits(r.action) || !has(r.names, name)) continue;
      r.names.erase(std::remove(r.names.begin(), r.names.end(), name), r.names.end());
      found = true;
    }
    if (!found)
      throw Error(ErrorKind::invalid_input, "\"" + name + "\" is not allowed by the profile: nothing to remove");
  }
  std::erase_if(policy.rules, [](const core::Rule& r) { return r.names.empty(); });
  return policy;
}

EditResult edit_profile_file(const std::filesystem::path& path, EditKind kind, const std::vector<std::string>& names) {
  auto loaded = load_profile(path);
  EditResult result;
  for (const auto& n : names) {
    auto spec = parse_value_spec(n);
    bool already = spec ? value_allowed(loaded.policy, *spec) : access_of(loaded.policy, n) == Access::allowed;
    if (kind == EditKind::add && already) result.unchanged.push_back(n);
    else result.changed.push_back(n);
  }
  auto edited = kind == EditKind::add ? add_syscalls(loaded.policy, names) : remove_syscalls(loaded.policy, names);
  sandbox::CompileOptions checking;
  checking.enforcement = false;       // the profile may be meant for a runtime with a notify agent
  sandbox::compile(edited, checking); // never write a profile that does not compile
  if (!result.changed.empty()) core::write_file_atomic(path, to_oci_json(edited));
  return result;
}

} // namespace nucleus::profile
