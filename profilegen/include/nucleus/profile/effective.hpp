// What a policy does with each syscall on one architecture, as the compiled filter will: allowed,
// allowed only when argument conditions hold, or denied. The common ground of diff, check, explain
// and report. Use: auto view = arch_access(policy, arch); view.allowed ...; or access_of(policy, "ptrace").
#pragma once

#include "nucleus/core/policy.hpp"

#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace nucleus::profile {

enum class Access { denied, conditional, allowed };
std::string_view access_name(Access access) noexcept; // "denied", "conditional", "allowed"

// True for the actions that let the syscall run (allow, log).
bool permits(const core::Action& action) noexcept;

// The entries of `policy` that name `name`, in profile order.
std::vector<const core::Rule*> rules_for(const core::Policy& policy, std::string_view name);

// How the policy treats `name` (architecture-independent: OCI names apply to every listed arch).
Access access_of(const core::Policy& policy, std::string_view name);

struct ArchAccess {
  core::Arch arch;
  bool covered = true;                  // false: the filter does not list this ABI (its calls are killed)
  std::vector<std::string> allowed;     // sorted
  std::vector<std::string> conditional; // sorted
  std::size_t table_size = 0;           // syscalls libseccomp knows on this arch
  std::size_t permitted() const noexcept { return allowed.size() + conditional.size(); }
};
// Every syscall of `arch`'s table, classified. `as_if_listed`: classify even when the policy does not
// list `arch` (for a reference profile resolved for that architecture).
ArchAccess arch_access(const core::Policy& policy, core::Arch arch, bool as_if_listed = false);

// The conditions of one entry as people read them: "arg0 == 0x10 && (arg1 & 0xff) == 0x2".
std::string describe_conditions(const std::vector<core::ArgCondition>& args);
// One entry's treatment: "allow", "errno(ENOSYS) if arg0 == 0x1".
std::string describe_rule(const core::Action& action, const std::vector<core::ArgCondition>& args);
// "EPERM" for 1; the number as text when the C library has no name for it.
std::string errno_name(std::uint32_t value);

// A profile to compare against, as it applies to each architecture of the profile under review.
struct Reference {
  std::string label; // "Docker's default"
  std::map<core::Arch, core::Policy> by_arch;
  const core::Policy* for_arch(core::Arch arch) const;
};
// Loads `path` as Docker would on this machine: no capabilities, the running kernel, the native arch.
Reference load_reference(const std::filesystem::path& path, const std::vector<core::Arch>& arches,
                         std::string label = "Docker's default");

} // namespace nucleus::profile
