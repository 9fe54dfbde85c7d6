// Explaining what a profile allows: how many of each architecture's syscalls, how that compares
// with Docker's default, and which of systemd's syscall groups (@file-system, @network-io, ...) the
// allowed calls fall into. Use: auto e = explain_profile(policy, &docker); format_explain_text(e, name).
#pragma once

#include "nucleus/profile/effective.hpp"
#include "nucleus/core/policy.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nucleus::profile {

// One of systemd's syscall groups (SystemCallFilter=@name), with nested groups expanded.
struct SyscallGroup {
  std::string name;                 // "@file-system"
  std::string description;          // "File system operations"
  std::vector<std::string> members; // sorted, unique
};
// The groups as systemd 252 publishes them, in systemd's order (profilegen/data/).
const std::vector<SyscallGroup>& syscall_groups();

struct ArchCount {
  core::Arch arch;
  bool covered = true;
  std::size_t allowed = 0;              // without conditions
  std::size_t conditional = 0;          // only under argument conditions
  std::size_t total = 0;                // libseccomp's table for the arch
  std::optional<std::size_t> reference; // what the reference (Docker's default) permits there
  std::size_t permitted() const noexcept { return allowed + conditional; }
};

struct GroupUse {
  std::string name;
  std::string description;
  std::size_t size = 0;             // members that exist on the arch
  std::vector<std::string> allowed; // members the profile permits (conditional ones marked with "?")
};

struct Explanation {
  std::string default_action;
  std::vector<std::string> flags;
  std::vector<ArchCount> arches;
  core::Arch group_arch;              // the groups are counted on the first architecture
  std::vector<GroupUse> groups;       // every group, systemd's order
  std::vector<std::string> ungrouped; // permitted but in no group
  std::string reference_label;        // empty: no reference given
  // Each syscall allowed only under argument conditions, with what they let through in symbols:
  // {"socket", "AF_UNIX, AF_INET only; type SOCK_STREAM only"}. Sorted by name.
  std::vector<std::pair<std::string, std::string>> conditions;
};

Explanation explain_profile(const core::Policy& policy, const Reference* reference = nullptr);

std::string format_explain_text(const Explanation& e, std::string_view profile_name);
std::string explain_to_json(const Explanation& e, std::string_view profile_name);

} // namespace nucleus::profile
