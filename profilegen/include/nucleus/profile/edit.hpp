// Editing a profile by syscall name: allow more, or allow less. Names are checked against
// libseccomp for the profile's architectures; unknown ones are errors with the closest names.
// Use: auto p = add_syscalls(policy, {"openat"}); ... edit_profile_file(path, EditKind::add, names).
#pragma once

#include "nucleus/core/policy.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace nucleus::profile {

// Allows each name without conditions: into the first plain allow entry, or a new one. A name
// already allowed without conditions is left alone. "NAME:VALUE" (args.hpp parse_value_spec:
// "socket:AF_INET6", "clone:CLONE_NEWUSER") allows one more argument value instead, keeping the
// other conditions of the syscall's entries; remove takes such a value out again. Throws Error(invalid_input) for a
// name that no listed architecture has ("did you mean ...").
core::Policy add_syscalls(core::Policy policy, const std::vector<std::string>& names);

// Takes each name out of every entry that lets it run (allow, log); entries left empty go.
// Throws Error(invalid_input) for an unknown name, or one the profile does not let run, or when the
// default action lets everything run (removing a name would change nothing).
core::Policy remove_syscalls(core::Policy policy, const std::vector<std::string>& names);

enum class EditKind { add, remove };
struct EditResult {
  std::vector<std::string> changed;   // names added or removed
  std::vector<std::string> unchanged; // add: already allowed
};
// Loads the profile, edits it, checks that it compiles and replaces the file atomically.
EditResult edit_profile_file(const std::filesystem::path& path, EditKind kind, const std::vector<std::string>& names);

} // namespace nucleus::profile
