// add/remove: small, validated edits of a profile file.
#include "nucleus/profile/edit.hpp"

#include "nucleus/profile/effective.hpp"
#include "nucleus/profile/oci.hpp"
#include "nucleus/sandbox/error.hpp"
#include "nucleus/sandbox/filter.hpp"
#include "nucleus/sandbox/io.hpp"
#include "nucleus/sandbox/syscalls.hpp"

#include <algorithm>

namespace nucleus::profile {
namespace {

using sandbox::Error;
using sandbox::ErrorKind;

void require_known(const sandbox::Policy& policy, const std::string& name) {
  for (auto a : policy.effective_arches())
    if (sandbox::syscall_number(a, name)) return;
  std::string arches;
  for (auto a : policy.effective_arches()) arches += (arches.empty() ? "" : ", ") + std::string(sandbox::arch_name(a));
  std::string hint;
  auto close = sandbox::closest_syscall_names(name);
  if (!close.empty()) {
    hint = "did you mean ";
    for (std::size_t i = 0; i < close.size(); ++i) hint += (i ? ", " : "") + close[i];
    hint += "?";
  }
  throw Error(ErrorKind::invalid_input, "unknown syscall \"" + name + "\" (not a syscall on " + arches + ")", hint);
}

bool has(const std::vector<std::string>& v, const std::string& x) { return std::find(v.begin(), v.end(), x) != v.end(); }

} // namespace

sandbox::Policy add_syscalls(sandbox::Policy policy, const std::vector<std::string>& names) {
  for (const auto& n : names) require_known(policy, n);
  for (const auto& name : names) {
    if (access_of(policy, name) == Access::allowed) continue;
    auto target = std::find_if(policy.rules.begin(), policy.rules.end(), [](const sandbox::Rule& r) {
      return r.action == sandbox::Action::allow() && r.args.empty();
    });
    if (target == policy.rules.end()) {
      policy.rules.push_back({{}, sandbox::Action::allow(), {}, "added by nucleus-profile add"});
      target = policy.rules.end() - 1;
    }
    target->names.push_back(name);
    std::sort(target->names.begin(), target->names.end());
    // An entry that denied the name would still win for matching arguments in libseccomp; drop it.
    for (auto& r : policy.rules)
      if (!permits(r.action)) r.names.erase(std::remove(r.names.begin(), r.names.end(), name), r.names.end());
  }
  std::erase_if(policy.rules, [](const sandbox::Rule& r) { return r.names.empty(); });
  return policy;
}

sandbox::Policy remove_syscalls(sandbox::Policy policy, const std::vector<std::string>& names) {
  if (permits(policy.default_action))
    throw Error(ErrorKind::invalid_input,
                "the default action is " + describe_rule(policy.default_action, {}) +
                    ": every syscall not named runs, so removing names cannot deny anything",
                "make the profile an allowlist first (defaultAction SCMP_ACT_ERRNO)");
  for (const auto& n : names) require_known(policy, n);
  for (const auto& name : names) {
    bool found = false;
    for (auto& r : policy.rules) {
      if (!permits(r.action) || !has(r.names, name)) continue;
      r.names.erase(std::remove(r.names.begin(), r.names.end(), name), r.names.end());
      found = true;
    }
    if (!found) throw Error(ErrorKind::invalid_input, "\"" + name + "\" is not allowed by the profile: nothing to remove");
  }
  std::erase_if(policy.rules, [](const sandbox::Rule& r) { return r.names.empty(); });
  return policy;
}

EditResult edit_profile_file(const std::filesystem::path& path, EditKind kind, const std::vector<std::string>& names) {
  auto loaded = load_profile(path);
  EditResult result;
  for (const auto& n : names) {
    bool already = access_of(loaded.policy, n) == Access::allowed;
    if (kind == EditKind::add && already) result.unchanged.push_back(n);
    else result.changed.push_back(n);
  }
  auto edited = kind == EditKind::add ? add_syscalls(loaded.policy, names) : remove_syscalls(loaded.policy, names);
  sandbox::CompileOptions checking;
  checking.enforcement = false; // the profile may be meant for a runtime with a notify agent
  sandbox::compile(edited, checking); // never write a profile that does not compile
  if (!result.changed.empty()) sandbox::write_file_atomic(path, to_oci_json(edited));
  return result;
}

} // namespace nucleus::profile
