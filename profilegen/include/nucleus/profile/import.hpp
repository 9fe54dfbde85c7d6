// Reading profiles from elsewhere back into the OCI profile: the Kubernetes Security Profiles
// Operator's SeccompProfile object (YAML or JSON, one or several documents in one file), so that a
// cluster's profiles can be diffed, checked, explained and run locally.
// Use: for (auto& p : read_k8s_profiles(text, "cluster.yaml")) parse_profile(p.oci_json, p.source);
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace nucleus::profile {

struct ImportedProfile {
  std::string name;     // metadata.name
  std::string source;   // "cluster.yaml: document 2 (name)", for messages
  std::string oci_json; // spec as an OCI LinuxSeccomp object, not yet validated
};

// Every SeccompProfile document of `text`, in order. Documents of another kind (a Pod in the same
// file) are skipped. Throws Error(invalid_input) naming the line and column for bad YAML, and
// "<source>: document N: <path>: <problem>" for a SeccompProfile nucleus cannot read faithfully
// (a baseProfileName, which only the operator resolves; an unknown spec field). No SeccompProfile
// in the file is an error too.
std::vector<ImportedProfile> read_k8s_profiles(std::string_view text, std::string_view source_name);

} // namespace nucleus::profile
