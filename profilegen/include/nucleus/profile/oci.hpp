// Reading and writing profiles: the OCI runtime-spec LinuxSeccomp object, plus Docker's extensions
// (archMap, includes/excludes with caps/arches/minKernel, comment, the old single `name`).
// Use: auto loaded = load_profile("app.json"); ... to_oci_json(loaded.policy).
#pragma once

#include "nucleus/core/policy.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nucleus::profile {

// A problem found in a profile that does not stop it from loading (unknown keys, ignored fields).
struct Diagnostic {
  std::string path; // JSON path: "syscalls[3].args[0]"
  std::string message;
};

// What Docker's includes/excludes are resolved against.
struct ResolveContext {
  std::vector<std::string> capabilities;     // "CAP_SYS_ADMIN"; empty: none
  std::optional<std::string> kernel_release; // "6.1.0"; default: the running kernel
  std::optional<core::Arch> arch;            // default: the native architecture
};

struct LoadedProfile {
  core::Policy policy;
  std::vector<Diagnostic> warnings;
};

// Throws Error(invalid_input) with every problem found, one per line "<source>: <json path>:
// <problem>" (all errors, then the warnings as "<source>: <path>: warning: ..."), or with
// line/column for bad JSON. Errors include a key given twice in one object, and an unknown
// top-level key when the default action lets syscalls run (SCMP_ACT_ALLOW, SCMP_ACT_LOG).
// Docker's includes/excludes and archMap are resolved against `context`; the Policy holds what
// applies there. Warnings, not errors: other unknown keys, fields nucleus ignores (listenerPath,
// errnoRet on an action without a return value), and syscall names libseccomp cannot place on any
// of the profile's architectures, in allow and deny entries alike: they are left out (as runc,
// crun and podman do) and listed in one warning per kind, path "syscalls" (unknown to this
// libseccomp; not on these architectures), each name with its JSON path.
LoadedProfile parse_profile(std::string_view json_text, std::string_view source_name,
                            const ResolveContext& context = {});
LoadedProfile load_profile(const std::filesystem::path& path, const ResolveContext& context = {});

// The OCI LinuxSeccomp JSON nucleus writes: runc, crun, podman, Docker and Kubernetes load it.
std::string to_oci_json(const core::Policy& policy);

// Compares dotted kernel releases ("5.8" <= "6.1.0-13-amd64"); used for minKernel.
bool kernel_at_least(std::string_view release, std::string_view minimum);

} // namespace nucleus::profile
