// check and explain for the files and network policy: which grants help an attacker (credentials,
// start-up files, system folders, HOME, the network beyond loopback), and each entry with its reason.
#include "nucleus/profile/policy_review.hpp"

#include "nucleus/profile/policy_gen.hpp"
#include "nucleus/core/json_limits.hpp"
#include "nucleus/core/strings.hpp"
#include "nucleus/core/text.hpp"

#include "sensitive_files.hpp"

#include <arpa/inet.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <span>
#include <array>
#include <cstring>
#include <sstream>

namespace nucleus::profile {
namespace {

using core::PathAccess;
using core::PathAccessSet;
using S = Severity;

constexpr PathAccessSet bit(PathAccess a) { return static_cast<PathAccessSet>(a); }
constexpr PathAccessSet changing = bit(PathAccess::write) | bit(PathAccess::create) | bit(PathAccess::remove);
constexpr PathAccessSet reading = bit(PathAccess::read) | bit(PathAccess::execute);

constexpr std::array<std::string_view, 9> system_trees = {"/usr", "/lib",  "/lib32", "/lib64", "/libx32",
                                                          "/bin", "/sbin", "/etc",   "/boot"};
constexpr std::array<std::string_view, 4> engine_sockets = {"docker.sock", "containerd.sock", "podman.sock",
                                                            "crio.sock"};

// The homes an entry may touch: the caller's, and /root or /home/NAME at or below the entry.
std::vector<std::string> homes_near(std::string_view path, const std::vector<std::string>& homes) {
  std::vector<std::string> out;
  for (const auto& h : homes)
    if (h.starts_with('/')) out.push_back(core::resolve_path("/", h));
  out.emplace_back("/root");
  if (path.starts_with("/home/")) {
    const auto end = path.find('/', 6);
    out.emplace_back(path.substr(0, end));
  }
  return out;
}

// Whether the entry `path` reaches a file one of `patterns` names (see sensitive_files.hpp): a
// pattern relative to a home is taken below each home near the entry.
bool reaches_any(std::string_view path, const std::vector<std::string>& homes,
                 std::span<const std::string_view> patterns) {
  if (path == "/" || path == "/home") return true; // every home
  const auto near = homes_near(path, homes);
  return std::any_of(patterns.begin(), patterns.end(), [&](std::string_view p) {
    if (p.starts_with('/')) return sensitive::reaches(path, p);
    return std::any_of(near.begin(), near.end(),
                       [&](const std::string& h) { return sensitive::reaches(path, h + "/" + std::string(p)); });
  });
}

std::string access_text(PathAccessSet a) { return core::join(core::path_access_names(a), ","); }

Finding finding(S severity, std::string id, std::string subject, std::string message, std::string reason,
                std::string fix) {
  Finding f;
  f.severity = severity;
  f.id = std::move(id);
  f.subject = std::move(subject);
  f.message = std::move(message);
  f.reason = std::move(reason);
  f.fix = std::move(fix);
  return f;
}

void path_findings(const core::PathRule& r, const std::vector<std::string>& homes, const std::string& name,
                   std::vector<Finding>& out) {
  const std::string grants = "grants " + access_text(r.access);
  const std::string narrow =
      "nucleus-profile remove " + name + " --path " + r.path + " (or add a narrower path instead)";
  if ((r.access & changing) != 0 && std::any_of(system_trees.begin(), system_trees.end(), [&](std::string_view s) {
        return path_within(r.path, s) || r.path == "/";
      }))
    out.push_back(finding(S::high, "policy-write-system", r.path, grants + " in a system folder",
                          "a program that changes system files changes every program that loads them",
                          "grant only read and execute there: " + narrow));
  const auto near = homes_near(r.path, homes);
  const bool wide = too_wide_to_widen(r.path, homes) &&
                    std::any_of(near.begin(), near.end(), [&](const std::string& h) { return path_within(h, r.path); });
  if (wide || r.path == "/" || r.path == "/home") {
    if ((r.access & ~bit(PathAccess::list)) != 0)
      out.push_back(finding(S::high, "policy-home-wide", r.path, grants + " on a home folder or a folder above one",
                            "everything the user keeps (keys, tokens, mail, other projects) is then within reach",
                            "grant the folders the program needs inside it: " + narrow));
    else
      out.push_back(finding(S::low, "policy-home-listed", r.path, "lists a home folder or a folder above one",
                            "the names of the user's files are visible (not their content)", "usually harmless"));
  }
  // A public key (.pub beside a private one) is no secret.
  if ((r.access & reading) != 0 && !r.path.ends_with(".pub") && reaches_any(r.path, homes, sensitive::credentials()))
    out.push_back(finding(S::high, "policy-credentials", r.path, grants + " on credentials (or a folder holding them)",
                          "a program that can read keys and tokens can use them or send them elsewhere",
                          "leave them out unless the program is meant to use them: " + narrow));
  if ((r.access & (bit(PathAccess::write) | bit(PathAccess::create))) != 0 &&
      reaches_any(r.path, homes, sensitive::persistence()))
    out.push_back(finding(S::high, "policy-startup-write", r.path,
                          grants + " on files that run later (shell start-up, "
                                   "cron, authorized_keys, sudoers)",
                          "the program's code would run again later, outside any sandbox",
                          "do not let it write there: " + narrow));
}

void endpoint_findings(const core::Endpoint& e, bool connect, const std::string& name, std::vector<Finding>& out) {
  const std::string subject = endpoint_text(e);
  const auto scope = address_scope(e.address);
  const std::string flag = connect ? "--connect" : "--bind";
  const std::string fix =
      "name the address: nucleus-profile remove " + name + " " + flag + " " + std::string(protocol_name(e.protocol)) +
      ":" +
      (e.address.empty() ? "" : (e.address.find(':') != std::string::npos ? "[" + e.address + "]" : e.address) + ":") +
      std::to_string(e.port) + ", then add the endpoint meant";
  if (connect && e.address == "169.254.169.254")
    out.push_back(finding(S::high, "policy-cloud-metadata", subject, "connects to the cloud metadata service",
                          "it hands out the machine's cloud credentials", "remove it"));
  else if (connect && scope == "any")
    out.push_back(finding(S::high, "policy-network-any", subject, "connects to any address on this port",
                          "data can leave the machine to any host", fix));
  else if (connect && scope == "public")
    out.push_back(finding(S::medium, "policy-network-public", subject, "connects to a public address",
                          "data can leave the machine: source code, keys, anything the program read",
                          "check that the program is meant to reach it"));
  else if (connect && scope != "loopback")
    out.push_back(finding(S::medium, "policy-network-private", subject, "connects to a private or link-local address",
                          "internal services behind the firewall trust callers from inside",
                          "check that the program is meant to reach it"));
  else if (!connect && scope != "loopback")
    out.push_back(finding(S::medium, "policy-network-listen", subject, "listens beyond loopback",
                          "a listener on the network lets others in", "bind to 127.0.0.1: " + fix));
}

} // namespace

bool is_policy_text(std::string_view text) {
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(text.begin(), text.end(), core::json_depth_guard<nlohmann::json>(), false);
  } catch (const core::JsonTooDeep&) {
    return false; // read as a profile, whose reader refuses it with its message
  }
  if (!doc.is_object()) return false;
  const auto it = doc.find("format");
  return it != doc.end() && it->is_string() && it->get<std::string>() == "nucleus-policy";
}

std::string_view address_scope(std::string_view address) {
  if (address.empty() || address == "0.0.0.0" || address == "::") return "any";
  const std::string a(address);
  unsigned char b[16] = {};
  if (inet_pton(AF_INET, a.c_str(), b) == 1) {
    if (b[0] == 127) return "loopback";
    if (b[0] == 10 || (b[0] == 172 && (b[1] & 0xf0) == 16) || (b[0] == 192 && b[1] == 168) ||
        (b[0] == 100 && (b[1] & 0xc0) == 64))
      return "private";
    if (b[0] == 169 && b[1] == 254) return "link-local";
    return "public";
  }
  if (inet_pton(AF_INET6, a.c_str(), b) == 1) {
    static constexpr unsigned char loop6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    if (std::memcmp(b, loop6, 16) == 0) return "loopback";
    if ((b[0] & 0xfe) == 0xfc) return "private";
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return "link-local";
    return "public";
  }
  return "public"; // a name: wherever it resolves to
}

CheckResult check_access_policy(const core::AccessPolicy& policy, const PolicyCheckOptions& options) {
  CheckResult result;
  for (const auto& r : policy.files) path_findings(r, options.homes, options.name, result.findings);
  for (const auto& e : policy.network.connect) endpoint_findings(e, true, options.name, result.findings);
  for (const auto& e : policy.network.bind) endpoint_findings(e, false, options.name, result.findings);
  for (const auto& u : policy.network.unix_paths)
    for (const auto& s : engine_sockets)
      if (u.ends_with("/" + std::string(s)))
        result.findings.push_back(
            finding(S::critical, "policy-container-socket", u, "reaches a container engine's socket",
                    "the engine runs any container the caller asks for, with host mounts: root on "
                    "the host",
                    "remove it: nucleus-profile remove " + options.name + " --unix " + u));
  std::stable_sort(result.findings.begin(), result.findings.end(), [](const Finding& a, const Finding& b) {
    return a.severity != b.severity ? a.severity > b.severity : a.subject < b.subject;
  });
  if (policy.files.empty() && policy.network.empty())
    result.notes.push_back("the policy allows no path and no endpoint");
  return result;
}

std::string explain_access_policy(const core::AccessPolicy& policy, std::string_view name_raw) {
  using core::printable;
  const std::string name = printable(name_raw);
  std::ostringstream out;
  const auto& n = policy.network;
  out << name << ": " << policy.files.size() << " path(s), " << n.connect.size() << " endpoint(s) to connect to, "
      << n.bind.size() << " to bind, " << n.unix_paths.size() << " Unix socket(s); everything else is denied\n";
  out << "files (an entry covers the path and everything below it):\n";
  if (policy.files.empty()) out << "  none\n";
  for (const auto& r : policy.files)
    out << "  " << printable(r.path) << "  " << access_text(r.access)
        << "\n    why: " << (r.reason.empty() ? "no reason given" : printable(r.reason)) << "\n";
  out << "network:\n";
  if (n.empty()) out << "  none: no endpoint may be reached or served\n";
  for (const auto& e : n.connect)
    out << "  connect " << printable(endpoint_text(e)) << " (" << address_scope(e.address) << ")\n";
  for (const auto& e : n.bind)
    out << "  bind " << printable(endpoint_text(e)) << " (" << address_scope(e.address) << ")\n";
  for (const auto& u : n.unix_paths) out << "  unix " << printable(u) << "\n";
  return out.str();
}

std::string explain_access_policy_json(const core::AccessPolicy& policy, std::string_view name) {
  auto doc = nlohmann::ordered_json::parse(core::write_access_policy(policy));
  nlohmann::ordered_json out{{"policy", name}};
  for (auto& e : doc["network"]["connect"]) e["scope"] = address_scope(e.value("address", ""));
  for (auto& e : doc["network"]["bind"]) e["scope"] = address_scope(e.value("address", ""));
  out["files"] = doc["files"];
  out["network"] = doc["network"];
  return out.dump(2, ' ', true, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

} // namespace nucleus::profile
