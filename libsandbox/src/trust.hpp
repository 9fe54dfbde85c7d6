// The trust guards: which back end untrusted work gets, host-network refusals, kernel lockdown,
// and profile pinning. All checks run in the parent before anything starts.
#pragma once

#include "nucleus/sandbox/isolation.hpp"

#include <optional>
#include <string>
#include <vector>

namespace nucleus::sandbox::detail {

// runsc on the search path, or nothing.
std::optional<std::string> find_runsc(const std::string& search_path);

struct TrustDecision {
  Backend backend = Backend::native;
  std::string runsc; // when backend is gvisor
  std::vector<std::string> warnings;
};

// Applies the rules of DESIGN.md ("Isolation and trust"); throws Error(usage) on a refusal.
TrustDecision decide_trust(const IsolationConfig& config);

} // namespace nucleus::sandbox::detail
