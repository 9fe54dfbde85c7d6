#include "policy_net.hpp"

#include "nucleus/core/error.hpp"
#include "nucleus/core/strings.hpp"

#include <algorithm>
#include <map>

namespace nucleus::sandbox::detail {
using core::Error;
using core::ErrorKind;
namespace {

bool loopback(const std::string& address) {
  return address.rfind("127.", 0) == 0 || address == "::1" || address == "localhost";
}

// A rule nucleus cannot hold: refused, or with the flag a warning that says what is left open.
void unenforced(NetworkEnforcement& n, const IsolationConfig& config, const std::string& what,
                const std::string& open) {
  const std::string source = config.policy_source.empty() ? "the policy" : config.policy_source;
  if (!config.accept_unenforced_network)
    throw Error(ErrorKind::usage, "--policy " + source + ": cannot be enforced here: " + what + ": " + open,
                "remove the rule (nucleus-profile remove " + source +
                    " ...), run at the other trust level, or accept "
                    "that it is not enforced with --accept-unenforced-network");
  n.warnings.push_back("--accept-unenforced-network: not enforced: " + what + ": " + open);
}

} // namespace

std::string endpoint_text(const core::Endpoint& e) {
  std::string address = e.address.empty()                          ? "any"
                        : e.address.find(':') != std::string::npos ? "[" + e.address + "]"
                                                                   : e.address;
  return std::string(core::protocol_name(e.protocol)) + " " + address + ":" + std::to_string(e.port);
}

NetworkEnforcement decide_network(const IsolationConfig& config, Backend backend) {
  NetworkEnforcement n;
  if (!config.policy) return n;
  const core::NetworkRules& net = config.policy->network;
  std::vector<std::string> endpoints;
  for (const auto* list : {&net.connect, &net.bind})
    for (const auto& e : *list) endpoints.push_back((list == &net.bind ? "bind " : "connect ") + endpoint_text(e));

  if (backend == Backend::gvisor) {
    if (!endpoints.empty())
      unenforced(n, config, "the port rules (" + core::join(endpoints, ", ") + ")",
                 "under gVisor the workload's network is gVisor's own loopback, where no host endpoint is reachable "
                 "and neither Landlock nor a seccomp rule on connect sees ports: any port inside the sandbox is open "
                 "to the workload's own processes");
    n.step = "network (policy): none outside the sandbox; inside, gVisor's own loopback with every port open to the "
             "workload's own processes; sockets only through the syscalls the seccomp profile allows";
    return n;
  }

  n.handle_tcp = true;
  std::map<std::uint64_t, PortRule> ports;
  std::vector<std::string> udp, addressed;
  auto add = [&](const core::Endpoint& e, bool bind) {
    const std::string text = (bind ? "bind " : "connect ") + endpoint_text(e);
    if (e.protocol == core::Protocol::udp) return udp.push_back(text);
    PortRule& r = ports[static_cast<std::uint64_t>(e.port)];
    r.port = static_cast<std::uint64_t>(e.port);
    (bind ? r.bind : r.connect) = true;
    if (!e.address.empty() && !loopback(e.address)) addressed.push_back(text);
  };
  for (const auto& e : net.connect) add(e, false);
  for (const auto& e : net.bind) add(e, true);
  for (const auto& [port, rule] : ports) n.tcp_ports.push_back(rule);

  if (!udp.empty())
    unenforced(n, config, "the UDP rules (" + core::join(udp, ", ") + ")",
               "Landlock has no UDP rules, so UDP reaches every port the network namespace offers");
  if (config.network == NetworkMode::host)
    unenforced(n, config, "the addresses of the policy's endpoints and all UDP on --network host",
               "Landlock limits TCP by port only, whatever the address, and UDP not at all");
  else if (!addressed.empty())
    n.warnings.push_back("--policy: " + core::join(addressed, ", ") +
                         ": not reachable from the sandbox's own network namespace, "
                         "which has only loopback");
  std::string allowed;
  for (const auto& r : n.tcp_ports)
    allowed += " " + std::to_string(r.port) +
               (r.bind && r.connect ? "(bind,connect)"
                : r.bind            ? "(bind)"
                                    : "(connect)");
  n.step = "network (policy): Landlock allows TCP connect and bind only on" +
           (allowed.empty() ? std::string(" no port") : allowed) + "; UDP is not limited by port" +
           (config.network == NetworkMode::none ? " (loopback only)" : "");
  return n;
}

} // namespace nucleus::sandbox::detail
