// Reading and writing profiles: the OCI runtime-spec LinuxSeccomp object, plus Docker's extensions
// (archMap, includes/excludes with caps/arches/minKernel, comment, the old single `name`).
// Use: auto loaded = load_profile("app.json"); ... to_oci_json(loaded.policy).
#pragma once

#include "nucleus/sandbox/policy.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nucleus::profile {

// A problem found in a profile that does not stop it from loading (unknown keys, ignored fields).
struct Diagnostic {
  std::string path;    // JSON path: "syscalls[3].args[0]"
  std::string message;
};

// What Docker's includes/excludes are resolved against.
struct ResolveContext {
  std::vector<std::string> capabilities;        // "CAP_SYS_ADMIN"; empty: none
  std::optional<std::string> kernel_release;    // "6.1.0"; default: the running kernel
  std::optional<sandbox::Arch> arch;            // default: the native architecture
};

struct LoadedProfile {
  sandbox::Policy policy;
  std::vector<Diagnostic> warnings;
};

// Throws Error(invalid_input) "<source>: <json path>: <problem>", with line/column for bad JSON.
// Docker's includes/excludes and archMap are resolved against `context`; the Policy holds what
// applies there. Warnings, not errors: unknown keys, fields nucleus ignores (listenerPath,
// errnoRet on an action without a return value), and syscall names in an entry that allows more
// than the default which libseccomp cannot place on the profile's architectures: names known on
// another architecture are kept, names it knows nowhere (newer than it, or misspelt) are left out.
// In an entry that denies, such a name is an error, since leaving it out would open a hole.
LoadedProfile parse_profile(std::string_view json_text, std::string_view source_name,
                            const ResolveContext& context = {});
LoadedProfile load_profile(const std::filesystem::path& path, const ResolveContext& context = {});

// The OCI LinuxSeccomp JSON nucleus writes: runc, crun, podman, Docker and Kubernetes load it.
std::string to_oci_json(const sandbox::Policy& policy);

// Compares dotted kernel releases ("5.8" <= "6.1.0-13-amd64"); used for minKernel.
bool kernel_at_least(std::string_view release, std::string_view minimum);

} // namespace nucleus::profile
