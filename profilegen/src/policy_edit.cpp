// Editing the files and network policy (add, remove), the union of policies (merge), and what
// changed between two policies or what traces did beyond one (diff).
#include "nucleus/profile/policy_review.hpp"

#include "nucleus/profile/policy_gen.hpp"
#include "nucleus/core/error.hpp"
#include "nucleus/core/strings.hpp"
#include "nucleus/core/text.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <map>
#include <set>
#include <sstream>

namespace nucleus::profile {
namespace {

using core::PathAccess;
using core::PathAccessSet;

std::string access_text(PathAccessSet a) { return core::join(core::path_access_names(a), ","); }

[[noreturn]] void bad_endpoint(std::string_view text, const std::string& why) {
  throw core::Error(core::ErrorKind::usage, "endpoint \"" + std::string(text) + "\": " + why,
                    "write PROTOCOL:ADDRESS:PORT or PROTOCOL:PORT (any address), e.g. tcp:127.0.0.1:8080, "
                    "udp:[::1]:53, tcp:8080");
}

bool same_endpoint(const core::Endpoint& a, const core::Endpoint& b) { return a == b; }

template <class T>
bool add_once(std::vector<T>& list, const T& item) {
  if (std::find(list.begin(), list.end(), item) != list.end()) return false;
  list.push_back(item);
  return true;
}

template <class T>
bool remove_one(std::vector<T>& list, const T& item) {
  auto it = std::find(list.begin(), list.end(), item);
  if (it == list.end()) return false;
  list.erase(it);
  return true;
}

void sort_network(core::NetworkRules& n) {
  auto key = [](const core::Endpoint& e) { return std::tuple(e.protocol, e.address, e.port); };
  auto by = [&](const auto& a, const auto& b) { return key(a) < key(b); };
  std::sort(n.connect.begin(), n.connect.end(), by);
  std::sort(n.bind.begin(), n.bind.end(), by);
  std::sort(n.unix_paths.begin(), n.unix_paths.end());
}

std::string folded(const std::string& path) {
  if (!path.starts_with('/'))
    throw core::Error(core::ErrorKind::usage, "--path " + path + ": must be an absolute path",
                      "write the path from the root, e.g. /srv/data");
  return core::resolve_path("/", path);
}

} // namespace

core::Endpoint parse_endpoint(std::string_view text) {
  core::Endpoint e;
  std::string_view rest = text;
  if (const auto colon = rest.find(':'); colon != std::string_view::npos && !rest.starts_with('[')) {
    const auto head = rest.substr(0, colon);
    if (head == "tcp" || head == "udp") {
      e.protocol = head == "udp" ? core::Protocol::udp : core::Protocol::tcp;
      rest.remove_prefix(colon + 1);
    }
  }
  std::string_view port = rest;
  if (rest.starts_with('[')) {
    const auto close = rest.find("]:");
    if (close == std::string_view::npos) bad_endpoint(text, "an IPv6 address in brackets needs \":PORT\" after it");
    e.address = std::string(rest.substr(1, close - 1));
    port = rest.substr(close + 2);
  } else if (const auto colon = rest.rfind(':'); colon != std::string_view::npos) {
    e.address = std::string(rest.substr(0, colon));
    port = rest.substr(colon + 1);
    if (e.address.find(':') != std::string::npos) bad_endpoint(text, "write an IPv6 address in brackets: [::1]:53");
  }
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value > 65535)
    bad_endpoint(text, "\"" + std::string(port) + "\" is not a port 0..65535");
  if (e.address.empty() && rest.find(':') != std::string_view::npos) bad_endpoint(text, "the address is empty");
  if (e.address.find_first_of(" /\t") != std::string::npos)
    bad_endpoint(text, "\"" + e.address + "\" is not an address");
  e.port = static_cast<int>(value);
  return e;
}

std::string endpoint_text(const core::Endpoint& e) {
  const std::string address = e.address.empty()                          ? "*"
                              : e.address.find(':') != std::string::npos ? "[" + e.address + "]"
                                                                         : e.address;
  return std::string(core::protocol_name(e.protocol)) + " " + address + ":" + std::to_string(e.port);
}

core::PathAccessSet parse_path_access(std::string_view text) {
  PathAccessSet set = 0;
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto comma = text.find(',', start);
    const auto name = text.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    const auto a = core::path_access_from_name(name);
    if (!a)
      throw core::Error(core::ErrorKind::usage, "--access: unknown access \"" + std::string(name) + "\"",
                        "use read, write, create, execute, remove, list, separated by commas");
    set |= static_cast<PathAccessSet>(*a);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return set;
}

core::AccessPolicy add_to_policy(core::AccessPolicy policy, const PolicyEdit& edit, std::vector<std::string>& changed,
                                 std::vector<std::string>& unchanged) {
  for (const auto& p : edit.paths) {
    const std::string path = folded(p.path);
    if (p.access == 0)
      throw core::Error(core::ErrorKind::usage, "--path " + path + " needs --access", "e.g. --access read,write");
    auto it = std::find_if(policy.files.begin(), policy.files.end(), [&](const auto& r) { return r.path == path; });
    const std::string line = path + " " + access_text(p.access);
    if (it == policy.files.end()) {
      policy.files.push_back({path, p.access, p.reason.empty() ? "added by hand" : p.reason});
      changed.push_back(line);
    } else if ((p.access & ~it->access) == 0) {
      unchanged.push_back(line);
    } else {
      it->access |= p.access;
      changed.push_back(line);
    }
  }
  for (const auto& e : edit.connect)
    (add_once(policy.network.connect, e) ? changed : unchanged).push_back("connect " + endpoint_text(e));
  for (const auto& e : edit.bind)
    (add_once(policy.network.bind, e) ? changed : unchanged).push_back("bind " + endpoint_text(e));
  for (const auto& u : edit.unix_paths)
    (add_once(policy.network.unix_paths, u) ? changed : unchanged).push_back("unix " + u);
  std::sort(policy.files.begin(), policy.files.end(), [](const auto& a, const auto& b) { return a.path < b.path; });
  sort_network(policy.network);
  return policy;
}

core::AccessPolicy remove_from_policy(core::AccessPolicy policy, const PolicyEdit& edit,
                                      std::vector<std::string>& changed) {
  auto missing = [](const std::string& what) {
    throw core::Error(core::ErrorKind::invalid_input, what + ": the policy does not hold it",
                      "nucleus-profile explain POLICY lists what it holds");
  };
  for (const auto& p : edit.paths) {
    const std::string path = folded(p.path);
    auto it = std::find_if(policy.files.begin(), policy.files.end(), [&](const auto& r) { return r.path == path; });
    if (it == policy.files.end() || (p.access != 0 && (it->access & p.access) == 0))
      missing(path + (p.access ? " " + access_text(p.access) : ""));
    if (p.access == 0 || (it->access & ~p.access) == 0) {
      changed.push_back(path);
      policy.files.erase(it);
    } else {
      it->access &= static_cast<PathAccessSet>(~p.access);
      changed.push_back(path + " " + access_text(p.access));
    }
  }
  for (const auto& e : edit.connect)
    if (!remove_one(policy.network.connect, e)) missing("connect " + endpoint_text(e));
    else changed.push_back("connect " + endpoint_text(e));
  for (const auto& e : edit.bind)
    if (!remove_one(policy.network.bind, e)) missing("bind " + endpoint_text(e));
    else changed.push_back("bind " + endpoint_text(e));
  for (const auto& u : edit.unix_paths)
    if (!remove_one(policy.network.unix_paths, u)) missing("unix " + u);
    else changed.push_back("unix " + u);
  return policy;
}

core::AccessPolicy merge_access_policies(const std::vector<core::AccessPolicy>& policies) {
  std::map<std::string, core::PathRule> files;
  core::AccessPolicy out;
  for (const auto& p : policies) {
    for (const auto& r : p.files) {
      auto [it, fresh] = files.try_emplace(r.path, r);
      if (fresh) continue;
      it->second.access |= r.access;
      if (!r.reason.empty() && it->second.reason.find(r.reason) == std::string::npos)
        it->second.reason += (it->second.reason.empty() ? "" : "; ") + r.reason;
    }
    for (const auto& e : p.network.connect) add_once(out.network.connect, e);
    for (const auto& e : p.network.bind) add_once(out.network.bind, e);
    for (const auto& u : p.network.unix_paths) add_once(out.network.unix_paths, u);
  }
  for (auto& [path, r] : files) out.files.push_back(std::move(r));
  sort_network(out.network);
  return out;
}

PolicyDiff diff_access_policies(const core::AccessPolicy& a, const core::AccessPolicy& b) {
  PolicyDiff d;
  for (const auto& r : b.files) {
    auto it = std::find_if(a.files.begin(), a.files.end(), [&](const auto& o) { return o.path == r.path; });
    if (it == a.files.end()) d.added.push_back(r.path + " " + access_text(r.access));
    else if (it->access != r.access)
      d.changed.push_back(r.path + " " + access_text(it->access) + " -> " + access_text(r.access));
  }
  for (const auto& r : a.files)
    if (std::none_of(b.files.begin(), b.files.end(), [&](const auto& o) { return o.path == r.path; }))
      d.removed.push_back(r.path + " " + access_text(r.access));
  auto endpoints = [&](const auto& x, const auto& y, const std::string& kind, std::vector<std::string>& out) {
    for (const auto& e : y)
      if (std::find_if(x.begin(), x.end(), [&](const auto& o) { return same_endpoint(o, e); }) == x.end())
        out.push_back(kind + " " + endpoint_text(e));
  };
  endpoints(a.network.connect, b.network.connect, "connect", d.added);
  endpoints(b.network.connect, a.network.connect, "connect", d.removed);
  endpoints(a.network.bind, b.network.bind, "bind", d.added);
  endpoints(b.network.bind, a.network.bind, "bind", d.removed);
  for (const auto& u : b.network.unix_paths)
    if (std::find(a.network.unix_paths.begin(), a.network.unix_paths.end(), u) == a.network.unix_paths.end())
      d.added.push_back("unix " + u);
  for (const auto& u : a.network.unix_paths)
    if (std::find(b.network.unix_paths.begin(), b.network.unix_paths.end(), u) == b.network.unix_paths.end())
      d.removed.push_back("unix " + u);
  return d;
}

PolicyTraceDiff diff_access_policy_trace(const core::AccessPolicy& policy, const std::vector<core::Trace>& traces,
                                         std::string_view policy_name) {
  PolicyTraceDiff d;
  std::set<std::string> denied, commands;
  const std::string add = "nucleus-profile add " + std::string(policy_name);
  auto check_path = [&](const std::string& path, PathAccessSet asked, const std::string& by) {
    if (!path.starts_with('/') || asked == 0) return;
    PathAccessSet have = core::access_for(policy, path);
    if (core::has(have, PathAccess::read)) have |= static_cast<PathAccessSet>(PathAccess::list);
    const PathAccessSet lacking = asked & static_cast<PathAccessSet>(~have);
    if (lacking == 0) return;
    denied.insert(access_text(lacking) + " " + path + " by " + by);
    commands.insert(add + " --path " + path + " --access " + access_text(lacking));
  };
  for (const auto& t : traces) {
    for (const auto& f : t.files) {
      if (f.result == core::Outcome::failed) continue; // gen grants no failed call either
      const std::string by = f.exe + " (" + f.syscall + ")";
      check_path(core::resolve_path("/", f.path), path_access_of(f), by);
      if (!f.target.empty()) check_path(core::resolve_path("/", f.target), target_access_of(f), by);
    }
    for (const auto& e : t.execs)
      if (e.result != core::Outcome::failed)
        check_path(core::resolve_path("/", e.path), static_cast<PathAccessSet>(PathAccess::execute), e.exe + " (exec)");
    const auto wanted = generate_access_policy({t}).policy.network; // the endpoints as gen reads them
    const auto& have = policy.network;
    auto covered = [](const std::vector<core::Endpoint>& list, const core::Endpoint& e) {
      return std::any_of(list.begin(), list.end(), [&](const auto& o) {
        return o.protocol == e.protocol && o.port == e.port && (o.address.empty() || o.address == e.address);
      });
    };
    for (const auto& e : wanted.connect)
      if (!covered(have.connect, e)) {
        denied.insert("connect " + endpoint_text(e));
        commands.insert(add + " --connect " + std::string(core::protocol_name(e.protocol)) + ":" +
                        (e.address.find(':') != std::string::npos ? "[" + e.address + "]" : e.address) + ":" +
                        std::to_string(e.port));
      }
    for (const auto& e : wanted.bind)
      if (!covered(have.bind, e)) {
        denied.insert("bind " + endpoint_text(e));
        commands.insert(add + " --bind " + std::string(core::protocol_name(e.protocol)) + ":" + std::to_string(e.port));
      }
    for (const auto& u : wanted.unix_paths)
      if (std::find(have.unix_paths.begin(), have.unix_paths.end(), u) == have.unix_paths.end()) {
        denied.insert("unix " + u);
        commands.insert(add + " --unix " + u);
      }
  }
  d.denied.assign(denied.begin(), denied.end());
  d.commands.assign(commands.begin(), commands.end());
  return d;
}

std::string format_policy_diff_text(const PolicyDiff& d, std::string_view a_name, std::string_view b_name) {
  using core::printable;
  std::ostringstream out;
  out << "--- " << printable(a_name) << "\n+++ " << printable(b_name) << "\n";
  if (d.same()) out << "no difference\n";
  for (const auto& l : d.added) out << "+ " << printable(l) << "\n";
  for (const auto& l : d.removed) out << "- " << printable(l) << "\n";
  for (const auto& l : d.changed) out << "~ " << printable(l) << "\n";
  return out.str();
}

std::string format_policy_trace_diff_text(const PolicyTraceDiff& d, std::string_view policy_name,
                                          std::string_view trace_names) {
  using core::printable;
  std::ostringstream out;
  if (d.same()) {
    out << printable(policy_name) << " allows everything " << printable(trace_names) << " did\n";
    return out.str();
  }
  out << printable(policy_name) << " would deny " << d.denied.size() << " thing(s) " << printable(trace_names)
      << " did:\n";
  for (const auto& l : d.denied) out << "  " << printable(l) << "\n";
  out << "to allow them (check each first):\n";
  for (const auto& c : d.commands) out << "  " << printable(c) << "\n";
  return out.str();
}

std::string policy_diff_to_json(const PolicyDiff& d, std::string_view a_name, std::string_view b_name) {
  nlohmann::ordered_json j{{"old", a_name},    {"new", b_name},        {"same", d.same()},
                           {"added", d.added}, {"removed", d.removed}, {"changed", d.changed}};
  return j.dump(2, ' ', true, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

std::string policy_trace_diff_to_json(const PolicyTraceDiff& d, std::string_view policy_name,
                                      std::string_view trace_names) {
  nlohmann::ordered_json j{{"policy", policy_name},
                           {"traces", trace_names},
                           {"same", d.same()},
                           {"denied", d.denied},
                           {"commands", d.commands}};
  return j.dump(2, ' ', true, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

} // namespace nucleus::profile
