// SARIF 2.1.0 (OASIS) for check findings.
#include "nucleus/profile/sarif.hpp"

#include "nucleus/profile/review.hpp"
#include "nucleus/core/text.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>
#include <optional>

namespace nucleus::profile {
namespace {

using ordered = nlohmann::ordered_json;

// GitHub code scanning ranks security results by this property (0.1-3.9 low ... 9.0+ critical).
std::string_view security_severity(Severity s) noexcept {
  switch (s) {
  case Severity::critical: return "9.5";
  case Severity::high: return "8.0";
  case Severity::medium: return "5.5";
  case Severity::low: return "3.0";
  case Severity::info: break;
  }
  return "0.0";
}

// Risky syscalls get a rule each, so a dashboard can track or dismiss ptrace apart from bpf.
std::string rule_id(const Finding& f) { return f.id == "risky-syscall" ? f.id + "/" + f.subject : f.id; }

// What the finding is about, as it is spelt in the profile's JSON.
std::string anchor(const Finding& f) {
  if (f.id == "beyond-docker-default") return {}; // about the whole allowlist of an architecture
  return "\"" + f.subject + "\"";
}

struct Region {
  std::size_t line = 1, column = 1, end_column = 1;
};

std::optional<Region> find_region(std::string_view text, const std::string& needle) {
  if (needle.empty()) return std::nullopt;
  auto at = text.find(needle);
  if (at == std::string_view::npos) return std::nullopt;
  Region r;
  auto line_start = text.rfind('\n', at);
  line_start = line_start == std::string_view::npos ? 0 : line_start + 1;
  r.line = static_cast<std::size_t>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(at), '\n')) + 1;
  r.column = at - line_start + 1;
  r.end_column = r.column + needle.size();
  return r;
}

// RFC 3986: a relative reference for a relative path, file:// for an absolute one.
std::string to_uri(std::string_view path) {
  static constexpr std::string_view keep = "-._~/";
  std::string out = path.starts_with("/") ? "file://" : "";
  for (unsigned char c : path) {
    if (std::isalnum(c) || keep.find(static_cast<char>(c)) != std::string_view::npos) {
      out += static_cast<char>(c);
    } else {
      static constexpr char hex[] = "0123456789ABCDEF";
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::string rule_title(const Finding& f) {
  if (f.id == "risky-syscall") return "profile allows " + f.subject;
  if (f.id == "default-action") return "the default action lets unlisted syscalls run";
  if (f.id == "architectures") return "the architectures the filter covers";
  if (f.id == "multiplexer") return "a syscall multiplexer is allowed";
  if (f.id == "beyond-docker-default") return "allows syscalls that Docker's default profile denies";
  if (f.id == "clone3-without-fallback") return "clone3 gets an errno the C library does not fall back on";
  return f.id;
}

} // namespace

std::string_view sarif_level(Severity severity) noexcept {
  switch (severity) {
  case Severity::critical:
  case Severity::high: return "error";
  case Severity::medium: return "warning";
  case Severity::low: return "note";
  case Severity::info: break;
  }
  return "none";
}

std::string check_to_sarif(const CheckResult& result, std::string_view profile_path, std::string_view profile_text,
                           const SarifTool& tool) {
  ordered rules = ordered::array();
  std::map<std::string, std::size_t> rule_index;
  ordered results = ordered::array();
  const std::string uri = to_uri(profile_path);
  for (const auto& f : result.findings) {
    const std::string id = rule_id(f);
    auto [it, added] = rule_index.try_emplace(id, rules.size());
    if (added) {
      rules.push_back({{"id", id},
                       {"shortDescription", {{"text", rule_title(f)}}},
                       {"fullDescription", {{"text", f.reason.empty() ? rule_title(f) : f.reason}}},
                       {"help", {{"text", f.fix.empty() ? rule_title(f) : f.fix}}},
                       {"defaultConfiguration", {{"level", sarif_level(f.severity)}}},
                       {"properties", {{"tags", {"security"}}, {"security-severity", security_severity(f.severity)}}}});
    }
    ordered physical = {{"artifactLocation", {{"uri", uri}}}};
    if (auto region = find_region(profile_text, anchor(f)))
      physical["region"] = {{"startLine", region->line},
                            {"startColumn", region->column},
                            {"endLine", region->line},
                            {"endColumn", region->end_column}};
    std::string text = f.message;
    if (!f.reason.empty()) text += ". Why: " + f.reason;
    if (!f.fix.empty()) text += ". Fix: " + f.fix;
    results.push_back({{"ruleId", id},
                       {"ruleIndex", it->second},
                       {"level", sarif_level(f.severity)},
                       {"message", {{"text", text + "."}}},
                       {"locations", ordered::array({{{"physicalLocation", physical}}})},
                       {"properties", {{"severity", severity_name(f.severity)}, {"arches", f.arches}}}});
  }
  ordered run = {{"tool",
                  {{"driver",
                    {{"name", tool.name},
                     {"version", tool.version},
                     {"semanticVersion", tool.version},
                     {"informationUri", tool.information_uri},
                     {"rules", rules}}}}},
                 {"artifacts", ordered::array({{{"location", {{"uri", uri}}}}})},
                 {"results", results}};
  if (!result.notes.empty()) {
    ordered notifications = ordered::array();
    for (const auto& n : result.notes) notifications.push_back({{"level", "note"}, {"message", {{"text", n}}}});
    run["invocations"] =
        ordered::array({{{"executionSuccessful", true}, {"toolExecutionNotifications", notifications}}});
  }
  ordered sarif = {
      {"$schema", "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"},
      {"version", "2.1.0"},
      {"runs", ordered::array({run})}};
  return sarif.dump(2, ' ', true, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

std::string review_to_sarif(const Review& review, const SarifTool& tool) {
  // Text a workload controls (paths, argv, addresses) is printable() here as in every format.
  using core::printable;
  ordered rules = ordered::array();
  std::map<std::string, std::size_t> rule_index;
  ordered results = ordered::array();
  const std::string uri = review.sources.empty() ? std::string() : to_uri(review.sources.front());
  for (const auto& f : review.findings) {
    const std::string id = "review/" + f.id;
    auto [it, added] = rule_index.try_emplace(id, rules.size());
    if (added) {
      std::string trigger = f.id;
      for (const auto& r : review_rules())
        if (r.id == f.id) trigger = std::string(r.trigger);
      rules.push_back({{"id", id},
                       {"shortDescription", {{"text", trigger}}},
                       {"fullDescription", {{"text", f.reason}}},
                       {"help", {{"text", f.fix.empty() ? trigger : f.fix}}},
                       {"defaultConfiguration", {{"level", sarif_level(f.severity)}}},
                       {"properties", {{"tags", {"security"}}, {"security-severity", security_severity(f.severity)}}}});
    }
    ordered location = {{"physicalLocation", {{"artifactLocation", {{"uri", uri}}}}}};
    if (!f.exe.empty())
      location["logicalLocations"] = ordered::array({{{"name", printable(f.exe)}, {"kind", "module"}}});
    std::string text = printable(f.message) + ". Why: " + f.reason;
    if (!f.fix.empty()) text += ". Fix: " + f.fix;
    results.push_back({{"ruleId", id},
                       {"ruleIndex", it->second},
                       {"level", sarif_level(f.severity)},
                       {"message", {{"text", text + "."}}},
                       {"locations", ordered::array({location})},
                       {"properties", {{"severity", severity_name(f.severity)}, {"subject", printable(f.subject)}}}});
  }
  ordered artifacts = ordered::array();
  for (const auto& s : review.sources) artifacts.push_back({{"location", {{"uri", to_uri(s)}}}});
  ordered run = {
      {"tool",
       {{"driver",
         {{"name", tool.name},
          {"version", tool.version},
          {"semanticVersion", tool.version},
          {"informationUri", tool.information_uri},
          {"rules", rules}}}}},
      {"artifacts", artifacts},
      {"results", results},
      {"properties", {{"complete", review.incomplete.empty()}, {"behaviour_recorded", review.behaviour_recorded}}}};
  ordered notifications = ordered::array();
  for (const auto& i : review.incomplete)
    notifications.push_back({{"level", "warning"}, {"message", {{"text", "incomplete: " + printable(i)}}}});
  for (const auto& n : review.notes)
    notifications.push_back({{"level", "note"}, {"message", {{"text", printable(n)}}}});
  if (!notifications.empty())
    run["invocations"] =
        ordered::array({{{"executionSuccessful", true}, {"toolExecutionNotifications", notifications}}});
  ordered sarif = {
      {"$schema", "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"},
      {"version", "2.1.0"},
      {"runs", ordered::array({run})}};
  return sarif.dump(2, ' ', true, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

} // namespace nucleus::profile
