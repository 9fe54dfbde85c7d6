// The network part of a files and network policy (--policy), decided in the parent before
// anything runs: which of its rules the back end enforces, which it cannot (refused unless
// --accept-unenforced-network), and what is said about the rest.
//   native: Landlock limits TCP connect and bind to the policy's ports (ABI 4); the workload's own
//           network namespace (--network none) has only loopback, so no other host is reachable.
//           Landlock has no rules for UDP or for addresses.
//   gVisor: the network is gVisor's own loopback, inside its network stack: neither Landlock nor a
//           seccomp rule on connect sees ports there, and no host endpoint is reachable at all.
#pragma once

#include "nucleus/sandbox/isolation.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace nucleus::sandbox::detail {

struct PortRule {
  std::uint64_t port = 0;
  bool bind = false;    // may bind this TCP port
  bool connect = false; // may connect to this TCP port
};

struct NetworkEnforcement {
  bool handle_tcp = false;         // native: the Landlock ruleset handles TCP bind and connect
  std::vector<PortRule> tcp_ports; // the ports it allows, one rule each
  std::vector<std::string> warnings;
  std::string step; // for --show-sandbox
};

// Throws Error(usage) for a rule the back end cannot enforce, unless
// config.accept_unenforced_network (then it is a warning). Nothing to do without a policy.
NetworkEnforcement decide_network(const IsolationConfig& config, Backend backend);

// The endpoint as the policy writes it: "tcp 127.0.0.1:8080", "udp any:53".
std::string endpoint_text(const core::Endpoint& endpoint);

} // namespace nucleus::sandbox::detail
