// Writing a profile for another consumer: OCI/Docker JSON, the Kubernetes Security Profiles Operator
// SeccompProfile resource, systemd unit settings, a minijail policy file. What a target cannot express
// is an error naming it; nothing is dropped silently. Use: export_profile(policy, ExportFormat::systemd, opts).
#pragma once

#include "nucleus/core/policy.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nucleus::profile {

enum class ExportFormat { oci, docker, k8s, systemd, minijail };
std::optional<ExportFormat> export_format_from_name(std::string_view name);

struct ExportOptions {
  std::string name = "profile";     // k8s: metadata.name (a DNS-1123 name)
  std::string source;               // shown in the header comment
  std::optional<core::Arch> arch;   // minijail: the one architecture the policy file is for
  bool accept_kill_default = false; // minijail: accept that unlisted syscalls kill the process
  bool accept_name_only = false;    // systemd: allow conditioned syscalls by name (wider than the profile)
  bool drop_flags = false;          // oci, docker, k8s: leave out the filter flags (runc < 1.2 refuses them)
};

struct ExportResult {
  std::string text;
  std::vector<std::string> notes; // what the target does differently without losing a rule (for stderr)
};

// Throws Error(invalid_input) "<format> cannot express <what> (syscalls[i] <name>)" for anything
// the target has no way to say.
ExportResult export_profile(const core::Policy& policy, ExportFormat format, const ExportOptions& options = {});

} // namespace nucleus::profile
