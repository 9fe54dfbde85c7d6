// The files and network policy document: read with every key checked and each problem named by
// where it is ("files[3].path"), written sorted and in ASCII so that a review diff is stable.
#include "nucleus/core/access_policy.hpp"

#include "nucleus/core/behaviour.hpp"
#include "nucleus/core/error.hpp"
#include "nucleus/core/json_limits.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>

namespace nucleus::core {
namespace {

using nlohmann::json;
using ordered = nlohmann::ordered_json;

constexpr std::string_view policy_format_name = "nucleus-policy";

struct AccessName {
  PathAccess access;
  std::string_view name;
};
constexpr std::array<AccessName, 6> access_names{{
    {PathAccess::read, "read"},
    {PathAccess::write, "write"},
    {PathAccess::create, "create"},
    {PathAccess::execute, "execute"},
    {PathAccess::remove, "remove"},
    {PathAccess::list, "list"},
}};

// Where a problem is: "app.policy.json: files[2].access: ...".
class Reader {
public:
  explicit Reader(std::string_view source) : source_(source) {}

  [[noreturn]] void fail(const std::string& where, const std::string& problem) const {
    throw Error(ErrorKind::invalid_input, std::string(source_) + ": " + (where.empty() ? "" : where + ": ") + problem,
                "a policy is what `nucleus-profile gen --policy` writes; see the README's policy section");
  }

  const json* find(const json& object, const char* key) const {
    auto it = object.find(key);
    return it == object.end() ? nullptr : &*it;
  }

  std::string string(const json& value, const std::string& where) const {
    if (!value.is_string()) fail(where, "must be a string, not " + brief(value));
    return value.get<std::string>();
  }

  const json& array(const json& value, const std::string& where) const {
    if (!value.is_array()) fail(where, "must be an array, not " + brief(value));
    return value;
  }

  static std::string brief(const json& value) {
    std::string text = value.dump(-1, ' ', true, json::error_handler_t::replace);
    return text.size() > 40 ? text.substr(0, 40) + "..." : text;
  }

private:
  std::string_view source_;
};

bool is_folded_absolute(std::string_view path) {
  if (!path.starts_with('/')) return false;
  if (path.find('\0') != std::string_view::npos) return false;
  return resolve_path("/", path) == path;
}

PathRule read_path_rule(const Reader& r, const json& item, const std::string& where) {
  if (!item.is_object()) r.fail(where, "must be an object {\"path\": ..., \"access\": [...]}, not " + r.brief(item));
  PathRule rule;
  const json* path = r.find(item, "path");
  if (path == nullptr) r.fail(where, "missing key \"path\"");
  rule.path = r.string(*path, where + ".path");
  if (!rule.path.starts_with('/')) r.fail(where + ".path", "must be an absolute path, not " + r.brief(*path));
  if (!is_folded_absolute(rule.path))
    r.fail(where + ".path", r.brief(*path) + " must be written without \".\", \"..\", \"//\" or a trailing \"/\": " +
                                r.brief(json(resolve_path("/", rule.path))));
  const json* access = r.find(item, "access");
  if (access == nullptr) r.fail(where, "missing key \"access\"");
  for (const auto& name : r.array(*access, where + ".access")) {
    const auto a = path_access_from_name(r.string(name, where + ".access"));
    if (!a)
      r.fail(where + ".access", "unknown access " + r.brief(name) + " (read, write, create, execute, remove, list)");
    rule.access |= static_cast<PathAccessSet>(*a);
  }
  if (const json* reason = r.find(item, "reason")) rule.reason = r.string(*reason, where + ".reason");
  return rule;
}

Endpoint read_endpoint(const Reader& r, const json& item, const std::string& where) {
  if (!item.is_object()) r.fail(where, "must be an object {\"protocol\": \"tcp\", \"port\": 80}, not " + r.brief(item));
  Endpoint endpoint;
  const json* protocol = r.find(item, "protocol");
  const std::string name = protocol == nullptr ? "tcp" : r.string(*protocol, where + ".protocol");
  if (name == "tcp") {
    endpoint.protocol = Protocol::tcp;
  } else if (name == "udp") {
    endpoint.protocol = Protocol::udp;
  } else {
    r.fail(where + ".protocol", "unknown protocol " + r.brief(*protocol) + " (tcp or udp)");
  }
  if (const json* address = r.find(item, "address")) endpoint.address = r.string(*address, where + ".address");
  const json* port = r.find(item, "port");
  if (port == nullptr) r.fail(where, "missing key \"port\"");
  if (!port->is_number_unsigned() || port->get<std::uint64_t>() > 65535)
    r.fail(where + ".port", "must be a port 0..65535, not " + r.brief(*port));
  endpoint.port = static_cast<int>(port->get<std::uint64_t>());
  return endpoint;
}

NetworkRules read_network(const Reader& r, const json& network) {
  if (!network.is_object()) r.fail("network", "must be an object, not " + r.brief(network));
  NetworkRules rules;
  for (const char* key : {"connect", "bind"}) {
    const json* list = r.find(network, key);
    if (list == nullptr) continue;
    auto& out = std::string_view(key) == "connect" ? rules.connect : rules.bind;
    std::size_t i = 0;
    for (const auto& item : r.array(*list, std::string("network.") + key))
      out.push_back(read_endpoint(r, item, "network." + std::string(key) + "[" + std::to_string(i++) + "]"));
  }
  if (const json* unix_paths = r.find(network, "unix")) {
    std::size_t i = 0;
    for (const auto& item : r.array(*unix_paths, "network.unix"))
      rules.unix_paths.push_back(r.string(item, "network.unix[" + std::to_string(i++) + "]"));
  }
  return rules;
}

ordered endpoint_json(const Endpoint& e) {
  ordered out{{"protocol", protocol_name(e.protocol)}};
  if (!e.address.empty()) out["address"] = e.address;
  out["port"] = e.port;
  return out;
}

} // namespace

std::vector<std::string> path_access_names(PathAccessSet set) {
  std::vector<std::string> out;
  for (const auto& [access, name] : access_names)
    if (has(set, access)) out.emplace_back(name);
  return out;
}

std::optional<PathAccess> path_access_from_name(std::string_view name) {
  for (const auto& entry : access_names)
    if (entry.name == name) return entry.access;
  return std::nullopt;
}

std::string_view protocol_name(Protocol protocol) { return protocol == Protocol::udp ? "udp" : "tcp"; }

AccessPolicy read_access_policy(std::string_view text, std::string_view source_name) {
  const Reader r(source_name);
  json doc;
  try {
    doc = json::parse(text.begin(), text.end(), json_depth_guard<json>());
  } catch (const JsonTooDeep& e) {
    r.fail("", e.what());
  } catch (const json::exception& e) {
    r.fail("", std::string("invalid JSON: ") + e.what());
  }
  if (!doc.is_object()) r.fail("", "a policy is a JSON object, not " + r.brief(doc));
  const json* format = r.find(doc, "format");
  if (format == nullptr || !format->is_string() || format->get<std::string>() != policy_format_name)
    r.fail("format", "not a nucleus policy (\"format\" must be \"nucleus-policy\")");
  const json* version = r.find(doc, "version");
  if (version == nullptr || !version->is_number_unsigned() || version->get<std::uint64_t>() < 1)
    r.fail("version", "must be a version number (1)");
  if (version->get<std::uint64_t>() > static_cast<std::uint64_t>(access_policy_version))
    r.fail("version", "policy format version " + version->dump() + " is newer than this nucleus (" +
                          std::to_string(access_policy_version) + "): upgrade nucleus");
  AccessPolicy policy;
  if (const json* files = r.find(doc, "files")) {
    std::size_t i = 0;
    for (const auto& item : r.array(*files, "files")) {
      const std::string where = "files[" + std::to_string(i++) + "]";
      PathRule rule = read_path_rule(r, item, where);
      for (const auto& seen : policy.files)
        if (seen.path == rule.path) r.fail(where, "\"" + rule.path + "\" is listed twice: merge the two entries");
      policy.files.push_back(std::move(rule));
    }
  }
  std::sort(policy.files.begin(), policy.files.end(), [](const auto& a, const auto& b) { return a.path < b.path; });
  if (const json* network = r.find(doc, "network")) policy.network = read_network(r, *network);
  return policy;
}

std::string write_access_policy(const AccessPolicy& policy) {
  ordered doc{{"format", policy_format_name}, {"version", access_policy_version}};
  ordered files = ordered::array();
  std::vector<PathRule> sorted = policy.files;
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.path < b.path; });
  for (const auto& rule : sorted) {
    ordered item{{"path", rule.path}, {"access", path_access_names(rule.access)}};
    if (!rule.reason.empty()) item["reason"] = rule.reason;
    files.push_back(std::move(item));
  }
  doc["files"] = std::move(files);
  ordered network = ordered::object();
  ordered connect = ordered::array(), bind = ordered::array();
  for (const auto& e : policy.network.connect) connect.push_back(endpoint_json(e));
  for (const auto& e : policy.network.bind) bind.push_back(endpoint_json(e));
  network["connect"] = std::move(connect);
  network["bind"] = std::move(bind);
  network["unix"] = policy.network.unix_paths;
  doc["network"] = std::move(network);
  return doc.dump(2, ' ', true, ordered::error_handler_t::replace) + "\n";
}

PathAccessSet access_for(const AccessPolicy& policy, std::string_view path) {
  PathAccessSet set = 0;
  for (const auto& rule : policy.files) {
    const bool covers =
        path == rule.path || rule.path == "/" ||
        (path.starts_with(rule.path) && path.size() > rule.path.size() && path[rule.path.size()] == '/');
    if (covers) set |= rule.access;
  }
  return set;
}

} // namespace nucleus::core
