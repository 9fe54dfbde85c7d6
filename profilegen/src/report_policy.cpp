// The report's section on the files and network policy (report --policy): each entry with its
// access and reason, each endpoint with where it is, and check's findings on the policy.
#include "nucleus/profile/report.hpp"

#include "nucleus/profile/policy_review.hpp"
#include "nucleus/core/strings.hpp"
#include "nucleus/core/text.hpp"

#include <sstream>

namespace nucleus::profile {
namespace {

std::string access_text(core::PathAccessSet a) { return core::join(core::path_access_names(a), ", "); }

CheckResult policy_check(const ReportInput& in) {
  PolicyCheckOptions options;
  options.homes = in.homes;
  options.name = in.access_policy_name;
  return check_access_policy(*in.access_policy, options);
}

struct Endpoint {
  std::string kind, text, scope;
};
std::vector<Endpoint> endpoints(const core::NetworkRules& n) {
  std::vector<Endpoint> out;
  for (const auto& e : n.connect) out.push_back({"connect", endpoint_text(e), std::string(address_scope(e.address))});
  for (const auto& e : n.bind) out.push_back({"bind", endpoint_text(e), std::string(address_scope(e.address))});
  for (const auto& u : n.unix_paths) out.push_back({"unix", u, "unix"});
  return out;
}

} // namespace

std::string access_policy_section_html(const ReportInput& in, std::string (*esc)(std::string_view)) {
  if (in.access_policy == nullptr) return "";
  const auto& p = *in.access_policy;
  const auto check = policy_check(in);
  std::ostringstream h;
  h << "<section id=\"policy\"><h2>Files and network: " << esc(in.access_policy_name) << "</h2>\n"
    << "<p>An entry covers its path and everything below it; whatever no entry grants is denied.</p>\n";
  if (p.files.empty()) h << "<p>No path is granted.</p>\n";
  else {
    h << "<table><tr><th>Path</th><th>Access</th><th>Why</th></tr>\n";
    for (const auto& r : p.files)
      h << "<tr class=\"policy-path\"><td><code>" << esc(r.path) << "</code></td><td>" << access_text(r.access)
        << "</td><td>" << esc(r.reason) << "</td></tr>\n";
    h << "</table>\n";
  }
  const auto net = endpoints(p.network);
  if (net.empty()) h << "<p>Network: none. No endpoint may be reached or served.</p>\n";
  else {
    h << "<table><tr><th>Network</th><th>Endpoint</th><th>Where</th></tr>\n";
    for (const auto& e : net)
      h << "<tr class=\"policy-endpoint\"><td>" << e.kind << "</td><td><code>" << esc(e.text) << "</code></td><td>"
        << esc(e.scope) << "</td></tr>\n";
    h << "</table>\n";
  }
  if (check.findings.empty()) h << "<p>No findings on the policy.</p>\n";
  else {
    h << "<table><tr><th>Severity</th><th>Grant</th><th>Finding</th><th>Why</th><th>Fix</th></tr>\n";
    for (const auto& f : check.findings)
      h << "<tr class=\"policy-finding\"><td class=\"sev-" << severity_name(f.severity) << "\">"
        << severity_name(f.severity) << "</td><td><code>" << esc(f.subject) << "</code></td><td>" << esc(f.message)
        << "</td><td>" << esc(f.reason) << "</td><td>" << esc(f.fix) << "</td></tr>\n";
    h << "</table>\n";
  }
  h << "</section>\n";
  return h.str();
}

std::string access_policy_section_markdown(const ReportInput& in) {
  if (in.access_policy == nullptr) return "";
  using core::markdown_text;
  const auto& p = *in.access_policy;
  const auto check = policy_check(in);
  std::ostringstream m;
  m << "## Files and network: " << markdown_text(in.access_policy_name) << "\n\n"
    << "An entry covers its path and everything below it; whatever no entry grants is denied.\n\n";
  if (p.files.empty()) m << "No path is granted.\n\n";
  else {
    m << "| Path | Access | Why |\n|---|---|---|\n";
    for (const auto& r : p.files)
      m << "| " << markdown_text(r.path) << " | " << access_text(r.access) << " | " << markdown_text(r.reason)
        << " |\n";
    m << "\n";
  }
  const auto net = endpoints(p.network);
  if (net.empty()) m << "Network: none. No endpoint may be reached or served.\n\n";
  else {
    m << "| Network | Endpoint | Where |\n|---|---|---|\n";
    for (const auto& e : net)
      m << "| " << e.kind << " | " << markdown_text(e.text) << " | " << markdown_text(e.scope) << " |\n";
    m << "\n";
  }
  if (check.findings.empty()) m << "No findings on the policy.\n\n";
  else {
    m << "| Severity | Grant | Finding | Why | Fix |\n|---|---|---|---|---|\n";
    for (const auto& f : check.findings)
      m << "| " << severity_name(f.severity) << " | " << markdown_text(f.subject) << " | " << markdown_text(f.message)
        << " | " << markdown_text(f.reason) << " | " << markdown_text(f.fix) << " |\n";
    m << "\n";
  }
  return m.str();
}

} // namespace nucleus::profile
